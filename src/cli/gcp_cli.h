// What the cloud commands (create, start, stop, delete, resize, status, firewall) share: building
// the GCP clients from the validated configuration, progress display while operations run (a
// spinner on a terminal, plain lines otherwise), confirmation prompts, and the operator's state
// directory.
#ifndef CLOUDCOOP_CLI_GCP_CLI_H_
#define CLOUDCOOP_CLI_GCP_CLI_H_

#include <atomic>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cli/command.h"
#include "cloud/gcp/clients.h"
#include "cloud/gcp/lifecycle.h"

namespace cloudcoop::cli {

// --access-token-file FILE, on every command that calls GCP.
FlagSpec AccessTokenFileFlag();

// The validated settings of a command that manages the GCP agent host. Fails (exit 2) when the
// configuration does not load or cloud.provider is not gcp.
StatusOr<const Settings*> GcpSettingsFor(Invocation& inv);
// Clients for those settings, with the command's --access-token-file.
StatusOr<std::unique_ptr<gcp::GcpClients>> MakeGcpClients(Invocation& inv, const Settings& settings);

// Where records such as an interrupted create's requestId are kept (<dir>/gcp/): the same state
// directory as the audit log (CLOUDCOOP_STATE_DIR, else /var/lib/cloudcoop).
std::string OperatorStateDir();

// Prints a lifecycle command's result: its message (or JSON with --json: changed, message and the
// VM's name, state, machine type and internal IP), and returns the exit code.
int PrintOutcome(Invocation& inv, const StatusOr<gcp::LifecycleOutcome>& outcome);

// Runs a lifecycle change as an audited control action (audit/control.h): the start is recorded
// (fail closed: no record, no change), then `change`, then its outcome, then PrintOutcome.
int RunAuditedChange(Invocation& inv, const std::function<StatusOr<gcp::LifecycleOutcome>()>& change);

// Runs `body` with the VM lifecycle of `settings`: its clients (a client error is the command's
// failure), progress on the command's error stream, the operator's state directory.
int WithVmLifecycle(Invocation& inv, const Settings& settings, const std::function<int(gcp::VmLifecycle&)>& body);
// The same for one audited change (RunAuditedChange): create, start, stop, resize.
int RunLifecycleChange(Invocation& inv, const Settings& settings,
                       const std::function<StatusOr<gcp::LifecycleOutcome>(gcp::VmLifecycle&)>& change);

// Asks `question` on the terminal; true only for "y"/"yes". Without a terminal: false.
bool Confirm(Invocation& inv, const std::string& question);

// Progress of long operations on the command's error stream: an animated spinner with the elapsed
// time when that stream is a terminal, one plain line per change otherwise.
class TerminalProgress : public gcp::ProgressSink {
 public:
  explicit TerminalProgress(Invocation& inv);
  ~TerminalProgress() override;
  void Begin(const std::string& what) override;
  void Update(const std::string& detail) override;
  void End(bool ok) override;

 private:
  void Draw(bool final_line, bool ok);
  std::ostream& err_;
  bool tty_;
  std::mutex mu_;
  std::string what_;
  std::string detail_;
  Duration started_{};
  int frame_ = 0;
  std::atomic<bool> spinning_{false};
  std::thread spinner_;
};

}  // namespace cloudcoop::cli

#endif  // CLOUDCOOP_CLI_GCP_CLI_H_
