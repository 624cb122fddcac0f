#include "cli/gcp_cli.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/audit_action.h"
#include "cloud/gcp/retry.h"
#include "config/loader.h"
#include "core/files.h"
#include "core/paths.h"
#include "core/strings.h"

namespace cloudcoop::cli {

FlagSpec AccessTokenFileFlag() {
  return {"access-token-file", FlagKind::kValue, "FILE",
          "use the OAuth access token in FILE (like gcloud's --access-token-file)"};
}

StatusOr<const Settings*> GcpSettingsFor(Invocation& inv) {
  CC_ASSIGN_OR_RETURN(const LoadedConfig* config, inv.Config());
  const Settings& s = config->settings();
  if (s.provider != "gcp") {
    return InvalidArgumentError("`cloudcoop " + std::string(inv.spec().name) +
                                "` manages a GCP agent host, but cloud.provider = " + s.provider +
                                " (agents run on this machine)")
        .WithFix("to use a hardened GCE VM: cloudcoop config set cloud.provider gcp (plus cloud.gcp.project and "
                 "cloud.gcp.service_account)");
  }
  return &s;
}

StatusOr<std::unique_ptr<gcp::GcpClients>> MakeGcpClients(Invocation& inv, const Settings& settings) {
  gcp::ClientOptions options;
  options.access_token_file_flag = inv.ValueOr("access-token-file", "");
  return gcp::GcpClients::Create(settings, options);
}

std::string OperatorStateDir() { return StateDirFromEnv(); }

int PrintOutcome(Invocation& inv, const StatusOr<gcp::LifecycleOutcome>& outcome) {
  if (!outcome.ok()) return inv.Fail(outcome.status());
  if (!inv.json()) {
    inv.out() << outcome->message << "\n";
    return 0;
  }
  nlohmann::json j = {{"changed", outcome->changed}, {"message", outcome->message}};
  if (outcome->instance) {
    const gcp::Instance& in = *outcome->instance;
    j["vm"] = {{"name", in.name},
               {"zone", in.zone},
               {"state", gcp::VmStateName(in.state())},
               {"gcp_status", in.status},
               {"machine_type", in.machine_type},
               {"internal_ip", in.nics.empty() ? "" : in.nics[0].network_ip}};
  } else {
    j["vm"] = nullptr;
  }
  inv.out() << j.dump(2) << "\n";
  return 0;
}

int RunAuditedChange(Invocation& inv, const std::function<StatusOr<gcp::LifecycleOutcome>()>& change) {
  auto action = BeginAuditedAction(inv);
  if (!action.ok()) return inv.Fail(action.status());
  StatusOr<gcp::LifecycleOutcome> outcome = change();
  Status recorded = action->End(outcome.ok() ? OkStatus() : outcome.status());
  if (outcome.ok() && !recorded.ok()) return inv.Fail(recorded);
  return PrintOutcome(inv, outcome);
}

int WithVmLifecycle(Invocation& inv, const Settings& settings, const std::function<int(gcp::VmLifecycle&)>& body) {
  auto clients = MakeGcpClients(inv, settings);
  if (!clients.ok()) return inv.Fail(clients.status());
  TerminalProgress progress(inv);
  gcp::VmLifecycle lifecycle(**clients, progress, OperatorStateDir());
  return body(lifecycle);
}

int RunLifecycleChange(Invocation& inv, const Settings& settings,
                       const std::function<StatusOr<gcp::LifecycleOutcome>(gcp::VmLifecycle&)>& change) {
  return WithVmLifecycle(inv, settings, [&](gcp::VmLifecycle& vm) {
    return RunAuditedChange(inv, [&] { return change(vm); });
  });
}

bool Confirm(Invocation& inv, const std::string& question) {
  if (!inv.stdin_is_tty()) return false;
  inv.err() << question << " [y/N] " << std::flush;
  std::string line;
  if (!std::getline(inv.in(), line)) return false;
  std::string answer = ToLower(Trim(line));
  return answer == "y" || answer == "yes";
}

TerminalProgress::TerminalProgress(Invocation& inv)
    : err_(inv.err()), tty_(&inv.err() == &std::cerr && isatty(STDERR_FILENO) == 1) {}

TerminalProgress::~TerminalProgress() {
  spinning_ = false;
  if (spinner_.joinable()) spinner_.join();
}

void TerminalProgress::Draw(bool final_line, bool ok) {
  static const char* kFrames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
  std::string elapsed = gcp::FormatSeconds(DefaultClock().Monotonic() - started_);
  const char* mark = final_line ? (ok ? "✓" : "✗") : kFrames[frame_++ % 10];
  err_ << "\r" << mark << " " << what_;
  if (!final_line && !detail_.empty()) err_ << " (" << detail_ << ")";
  err_ << " " << elapsed << "\x1b[K";
  if (final_line) err_ << "\n";
  err_ << std::flush;
}

void TerminalProgress::Begin(const std::string& what) {
  std::lock_guard<std::mutex> lock(mu_);
  what_ = what;
  detail_.clear();
  started_ = DefaultClock().Monotonic();
  if (!tty_) {
    err_ << what << " ..." << std::endl;
    return;
  }
  Draw(false, true);
  spinning_ = true;
  spinner_ = std::thread([this] {
    while (spinning_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::lock_guard<std::mutex> l(mu_);
      if (spinning_) Draw(false, true);
    }
  });
}

void TerminalProgress::Update(const std::string& detail) {
  std::lock_guard<std::mutex> lock(mu_);
  if (detail == detail_) return;
  detail_ = detail;
  if (!tty_) err_ << "  " << detail << std::endl;
}

void TerminalProgress::End(bool ok) {
  spinning_ = false;
  if (spinner_.joinable()) spinner_.join();
  std::lock_guard<std::mutex> lock(mu_);
  if (tty_) {
    Draw(true, ok);
  } else {
    err_ << "  " << (ok ? "done" : "failed") << " after " << gcp::FormatSeconds(DefaultClock().Monotonic() - started_)
         << std::endl;
  }
}

}  // namespace cloudcoop::cli
