// Firewall analysis for the agent host (security-checks.md sections 2 and 3): the only ingress is
// tcp/22 from the IAP range to the VM's service account, with logging on; any enabled INGRESS allow
// rule that opens port 22 (or every port) to 0.0.0.0/0 or ::/0 for the VM is a finding.
// Open-port logic: a rule opens P when its protocol is "all", or tcp with no ports, or a port equal
// to P, or a range "a-b" containing P. Disabled rules are skipped; a deny rule of equal or higher
// precedence (lower or equal priority number) from the whole internet shadows an allow rule.
// Rules without targets apply to every instance in the network.
#ifndef CLOUDCOOP_CLOUD_GCP_FIREWALL_POLICY_H_
#define CLOUDCOOP_CLOUD_GCP_FIREWALL_POLICY_H_

#include <optional>
#include <string>
#include <vector>

#include "cloud/gcp/types.h"
#include "config/settings.h"

namespace cloudcoop::gcp {

inline constexpr char kIapSourceRange[] = "35.235.240.0/20";

// What identifies the VM to firewall rules.
struct VmTargets {
  std::string network;  // short name
  std::vector<std::string> tags;
  std::vector<std::string> service_accounts;
};
VmTargets TargetsFromSettings(const Settings& settings);

bool RuleAppliesTo(const Firewall& rule, const VmTargets& vm);
// Whether `list` (allowed or denied entries) covers tcp port `port`.
bool CoversTcpPort(const std::vector<FirewallPorts>& list, int port);
// The 0.0.0.0/0-like and ::/0-like ranges of the rule's sources.
std::vector<std::string> WorldSources(const Firewall& rule);
// "tcp:22 from 0.0.0.0/0 to every instance in network N (priority 1000)"
std::string DescribeRule(const Firewall& rule);

// The rule cloudcoop wants: cloud.gcp.firewall_rule, INGRESS, priority 1000, tcp:22 from the IAP
// range, to the VM's service account, logging on.
Firewall DesiredIapRule(const Settings& settings);
// What differs between an existing rule and the desired one; empty when it is as wanted.
std::vector<std::string> IapRuleProblems(const Firewall& actual, const Firewall& desired, const VmTargets& vm);

struct RuleFinding {
  Firewall rule;
  std::string detail;
  bool shadowed = false;  // a deny rule of equal or higher precedence blocks it
};

struct FirewallReport {
  std::optional<Firewall> iap_rule;         // the rule named cloud.gcp.firewall_rule, if it exists
  std::vector<std::string> iap_problems;    // empty and iap_rule set: as wanted
  std::vector<RuleFinding> world_open;      // open 22 (or everything) to the internet for the VM
  std::vector<RuleFinding> other_ingress;   // any other enabled INGRESS allow rule for the VM
  bool iap_ok() const { return iap_rule.has_value() && iap_problems.empty(); }
  // Effective world-open rules (not shadowed).
  int open_count() const;
};

FirewallReport EvaluateFirewalls(const std::vector<Firewall>& rules, const VmTargets& vm, const Firewall& desired);

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_FIREWALL_POLICY_H_
