// The security rules, enforced in code. Config validation refuses what they refuse; `cloudcoop
// check` reports on the same rules against live state. Facts: shared/reference/security-checks.md.
#ifndef CLOUDCOOP_POLICY_RULES_H_
#define CLOUDCOOP_POLICY_RULES_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cloudcoop::policy {

// The roles the VM's service account may hold (the whole allow-list).
const std::vector<std::string>& AllowedServiceAccountRoles();

struct RoleVerdict {
  bool allowed = false;
  std::string reason;  // why it is refused
};
// roles/compute.*, roles/iam.*, roles/storage.*, roles/billing.*, roles/editor, roles/owner and any
// admin role are refused with the reason; any other role outside the allow-list is refused too.
RoleVerdict ClassifyRole(std::string_view role);

// True for the Compute Engine (and App Engine) default service accounts.
bool IsDefaultServiceAccount(std::string_view email);
// A dedicated user-managed account: NAME@PROJECT.iam.gserviceaccount.com, not a default one.
Status CheckServiceAccountEmail(std::string_view email);

// CIDR syntax (IPv4 or IPv6).
Status CheckCidr(std::string_view cidr);
// 0.0.0.0/0 or ::/0 (any prefix length 0): the whole internet.
bool IsWorldCidr(std::string_view cidr);

// Heuristics for secret values kept in the wrong place (environment, metadata).
bool LooksLikeSecretName(std::string_view name);
bool LooksLikeSecretValue(std::string_view value);

}  // namespace cloudcoop::policy

#endif  // CLOUDCOOP_POLICY_RULES_H_
