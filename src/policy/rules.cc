#include "policy/rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <regex>

#include "core/strings.h"

namespace cloudcoop::policy {

const std::vector<std::string>& AllowedServiceAccountRoles() {
  static const std::vector<std::string> roles = {
      "roles/logging.logWriter",
      "roles/monitoring.metricWriter",
      "roles/artifactregistry.reader",
      "roles/secretmanager.secretAccessor",
  };
  return roles;
}

RoleVerdict ClassifyRole(std::string_view role) {
  const auto& allowed = AllowedServiceAccountRoles();
  if (std::find(allowed.begin(), allowed.end(), role) != allowed.end()) return {true, ""};
  std::string lower = ToLower(role);
  if (role == "roles/owner" || role == "roles/editor") {
    return {false, std::string(role) + " is a primitive role that grants (nearly) everything in the project"};
  }
  if (StartsWith(role, "roles/compute.")) {
    return {false, std::string(role) + " lets the VM change instances, disks or firewalls, including its own"};
  }
  if (StartsWith(role, "roles/iam.")) {
    return {false, std::string(role) + " lets the VM act as or manage other identities (privilege escalation)"};
  }
  if (StartsWith(role, "roles/storage.")) {
    return {false, std::string(role) + " gives agents access to Cloud Storage data (exfiltration path)"};
  }
  if (StartsWith(role, "roles/billing.")) {
    return {false, std::string(role) + " gives access to billing accounts"};
  }
  if (lower.find("admin") != std::string::npos) {
    return {false, std::string(role) + " is an administrative role"};
  }
  return {false, std::string(role) + " is not on the allow-list (" + Join(allowed, ", ") + ")"};
}

bool IsDefaultServiceAccount(std::string_view email) {
  std::string lower = ToLower(email);
  return EndsWith(lower, "-compute@developer.gserviceaccount.com") ||
         EndsWith(lower, "@appspot.gserviceaccount.com") || lower == "default";
}

Status CheckServiceAccountEmail(std::string_view email) {
  if (IsDefaultServiceAccount(email)) {
    return InvalidArgumentError("cloud.gcp.service_account = " + std::string(email) +
                                " is a default service account, which gets broad project roles")
        .WithFix("create a dedicated account with only logging and monitoring roles and set "
                 "cloud.gcp.service_account to NAME@PROJECT.iam.gserviceaccount.com");
  }
  static const std::regex pattern("^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\\.iam\\.gserviceaccount\\.com$");
  if (!std::regex_match(std::string(email), pattern)) {
    return InvalidArgumentError("cloud.gcp.service_account = \"" + std::string(email) +
                                "\" is not a user-managed service account email")
        .WithFix("use the form NAME@PROJECT.iam.gserviceaccount.com");
  }
  return OkStatus();
}

Status CheckCidr(std::string_view cidr) {
  auto bad = [&]() {
    return InvalidArgumentError("\"" + std::string(cidr) + "\" is not a CIDR range")
        .WithFix("write an address and prefix length, e.g. 203.0.113.4/32 or 2001:db8::/48");
  };
  size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) return bad();
  std::string addr(cidr.substr(0, slash));
  auto len = ParseInt64(cidr.substr(slash + 1));
  unsigned char buf[16];
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1) {
    if (!len || *len < 0 || *len > 32) return bad();
    return OkStatus();
  }
  if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
    if (!len || *len < 0 || *len > 128) return bad();
    return OkStatus();
  }
  return bad();
}

bool IsWorldCidr(std::string_view cidr) {
  size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) return false;
  auto len = ParseInt64(cidr.substr(slash + 1));
  return len && *len == 0;
}

bool LooksLikeSecretName(std::string_view name) {
  std::string lower = ToLower(name);
  for (const char* word : {"key", "token", "secret", "password", "passwd", "credential"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

bool LooksLikeSecretValue(std::string_view value) {
  for (const char* prefix : {"sk-ant-", "sk-proj-", "sk-", "ghp_", "gho_", "ghs_", "github_pat_", "AIza",
                             "xoxb-", "xoxp-", "glpat-", "ya29."}) {
    if (StartsWith(value, prefix) && value.size() >= std::string_view(prefix).size() + 16) return true;
  }
  return false;
}

}  // namespace cloudcoop::policy
