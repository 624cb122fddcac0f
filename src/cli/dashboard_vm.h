// The GCP VM in the dashboard's header: its state, zone, machine type and estimated cost per hour,
// read from the Compute API (the same call as `cloudcoop status`) at most every so often (the VM
// changes slowly), on a thread of its own so a slow or unreachable GCP never holds up the agents'
// refresh.
#ifndef CLOUDCOOP_CLI_DASHBOARD_VM_H_
#define CLOUDCOOP_CLI_DASHBOARD_VM_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "config/settings.h"
#include "core/clock.h"
#include "tui/source.h"

namespace cloudcoop::cli {

class Invocation;

using VmReader = std::function<StatusOr<tui::VmInfo>()>;

// Reads the configured VM through GCP (clients built now, on the calling thread).
StatusOr<VmReader> GcpVmReader(Invocation& inv, const Settings& settings);

// `inner`'s snapshots with the VM added to the header. The first snapshot does not start a read
// (the first screen is not held up by GCP); after that a read is started every `every`, in the
// background, and each snapshot carries the last VM read. A failed read keeps the last known VM and
// is shown as a problem of the snapshot until a read succeeds. Actions go to `inner` unchanged.
class VmHeaderSource : public tui::HostSource {
 public:
  VmHeaderSource(std::unique_ptr<tui::HostSource> inner, VmReader read, Clock& clock, Duration every);
  ~VmHeaderSource() override;  // waits for a read under way (bounded by the reader's timeout)
  VmHeaderSource(const VmHeaderSource&) = delete;
  VmHeaderSource& operator=(const VmHeaderSource&) = delete;

  tui::Capabilities capabilities() const override { return inner_->capabilities(); }
  tui::FormDefaults form_defaults() const override { return inner_->form_defaults(); }
  StatusOr<tui::Snapshot> GetSnapshot() override;
  StatusOr<std::vector<std::string>> Transcript(const std::string& agent, int max_lines) override {
    return inner_->Transcript(agent, max_lines);
  }
  StatusOr<std::vector<tui::AuditRecord>> AuditRecords(const std::string& agent, int max_records) override {
    return inner_->AuditRecords(agent, max_records);
  }
  StatusOr<std::string> Add(const tui::AddForm& form) override { return inner_->Add(form); }
  StatusOr<std::string> Kill(const std::string& agent) override { return inner_->Kill(agent); }
  StatusOr<std::string> Restart(const std::string& agent) override { return inner_->Restart(agent); }
  StatusOr<std::string> Panic(const std::string& reason) override { return inner_->Panic(reason); }
  StatusOr<std::vector<std::string>> AttachArgv(const std::string& agent) override {
    return inner_->AttachArgv(agent);
  }

  // Blocks until no read is under way (for tests).
  void WaitIdle();

 private:
  std::unique_ptr<tui::HostSource> inner_;
  VmReader read_;
  Clock& clock_;
  Duration every_;
  std::mutex mu_;
  std::condition_variable idle_;
  bool first_ = true;
  bool reading_ = false;
  std::optional<Duration> read_at_;
  std::optional<tui::VmInfo> vm_;
  std::string error_;
  std::thread worker_;
};

std::unique_ptr<VmHeaderSource> WithVmHeader(std::unique_ptr<tui::HostSource> inner, VmReader read, Clock& clock,
                                             Duration every);

}  // namespace cloudcoop::cli

#endif  // CLOUDCOOP_CLI_DASHBOARD_VM_H_
