// cloudcoop logs NAME [-f] [-n LINES] [--raw]: an agent's terminal transcript (audit/transcript.h).
#include <signal.h>

#include <csignal>
#include <ostream>

#include "audit/transcript.h"
#include "cli/command.h"
#include "core/files.h"
#include "core/strings.h"
#include "node/names.h"
#include "node/registry.h"
#include "node/state.h"

namespace cloudcoop::cli {
namespace {

volatile std::sig_atomic_t g_stop_following = 0;
void StopFollowing(int) { g_stop_following = 1; }

int RunLogs(Invocation& inv) {
  const std::string& name = inv.args()[0];
  int lines = 50;
  if (auto n = inv.Value("lines")) {
    auto v = ParseInt64(*n);
    if (!v || *v < 0 || *v > 10000000) {
      return inv.UsageError("-n " + *n + " is not a number of lines between 0 and 10000000");
    }
    lines = static_cast<int>(*v);
  }
  Status st = node::ValidateAgentName(name);
  if (!st.ok()) return inv.Fail(st);
  node::StateLayout layout = node::StateForReading(node::StateDirFromEnvironment());
  std::string dir = layout.transcripts_dir();
  bool known = PathExists(layout.record_file(name));
  bool have = PathExists(audit::TranscriptPath(dir, name)) || PathExists(audit::PreviousTranscriptPath(dir, name));
  if (!known && !have) {
    return inv.Fail(NotFoundError("no agent named \"" + name + "\" on this host (state directory " + layout.root() + ")")
                        .WithFix("see the agents with `cloudcoop agent list`; a removed agent's transcript stays "
                                 "unless it was removed with --purge"));
  }
  auto text = audit::TranscriptTail(dir, name, lines);
  if (!text.ok()) return inv.Fail(text.status());
  bool raw = inv.Has("raw");
  inv.out() << (raw ? *text : audit::StripTerminalEscapes(*text));
  inv.out().flush();
  if (!inv.Has("follow")) return 0;
  // Following ends when the agent is removed (nothing will be written any more) or on Ctrl-C,
  // SIGTERM or SIGHUP; either way what was written until then is printed and the exit is 0.
  // A killed agent is still followed: `agent restart` appends to the same transcript.
  const std::string record = layout.record_file(name);
  if (!known) {
    inv.err() << "cloudcoop: agent " << name << " was removed; its transcript ends here\n";
    return 0;
  }
  g_stop_following = 0;
  struct sigaction sa = {};
  sa.sa_handler = StopFollowing;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  bool removed = false;
  st = audit::FollowTranscript(
      dir, name,
      [&](std::string_view s) {
        inv.out() << (raw ? std::string(s) : audit::StripTerminalEscapes(s));
        inv.out().flush();
      },
      [&] {
        if (g_stop_following) return false;
        removed = !PathExists(record);
        return !removed;
      });
  if (!st.ok()) return inv.Fail(st);
  if (removed) inv.err() << "cloudcoop: agent " << name << " was removed; its transcript ends here\n";
  return 0;
}

}  // namespace

extern const CommandSpec kLogsCommand = {
    .name = "logs",
    .aliases = {"agent logs"},
    .category = Category::kAgents,
    .summary = "print an agent's terminal transcript (secrets masked)",
    .args = "NAME",
    .min_args = 1,
    .max_args = 1,
    .flags = {{"lines", FlagKind::kValue, "LINES", "how many of the last lines (default 50)", {}, 'n'},
              {"follow", FlagKind::kBool, "",
               "keep printing new output (across rotation) until the agent is removed or interrupted", {}, 'f'},
              {"raw", FlagKind::kBool, "", "keep terminal escape sequences (colours, cursor moves)"}},
    .description = "Everything the agent's terminal showed since it was added, as the tmux server captured it\n"
                   "outside the sandbox, with secret values (secrets.redact_env, the agent's secret-named\n"
                   "variables) and token shapes masked before they reached disk. Kept in\n"
                   "<state dir>/transcripts/NAME.log; at audit.transcript_max_bytes it rotates to NAME.log.1\n"
                   "(one previous file is kept). `agent rm` keeps it; `agent rm --purge` removes it.\n"
                   "\n"
                   "With -f it keeps printing what the agent prints (checked every 0.2 s), across rotation and\n"
                   "across `agent kill` and `agent restart` (a restarted agent appends to the same transcript).\n"
                   "It ends, printing everything written until then and exiting 0, when the agent is removed\n"
                   "(`agent rm`, saying so on stderr), or on Ctrl-C, SIGTERM or SIGHUP. For an agent already\n"
                   "removed it prints the kept transcript and ends at once. Output is missed only when the\n"
                   "transcript rotates twice within 0.2 s (more than audit.transcript_max_bytes in that time).",
    .run = RunLogs,
    .needs_root = true,
};

}  // namespace cloudcoop::cli
