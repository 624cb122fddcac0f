#!/usr/bin/env bash
# Overhead of exec capture (docs/adr/0017-exec-capture.md) on exec-heavy workloads inside a sandbox,
# capture on vs off, side by side in one run, interleaved (root; use a Release build):
#   loop   a shell loop running N short programs (/bin/true), default 2,000
#   make   `make -j2` of a small C project (40 files + link), cleaned before each run
# Both sandboxes are identical (--net none, the same limits) except --no-exec-capture. Prints the
# means, the on/off ratios and how many exec records one run of each workload wrote, then the cost
# of a bare notification round trip (cloudcoop_notify_roundtrip), the floor of any synchronous capture.
# Usage: bench/bench_exec_capture.sh [BUILD_DIR] [RUNS] [N]
set -euo pipefail
build=$(realpath "${1:-build}")
runs=${2:-10}
n=${3:-2000}
bin=$build/src/cloudcoop
[[ $(id -u) -eq 0 ]] || { echo "bench_exec_capture.sh: needs root" >&2; exit 2; }
for tool in python3 make gcc; do
  command -v "$tool" >/dev/null || { echo "bench_exec_capture.sh: $tool is missing (scripts/install-deps)" >&2; exit 2; }
done
[[ -x $bin ]] || { echo "bench_exec_capture.sh: build $build first (cloudcoop)" >&2; exit 2; }

work=$(mktemp -d /tmp/cloudcoop-bench-exec.XXXXXX)
chmod 755 "$work"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
export CLOUDCOOP_STATE_DIR=$work/state
mkdir -p "$work/ws/proj" && chmod -R 777 "$work/ws"

# The C project: 40 small translation units and a main, built with implicit rules.
for i in $(seq 1 40); do
  printf 'int f%d(int x) { int s = 0; for (int i = 0; i < x; ++i) s += i * %d; return s; }\n' "$i" "$i" > "$work/ws/proj/f$i.c"
done
{
  for i in $(seq 1 40); do echo "int f$i(int);"; done
  echo 'int main(void) { int s = 0;'
  for i in $(seq 1 40); do echo "  s += f$i($i);"; done
  echo '  return s == 0; }'
} > "$work/ws/proj/main.c"
{
  echo "OBJS = main.o $(for i in $(seq 1 40); do printf 'f%d.o ' "$i"; done)"
  echo 'prog: $(OBJS)'
  printf '\t$(CC) -o $@ $(OBJS)\n'
  echo 'clean:'
  printf '\trm -f prog *.o\n'
} > "$work/ws/proj/Makefile"
chmod -R 777 "$work/ws/proj"

sandbox=("$bin" sandbox run --net none --cpus 2 --memory 1G --pids 256 --workspace "$work/ws")
loop="i=0; while [ \$i -lt $n ]; do /bin/true; i=\$((i+1)); done"
mk="make -s -C $work/ws/proj clean >/dev/null && make -s -j2 -C $work/ws/proj CC=gcc >/dev/null"

# One run of each, with capture on, to count what it records.
records() { cat "$CLOUDCOOP_STATE_DIR"/audit/seg-*.jsonl 2>/dev/null | grep -c '"type":"exec"' || true; }
before=$(records)
"${sandbox[@]}" --name bench-exec-count -- sh -c "$loop"
after_loop=$(records)
"${sandbox[@]}" --name bench-exec-count -- sh -c "$mk"
after_make=$(records)
echo "exec records per run: loop $((after_loop - before)), make $((after_make - after_loop))"

# Interleaved, not one command's runs after the other's: on this VM slow phases (neighbours, host
# I/O) last seconds and would land on one side. Each round runs on and off back to back in a
# random order; the ratio reported is the median of the rounds' on/off ratios.
python3 - "$runs" "$n" "${sandbox[@]}" -- "$loop" "$mk" <<'PY'
import random, statistics, subprocess, sys, time
runs, n = int(sys.argv[1]), int(sys.argv[2])
rest = sys.argv[3:]
cut = rest.index("--")
sandbox, (loop, mk) = rest[:cut], rest[cut + 1:]
random.seed(1)

def timed(name, off, script):
    cmd = sandbox + ["--name", name] + (["--no-exec-capture"] if off else []) + ["--", "sh", "-c", script]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t

for label, script, warm in (("loop", loop, 2), ("make", mk, 1)):
    on, off, ratios = [], [], []
    for i in range(warm + runs):
        pair = {}
        for side in random.sample(["on", "off"], 2):
            pair[side] = timed(f"bench-{label}-{side}", side == "off", script)
        if i < warm:
            continue
        on.append(pair["on"]); off.append(pair["off"]); ratios.append(pair["on"] / pair["off"])
    ms = lambda xs: f"{statistics.mean(xs)*1000:.1f} ms (±{statistics.stdev(xs)*1000:.1f})"
    line = (f"{label}: {runs} interleaved rounds; on {ms(on)}, off {ms(off)}, on/off of the means = "
            f"{statistics.mean(on)/statistics.mean(off):.3f}, median of the rounds' on/off = "
            f"{statistics.median(ratios):.3f} (quartiles {statistics.quantiles(ratios, n=4)[0]:.3f}–"
            f"{statistics.quantiles(ratios, n=4)[2]:.3f})")
    if label == "loop":
        line += f", extra per exec = {(statistics.median(on) - statistics.median(off)) / n * 1e6:.1f} µs (medians)"
    print(line, flush=True)
PY

# The floor of any synchronous capture on this machine: one notification round trip with a
# listener that reads and records nothing (bench/notify_roundtrip.cc).
if [[ -x $build/bench/cloudcoop_notify_roundtrip ]]; then
  "$build/bench/cloudcoop_notify_roundtrip" 20000
  "$build/bench/cloudcoop_notify_roundtrip" 20000 --same-cpu
fi
