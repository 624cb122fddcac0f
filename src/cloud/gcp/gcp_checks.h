// The live gcp.* items of `cloudcoop check`: they read the VM, the project's firewalls, networks and
// IAM policy, and the service account's keys through the API (security-checks.md). Not applicable
// when cloud.provider = local; FAIL with the reason when the API cannot be read.
#ifndef CLOUDCOOP_CLOUD_GCP_GCP_CHECKS_H_
#define CLOUDCOOP_CLOUD_GCP_GCP_CHECKS_H_

#include <functional>
#include <memory>
#include <optional>

#include "cloud/gcp/clients.h"
#include "policy/checks.h"

namespace cloudcoop::gcp {

// Reads what the checks inspect, each item at most once per check run, and only when a check asks
// (so a local provider never loads libcurl).
class LiveReader {
 public:
  using Factory = std::function<StatusOr<std::unique_ptr<GcpClients>>(const Settings&)>;
  explicit LiveReader(Factory factory);
  // The default: real transport and credentials from the process environment.
  static Factory DefaultFactory();

  StatusOr<GcpClients*> Clients(const Settings& s);
  const StatusOr<std::optional<Instance>>& VmInstance(const Settings& s);
  const StatusOr<ProjectInfo>& Project(const Settings& s);
  const StatusOr<std::vector<Firewall>>& Firewalls(const Settings& s);
  const StatusOr<std::vector<Network>>& Networks(const Settings& s);
  const StatusOr<IamPolicy>& ProjectPolicy(const Settings& s);
  const StatusOr<std::vector<ServiceAccountKey>>& UserManagedKeys(const Settings& s);

 private:
  Factory factory_;
  std::optional<StatusOr<std::unique_ptr<GcpClients>>> clients_;
  std::optional<StatusOr<std::optional<Instance>>> instance_;
  std::optional<StatusOr<ProjectInfo>> project_;
  std::optional<StatusOr<std::vector<Firewall>>> firewalls_;
  std::optional<StatusOr<std::vector<Network>>> networks_;
  std::optional<StatusOr<IamPolicy>> policy_;
  std::optional<StatusOr<std::vector<ServiceAccountKey>>> keys_;
};

// "TRUE", "true", "1", "yes", "on" (any case) are true; everything else is false.
bool MetadataTrue(const std::string& value);

void RegisterGcpChecks(policy::CheckRegistry& registry);

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_GCP_CHECKS_H_
