// cloudcoop connect NAME [--read-only] and cloudcoop agent attach [--next|NAME]: put this terminal
// on an agent's tmux session.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ostream>

#include "cli/agent_host.h"
#include "cli/command.h"
#include "core/strings.h"

namespace cloudcoop::cli {
namespace {

int ExecAttach(Invocation& inv, node::AgentHost& host, const std::string& name, bool read_only) {
  auto argv = host.AttachArgv(name, read_only);
  if (!argv.ok()) return inv.Fail(argv.status());
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    return inv.Fail(FailedPreconditionError("connect needs a terminal (stdin and stdout are not one)")
                        .WithFix("run it in a terminal; scripts use `cloudcoop agent peek` and `agent send`"));
  }
  inv.out().flush();
  // Attaching from inside another tmux is the user's choice; do not let $TMUX refuse it.
  unsetenv("TMUX");
  std::vector<char*> av;
  for (auto& a : *argv) av.push_back(a.data());
  av.push_back(nullptr);
  execv(av[0], av.data());
  return inv.Fail(ErrnoError(errno, "run " + (*argv)[0]).WithFix("install tmux (scripts/install-deps)"));
}

int RunConnect(Invocation& inv) {
  auto host = OpenLocalHost(inv, /*create=*/false);
  if (!host.ok()) return inv.Fail(host.status());
  return ExecAttach(inv, *host->host, inv.args()[0], inv.Has("read-only"));
}

int RunAgentAttach(Invocation& inv) {
  bool next = inv.Has("next");
  if (next == !inv.args().empty()) return inv.UsageError("give either an agent NAME or --next");
  auto host = OpenLocalHost(inv, /*create=*/false);
  if (!host.ok()) return inv.Fail(host.status());
  std::string name;
  if (next) {
    auto claimed = host->host->ClaimNextUnwatched();
    if (!claimed.ok()) return inv.Fail(claimed.status());
    name = *claimed;
  } else {
    name = inv.args()[0];
  }
  return ExecAttach(inv, *host->host, name, inv.Has("read-only"));
}

}  // namespace

extern const CommandSpec kConnectCommand = {
    .name = "connect",
    .aliases = {"agent connect", "agents connect"},
    .category = Category::kAgents,
    .summary = "attach this terminal to an agent's tmux session (detach: prefix, then d)",
    .args = "NAME",
    .min_args = 1,
    .max_args = 1,
    .flags = {{"read-only", FlagKind::kBool, "", "watch only: keys you type do not reach the agent"}},
    .run = RunConnect,
};

extern const CommandSpec kAgentAttachCommand = {
    .name = "agent attach",
    .aliases = {"agents attach"},
    .category = Category::kAgents,
    .summary = "attach to the next agent no terminal is watching (for multi-pane terminals)",
    .args = "[NAME]",
    .min_args = 0,
    .max_args = 1,
    .flags = {{"next", FlagKind::kBool, "", "pick the first running agent without an attached terminal"},
              {"read-only", FlagKind::kBool, "", "watch only: keys you type do not reach the agent"}},
    .description = "Run `cloudcoop agent attach --next` in each split of a terminal: each split gets a different\n"
                   "agent. Each agent has its own tmux session, so no grouped sessions are needed.",
    .run = RunAgentAttach,
};

}  // namespace cloudcoop::cli
