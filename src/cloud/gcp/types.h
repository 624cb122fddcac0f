// Typed views of the Compute, Resource Manager and IAM resources cloudcoop reads. Only the fields
// it uses; parsing lives in compute.cc and iam.cc (no JSON in headers).
#ifndef CLOUDCOOP_CLOUD_GCP_TYPES_H_
#define CLOUDCOOP_CLOUD_GCP_TYPES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloudcoop::gcp {

struct MetadataItem {
  std::string key;
  std::string value;
};

// The state families of the reference implementation (reference-system.md section 4).
enum class VmState { kRunning, kStopped, kStarting, kStopping, kNotFound, kUnknown };
// RUNNING; STOPPED/TERMINATED; PROVISIONING/STAGING; STOPPING/SUSPENDING; else unknown.
VmState StateFromStatus(std::string_view gcp_status);
std::string_view VmStateName(VmState s);   // running, stopped, starting, stopping, not_found, unknown
std::string_view VmStateGlyph(VmState s);  // ● ○ ◐ ◑ ✗ ?

struct AttachedServiceAccount {
  std::string email;
  std::vector<std::string> scopes;
};

struct NetworkInterface {
  std::string network;     // URL
  std::string subnetwork;  // URL
  std::string network_ip;
  std::vector<std::string> external_ips;  // natIP of each accessConfig ("" when ephemeral and unassigned)
  int access_configs = 0;
  int ipv6_access_configs = 0;
};

struct Instance {
  std::string name;
  std::string id;
  std::string zone;          // short name
  std::string machine_type;  // short name
  std::string status;        // raw GCP status
  std::string self_link;
  std::string creation_timestamp;
  std::string last_start_timestamp;
  std::vector<NetworkInterface> nics;
  std::vector<AttachedServiceAccount> service_accounts;
  std::string metadata_fingerprint;
  std::vector<MetadataItem> metadata;
  // resourceStatus.effectiveInstanceMetadata (project/instance precedence already applied).
  std::optional<bool> effective_oslogin;
  std::optional<bool> effective_block_project_ssh_keys;
  std::optional<bool> effective_serial_port;
  bool secure_boot = false;
  bool vtpm = false;
  bool integrity_monitoring = false;
  bool can_ip_forward = false;
  std::string provisioning_model;  // STANDARD | SPOT ("" = STANDARD)
  bool preemptible = false;
  std::string termination_action;
  std::optional<int64_t> max_run_seconds;
  std::map<std::string, std::string> labels;
  std::vector<std::string> tags;
  int64_t boot_disk_gb = 0;  // 0: unknown

  VmState state() const { return StateFromStatus(status); }
  bool spot() const { return provisioning_model == "SPOT" || preemptible; }
  const std::string* MetadataValue(std::string_view key) const;
};

struct OperationError {
  std::string code;     // "QUOTA_EXCEEDED"
  std::string message;
};

struct Operation {
  std::string name;
  std::string self_link;
  std::string status;          // PENDING, RUNNING, DONE
  std::string operation_type;  // insert, start, stop, delete, ...
  std::string target_link;
  std::string zone;            // short; empty for a global operation
  std::vector<OperationError> errors;
  int http_error_status = 0;
  std::string http_error_message;
  bool done() const { return status == "DONE"; }
};

struct FirewallPorts {
  std::string protocol;            // "tcp", "udp", "all", "icmp", or a number
  std::vector<std::string> ports;  // empty: every port
};

struct Firewall {
  std::string name;
  std::string network;  // URL or partial
  std::string direction = "INGRESS";
  int64_t priority = 1000;
  bool disabled = false;
  std::vector<std::string> source_ranges;
  std::vector<std::string> destination_ranges;
  std::vector<std::string> source_tags;
  std::vector<std::string> source_service_accounts;
  std::vector<FirewallPorts> allowed;
  std::vector<FirewallPorts> denied;
  std::vector<std::string> target_tags;
  std::vector<std::string> target_service_accounts;
  bool log_enabled = false;
  std::string self_link;
};

struct Network {
  std::string name;
  std::string self_link;
  std::optional<bool> auto_create_subnetworks;  // absent: a legacy network
};

struct ProjectInfo {
  std::string name;
  std::string metadata_fingerprint;
  std::vector<MetadataItem> common_metadata;
  const std::string* MetadataValue(std::string_view key) const;
};

struct IamBinding {
  std::string role;
  std::vector<std::string> members;
  std::string condition_title;  // the condition's title, for messages
  std::string condition_json;   // the whole condition as read ("" when unconditional), kept on writes
  bool conditional() const { return !condition_json.empty(); }
};

struct IamPolicy {
  int version = 1;
  std::string etag;
  std::vector<IamBinding> bindings;
  std::string raw;  // the whole policy as read, so a write keeps fields cloudcoop does not model
};

struct ServiceAccountKey {
  std::string name;  // projects/p/serviceAccounts/e/keys/ID
  std::string key_type;  // USER_MANAGED | SYSTEM_MANAGED
  std::string valid_after_time;
  bool disabled = false;
};

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_TYPES_H_
