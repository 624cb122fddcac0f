#include "cli/dashboard_vm.h"

#include "cli/gcp_cli.h"
#include "cloud/gcp/vm_status.h"

namespace cloudcoop::cli {

VmHeaderSource::VmHeaderSource(std::unique_ptr<tui::HostSource> inner, VmReader read, Clock& clock, Duration every)
    : inner_(std::move(inner)), read_(std::move(read)), clock_(clock), every_(every) {}

VmHeaderSource::~VmHeaderSource() {
  WaitIdle();
  if (worker_.joinable()) worker_.join();
}

void VmHeaderSource::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return !reading_; });
}

StatusOr<tui::Snapshot> VmHeaderSource::GetSnapshot() {
  CC_ASSIGN_OR_RETURN(tui::Snapshot s, inner_->GetSnapshot());
  std::lock_guard<std::mutex> lock(mu_);
  Duration now = clock_.Monotonic();
  if (!first_ && !reading_ && (!read_at_ || now - *read_at_ >= every_)) {
    read_at_ = now;
    reading_ = true;
    if (worker_.joinable()) worker_.join();  // the previous read has finished (reading_ was false)
    worker_ = std::thread([this] {
      StatusOr<tui::VmInfo> vm = read_();
      std::lock_guard<std::mutex> done(mu_);
      if (vm.ok()) {
        vm_ = *vm;
        error_.clear();
      } else {
        error_ = vm.status().message() + (vm.status().fix().empty() ? "" : " (fix: " + vm.status().fix() + ")");
      }
      reading_ = false;
      idle_.notify_all();
    });
  }
  first_ = false;
  if (vm_) s.host.vm = vm_;
  if (!error_.empty()) s.problems.push_back("VM status: " + error_);
  return s;
}

StatusOr<VmReader> GcpVmReader(Invocation& inv, const Settings& settings) {
  CC_ASSIGN_OR_RETURN(std::unique_ptr<gcp::GcpClients> made, MakeGcpClients(inv, settings));
  std::shared_ptr<gcp::GcpClients> clients(std::move(made));
  return VmReader([clients]() -> StatusOr<tui::VmInfo> {
    CC_ASSIGN_OR_RETURN(gcp::VmStatusReport r, gcp::ReadVmStatus(*clients, gcp::LifecycleTimeouts{}.status));
    tui::VmInfo vm;
    vm.name = r.name;
    vm.zone = r.zone;
    if (!r.instance) {
      vm.state = "not found (cloudcoop create)";
      return vm;
    }
    vm.state = std::string(gcp::VmStateName(r.instance->state()));
    vm.machine_type = r.instance->machine_type + (r.instance->spot() ? " spot" : "");
    vm.cost_per_hour = r.cost.total_per_hour();
    return vm;
  });
}

std::unique_ptr<VmHeaderSource> WithVmHeader(std::unique_ptr<tui::HostSource> inner, VmReader read, Clock& clock,
                                             Duration every) {
  return std::make_unique<VmHeaderSource>(std::move(inner), std::move(read), clock, every);
}

}  // namespace cloudcoop::cli
