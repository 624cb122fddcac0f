#include "cloud/gcp/startup_script.h"

namespace cloudcoop::gcp {

// CLOUDCOOP_PROVISION_ROOT prefixes every path (tests run the script against a temp directory);
// GCE_METADATA_HOST is the metadata server (tests point it at loopback). Both are unset on a VM.
std::string_view StartupScript() {
  static constexpr std::string_view kScript = R"SCRIPT(#!/bin/bash
# cloudcoop startup script: runs as root on every boot of the agent host VM. Idempotent.
set -Eeuo pipefail
umask 022
root="${CLOUDCOOP_PROVISION_ROOT:-}"
run_dir="$root/var/run/cloudcoop"
log_dir="$root/var/log/cloudcoop"
metadata_host="${GCE_METADATA_HOST:-metadata.google.internal}"
total=3
step=0
task="start"

mkdir -p "$run_dir" "$log_dir"
chmod 0755 "$run_dir"
chmod 0750 "$log_dir"
exec >>"$log_dir/provision.log" 2>&1

# Mirror a value into the guest attribute cloudcoop/<key> (best effort: status files stay the truth).
guest_attribute() {
  command -v curl >/dev/null 2>&1 || return 0
  curl -fsS -m 5 -X PUT -H 'Metadata-Flavor: Google' --data-binary "$2" \
    "http://$metadata_host/computeMetadata/v1/instance/guest-attributes/cloudcoop/$1" >/dev/null 2>&1 || true
}

# status LINE [LINE2]: replaces provision-status atomically.
status() {
  printf '%s\n' "$@" >"$run_dir/provision-status.tmp"
  mv -f "$run_dir/provision-status.tmp" "$run_dir/provision-status"
  guest_attribute provision-status "$(printf '%s\n' "$@")"
}

# progress N DESCRIPTION
progress() {
  step=$1
  task=$2
  printf '%s/%s %s\n' "$step" "$total" "$task" >"$run_dir/provision-progress.tmp"
  mv -f "$run_dir/provision-progress.tmp" "$run_dir/provision-progress"
  guest_attribute provision-progress "$step/$total $task"
  echo "[$(date -u +%Y-%m-%dT%H:%M:%SZ)] step $step/$total: $task"
}

on_error() {
  local rc=$?
  trap - ERR
  status failed "Step $step/$total: $task failed with exit code $rc"
  echo "[$(date -u +%Y-%m-%dT%H:%M:%SZ)] FAILED: step $step/$total: $task (exit code $rc)"
  exit "$rc"
}
trap on_error ERR

status running
progress 1 "prepare cloudcoop directories"
install -d -m 0700 "$root/var/lib/cloudcoop"

progress 2 "install tmux and git"
if ! command -v tmux >/dev/null 2>&1 || ! command -v git >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends tmux git
fi

progress 3 "done"
status completed
)SCRIPT";
  return kScript;
}

}  // namespace cloudcoop::gcp
