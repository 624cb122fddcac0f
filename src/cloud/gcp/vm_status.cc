#include "cloud/gcp/vm_status.h"

#include "cloud/gcp/startup_script.h"
#include "core/strings.h"

namespace cloudcoop::gcp {

ProvisioningStatus ParseProvisioning(const std::map<std::string, std::string>& attrs) {
  ProvisioningStatus p;
  auto status = attrs.find(kGuestStatusKey);
  if (status == attrs.end()) return p;  // the script has not reported yet
  auto lines = Split(status->second, '\n', true);
  std::string first = lines.empty() ? "" : std::string(Trim(lines[0]));
  if (first == "pending" || first == "running" || first == "completed" || first == "failed") {
    p.status = first;
  } else {
    p.status = "unknown";
    p.note = "unexpected provision-status \"" + first + "\"";
  }
  if (p.status == "failed" && lines.size() > 1) p.error = std::string(Trim(lines[1]));
  if (auto progress = attrs.find(kGuestProgressKey); progress != attrs.end()) {
    p.progress = std::string(Trim(progress->second));
  }
  if (p.status == "failed" && p.error.empty()) p.error = p.progress;  // as the reference client does
  return p;
}

StatusOr<VmStatusReport> ReadVmStatus(GcpClients& c, Duration timeout) {
  const Settings& s = c.settings();
  VmStatusReport r;
  r.project = s.gcp.project;
  r.zone = s.gcp.zone;
  r.name = s.vm.name;
  CC_ASSIGN_OR_RETURN(r.instance, c.compute().GetInstance(s.gcp.zone, s.vm.name, timeout));
  if (!r.instance) return r;
  const Instance& in = *r.instance;
  bool running = in.state() == VmState::kRunning;
  if (running && !in.last_start_timestamp.empty()) {
    SystemTime started;
    if (ParseRfc3339(in.last_start_timestamp, &started)) {
      r.uptime_seconds = std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::seconds>(c.clock().Now() - started).count());
    }
  }
  if (running) {
    auto attrs = c.compute().GetGuestAttributes(s.gcp.zone, s.vm.name, kGuestAttributeNamespace);
    if (attrs.ok()) {
      r.provisioning = ParseProvisioning(*attrs);
    } else {
      r.provisioning.status = "unknown";
      r.provisioning.note = attrs.status().message();
    }
  } else {
    r.provisioning.status = "unknown";
    r.provisioning.note = "the VM is not running";
  }
  int64_t disk = in.boot_disk_gb > 0 ? in.boot_disk_gb : s.vm.disk_size_gb;
  r.cost = EstimateCost(in.machine_type, in.spot(), disk, running || in.state() == VmState::kStarting);
  return r;
}

}  // namespace cloudcoop::gcp
