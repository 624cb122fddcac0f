#!/usr/bin/env bash
# Sandbox start to a finished /bin/true, side by side in one hyperfine run (root; use a Release build):
#   cloudcoop sandbox run --net none    full isolation: user/mount/pid/ipc/uts/cgroup/net namespaces,
#                                       cgroup limits, seccomp, Landlock, no_new_privs, own uid
#   cloudcoop sandbox run --net egress  when the build has it
#   unshare --fork --pid --mount --ipc --uts (+ --net), in the same cgroup limits (cgexec)
#   bwrap with an equivalent profile: same binds, --unshare-all, own uid, no caps, our seccomp filter,
#                                     in the same cgroup limits (cgexec)
#   runc run on a minimal bundle: read-only root of the same binds, same namespaces, limits, no caps
# Then the RSS of an idle supervisor. Usage: bench/bench_sandbox.sh [BUILD_DIR] [RUNS]
set -euo pipefail
build=$(realpath "${1:-build}")
runs=${2:-200}
bin=$build/src/cloudcoop
export_bpf=$build/bench/cloudcoop_seccomp_export
[[ $(id -u) -eq 0 ]] || { echo "bench_sandbox.sh: needs root" >&2; exit 2; }
for tool in hyperfine unshare bwrap runc cgexec python3 perf; do
  command -v "$tool" >/dev/null || { echo "bench_sandbox.sh: $tool is missing (scripts/install-deps)" >&2; exit 2; }
done
[[ -x $bin && -x $export_bpf ]] || { echo "bench_sandbox.sh: build $build first (cloudcoop, cloudcoop_seccomp_export)" >&2; exit 2; }

work=$(mktemp -d /tmp/cloudcoop-bench.XXXXXX)
chmod 755 "$work"
group=cloudcoop-bench-$$
cleanup() {
  for c in memory pids cpu; do rmdir "/sys/fs/cgroup/$c/$group" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

export CLOUDCOOP_STATE_DIR=$work/state
mkdir -p "$work/ws" && chmod 777 "$work/ws"
# The same limits for the peers: 1 CPU, 512 MiB (memory+swap), 256 pids.
for c in memory pids cpu; do mkdir -p "/sys/fs/cgroup/$c/$group"; done
echo $((512 << 20)) > "/sys/fs/cgroup/memory/$group/memory.limit_in_bytes"
echo $((512 << 20)) > "/sys/fs/cgroup/memory/$group/memory.memsw.limit_in_bytes" 2>/dev/null || true
echo 256 > "/sys/fs/cgroup/pids/$group/pids.max"
echo 100000 > "/sys/fs/cgroup/cpu/$group/cpu.cfs_quota_us"
"$export_bpf" > "$work/seccomp.bpf"

# runc: a bundle whose root is an empty directory with the same read-only binds.
mkdir -p "$work/bundle/rootfs" "$work/runc-root"
python3 - "$work" "$group" <<'PY'
import json, os, sys
work, group = sys.argv[1], sys.argv[2]
binds = [d for d in ["/usr", "/etc", "/opt"] if os.path.isdir(d)]
mounts = [{"destination": "/proc", "type": "proc", "source": "proc"},
          {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
          {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
          {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
          {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}]
for d in binds:
    mounts.append({"destination": d, "type": "bind", "source": d, "options": ["rbind", "ro", "nosuid", "nodev"]})
for link, target in [("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64"), ("sbin", "usr/sbin")]:
    p = os.path.join(work, "bundle/rootfs", link)
    if not os.path.lexists(p):
        os.symlink(target, p)
config = {
  "ociVersion": "1.0.2",
  "process": {"terminal": False, "user": {"uid": 1000000999, "gid": 1000000999}, "args": ["/bin/true"],
              "env": ["PATH=/usr/bin:/bin"], "cwd": "/", "noNewPrivileges": True,
              "capabilities": {"bounding": [], "effective": [], "permitted": [], "inheritable": [], "ambient": []},
              "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]},
  "root": {"path": "rootfs", "readonly": True},
  "hostname": "bench",
  "mounts": mounts,
  "linux": {"namespaces": [{"type": t} for t in ["pid", "network", "ipc", "uts", "mount"]],
            "cgroupsPath": "/" + group + "-runc",
            "resources": {"memory": {"limit": 512 << 20, "swap": 512 << 20}, "pids": {"limit": 256},
                          "cpu": {"quota": 100000, "period": 100000}},
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger", "/proc/bus"]}}
json.dump(config, open(os.path.join(work, "bundle/config.json"), "w"), indent=1)
PY

limits="--cpus 1 --memory 512M --pids 256"
cg="cgexec -g memory,pids,cpu:$group"
bwrap_profile="--unshare-all --die-with-parent --uid 1000000999 --gid 1000000999 --cap-drop ALL \
  --ro-bind /usr /usr --ro-bind /etc /etc --ro-bind /opt /opt --symlink usr/bin /bin --symlink usr/lib /lib \
  --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin --dev /dev --proc /proc --tmpfs /tmp \
  --bind $work/ws $work/ws --chdir $work/ws --hostname bench"
commands=(
  -n "cloudcoop --net none" "$bin sandbox run --net none --workspace $work/ws $limits -- /bin/true"
  -n "unshare (pid,mount,ipc,uts)" "$cg unshare --fork --pid --mount --ipc --uts /bin/true"
  -n "unshare (pid,mount,ipc,uts,net)" "$cg unshare --fork --pid --mount --ipc --uts --net /bin/true"
  -n "bwrap" "$cg bwrap $bwrap_profile --seccomp 10 /bin/true 10<$work/seccomp.bpf"
  -n "runc run" "runc --root $work/runc-root run --bundle $work/bundle cc-bench-$$"
)
if "$bin" sandbox run --net egress -- /bin/true >/dev/null 2>&1; then
  commands+=(-n "cloudcoop --net egress" "$bin sandbox run --net egress --workspace $work/ws $limits -- /bin/true")
fi

echo "== sandbox start to a finished /bin/true ($runs runs each, medians)"
hyperfine -w 10 -r "$runs" -S bash --export-json "$work/results.json" "${commands[@]}" >/dev/null
python3 - "$work/results.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["cloudcoop --net none"]["median"]
print("| Command | Median | Mean ± σ | vs cloudcoop --net none |")
print("|---|---|---|---|")
for name, x in r.items():
    print(f"| {name} | {x['median']*1e3:.2f} ms | {x['mean']*1e3:.2f} ± {x['stddev']*1e3:.2f} ms | {x['median']/base:.2f}x |")
def ratio(a, b): return r[a]["median"] / r[b]["median"]
print()
print(f"targets: bwrap/cloudcoop = {ratio('bwrap', 'cloudcoop --net none'):.2f} (>= 1.5), "
      f"cloudcoop/unshare = {ratio('cloudcoop --net none', 'unshare (pid,mount,ipc,uts)'):.2f} (<= 1.5; "
      f"{ratio('cloudcoop --net none', 'unshare (pid,mount,ipc,uts,net)'):.2f} against unshare with --net), "
      f"runc/cloudcoop = {ratio('runc run', 'cloudcoop --net none'):.2f} (>= 10), "
      f"p50 = {base*1e3:.2f} ms (< 5)")
PY

# CPU time of the whole process tree (task-clock), which a busy host distorts far less than wall time.
echo "== CPU per start (perf stat -r 50 -e task-clock, whole process tree)"
echo "| Command | CPU | context switches |"
echo "|---|---|---|"
for ((i = 0; i < ${#commands[@]}; i += 3)); do
  name=${commands[i+1]}
  cmd=${commands[i+2]}
  line=$(perf stat -r 50 -x, -e task-clock,context-switches bash -c "$cmd" 2>&1 >/dev/null | grep -E 'task-clock|context-switches' | cut -d, -f1 | paste -sd' ')
  read -r cpu cs <<<"$line"
  printf '| %s | %.2f ms | %.0f |\n' "$name" "$cpu" "$cs"
done

echo "== idle supervisor (2.5 s after start: it trims itself after 2 s idle; 8 s: after its first counter tick at 5 s)"
"$bin" sandbox run --net none --name "bench-idle-$$" -- sleep 30 &
sup=$!
for _ in $(seq 100); do
  [[ -f $CLOUDCOOP_STATE_DIR/sandbox/running/bench-idle-$$.json ]] && grep -q '"running"' "$CLOUDCOOP_STATE_DIR/sandbox/running/bench-idle-$$.json" && break
  sleep 0.05
done
sleep 2.5
echo -n "2.5 s: "; grep -E 'VmRSS|RssAnon|RssFile' "/proc/$sup/status" | tr -s ' \t' ' ' | tr '\n' ';'
echo
sleep 5.5
echo -n "8 s: "; grep -E 'VmRSS|RssAnon|RssFile' "/proc/$sup/status" | tr -s ' \t' ' ' | tr '\n' ';'
echo
kill -TERM "$sup"; wait "$sup" || true
