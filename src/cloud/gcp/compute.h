// The Compute Engine v1 calls cloudcoop makes (gcp-rest.md sections 2-5). Every mutation carries a
// requestId, so it is safe to retry and a re-run after a crash converges instead of duplicating;
// every mutation returns an Operation that WaitForOperation polls until DONE and then checks for
// `error`. Metadata writes carry the fingerprint read before them.
#ifndef CLOUDCOOP_CLOUD_GCP_COMPUTE_H_
#define CLOUDCOOP_CLOUD_GCP_COMPUTE_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cloud/gcp/rest_client.h"
#include "cloud/gcp/types.h"

namespace cloudcoop::gcp {

class ComputeApi {
 public:
  // `base` is Endpoints::compute ("https://compute.googleapis.com/compute/v1/").
  ComputeApi(RestClient* rest, std::string base, std::string project);
  const std::string& project() const { return project_; }
  const std::string& base() const { return base_; }

  // Instances. A missing instance is an empty optional, not an error.
  StatusOr<std::optional<Instance>> GetInstance(const std::string& zone, const std::string& name,
                                                Duration timeout = std::chrono::seconds(30));
  StatusOr<std::vector<Instance>> ListInstances(const std::string& zone);
  StatusOr<std::vector<Instance>> AggregatedListInstances();
  StatusOr<Operation> InsertInstance(const std::string& zone, const std::string& body_json,
                                     const std::string& request_id);
  StatusOr<Operation> StartInstance(const std::string& zone, const std::string& name, const std::string& request_id);
  StatusOr<Operation> StopInstance(const std::string& zone, const std::string& name, const std::string& request_id);
  StatusOr<Operation> DeleteInstance(const std::string& zone, const std::string& name, const std::string& request_id);
  StatusOr<Operation> SetMachineType(const std::string& zone, const std::string& name,
                                     const std::string& machine_type, const std::string& request_id);
  // Replaces the whole item list; `fingerprint` from the last read (a stale one: kAborted, HTTP 412).
  StatusOr<Operation> SetInstanceMetadata(const std::string& zone, const std::string& name,
                                          const std::string& fingerprint, const std::vector<MetadataItem>& items,
                                          const std::string& request_id);
  // Read-modify-write of the instance metadata: `edit` changes the items read; a 412 re-reads and
  // re-applies the edit (at most 3 times). Waits for the operation.
  StatusOr<Operation> UpdateInstanceMetadata(const std::string& zone, const std::string& name,
                                             const std::function<void(std::vector<MetadataItem>&)>& edit,
                                             Duration deadline);
  // Guest attributes under `query_path` ("cloudcoop/"): key -> value. None written yet: empty.
  StatusOr<std::map<std::string, std::string>> GetGuestAttributes(const std::string& zone, const std::string& name,
                                                                  const std::string& query_path);

  // Project, firewalls, networks.
  StatusOr<ProjectInfo> GetProject();
  StatusOr<std::vector<Firewall>> ListFirewalls();
  StatusOr<Operation> InsertFirewall(const Firewall& rule, const std::string& request_id);
  StatusOr<Operation> PatchFirewall(const Firewall& rule, const std::string& request_id);
  StatusOr<Operation> DeleteFirewall(const std::string& name, const std::string& request_id);
  StatusOr<std::vector<Network>> ListNetworks();

  // Operations: polls with the `wait` method until DONE or `deadline`, calling `on_poll` after each
  // answer; a DONE operation with `error` is returned as the error it reports.
  StatusOr<Operation> WaitForOperation(const Operation& op, Duration deadline,
                                       const std::function<void(const Operation&)>& on_poll = nullptr);

  std::string NetworkUrl(const std::string& network) const;  // projects/P/global/networks/N

 private:
  StatusOr<std::string> Get(const std::string& path, const std::string& what, Duration timeout);
  StatusOr<Operation> Mutate(const std::string& method, const std::string& path, const std::string& body,
                             const std::string& request_id, const std::string& what);
  std::string ProjectPath() const { return base_ + "projects/" + project_ + "/"; }

  RestClient* rest_;
  std::string base_;
  std::string project_;
};

// The Status a failed (DONE, with `error`) operation stands for; OK when it has no error.
Status OperationStatus(const Operation& op, std::string_view what);

// JSON of a firewall rule as the API takes it. A patch body lists every field, empty lists too,
// because PATCH (JSON merge patch) keeps the fields it is not given.
std::string FirewallJson(const Firewall& rule, bool for_patch = false);

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_COMPUTE_H_
