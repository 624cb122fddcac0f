// cloudcoop node supervise NAME: the command of every agent's tmux pane (not run by hand).
#include "cli/command.h"
#include "config/loader.h"
#include "node/agent_sandbox.h"
#include "node/state.h"
#include "node/supervisor.h"

namespace cloudcoop::cli {
namespace {

int RunNodeSupervise(Invocation& inv) {
  std::string state = inv.ValueOr("state-dir", node::StateDirFromEnvironment());
  // The audit log is opened as configured (audit.*); a configuration that does not load gives the
  // defaults (log on, capture on), never less recording.
  auto config = inv.Config();
  AuditSettings audit = config.ok() ? (*config)->settings().audit : AuditSettings();
  return node::RunSupervisor(state, inv.args()[0], node::DefaultAgentSandbox(), audit);
}

}  // namespace

extern const CommandSpec kNodeSuperviseCommand = {
    .name = "node supervise",
    .category = Category::kOther,
    .summary = "(internal) run one agent inside its sandbox: the command of each agent's tmux pane",
    .args = "NAME",
    .min_args = 1,
    .max_args = 1,
    .flags = {{"state-dir", FlagKind::kValue, "DIR", "the agent host's state directory"}},
    .description = "Started by `agent add` and `agent restart` as the pane command. It starts the agent in its\n"
                   "sandbox, stays its parent, records its start and exit, and exits with its status.",
    .run = RunNodeSupervise,
    .needs_root = true,
};

}  // namespace cloudcoop::cli
