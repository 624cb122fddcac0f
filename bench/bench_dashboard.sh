#!/usr/bin/env bash
# Dashboard: start to first full screen and CPU per refresh with 100 agents, side by side in one run
# with `top -d 1` and the naive `tmux list-sessions` + `ps`. Usage: bench/bench_dashboard.sh [BUILD_DIR]
# [RUNS] [HOLD_SECONDS]; numbers go to docs/PERFORMANCE.md. Each program gets a pseudo-terminal of
# its own (80x24 and 200x60); the dashboard shows 100 fake agents (src/tui/fake_source.cc), so this
# measures the dashboard itself; bench_agents.sh measures `agent list` on a real host.
set -euo pipefail
build=${1:-build}
runs=${2:-30}
hold=${3:-10}
bench="$build/src/tui/dashboard_bench"
bin="$build/src/cloudcoop"
[[ -x $bench && -x $bin ]] || { echo "bench_dashboard: build $bench and $bin first (cmake --build $build)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/cc-dashboard-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "bench_dashboard: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(tmux -V), $(top -v 2>/dev/null | head -1)"
"$bench" "$(realpath "$bin")" "$work" "$runs" "$hold"
