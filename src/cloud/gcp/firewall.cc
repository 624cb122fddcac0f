#include "cloud/gcp/firewall.h"

#include <algorithm>

#include "core/strings.h"

namespace cloudcoop::gcp {

StatusOr<FirewallState> ReadFirewallState(GcpClients& c) {
  const Settings& s = c.settings();
  FirewallState st;
  st.targets = TargetsFromSettings(s);
  st.desired = DesiredIapRule(s);
  CC_ASSIGN_OR_RETURN(auto instance, c.compute().GetInstance(s.gcp.zone, s.vm.name, std::chrono::seconds(15)));
  if (instance) {
    for (const auto& tag : instance->tags) {
      if (std::find(st.targets.tags.begin(), st.targets.tags.end(), tag) == st.targets.tags.end()) {
        st.targets.tags.push_back(tag);
      }
    }
    for (const auto& sa : instance->service_accounts) {
      auto& accounts = st.targets.service_accounts;
      if (std::find(accounts.begin(), accounts.end(), sa.email) == accounts.end()) accounts.push_back(sa.email);
    }
  }
  CC_ASSIGN_OR_RETURN(auto rules, c.compute().ListFirewalls());
  st.report = EvaluateFirewalls(rules, st.targets, st.desired);
  return st;
}

namespace {
StatusOr<Operation> Wait(GcpClients& c, const std::string& what, StatusOr<Operation> op, ProgressSink& progress,
                         Duration deadline) {
  if (!op.ok()) return op.status();
  progress.Begin(what);
  auto done = c.compute().WaitForOperation(*op, deadline, [&](const Operation& o) { progress.Update("operation " + o.status); });
  progress.End(done.ok());
  return done;
}
}  // namespace

StatusOr<std::string> EnsureIapRule(GcpClients& c, const FirewallState& st, ProgressSink& progress, Duration deadline) {
  if (!st.report.iap_rule) {
    CC_RETURN_IF_ERROR(Wait(c, "creating firewall rule " + st.desired.name + " (tcp:22 from IAP only)",
                            c.compute().InsertFirewall(st.desired, NewUuid()), progress, deadline)
                           .status());
    return std::string("created");
  }
  if (st.report.iap_problems.empty()) return std::string("unchanged");
  const Firewall& actual = *st.report.iap_rule;
  auto last = [](const std::string& url) { return url.substr(url.rfind('/') + 1); };
  if (last(actual.network) != last(st.desired.network)) {
    return FailedPreconditionError("firewall rule " + actual.name + " exists on network " + last(actual.network) +
                                   ", not " + last(st.desired.network) + "; a rule cannot move between networks")
        .WithFix("delete that rule, or choose another name: cloudcoop config set cloud.gcp.firewall_rule NAME");
  }
  Firewall patch = st.desired;
  // Clear what the desired rule does not have: PATCH only replaces the fields it is given.
  patch.target_tags.clear();
  CC_RETURN_IF_ERROR(Wait(c, "fixing firewall rule " + actual.name + " (" + Join(st.report.iap_problems, "; ") + ")",
                          c.compute().PatchFirewall(patch, NewUuid()), progress, deadline)
                         .status());
  return std::string("updated");
}

Status DeleteFirewallRule(GcpClients& c, const std::string& name, ProgressSink& progress, Duration deadline) {
  return Wait(c, "deleting firewall rule " + name, c.compute().DeleteFirewall(name, NewUuid()), progress, deadline)
      .status();
}

}  // namespace cloudcoop::gcp
