#!/usr/bin/env bash
# Agent host benchmarks, side by side with the raw commands a person would run instead
# (tmux new-session + bwrap), in one run on this machine. As root:
#
#   bench/bench_agents.sh [BUILD_DIR] [N]      (N agents, default 100)
#
# Measures: `agent add` until the agent runs (p50/p90 over N adds), adding N agents (total),
# `agent list` with N agents (hyperfine), and `panic` with N agents; the peer: `tmux new-session -d
# ... bwrap <profile> bash -l` per agent, `tmux list-panes -a` (and list-panes + capture of every
# pane, which is what `agent list` shows), and `tmux kill-server`. Prints a Markdown table for
# docs/PERFORMANCE.md. Uses its own state directory, tmux sockets and agent uid range.
set -euo pipefail
build=${1:-build}
n=${2:-100}
bin=$(realpath "$build/src/cloudcoop")
work=$(mktemp -d /tmp/ccbench.XXXXXX)
chmod 711 "$work"
export CLOUDCOOP_STATE_DIR=$work/s
export CLOUDCOOP_AGENT_UID_BASE=$((60000000 + ($$ % 100000) * 1000))
export CLOUDCOOP_AGENT_UID_COUNT=1000
peer_sock=$work/peer.sock
# Agents run in their real sandbox (loopback-only network: this build has no egress mode);
# BENCH_SANDBOX_ARGS=--unsandboxed measures the escape hatch instead.
sandbox_args=(${BENCH_SANDBOX_ARGS---net none})
bwrap_profile=(bwrap --unshare-all --share-net --die-with-parent --ro-bind /usr /usr --ro-bind /etc /etc
  --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin
  --dev /dev --proc /proc --tmpfs /tmp)

cleanup() {
  "$bin" panic --yes >/dev/null 2>&1 || true
  tmux -S "$peer_sock" kill-server 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now_ms() { python3 -c 'import time; print(f"{time.monotonic()*1000:.3f}")'; }
ns() { date +%s%N; }
percentile() {  # p (0-100) of numbers on stdin
  sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int((NR*p+99)/100); if (i<1) i=1; printf "%.1f", a[i]}'
}

echo "bench_agents: $n agents, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), sandbox args: ${sandbox_args[*]:-(none)}" >&2

# 1. add, one by one (each returns when the agent runs) vs tmux new-session + bwrap.
add_ms=()
t0=$(ns)
for i in $(seq 1 "$n"); do
  a=$(ns)
  "$bin" agent add "b$i" "${sandbox_args[@]}" >/dev/null 2>&1
  b=$(ns)
  add_ms+=("$(( (b - a) / 1000 ))")
done
t1=$(ns)
peer_ms=()
p0=$(ns)
for i in $(seq 1 "$n"); do
  mkdir -p "$work/ws$i"
  a=$(ns)
  tmux -S "$peer_sock" -f /dev/null new-session -d -s "p$i" -x 200 -y 50 -- \
    "${bwrap_profile[@]}" --bind "$work/ws$i" /workspace --chdir /workspace bash -l
  b=$(ns)
  peer_ms+=("$(( (b - a) / 1000 ))")
done
p1=$(ns)
add_p50=$(printf '%s\n' "${add_ms[@]}" | awk '{print $1/1000}' | percentile 50)
add_p90=$(printf '%s\n' "${add_ms[@]}" | awk '{print $1/1000}' | percentile 90)
peer_p50=$(printf '%s\n' "${peer_ms[@]}" | awk '{print $1/1000}' | percentile 50)
peer_p90=$(printf '%s\n' "${peer_ms[@]}" | awk '{print $1/1000}' | percentile 90)
add_total=$(( (t1 - t0) / 1000000 ))
peer_total=$(( (p1 - p0) / 1000000 ))
running=$("$bin" agent list --json | python3 -c 'import json,sys; print(sum(a["state"]=="running" for a in json.load(sys.stdin)))')

# 2. list with n agents.
hf=$work/list.json
hyperfine -N -w 3 -r 30 --export-json "$hf" \
  "$bin agent list" \
  "tmux -S $peer_sock list-panes -a -F #{session_name}|#{pane_pid}|#{pane_dead}" >/dev/null 2>&1
read -r list_ms peer_list_ms < <(python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))["results"]
print(" ".join("%.1f" % (x["median"]*1000) for x in r))' "$hf")
# The raw equivalent of what `agent list` shows: one list-panes plus a capture of every pane.
cap_args=(list-panes -a -F '#{session_name}')
for i in $(seq 1 "$n"); do cap_args+=(";" capture-pane -p -t "=p$i:" -S -3); done
printf '%q ' tmux -S "$peer_sock" "${cap_args[@]}" > "$work/peer_full.sh"
hyperfine -N -w 3 -r 30 --export-json "$work/full.json" "bash $work/peer_full.sh" >/dev/null 2>&1
peer_full_ms=$(python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$work/full.json")

# 3. panic with n agents vs tmux kill-server (which leaves processes outside tmux alone).
a=$(ns)
"$bin" panic --yes --json > "$work/panic.json"
b=$(ns)
panic_ms=$(( (b - a) / 1000000 ))
panic_inner=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["took_ms"])' "$work/panic.json")
a=$(ns)
tmux -S "$peer_sock" kill-server
b=$(ns)
peer_kill_ms=$(( (b - a) / 1000000 ))
left=$(ps -eo uid= | awk -v lo="$CLOUDCOOP_AGENT_UID_BASE" '$1>=lo && $1<lo+1000' | wc -l)

cat <<EOT
| Measure ($n agents) | cloudcoop | raw tmux + bwrap | ratio |
|---|---|---|---|
| add until running, p50 / p90 | $add_p50 / $add_p90 ms | $peer_p50 / $peer_p90 ms (new-session returns before bwrap runs) | $(awk -v a="$add_p50" -v b="$peer_p50" 'BEGIN{printf "%.1fx", a/b}') |
| adding $n agents, total | $add_total ms ($running running) | $peer_total ms | $(awk -v a="$add_total" -v b="$peer_total" 'BEGIN{printf "%.1fx", a/b}') |
| \`agent list\` (median) | $list_ms ms | $peer_list_ms ms (list-panes only); $peer_full_ms ms (list-panes + capture of every pane) | $(awk -v a="$list_ms" -v b="$peer_full_ms" 'BEGIN{printf "%.2fx", a/b}') vs the full equivalent |
| \`panic\` (freeze, kill, verify, lock out) | $panic_ms ms wall, $panic_inner ms inside; $left agent processes left | $peer_kill_ms ms (\`tmux kill-server\`: no freeze, no verification) | — |
EOT
