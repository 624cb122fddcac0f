// cloudcoop firewall ensure [--fix] [--yes]: create or repair the IAP-only SSH rule; with --fix,
// remove rules that open SSH to the internet for the VM (after confirmation).
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/audit_action.h"
#include "cli/command.h"
#include "cli/gcp_cli.h"
#include "cloud/gcp/firewall.h"
#include "core/strings.h"

namespace cloudcoop::cli {

nlohmann::json FirewallReportJson(const gcp::FirewallState& st);
void PrintFirewallReport(std::ostream& out, const gcp::FirewallState& st);
bool FirewallCompliant(const gcp::FirewallReport& r);

namespace {

int RunFirewallEnsure(Invocation& inv) {
  auto settings = GcpSettingsFor(inv);
  if (!settings.ok()) return inv.Fail(settings.status());
  auto clients = MakeGcpClients(inv, **settings);
  if (!clients.ok()) return inv.Fail(clients.status());
  auto st = gcp::ReadFirewallState(**clients);
  if (!st.ok()) return inv.Fail(st.status());
  Duration deadline = gcp::LifecycleTimeouts{}.firewall;

  // The rules --fix would delete: effective world-open rules other than our own rule (which is patched).
  std::vector<const gcp::RuleFinding*> to_delete;
  for (const auto& f : st->report.world_open) {
    if (!f.shadowed && f.rule.name != st->desired.name) to_delete.push_back(&f);
  }
  bool fix = inv.Has("fix");
  // Decide before changing anything, so a refusal leaves nothing half-done.
  if (fix && !to_delete.empty() && !inv.Has("yes") && !inv.stdin_is_tty()) {
    return inv.Fail(InvalidArgumentError("--fix would delete " + std::to_string(to_delete.size()) +
                                         " firewall rule(s) but there is no terminal to confirm")
                        .WithFix("re-run with --fix --yes to delete them without asking"));
  }

  auto audited = BeginAuditedAction(inv);  // fail closed: no record, no change
  if (!audited.ok()) return inv.Fail(audited.status());
  TerminalProgress progress(inv);
  auto action = gcp::EnsureIapRule(**clients, *st, progress, deadline);
  if (!action.ok()) {
    (void)audited->End(action.status());
    return inv.Fail(action.status());
  }
  std::vector<std::string> deleted, kept;
  for (const auto* f : to_delete) {
    bool go = fix && (inv.Has("yes") || Confirm(inv, "Delete firewall rule " + f->rule.name + " (" + f->detail + ")?"));
    if (!go) {
      kept.push_back(f->rule.name);
      continue;
    }
    Status del = gcp::DeleteFirewallRule(**clients, f->rule.name, progress, deadline);
    if (!del.ok()) {
      (void)audited->End(del);
      return inv.Fail(del);
    }
    deleted.push_back(f->rule.name);
  }
  Status recorded = audited->End(OkStatus());
  if (!recorded.ok()) return inv.Fail(recorded);
  auto after = gcp::ReadFirewallState(**clients);
  if (!after.ok()) return inv.Fail(after.status());
  bool compliant = FirewallCompliant(after->report);
  if (inv.json()) {
    nlohmann::json j = FirewallReportJson(*after);
    j["iap_rule_action"] = *action;
    j["deleted"] = deleted;
    j["kept_open"] = kept;
    inv.out() << j.dump(2) << "\n";
  } else {
    inv.out() << "IAP rule " << st->desired.name << ": " << *action << "\n";
    for (const auto& name : deleted) inv.out() << "deleted " << name << "\n";
    PrintFirewallReport(inv.out(), *after);
    if (!kept.empty() && !fix) {
      inv.out() << "not deleted (re-run with --fix): " << Join(kept, ", ") << "\n";
    }
    if (!after->report.other_ingress.empty()) {
      inv.out() << "other ingress rules are reported, never deleted by ensure: remove them or narrow their targets\n";
    }
  }
  return compliant ? 0 : 3;
}

}  // namespace

extern const CommandSpec kFirewallEnsureCommand = {
    .name = "firewall ensure",
    .category = Category::kCloud,
    .summary = "create or repair the IAP-only SSH rule; --fix removes rules opening SSH to the internet",
    .flags = {{"fix", FlagKind::kBool, "", "delete enabled rules that open SSH (or every port) to 0.0.0.0/0 or ::/0 for the VM"},
              {"yes", FlagKind::kBool, "", "do not ask before deleting (required without a terminal)", {}, 'y'},
              {"json", FlagKind::kBool, "", "print JSON"},
              AccessTokenFileFlag()},
    .description = "Creates cloud.gcp.firewall_rule (tcp:22 from 35.235.240.0/20 to the VM's service account,\n"
                   "logged) or patches it back to that. Exit 3 while anything but IAP can still reach the VM.",
    .run = RunFirewallEnsure,
};

}  // namespace cloudcoop::cli
