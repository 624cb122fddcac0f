#!/usr/bin/env bash
# Audit writer throughput, side by side with plain appends of the same bytes on the same file system,
# in one run. Usage: bench/bench_audit_writer.sh [BUILD_DIR]; numbers go to docs/PERFORMANCE.md.
set -euo pipefail
build=${1:-build}
bench="$build/src/audit/audit_writer_bench"
[[ -x $bench ]] || { echo "bench_audit_writer: build $bench first (cmake --build $build)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/var/tmp}/cc-audit-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
run() {  # MODE COUNT -> prints the line and sets RATE
  local line
  line=$("$bench" "$work/$1" "$1" "$2")
  echo "$line"
  RATE=$(awk '{print $6}' <<<"$line")
}
echo "audit writer throughput ($(nproc) CPUs, $(df -T "$work" | awk 'NR==2{print $2}') at $work)"
run hash 200000;     hash=$RATE
run raw 100000;      raw=$RATE
run batched 100000;  batched=$RATE
run raw-sync 3000;   rawsync=$RATE
run sync 3000;       sync=$RATE
awk -v b="$batched" -v r="$raw" -v s="$sync" -v rs="$rawsync" -v h="$hash" 'BEGIN {
  printf "batched / raw write      = %.2f\n", b / r
  printf "sync / raw write+fdatasync = %.2f\n", s / rs
  printf "serialise+hash alone: %.1f us per record\n", 1e6 / h
}'
