// cloudcoop firewall status [--json]: the agent host's ingress: the IAP-only SSH rule, rules that
// open SSH to the internet for the VM, and any other ingress rule that applies to it.
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/command.h"
#include "cli/gcp_cli.h"
#include "cloud/gcp/firewall.h"
#include "core/strings.h"

namespace cloudcoop::cli {

// Shared with `firewall ensure`.
nlohmann::json FirewallReportJson(const gcp::FirewallState& st);
void PrintFirewallReport(std::ostream& out, const gcp::FirewallState& st);
bool FirewallCompliant(const gcp::FirewallReport& r);

nlohmann::json FirewallReportJson(const gcp::FirewallState& st) {
  using nlohmann::json;
  const auto& r = st.report;
  auto finding = [](const gcp::RuleFinding& f) {
    return json{{"name", f.rule.name}, {"detail", f.detail}, {"shadowed", f.shadowed}, {"priority", f.rule.priority}};
  };
  json open = json::array(), other = json::array();
  for (const auto& f : r.world_open) open.push_back(finding(f));
  for (const auto& f : r.other_ingress) other.push_back(finding(f));
  return json{{"iap_rule",
               {{"name", st.desired.name},
                {"exists", r.iap_rule.has_value()},
                {"ok", r.iap_ok()},
                {"problems", r.iap_problems},
                {"description", r.iap_rule ? gcp::DescribeRule(*r.iap_rule) : ""}}},
              {"open_to_internet", open},
              {"other_ingress", other},
              {"network", st.targets.network},
              {"targets", {{"tags", st.targets.tags}, {"service_accounts", st.targets.service_accounts}}},
              {"compliant", FirewallCompliant(r)}};
}

bool FirewallCompliant(const gcp::FirewallReport& r) {
  return r.iap_ok() && r.open_count() == 0 && r.other_ingress.empty();
}

void PrintFirewallReport(std::ostream& out, const gcp::FirewallState& st) {
  const auto& r = st.report;
  out << "IAP rule      " << st.desired.name << ": ";
  if (!r.iap_rule) out << "✗ missing (cloudcoop firewall ensure creates it)\n";
  else if (!r.iap_problems.empty()) out << "✗ " << Join(r.iap_problems, "; ") << "\n";
  else out << "✓ " << gcp::DescribeRule(*r.iap_rule) << "\n";
  if (!r.world_open.empty()) {
    out << "open to the internet for the VM:\n";
    for (const auto& f : r.world_open) out << "  " << (f.shadowed ? "!" : "✗") << " " << f.rule.name << ": " << f.detail << "\n";
  }
  if (!r.other_ingress.empty()) {
    out << "other ingress rules for the VM:\n";
    for (const auto& f : r.other_ingress) out << "  ✗ " << f.rule.name << ": " << f.detail << "\n";
  }
  out << "result        " << (FirewallCompliant(r) ? "✓ only IAP can reach SSH on the VM" : "✗ not compliant") << "\n";
}

namespace {

int RunFirewallStatus(Invocation& inv) {
  auto settings = GcpSettingsFor(inv);
  if (!settings.ok()) return inv.Fail(settings.status());
  auto clients = MakeGcpClients(inv, **settings);
  if (!clients.ok()) return inv.Fail(clients.status());
  auto st = gcp::ReadFirewallState(**clients);
  if (!st.ok()) return inv.Fail(st.status());
  if (inv.json()) inv.out() << FirewallReportJson(*st).dump(2) << "\n";
  else PrintFirewallReport(inv.out(), *st);
  return FirewallCompliant(st->report) ? 0 : 3;
}

}  // namespace

extern const CommandSpec kFirewallStatusCommand = {
    .name = "firewall status",
    .category = Category::kCloud,
    .summary = "show the VM's ingress rules; exit 3 unless only IAP can reach SSH",
    .flags = {{"json", FlagKind::kBool, "", "print JSON"}, AccessTokenFileFlag()},
    .description = "The only ingress should be tcp/22 from 35.235.240.0/20 (IAP) to the VM's service account,\n"
                   "logged (cloud.gcp.firewall_rule). Rules that open port 22 (or every port) to 0.0.0.0/0 or\n"
                   "::/0 for the VM, and any other enabled ingress rule that applies to it, are listed.",
    .run = RunFirewallStatus,
};

}  // namespace cloudcoop::cli
