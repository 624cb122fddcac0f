#include "cli/agent_host.h"

#include <climits>
#include <cstdlib>
#include <unistd.h>

#include "cli/audit_action.h"
#include "cli/command.h"
#include "node/audit_control_log.h"
#include "core/strings.h"
#include "node/state.h"

namespace cloudcoop::cli {

std::string SelfBinary() {
  // Tests run commands in-process from a test binary; they point at the real binary.
  if (const char* b = std::getenv("CLOUDCOOP_BINARY"); b != nullptr && b[0] == '/' && access(b, X_OK) == 0) {
    char real[PATH_MAX];
    if (realpath(b, real) != nullptr) return real;
  }
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  buf[n] = '\0';
  return buf;
}

StatusOr<LocalHost> OpenLocalHost(Invocation& inv, bool create) {
  return OpenLocalHost(AuditTargetFor(inv), create);
}

StatusOr<LocalHost> OpenLocalHost(const audit::AuditTarget& audit, bool create) {
  std::string root = node::StateDirFromEnvironment();
  node::StateLayout layout(root);
  if (create) {
    CC_ASSIGN_OR_RETURN(layout, node::OpenStateDir(root));
  } else {
    layout = node::StateForReading(root);
  }
  LocalHost h;
  h.tmux = std::make_unique<node::RealTmuxClient>(layout.tmux_socket(), DefaultProcessRunner());
  h.log = std::make_unique<node::AuditControlLog>(audit);
  node::HostOptions options;
  options.supervisor_binary = SelfBinary();
  options.redact_env = audit.redact_env;
  options.transcript_max_bytes = audit.settings.transcript_max_bytes;
  options.audit = audit.settings;
  h.host = std::make_unique<node::AgentHost>(layout, *h.tmux, DefaultProcessRunner(), DefaultClock(),
                                             node::DefaultAgentSandbox(), *h.log, options);
  return h;
}

Status Audited(Invocation& inv, const std::string& agent, bool must_act, const std::function<Status()>& act) {
  auto action = audit::ControlAction::Begin(AuditTargetFor(inv), std::string(inv.spec().name),
                                            InvocationArgsForAudit(inv), agent);
  if (!action.ok()) {
    if (!must_act) return action.status().Annotate("recording `" + std::string(inv.spec().name) + "` in the audit log");
    inv.err() << "cloudcoop: warning: the audit log could not record this " << inv.spec().name
              << " (it runs anyway): " << action.status().ToString() << "\n";
    return act();
  }
  Status st = act();
  Status recorded = action->End(st);
  if (!st.ok()) return st;
  return recorded;
}

StatusOr<Duration> GraceFlag(const Invocation& inv, Duration fallback) {
  auto v = inv.Value("grace");
  if (!v) return fallback;
  auto d = ParseDouble(*v);
  if (!d || *d < 0 || *d > 3600) {
    return InvalidArgumentError("--grace " + *v + " is not a number of seconds between 0 and 3600")
        .WithFix("e.g. --grace 5 (0 kills at once)");
  }
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*d));
}

}  // namespace cloudcoop::cli
