// Reading and converging the agent host's firewall: the IAP-only SSH rule is created or patched to
// what cloudcoop wants, and rules that open SSH to the internet for the VM are removed (only when
// the caller confirmed). Analysis: firewall_policy.h.
#ifndef CLOUDCOOP_CLOUD_GCP_FIREWALL_H_
#define CLOUDCOOP_CLOUD_GCP_FIREWALL_H_

#include <string>

#include "cloud/gcp/clients.h"
#include "cloud/gcp/firewall_policy.h"
#include "cloud/gcp/lifecycle.h"

namespace cloudcoop::gcp {

struct FirewallState {
  VmTargets targets;   // configured tags and account, plus the live VM's if it exists
  Firewall desired;    // the IAP rule cloudcoop wants
  FirewallReport report;
};

StatusOr<FirewallState> ReadFirewallState(GcpClients& clients);

// Creates the IAP rule when missing, patches it when it differs. Returns "created", "updated" or
// "unchanged". A rule of that name on another network cannot be patched: an error names it.
StatusOr<std::string> EnsureIapRule(GcpClients& clients, const FirewallState& state, ProgressSink& progress,
                                    Duration deadline);

Status DeleteFirewallRule(GcpClients& clients, const std::string& name, ProgressSink& progress, Duration deadline);

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_FIREWALL_H_
