#include "cloud/gcp/iam.h"

#include <nlohmann/json.hpp>

#include "cloud/gcp/json_util.h"
#include "core/logging.h"

namespace cloudcoop::gcp {
namespace {

using nlohmann::json;

IamPolicy ParsePolicy(const json& j, std::string raw) {
  IamPolicy p;
  p.version = static_cast<int>(js::Int64(j, "version").value_or(1));
  p.etag = js::Str(j, "etag");
  if (const json* bindings = js::Arr(j, "bindings")) {
    for (const auto& b : *bindings) {
      IamBinding binding{js::Str(b, "role"), js::StrList(b, "members"), "", ""};
      if (const json* cond = js::Obj(b, "condition")) {
        binding.condition_title = js::Str(*cond, "title");
        binding.condition_json = cond->dump();
      }
      p.bindings.push_back(std::move(binding));
    }
  }
  p.raw = std::move(raw);
  return p;
}

}  // namespace

IamApi::IamApi(RestClient* rest, std::string crm_base, std::string iam_base, std::string project)
    : rest_(rest), crm_base_(std::move(crm_base)), iam_base_(std::move(iam_base)), project_(std::move(project)) {}

StatusOr<IamPolicy> IamApi::GetProjectIamPolicy() {
  RestCall call;
  call.method = "POST";  // getIamPolicy is a read, sent as POST
  call.url = crm_base_ + "v1/projects/" + project_ + ":getIamPolicy";
  call.body = json{{"options", {{"requestedPolicyVersion", 3}}}}.dump();
  call.what = "cloudresourcemanager.projects.getIamPolicy " + project_;
  call.timeout = std::chrono::seconds(15);
  CC_ASSIGN_OR_RETURN(std::string body, rest_->Call(call));
  CC_ASSIGN_OR_RETURN(json j, js::Parse(body, "the getIamPolicy response"));
  return ParsePolicy(j, body);
}

StatusOr<IamPolicy> IamApi::SetProjectIamPolicy(const IamPolicy& policy) {
  json base = policy.raw.empty() ? json::object() : json::parse(policy.raw, nullptr, false);
  if (base.is_discarded() || !base.is_object()) base = json::object();
  json bindings = json::array();
  bool any_condition = false;
  for (const auto& b : policy.bindings) {
    json jb = {{"role", b.role}, {"members", b.members}};
    if (b.conditional()) {
      json cond = json::parse(b.condition_json, nullptr, false);
      if (!cond.is_discarded()) jb["condition"] = cond;
      any_condition = true;
    }
    bindings.push_back(jb);
  }
  base["bindings"] = bindings;
  base["etag"] = policy.etag;
  // Version 3 whenever a binding has a condition, or the conditions are dropped.
  base["version"] = any_condition ? 3 : std::max(policy.version, 1);
  std::string mask = "bindings,etag";
  if (base.contains("auditConfigs")) mask += ",auditConfigs";  // else silently not written
  RestCall call;
  call.method = "POST";
  call.url = crm_base_ + "v1/projects/" + project_ + ":setIamPolicy";
  call.body = json{{"policy", base}, {"updateMask", mask}}.dump();
  call.what = "cloudresourcemanager.projects.setIamPolicy " + project_;
  call.timeout = std::chrono::seconds(15);
  // The etag is the precondition: a repeat after success fails with a conflict instead of applying twice.
  call.idempotency = Idempotency::kIdempotent;
  CC_ASSIGN_OR_RETURN(std::string body, rest_->Call(call));
  CC_ASSIGN_OR_RETURN(json j, js::Parse(body, "the setIamPolicy response"));
  return ParsePolicy(j, body);
}

StatusOr<IamPolicy> IamApi::ModifyProjectIamPolicy(const std::function<bool(IamPolicy&)>& edit) {
  for (int attempt = 1;; ++attempt) {
    CC_ASSIGN_OR_RETURN(IamPolicy policy, GetProjectIamPolicy());
    if (!edit(policy)) return policy;
    auto written = SetProjectIamPolicy(policy);
    if (!written.ok() && written.status().code() == StatusCode::kAborted && attempt < 3) {
      CC_LOG_INFO("the IAM policy of %s changed since it was read; re-reading", project_.c_str());
      continue;
    }
    return written;
  }
}

StatusOr<std::vector<ServiceAccountKey>> IamApi::ListServiceAccountKeys(const std::string& email,
                                                                        bool user_managed_only) {
  RestCall call;
  call.url = iam_base_ + "v1/projects/" + project_ + "/serviceAccounts/" + email + "/keys" +
             (user_managed_only ? "?keyTypes=USER_MANAGED" : "");
  call.what = "iam.serviceAccounts.keys.list " + email;
  call.timeout = std::chrono::seconds(15);
  CC_ASSIGN_OR_RETURN(std::string body, rest_->Call(call));
  CC_ASSIGN_OR_RETURN(json j, js::Parse(body, "the keys.list response"));
  std::vector<ServiceAccountKey> keys;
  if (const json* arr = js::Arr(j, "keys")) {
    for (const auto& k : *arr) {
      keys.push_back({js::Str(k, "name"), js::Str(k, "keyType"), js::Str(k, "validAfterTime"), js::Bool(k, "disabled")});
    }
  }
  return keys;
}

StatusOr<std::optional<bool>> IamApi::ServiceAccountDisabled(const std::string& email) {
  RestCall call;
  call.url = iam_base_ + "v1/projects/" + project_ + "/serviceAccounts/" + email;
  call.what = "iam.serviceAccounts.get " + email;
  call.timeout = std::chrono::seconds(15);
  auto body = rest_->Call(call);
  if (!body.ok()) {
    if (body.status().code() == StatusCode::kNotFound) return std::optional<bool>();
    return body.status();
  }
  CC_ASSIGN_OR_RETURN(json j, js::Parse(*body, "the serviceAccounts.get response"));
  return std::optional<bool>(js::Bool(j, "disabled"));
}

}  // namespace cloudcoop::gcp
