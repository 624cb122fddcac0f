// What `cloudcoop status` shows about the GCP agent host, read through the API only (no SSH):
// the instance, its uptime, the provisioning status the startup script mirrors into guest
// attributes, and an estimated cost per hour.
#ifndef CLOUDCOOP_CLOUD_GCP_VM_STATUS_H_
#define CLOUDCOOP_CLOUD_GCP_VM_STATUS_H_

#include <map>
#include <optional>
#include <string>

#include "cloud/gcp/clients.h"
#include "cloud/gcp/prices.h"
#include "cloud/gcp/types.h"

namespace cloudcoop::gcp {

struct ProvisioningStatus {
  std::string status = "pending";  // pending | running | completed | failed | unknown
  std::string progress;            // "2/3 install tmux and git"
  std::string error;               // the failure line when failed
  std::string note;                // why it is unknown
};

// The provisioning status from the guest attributes cloudcoop/provision-status and
// cloudcoop/provision-progress (the status-file contract: first line is the status).
ProvisioningStatus ParseProvisioning(const std::map<std::string, std::string>& attributes);

struct VmStatusReport {
  std::string project;
  std::string zone;
  std::string name;
  std::optional<Instance> instance;  // empty: the VM does not exist
  std::optional<int64_t> uptime_seconds;
  ProvisioningStatus provisioning;
  CostEstimate cost;
};

StatusOr<VmStatusReport> ReadVmStatus(GcpClients& clients, Duration timeout);

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_VM_STATUS_H_
