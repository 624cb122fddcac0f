#!/usr/bin/env bash
# Per-sandbox egress network setup: cloudcoop (netlink, in-process) vs 8 `ip` invocations, in one
# run, inside namespaces the benchmark creates (needs root). Usage: bench/bench_net_egress.sh [BUILD]
set -euo pipefail
build=${1:-build}
exec "$build/bench/bench_net_egress" "${ITERATIONS:-30}"
