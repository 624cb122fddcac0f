// cloudcoop status [--json]: where agents run; for a GCP agent host, the VM's state, zone, machine
// type, internal IP, Spot, uptime, provisioning status and cost per hour.
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/command.h"
#include "cli/gcp_cli.h"
#include "cloud/gcp/vm_status.h"
#include "config/loader.h"
#include "core/strings.h"

namespace cloudcoop::cli {
namespace {

using nlohmann::json;

int LocalStatus(Invocation& inv) {
  if (inv.json()) {
    inv.out() << json{{"provider", "local"}, {"agent_host", "this machine"}, {"agents", "cloudcoop agent list"}}.dump(2)
              << "\n";
    return 0;
  }
  inv.out() << "agent host    this machine (cloud.provider = local)\n"
            << "agents        run `cloudcoop agent list` to see them\n";
  return 0;
}

std::string ProvisioningText(const gcp::ProvisioningStatus& p) {
  if (p.status == "completed") return "● completed";
  if (p.status == "running") return "◐ running" + (p.progress.empty() ? "" : ": " + p.progress);
  if (p.status == "failed") return "✗ failed: " + p.error;
  if (p.status == "pending") return "○ pending (the startup script has not reported yet)";
  return "? unknown" + (p.note.empty() ? "" : " (" + p.note + ")");
}

json ReportJson(const gcp::VmStatusReport& r) {
  json j = {{"provider", "gcp"}, {"project", r.project}, {"zone", r.zone}, {"name", r.name}};
  if (!r.instance) {
    j["exists"] = false;
    j["state"] = "not_found";
    return j;
  }
  const gcp::Instance& in = *r.instance;
  json external = json::array();
  for (const auto& nic : in.nics) {
    for (const auto& ip : nic.external_ips) external.push_back(ip);
  }
  j["exists"] = true;
  j["state"] = gcp::VmStateName(in.state());
  j["gcp_status"] = in.status;
  j["machine_type"] = in.machine_type;
  j["spot"] = in.spot();
  j["internal_ip"] = in.nics.empty() ? "" : in.nics[0].network_ip;
  j["external_ips"] = external;
  j["uptime_seconds"] = r.uptime_seconds ? json(*r.uptime_seconds) : json(nullptr);
  j["max_run_duration_seconds"] = in.max_run_seconds ? json(*in.max_run_seconds) : json(nullptr);
  j["provisioning"] = {{"status", r.provisioning.status},
                       {"progress", r.provisioning.progress},
                       {"error", r.provisioning.error},
                       {"note", r.provisioning.note}};
  auto total = r.cost.total_per_hour();
  j["cost_per_hour_usd"] = total ? json(*total) : json(nullptr);
  j["cost_is_estimate"] = true;
  return j;
}

void PrintReport(std::ostream& out, const gcp::VmStatusReport& r) {
  out << "VM            " << r.name << " (project " << r.project << ", zone " << r.zone << ")\n";
  if (!r.instance) {
    out << "state         " << gcp::VmStateGlyph(gcp::VmState::kNotFound) << " not found\n"
        << "next          cloudcoop create\n";
    return;
  }
  const gcp::Instance& in = *r.instance;
  out << "state         " << gcp::VmStateGlyph(in.state()) << " " << gcp::VmStateName(in.state()) << " (" << in.status
      << ")";
  if (r.uptime_seconds) out << ", up " << FormatShortDuration(std::chrono::seconds(*r.uptime_seconds));
  out << "\n";
  out << "machine type  " << in.machine_type << (in.spot() ? ", spot" : "");
  if (in.max_run_seconds) out << ", stops after " << FormatShortDuration(std::chrono::seconds(*in.max_run_seconds));
  out << "\n";
  out << "internal IP   " << (in.nics.empty() || in.nics[0].network_ip.empty() ? "-" : in.nics[0].network_ip) << "\n";
  std::vector<std::string> external;
  for (const auto& nic : in.nics) {
    for (const auto& ip : nic.external_ips) external.push_back(ip.empty() ? "ephemeral" : ip);
  }
  out << "external IP   " << (external.empty() ? std::string("none (SSH through IAP)") : "⚠ " + Join(external, ", ")) << "\n";
  out << "provisioning  " << ProvisioningText(r.provisioning) << "\n";
  auto total = r.cost.total_per_hour();
  out << "cost          ";
  if (total) {
    out << "~" << gcp::FormatDollarsPerHour(*total) << " (estimate: "
        << (*r.cost.machine_per_hour > 0 ? std::string(in.spot() ? "spot " : "") + "machine + " : "") << "disk)\n";
  } else {
    out << "unknown for " << in.machine_type << " (not in the built-in price table); disk ~"
        << gcp::FormatDollarsPerHour(r.cost.disk_per_hour) << "\n";
  }
}

int RunStatus(Invocation& inv) {
  auto config = inv.Config();
  if (!config.ok()) return inv.Fail(config.status());
  const Settings& settings = (*config)->settings();
  if (settings.provider != "gcp") return LocalStatus(inv);
  auto clients = MakeGcpClients(inv, settings);
  if (!clients.ok()) return inv.Fail(clients.status());
  auto report = gcp::ReadVmStatus(**clients, gcp::LifecycleTimeouts{}.status);
  if (!report.ok()) return inv.Fail(report.status());
  if (inv.json()) {
    inv.out() << ReportJson(*report).dump(2) << "\n";
  } else {
    PrintReport(inv.out(), *report);
  }
  return 0;
}

}  // namespace

extern const CommandSpec kStatusCommand = {
    .name = "status",
    .category = Category::kCloud,
    .summary = "show the agent host: this machine, or the GCP VM's state, size, IP, provisioning and cost",
    .flags = {{"json", FlagKind::kBool, "", "print JSON"}, AccessTokenFileFlag()},
    .description = "With cloud.provider = gcp: state, zone, machine type, internal IP, Spot, uptime, the\n"
                   "provisioning status the VM reports (guest attributes; no SSH needed) and an estimated\n"
                   "cost per hour from a small built-in price table. A VM that does not exist is not an error.",
    .run = RunStatus,
};

}  // namespace cloudcoop::cli
