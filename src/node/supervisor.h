// The agent's supervisor: the command of the agent's tmux pane (`cloudcoop node supervise`).
//
// It loads the agent's record, refuses to start when the host is locked out, starts the agent
// inside its sandbox (or, only when the record says so, in the explicit --unsandboxed mode), and
// stays as its parent: it becomes a child subreaper, reaps, forwards SIGTERM, kills what is left
// of the agent when it ends or when tmux hangs up, records start, exit status and signal in the
// agent's status file, hands a --repo agent's branch to the operator, and exits with the agent's
// status (so tmux shows it).
#ifndef CLOUDCOOP_NODE_SUPERVISOR_H_
#define CLOUDCOOP_NODE_SUPERVISOR_H_

#include <map>
#include <string>

#include "node/agent_sandbox.h"
#include "node/registry.h"

namespace cloudcoop::node {

// `audit`: the configuration's audit.* settings (the sandbox's log and the supervisor's own
// start/exit records are opened with them).
int RunSupervisor(const std::string& state_dir, const std::string& name, AgentSandbox& sandbox,
                  const AuditSettings& audit = AuditSettings());

// The environment an agent starts with: nothing inherited from the operator, a fixed base
// (PATH, HOME, USER, LOGNAME, SHELL, LANG, TERM, CLOUDCOOP_AGENT) and the profile's and --env
// variables.
std::map<std::string, std::string> AgentEnvironment(const AgentRecord& record, const std::string& term);

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_SUPERVISOR_H_
