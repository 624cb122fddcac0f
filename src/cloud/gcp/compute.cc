#include "cloud/gcp/compute.h"

#include <nlohmann/json.hpp>

#include "cloud/gcp/json_util.h"
#include "core/logging.h"
#include "core/strings.h"

namespace cloudcoop::gcp {
namespace {

using nlohmann::json;

std::vector<MetadataItem> ParseMetadataItems(const json& metadata) {
  std::vector<MetadataItem> items;
  if (const json* arr = js::Arr(metadata, "items")) {
    for (const auto& it : *arr) items.push_back({js::Str(it, "key"), js::Str(it, "value")});
  }
  return items;
}

Instance ParseInstance(const json& j) {
  Instance in;
  in.name = js::Str(j, "name");
  in.id = js::Str(j, "id");
  if (in.id.empty()) {
    if (auto id = js::Int64(j, "id")) in.id = std::to_string(*id);
  }
  in.zone = js::LastSegment(js::Str(j, "zone"));
  in.machine_type = js::LastSegment(js::Str(j, "machineType"));
  in.status = js::Str(j, "status");
  in.self_link = js::Str(j, "selfLink");
  in.creation_timestamp = js::Str(j, "creationTimestamp");
  in.last_start_timestamp = js::Str(j, "lastStartTimestamp");
  in.can_ip_forward = js::Bool(j, "canIpForward");
  if (const json* nics = js::Arr(j, "networkInterfaces")) {
    for (const auto& n : *nics) {
      NetworkInterface nic;
      nic.network = js::Str(n, "network");
      nic.subnetwork = js::Str(n, "subnetwork");
      nic.network_ip = js::Str(n, "networkIP");
      if (const json* acs = js::Arr(n, "accessConfigs")) {
        nic.access_configs = static_cast<int>(acs->size());
        for (const auto& ac : *acs) nic.external_ips.push_back(js::Str(ac, "natIP"));
      }
      if (const json* v6 = js::Arr(n, "ipv6AccessConfigs")) nic.ipv6_access_configs = static_cast<int>(v6->size());
      in.nics.push_back(std::move(nic));
    }
  }
  if (const json* sas = js::Arr(j, "serviceAccounts")) {
    for (const auto& sa : *sas) in.service_accounts.push_back({js::Str(sa, "email"), js::StrList(sa, "scopes")});
  }
  if (const json* md = js::Obj(j, "metadata")) {
    in.metadata_fingerprint = js::Str(*md, "fingerprint");
    in.metadata = ParseMetadataItems(*md);
  }
  if (const json* rs = js::Obj(j, "resourceStatus")) {
    if (const json* eff = js::Obj(*rs, "effectiveInstanceMetadata")) {
      in.effective_oslogin = js::OptBool(*eff, "enableOsloginMetadataValue");
      in.effective_block_project_ssh_keys = js::OptBool(*eff, "blockProjectSshKeysMetadataValue");
      in.effective_serial_port = js::OptBool(*eff, "serialPortEnableMetadataValue");
    }
  }
  if (const json* sh = js::Obj(j, "shieldedInstanceConfig")) {
    in.secure_boot = js::Bool(*sh, "enableSecureBoot");
    in.vtpm = js::Bool(*sh, "enableVtpm");
    in.integrity_monitoring = js::Bool(*sh, "enableIntegrityMonitoring");
  }
  if (const json* sc = js::Obj(j, "scheduling")) {
    in.provisioning_model = js::Str(*sc, "provisioningModel");
    in.preemptible = js::Bool(*sc, "preemptible");
    in.termination_action = js::Str(*sc, "instanceTerminationAction");
    if (const json* mrd = js::Obj(*sc, "maxRunDuration")) in.max_run_seconds = js::Int64(*mrd, "seconds");
  }
  if (const json* labels = js::Obj(j, "labels")) {
    for (auto it = labels->begin(); it != labels->end(); ++it) {
      if (it.value().is_string()) in.labels[it.key()] = it.value().get<std::string>();
    }
  }
  if (const json* tags = js::Obj(j, "tags")) in.tags = js::StrList(*tags, "items");
  if (const json* disks = js::Arr(j, "disks")) {
    for (const auto& d : *disks) {
      if (js::Bool(d, "boot")) in.boot_disk_gb = js::Int64(d, "diskSizeGb").value_or(0);
    }
  }
  return in;
}

Operation ParseOperation(const json& j) {
  Operation op;
  op.name = js::Str(j, "name");
  op.self_link = js::Str(j, "selfLink");
  op.status = js::Str(j, "status");
  op.operation_type = js::Str(j, "operationType");
  op.target_link = js::Str(j, "targetLink");
  op.zone = js::LastSegment(js::Str(j, "zone"));
  op.http_error_status = static_cast<int>(js::Int64(j, "httpErrorStatusCode").value_or(0));
  op.http_error_message = js::Str(j, "httpErrorMessage");
  if (const json* err = js::Obj(j, "error")) {
    if (const json* errors = js::Arr(*err, "errors")) {
      for (const auto& e : *errors) op.errors.push_back({js::Str(e, "code"), js::Str(e, "message")});
    }
    if (op.errors.empty()) op.errors.push_back({"UNKNOWN", "the operation reports an error without details"});
  }
  return op;
}

std::vector<FirewallPorts> ParsePorts(const json& j, std::string_view key) {
  std::vector<FirewallPorts> out;
  if (const json* arr = js::Arr(j, key)) {
    for (const auto& p : *arr) out.push_back({ToLower(js::Str(p, "IPProtocol")), js::StrList(p, "ports")});
  }
  return out;
}

Firewall ParseFirewall(const json& j) {
  Firewall f;
  f.name = js::Str(j, "name");
  f.network = js::Str(j, "network");
  f.direction = js::Str(j, "direction").empty() ? "INGRESS" : js::Str(j, "direction");
  f.priority = js::Int64(j, "priority").value_or(1000);
  f.disabled = js::Bool(j, "disabled");
  f.source_ranges = js::StrList(j, "sourceRanges");
  f.destination_ranges = js::StrList(j, "destinationRanges");
  f.source_tags = js::StrList(j, "sourceTags");
  f.source_service_accounts = js::StrList(j, "sourceServiceAccounts");
  f.allowed = ParsePorts(j, "allowed");
  f.denied = ParsePorts(j, "denied");
  f.target_tags = js::StrList(j, "targetTags");
  f.target_service_accounts = js::StrList(j, "targetServiceAccounts");
  if (const json* log = js::Obj(j, "logConfig")) f.log_enabled = js::Bool(*log, "enable");
  f.self_link = js::Str(j, "selfLink");
  return f;
}

std::string WithQuery(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

// Pages through a list method: calls `page` with each answer until there is no nextPageToken.
Status ForEachPage(const std::function<StatusOr<std::string>(const std::string& token)>& fetch,
                   const std::function<void(const json&)>& page, const std::string& what) {
  std::string token;
  for (int pages = 0; pages < 1000; ++pages) {
    CC_ASSIGN_OR_RETURN(std::string body, fetch(token));
    CC_ASSIGN_OR_RETURN(json j, js::Parse(body, "the " + what + " response"));
    page(j);
    token = js::Str(j, "nextPageToken");
    if (token.empty()) return OkStatus();
  }
  return InternalError(what + ": more than 1000 pages; the server keeps returning nextPageToken");
}

}  // namespace

Status OperationStatus(const Operation& op, std::string_view what) {
  if (op.errors.empty()) return OkStatus();
  std::vector<std::string> parts;
  for (const auto& e : op.errors) parts.push_back(e.code + ": " + e.message);
  std::string msg = std::string(what) + ": operation " + op.name + " failed: " + Join(parts, "; ");
  const std::string& code = op.errors[0].code;
  if (code.find("QUOTA") != std::string::npos) {
    return ResourceExhaustedError(msg).WithFix(
        "request a higher quota (console: IAM & Admin > Quotas), or choose a smaller size or another zone");
  }
  if (code.find("RESOURCE_POOL_EXHAUSTED") != std::string::npos || code == "ZONE_RESOURCE_POOL_EXHAUSTED") {
    return UnavailableError(msg).WithFix("the zone has no capacity for this machine type now; try later, "
                                         "another zone (cloud.gcp.zone) or another size");
  }
  if (code == "RESOURCE_ALREADY_EXISTS" || code == "ALREADY_EXISTS") return AlreadyExistsError(msg);
  if (code == "RESOURCE_NOT_FOUND" || op.http_error_status == 404) {
    return NotFoundError(msg).WithFix("check the names the request refers to (network, subnet, image, service account)");
  }
  if (op.http_error_status == 403 || code.find("PERMISSION") != std::string::npos) {
    return PermissionDeniedError(msg).WithFix("grant the identity in use the permission the message names");
  }
  return FailedPreconditionError(msg).WithFix("fix what the message names, then re-run the command");
}

std::string FirewallJson(const Firewall& f, bool for_patch) {
  json j = {{"name", f.name}, {"network", f.network}, {"direction", f.direction}, {"priority", f.priority}};
  auto ports = [](const std::vector<FirewallPorts>& list) {
    json arr = json::array();
    for (const auto& p : list) {
      json e = {{"IPProtocol", p.protocol}};
      if (!p.ports.empty()) e["ports"] = p.ports;
      arr.push_back(e);
    }
    return arr;
  };
  auto list = [&](const char* key, const std::vector<std::string>& v) {
    if (!v.empty() || for_patch) j[key] = v;
  };
  if (!f.allowed.empty() || for_patch) j["allowed"] = ports(f.allowed);
  if (!f.denied.empty() || for_patch) j["denied"] = ports(f.denied);
  list("sourceRanges", f.source_ranges);
  list("destinationRanges", f.destination_ranges);
  list("sourceTags", f.source_tags);
  list("sourceServiceAccounts", f.source_service_accounts);
  list("targetTags", f.target_tags);
  list("targetServiceAccounts", f.target_service_accounts);
  j["disabled"] = f.disabled;
  j["logConfig"] = {{"enable", f.log_enabled}};
  j["description"] = "managed by cloudcoop: SSH only through IAP TCP forwarding";
  return j.dump();
}

ComputeApi::ComputeApi(RestClient* rest, std::string base, std::string project)
    : rest_(rest), base_(std::move(base)), project_(std::move(project)) {}

std::string ComputeApi::NetworkUrl(const std::string& network) const {
  if (network.find('/') != std::string::npos) return network;
  return "projects/" + project_ + "/global/networks/" + network;
}

StatusOr<std::string> ComputeApi::Get(const std::string& url, const std::string& what, Duration timeout) {
  RestCall call;
  call.url = url;
  call.what = what;
  call.timeout = timeout;
  return rest_->Call(call);
}

StatusOr<Operation> ComputeApi::Mutate(const std::string& method, const std::string& url, const std::string& body,
                                       const std::string& request_id, const std::string& what) {
  RestCall call;
  call.method = method;
  call.url = WithQuery(url, "requestId=" + UrlEncode(request_id));
  call.body = body;
  // The requestId makes the call idempotent: GCP answers a repeat with the first call's operation.
  call.idempotency = Idempotency::kIdempotent;
  call.what = what;
  CC_ASSIGN_OR_RETURN(std::string resp, rest_->Call(call));
  CC_ASSIGN_OR_RETURN(json j, js::Parse(resp, "the " + what + " response"));
  return ParseOperation(j);
}

StatusOr<std::optional<Instance>> ComputeApi::GetInstance(const std::string& zone, const std::string& name,
                                                          Duration timeout) {
  auto body = Get(ProjectPath() + "zones/" + zone + "/instances/" + name, "compute.instances.get " + name, timeout);
  if (!body.ok()) {
    if (body.status().code() == StatusCode::kNotFound) return std::optional<Instance>();
    return body.status();
  }
  CC_ASSIGN_OR_RETURN(json j, js::Parse(*body, "the compute.instances.get response"));
  return std::optional<Instance>(ParseInstance(j));
}

StatusOr<std::vector<Instance>> ComputeApi::ListInstances(const std::string& zone) {
  std::vector<Instance> out;
  std::string url = ProjectPath() + "zones/" + zone + "/instances?maxResults=500";
  CC_RETURN_IF_ERROR(ForEachPage(
      [&](const std::string& token) {
        return Get(token.empty() ? url : url + "&pageToken=" + UrlEncode(token), "compute.instances.list " + zone,
                   std::chrono::seconds(30));
      },
      [&](const json& j) {
        if (const json* items = js::Arr(j, "items")) {
          for (const auto& it : *items) out.push_back(ParseInstance(it));
        }
      },
      "compute.instances.list"));
  return out;
}

StatusOr<std::vector<Instance>> ComputeApi::AggregatedListInstances() {
  std::vector<Instance> out;
  std::string url = ProjectPath() + "aggregated/instances?maxResults=500&returnPartialSuccess=true";
  CC_RETURN_IF_ERROR(ForEachPage(
      [&](const std::string& token) {
        return Get(token.empty() ? url : url + "&pageToken=" + UrlEncode(token), "compute.instances.aggregatedList",
                   std::chrono::seconds(30));
      },
      [&](const json& j) {
        if (const json* scopes = js::Obj(j, "items")) {
          for (auto it = scopes->begin(); it != scopes->end(); ++it) {
            if (const json* instances = js::Arr(it.value(), "instances")) {
              for (const auto& in : *instances) out.push_back(ParseInstance(in));
            }
          }
        }
      },
      "compute.instances.aggregatedList"));
  return out;
}

StatusOr<Operation> ComputeApi::InsertInstance(const std::string& zone, const std::string& body,
                                               const std::string& request_id) {
  return Mutate("POST", ProjectPath() + "zones/" + zone + "/instances", body, request_id, "compute.instances.insert");
}

StatusOr<Operation> ComputeApi::StartInstance(const std::string& zone, const std::string& name,
                                              const std::string& request_id) {
  return Mutate("POST", ProjectPath() + "zones/" + zone + "/instances/" + name + "/start", "", request_id,
                "compute.instances.start " + name);
}

StatusOr<Operation> ComputeApi::StopInstance(const std::string& zone, const std::string& name,
                                             const std::string& request_id) {
  return Mutate("POST", ProjectPath() + "zones/" + zone + "/instances/" + name + "/stop", "", request_id,
                "compute.instances.stop " + name);
}

StatusOr<Operation> ComputeApi::DeleteInstance(const std::string& zone, const std::string& name,
                                               const std::string& request_id) {
  return Mutate("DELETE", ProjectPath() + "zones/" + zone + "/instances/" + name, "", request_id,
                "compute.instances.delete " + name);
}

StatusOr<Operation> ComputeApi::SetMachineType(const std::string& zone, const std::string& name,
                                               const std::string& machine_type, const std::string& request_id) {
  json body = {{"machineType", "zones/" + zone + "/machineTypes/" + machine_type}};
  return Mutate("POST", ProjectPath() + "zones/" + zone + "/instances/" + name + "/setMachineType", body.dump(),
                request_id, "compute.instances.setMachineType " + name);
}

StatusOr<Operation> ComputeApi::SetInstanceMetadata(const std::string& zone, const std::string& name,
                                                    const std::string& fingerprint,
                                                    const std::vector<MetadataItem>& items,
                                                    const std::string& request_id) {
  json arr = json::array();
  for (const auto& it : items) arr.push_back({{"key", it.key}, {"value", it.value}});
  json body = {{"fingerprint", fingerprint}, {"items", arr}};
  return Mutate("POST", ProjectPath() + "zones/" + zone + "/instances/" + name + "/setMetadata", body.dump(),
                request_id, "compute.instances.setMetadata " + name);
}

StatusOr<Operation> ComputeApi::UpdateInstanceMetadata(const std::string& zone, const std::string& name,
                                                       const std::function<void(std::vector<MetadataItem>&)>& edit,
                                                       Duration deadline) {
  for (int attempt = 1;; ++attempt) {
    CC_ASSIGN_OR_RETURN(auto instance, GetInstance(zone, name));
    if (!instance) {
      return NotFoundError("updating the metadata of " + name + ": the instance does not exist")
          .WithFix("create it first: cloudcoop create");
    }
    std::vector<MetadataItem> items = instance->metadata;
    edit(items);
    auto op = SetInstanceMetadata(zone, name, instance->metadata_fingerprint, items, NewUuid());
    if (!op.ok() && op.status().code() == StatusCode::kAborted && attempt < 3) {
      CC_LOG_INFO("metadata of %s changed since it was read; re-reading", name.c_str());
      continue;
    }
    if (!op.ok()) return op.status();
    return WaitForOperation(*op, deadline);
  }
}

StatusOr<std::map<std::string, std::string>> ComputeApi::GetGuestAttributes(const std::string& zone,
                                                                           const std::string& name,
                                                                           const std::string& query_path) {
  std::map<std::string, std::string> out;
  auto body = Get(ProjectPath() + "zones/" + zone + "/instances/" + name +
                      "/getGuestAttributes?queryPath=" + UrlEncode(query_path),
                  "compute.instances.getGuestAttributes " + name, std::chrono::seconds(10));
  if (!body.ok()) {
    if (body.status().code() == StatusCode::kNotFound) return out;  // nothing written yet
    return body.status();
  }
  CC_ASSIGN_OR_RETURN(json j, js::Parse(*body, "the compute.instances.getGuestAttributes response"));
  if (const json* qv = js::Obj(j, "queryValue")) {
    if (const json* items = js::Arr(*qv, "items")) {
      for (const auto& it : *items) out[js::Str(it, "key")] = js::Str(it, "value");
    }
  }
  return out;
}

StatusOr<ProjectInfo> ComputeApi::GetProject() {
  CC_ASSIGN_OR_RETURN(std::string body, Get(base_ + "projects/" + project_, "compute.projects.get " + project_, std::chrono::seconds(30)));
  CC_ASSIGN_OR_RETURN(json j, js::Parse(body, "the compute.projects.get response"));
  ProjectInfo p;
  p.name = js::Str(j, "name");
  if (const json* md = js::Obj(j, "commonInstanceMetadata")) {
    p.metadata_fingerprint = js::Str(*md, "fingerprint");
    p.common_metadata = ParseMetadataItems(*md);
  }
  return p;
}

StatusOr<std::vector<Firewall>> ComputeApi::ListFirewalls() {
  std::vector<Firewall> out;
  std::string url = ProjectPath() + "global/firewalls?maxResults=500";
  CC_RETURN_IF_ERROR(ForEachPage(
      [&](const std::string& token) {
        return Get(token.empty() ? url : url + "&pageToken=" + UrlEncode(token), "compute.firewalls.list",
                   std::chrono::seconds(15));
      },
      [&](const json& j) {
        if (const json* items = js::Arr(j, "items")) {
          for (const auto& it : *items) out.push_back(ParseFirewall(it));
        }
      },
      "compute.firewalls.list"));
  return out;
}

StatusOr<Operation> ComputeApi::InsertFirewall(const Firewall& rule, const std::string& request_id) {
  return Mutate("POST", ProjectPath() + "global/firewalls", FirewallJson(rule), request_id,
                "compute.firewalls.insert " + rule.name);
}

StatusOr<Operation> ComputeApi::PatchFirewall(const Firewall& rule, const std::string& request_id) {
  return Mutate("PATCH", ProjectPath() + "global/firewalls/" + rule.name, FirewallJson(rule, true), request_id,
                "compute.firewalls.patch " + rule.name);
}

StatusOr<Operation> ComputeApi::DeleteFirewall(const std::string& name, const std::string& request_id) {
  return Mutate("DELETE", ProjectPath() + "global/firewalls/" + name, "", request_id,
                "compute.firewalls.delete " + name);
}

StatusOr<std::vector<Network>> ComputeApi::ListNetworks() {
  std::vector<Network> out;
  std::string url = ProjectPath() + "global/networks?maxResults=500";
  CC_RETURN_IF_ERROR(ForEachPage(
      [&](const std::string& token) {
        return Get(token.empty() ? url : url + "&pageToken=" + UrlEncode(token), "compute.networks.list",
                   std::chrono::seconds(15));
      },
      [&](const json& j) {
        if (const json* items = js::Arr(j, "items")) {
          for (const auto& it : *items) {
            out.push_back({js::Str(it, "name"), js::Str(it, "selfLink"), js::OptBool(it, "autoCreateSubnetworks")});
          }
        }
      },
      "compute.networks.list"));
  return out;
}

StatusOr<Operation> ComputeApi::WaitForOperation(const Operation& first, Duration deadline,
                                                 const std::function<void(const Operation&)>& on_poll) {
  const RetryOptions& ro = rest_->retry_options();
  Sleeper& sleeper = ro.sleeper != nullptr ? *ro.sleeper : DefaultSleeper();
  Clock& clock = ro.clock != nullptr ? *ro.clock : static_cast<Clock&>(DefaultClock());
  std::string what = first.operation_type.empty() ? "operation" : "compute." + first.operation_type;
  if (!first.target_link.empty()) what += " " + js::LastSegment(first.target_link);
  if (first.name.empty()) return InternalError(what + ": the API returned an operation without a name");
  std::string url = ProjectPath() + (first.zone.empty() ? "global" : "zones/" + first.zone) + "/operations/" +
                    first.name + "/wait";
  Duration start = clock.Monotonic();
  Duration pause = std::chrono::milliseconds(200);
  Operation op = first;
  while (!op.done()) {
    Duration elapsed = clock.Monotonic() - start;
    if (elapsed >= deadline) {
      return DeadlineExceededError(what + ": operation " + op.name + " is still " + op.status + " after " +
                                   FormatSeconds(elapsed))
          .WithFix("it continues in Google Cloud; follow it with `cloudcoop status` and re-run the command later");
    }
    RestCall call;
    call.method = "POST";
    call.url = url;
    call.what = "waiting for " + what;
    // `wait` answers when the operation is DONE or after about two minutes, sometimes earlier.
    call.timeout = std::min<Duration>(deadline - elapsed + std::chrono::seconds(5), std::chrono::seconds(130));
    Duration before = clock.Monotonic();
    CC_ASSIGN_OR_RETURN(std::string body, rest_->Call(call));
    CC_ASSIGN_OR_RETURN(json j, js::Parse(body, "the operation wait response"));
    Operation next = ParseOperation(j);
    if (next.name != op.name) {
      return InternalError(what + ": waiting on " + op.name + " returned operation " + next.name)
          .WithFix("the API answered inconsistently; re-run the command");
    }
    op = std::move(next);
    if (on_poll) on_poll(op);
    if (!op.done() && clock.Monotonic() - before < std::chrono::seconds(1)) {
      sleeper.Sleep(pause);  // `wait` returned early: do not spin
      pause = std::min<Duration>(pause * 2, std::chrono::seconds(5));
    }
  }
  CC_RETURN_IF_ERROR(OperationStatus(op, what));
  return op;
}

}  // namespace cloudcoop::gcp
