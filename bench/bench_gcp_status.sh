#!/usr/bin/env bash
# `cloudcoop status` for a GCP agent host against the fake GCP (testing/fake_gcp) on loopback with
# no injected delay, side by side with its peer, `gcloud compute instances describe`, in one run.
# Usage: bench/bench_gcp_status.sh [BUILD_DIR]   (a Release build with tests on, e.g. build-rel)
# Needs hyperfine; gcloud is optional (its row is skipped when it is missing).
set -euo pipefail
build=${1:-build}
bin="$build/src/cloudcoop"
fake="$build/testing/fake_gcp/fake_gcp"
for f in "$bin" "$fake"; do
  [[ -x $f ]] || { echo "bench_gcp_status: $f is missing (build it: ninja -C $build cloudcoop fake_gcp)" >&2; exit 2; }
done
command -v hyperfine >/dev/null || { echo "bench_gcp_status: hyperfine is missing (apt-get install hyperfine)" >&2; exit 2; }

work=$(mktemp -d)
fake_pid=
cleanup() {
  [[ -n $fake_pid ]] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

sa=agent-sandbox@bench-project.iam.gserviceaccount.com
"$fake" --port-file "$work/port" --project bench-project --token bench-token --network cloudcoop-vpc \
  --service-account "$sa" >"$work/fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq 1 200); do [[ -s $work/port ]] && break; sleep 0.05; done
port=$(cat "$work/port")
echo bench-token >"$work/token"
cat >"$work/cloudcoop.toml" <<TOML
cloud.provider = "gcp"
cloud.gcp.project = "bench-project"
cloud.gcp.zone = "us-central1-a"
cloud.gcp.service_account = "$sa"
TOML
export CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE="http://127.0.0.1:$port/compute/v1/"
export CLOUDSDK_AUTH_ACCESS_TOKEN_FILE="$work/token"
export CLOUDCOOP_STATE_DIR="$work/state"
export CLOUDSDK_CONFIG="$work/gcloud" CLOUDSDK_CORE_DISABLE_PROMPTS=1 CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true
export CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=true HOME="$work"
"$bin" --config "$work/cloudcoop.toml" create >/dev/null 2>&1

base="http://127.0.0.1:$port/compute/v1/projects/bench-project/zones/us-central1-a/instances/cloudcoop-agents"
cmds=("$bin --config $work/cloudcoop.toml status" "$bin --config $work/cloudcoop.toml version")
names=("cloudcoop status" "cloudcoop version (start-up floor)")
if command -v curl >/dev/null; then
  # The same two requests status makes, by the curl program (same libcurl): transport + fake floor.
  cmds+=("curl -s -o /dev/null -o /dev/null -H Authorization:Bearer\ bench-token $base $base/getGuestAttributes?queryPath=cloudcoop%2F")
  names+=("curl, the same two GETs")
fi
if command -v gcloud >/dev/null; then
  cmds+=("gcloud compute instances describe cloudcoop-agents --zone us-central1-a --project bench-project --format=value(status)")
  names+=("gcloud compute instances describe")
fi
args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine -N -w 3 -r "${RUNS:-30}" --export-markdown "$work/result.md" "${args[@]}" >&2
cat "$work/result.md"
