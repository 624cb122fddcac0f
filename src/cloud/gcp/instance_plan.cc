#include "cloud/gcp/instance_plan.h"

#include <nlohmann/json.hpp>
#include <regex>

#include "cloud/gcp/auth.h"
#include "cloud/gcp/clients.h"
#include "cloud/gcp/startup_script.h"
#include "core/build_info.h"
#include "core/strings.h"
#include "policy/rules.h"

namespace cloudcoop::gcp {
namespace {

using nlohmann::json;

// Metadata keys cloudcoop sets itself; their names contain "key" but hold no secret.
bool IsOwnKey(const std::string& key) {
  return key == "enable-oslogin" || key == "block-project-ssh-keys" || key == "serial-port-enable" ||
         key == "enable-guest-attributes" || key == "startup-script" || key == "cloudcoop-version";
}

Status CheckNoSecrets(const std::vector<MetadataItem>& items) {
  for (const auto& item : items) {
    if ((!IsOwnKey(item.key) && policy::LooksLikeSecretName(item.key)) || policy::LooksLikeSecretValue(item.value)) {
      return FailedPreconditionError("instance metadata item \"" + item.key +
                                     "\" looks like a secret; any process on the VM can read metadata")
          .WithFix("keep secrets in Secret Manager (secrets.secret_manager), never in instance metadata");
    }
  }
  return OkStatus();
}

}  // namespace

StatusOr<std::string> ResolveMachineType(const VmSettings& vm, const std::optional<std::string>& size,
                                         const std::optional<std::string>& machine_type) {
  static const std::regex type_pattern("^[a-z][a-z0-9]*-[a-z0-9-]+$");
  if (size && machine_type) {
    return InvalidArgumentError("--size and --machine-type both given").WithFix("choose one of them");
  }
  std::string type = vm.machine_type;
  if (size) {
    auto it = vm.sizes.find(*size);
    if (it == vm.sizes.end() || it->second.empty()) {
      std::vector<std::string> names;
      for (const auto& [n, t] : vm.sizes) names.push_back(n);
      return InvalidArgumentError("size \"" + *size + "\" is not one of " + Join(names, ", "))
          .WithFix("use one of " + Join(names, ", ") + ", or --machine-type TYPE");
    }
    type = it->second;
  }
  if (machine_type) type = *machine_type;
  if (!std::regex_match(type, type_pattern)) {
    return InvalidArgumentError("machine type \"" + type + "\" is not a machine type name")
        .WithFix("use a type such as c4a-highcpu-4 or e2-standard-4");
  }
  return type;
}

StatusOr<InstancePlan> PlanInstance(const Settings& s, const CreateOptions& o) {
  CC_RETURN_IF_ERROR(CheckGcpNames(s));
  InstancePlan p;
  p.project = s.gcp.project;
  p.zone = s.gcp.zone;
  p.name = s.vm.name;
  CC_ASSIGN_OR_RETURN(p.machine_type, ResolveMachineType(s.vm, o.size, o.machine_type));
  p.image = s.vm.image;
  p.disk_size_gb = s.vm.disk_size_gb;
  p.disk_type = StartsWith(p.machine_type, "c4a-") ? "hyperdisk-balanced" : "pd-balanced";
  p.network = "projects/" + s.gcp.project + "/global/networks/" + s.gcp.network;
  if (!s.gcp.subnet.empty()) {
    p.subnetwork = "projects/" + s.gcp.project + "/regions/" + s.gcp.Region() + "/subnetworks/" + s.gcp.subnet;
  }
  p.service_account = s.gcp.service_account;
  p.spot = o.spot.value_or(s.vm.spot);
  int64_t minutes = o.max_uptime_minutes.value_or(s.vm.max_uptime_minutes);
  if (minutes < 0 || minutes > 525600) {
    return InvalidArgumentError("--max-uptime " + std::to_string(minutes) + " is out of range")
        .WithFix("give minutes from 0 (no limit) to 525600");
  }
  p.max_run_seconds = minutes * 60;
  p.tags = s.vm.tags;
  p.labels = {{"managed-by", "cloudcoop"}};
  p.metadata = {
      {"enable-oslogin", "TRUE"},
      {"block-project-ssh-keys", "TRUE"},
      {"serial-port-enable", "FALSE"},
      {"enable-guest-attributes", "TRUE"},
      {"cloudcoop-version", kVersion},
      {"startup-script", std::string(StartupScript())},
  };
  CC_RETURN_IF_ERROR(CheckNoSecrets(p.metadata));
  return p;
}

std::string InstancePlan::BodyJson(bool pretty) const {
  json items = json::array();
  for (const auto& m : metadata) items.push_back({{"key", m.key}, {"value", m.value}});
  json nic = {{"network", network}};  // no accessConfigs: no external IP
  if (!subnetwork.empty()) nic["subnetwork"] = subnetwork;
  json scheduling;
  if (spot) {
    scheduling = {{"provisioningModel", "SPOT"},
                  {"preemptible", true},
                  {"instanceTerminationAction", "STOP"},
                  {"automaticRestart", false},
                  {"onHostMaintenance", "TERMINATE"}};
  } else {
    scheduling = {{"provisioningModel", "STANDARD"}, {"automaticRestart", true}};
  }
  if (max_run_seconds > 0) {
    scheduling["maxRunDuration"] = {{"seconds", std::to_string(max_run_seconds)}};
    scheduling["instanceTerminationAction"] = "STOP";
  }
  json body = {
      {"name", name},
      {"machineType", "zones/" + zone + "/machineTypes/" + machine_type},
      {"disks",
       json::array({{{"boot", true},
                     {"autoDelete", true},
                     {"initializeParams",
                      {{"sourceImage", image},
                       {"diskSizeGb", std::to_string(disk_size_gb)},
                       {"diskType", "zones/" + zone + "/diskTypes/" + disk_type}}}}})},
      {"networkInterfaces", json::array({nic})},
      {"serviceAccounts", json::array({{{"email", service_account}, {"scopes", json::array({kCloudPlatformScope})}}})},
      {"metadata", {{"items", items}}},
      {"shieldedInstanceConfig", {{"enableSecureBoot", true}, {"enableVtpm", true}, {"enableIntegrityMonitoring", true}}},
      {"canIpForward", false},
      {"scheduling", scheduling},
      {"labels", labels},
      {"tags", {{"items", tags}}},
  };
  return pretty ? body.dump(2) : body.dump();
}

}  // namespace cloudcoop::gcp
