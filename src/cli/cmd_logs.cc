// cloudcoop logs NAME [-f] [-n LINES] [--raw]: an agent's terminal transcript (audit/transcript.h).
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
  st = audit::FollowTranscript(
      dir, name,
      [&](std::string_view s) {
        inv.out() << (raw ? std::string(s) : audit::StripTerminalEscapes(s));
        inv.out().flush();
      },
      [] { return true; });  // until interrupted (Ctrl-C)
  if (!st.ok()) return inv.Fail(st);
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
              {"follow", FlagKind::kBool, "", "keep printing new output (across rotation) until interrupted", {}, 'f'},
              {"raw", FlagKind::kBool, "", "keep terminal escape sequences (colours, cursor moves)"}},
    .description = "Everything the agent's terminal showed since it was added, as the tmux server captured it\n"
                   "outside the sandbox, with secret values (secrets.redact_env, the agent's secret-named\n"
                   "variables) and token shapes masked before they reached disk. Kept in\n"
                   "<state dir>/transcripts/NAME.log; at audit.transcript_max_bytes it rotates to NAME.log.1\n"
                   "(one previous file is kept). `agent rm` keeps it; `agent rm --purge` removes it.",
    .run = RunLogs,
    .needs_root = true,
};

}  // namespace cloudcoop::cli
