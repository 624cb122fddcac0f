// The hardened agent-host instance, as an immutable plan built from the settings and `create`'s
// flags, printable (`create --dry-run`) and unit-tested before any API call (gcp-rest.md section 3):
// the dedicated service account with the cloud-platform scope, no external IP (no accessConfigs),
// Shielded VM (secure boot, vTPM, integrity monitoring), OS Login on, project-wide SSH keys blocked,
// serial port off, canIpForward false, label managed-by=cloudcoop, the network tags, Spot with STOP
// on preemption when asked, maxRunDuration when asked, and the startup script. No secrets.
#ifndef CLOUDCOOP_CLOUD_GCP_INSTANCE_PLAN_H_
#define CLOUDCOOP_CLOUD_GCP_INSTANCE_PLAN_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cloud/gcp/types.h"
#include "config/settings.h"
#include "core/status.h"

namespace cloudcoop::gcp {

struct CreateOptions {
  std::optional<std::string> size;          // --size: a vm.sizes preset
  std::optional<std::string> machine_type;  // --machine-type
  std::optional<bool> spot;                 // --spot (else vm.spot)
  std::optional<int64_t> max_uptime_minutes;  // --max-uptime (else vm.max_uptime_minutes)
};

struct InstancePlan {
  std::string project;
  std::string zone;
  std::string name;
  std::string machine_type;
  std::string image;
  int64_t disk_size_gb = 50;
  std::string disk_type;  // hyperdisk-balanced for c4a-*, pd-balanced otherwise
  std::string network;     // projects/P/global/networks/N
  std::string subnetwork;  // projects/P/regions/R/subnetworks/S, or empty
  std::string service_account;
  bool spot = false;
  int64_t max_run_seconds = 0;  // 0: no limit
  std::vector<std::string> tags;
  std::map<std::string, std::string> labels;
  std::vector<MetadataItem> metadata;

  // The instances.insert body.
  std::string BodyJson(bool pretty = false) const;
};

// The machine type for a size preset or an explicit type; errors name the flag and the choices.
StatusOr<std::string> ResolveMachineType(const VmSettings& vm, const std::optional<std::string>& size,
                                         const std::optional<std::string>& machine_type);

StatusOr<InstancePlan> PlanInstance(const Settings& settings, const CreateOptions& options);

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_INSTANCE_PLAN_H_
