// Opens the local agent host for the agent commands: the state directory, cloudcoop's tmux server,
// the sandbox, the audit log. One place, so every command sees the same host.
#ifndef CLOUDCOOP_CLI_AGENT_HOST_H_
#define CLOUDCOOP_CLI_AGENT_HOST_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "audit/control.h"
#include "core/status.h"
#include "node/service.h"

namespace cloudcoop::cli {

class Invocation;

struct LocalHost {
  std::unique_ptr<node::RealTmuxClient> tmux;
  std::unique_ptr<node::ControlLog> log;
  std::unique_ptr<node::AgentHost> host;
};

// `create`: make the state directory if needed (commands that change things); otherwise it is
// only read, and a missing one simply has no agents. Control actions are recorded in the audit
// log configured for `inv`.
StatusOr<LocalHost> OpenLocalHost(Invocation& inv, bool create);
// The same with the audit log given (for callers off the command's thread, e.g. the dashboard).
StatusOr<LocalHost> OpenLocalHost(const audit::AuditTarget& audit, bool create);

// Runs `act` between the audit log's start and end records of the command (agent `agent`). The
// start is written first and a command whose start cannot be recorded does not act (fail closed),
// except when `must_act` (panic: an emergency stop never waits for a broken log; the failure is
// printed). Returns act's status, or the recording error when act succeeded but its end could not
// be recorded.
Status Audited(Invocation& inv, const std::string& agent, bool must_act, const std::function<Status()>& act);

// The absolute path of this cloudcoop binary (what agent panes run as their supervisor).
std::string SelfBinary();

// --grace SECONDS (default `fallback`), 0..3600.
StatusOr<Duration> GraceFlag(const Invocation& inv, Duration fallback);

}  // namespace cloudcoop::cli

#endif  // CLOUDCOOP_CLI_AGENT_HOST_H_
