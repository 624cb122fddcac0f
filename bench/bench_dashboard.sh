#!/usr/bin/env bash
# Dashboard: start to first full screen and CPU per refresh, side by side in one run with `top -d 1`
# and the naive `tmux list-sessions` + `ps`. Each program gets a pseudo-terminal of its own (80x24
# and 200x60). Numbers go to docs/PERFORMANCE.md.
#
#   bench/bench_dashboard.sh [BUILD_DIR] [RUNS] [HOLD_SECONDS]          100 fake agents (the dashboard alone)
#   bench/bench_dashboard.sh --real N [BUILD_DIR] [RUNS] [HOLD_SECONDS] N real agents (as root: starts
#       N `bash -l` agents on a state directory and uid range of its own, panics at the end; agents get
#       $BENCH_SANDBOX_ARGS, by default --unsandboxed, as in bench_agents.sh)
set -euo pipefail
real=0
if [[ ${1:-} == --real ]]; then
  real=$2
  shift 2
fi
build=${1:-build}
runs=${2:-30}
hold=${3:-10}
bench="$build/src/tui/dashboard_bench"
bin=$(realpath "$build/src/cloudcoop")
[[ -x $bench && -x $bin ]] || { echo "bench_dashboard: build $bench and $bin first (cmake --build $build)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/cc-dashboard-bench.XXXXXX")
chmod 711 "$work"
cleanup() {
  if ((real > 0)); then "$bin" panic --yes --reason "bench_dashboard done" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
echo "bench_dashboard: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(tmux -V), $(top -v 2>/dev/null | head -1)"
if ((real > 0)); then
  export CLOUDCOOP_STATE_DIR=$work/state
  export CLOUDCOOP_AGENT_UID_BASE=$((62000000 + ($$ % 100000) * 1000))
  export CLOUDCOOP_AGENT_UID_COUNT=1000
  sandbox_args=(${BENCH_SANDBOX_ARGS---unsandboxed})
  for i in $(seq 1 "$real"); do
    "$bin" agent add "$(printf 'agent-%03d' "$i")" "${sandbox_args[@]}" >/dev/null
  done
  echo "started $real agents with: ${sandbox_args[*]:-(the sandbox)}"
fi
"$bench" "$bin" "$work" "$runs" "$hold"
