// cloudcoop agent send NAME TEXT and agent peek NAME: drive and read an agent's pane from scripts.
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/agent_host.h"
#include "cli/command.h"
#include "core/strings.h"

namespace cloudcoop::cli {
namespace {

int RunAgentSend(Invocation& inv) {
  auto host = OpenLocalHost(inv, /*create=*/false);
  if (!host.ok()) return inv.Fail(host.status());
  std::string text = Join(std::vector<std::string>(inv.args().begin() + 1, inv.args().end()), " ");
  Status st = host->host->Send(inv.args()[0], text, !inv.Has("no-enter"));
  if (!st.ok()) return inv.Fail(st);
  return 0;
}

int RunAgentPeek(Invocation& inv) {
  int lines = 20;
  if (auto n = inv.Value("lines")) {
    auto v = ParseInt64(*n);
    if (!v) return inv.UsageError("-n " + *n + " is not a number of lines");
    lines = static_cast<int>(*v);
  }
  auto host = OpenLocalHost(inv, /*create=*/false);
  if (!host.ok()) return inv.Fail(host.status());
  auto text = host->host->Peek(inv.args()[0], lines);
  if (!text.ok()) return inv.Fail(text.status());
  if (inv.json()) {
    inv.out() << nlohmann::json({{"name", inv.args()[0]}, {"lines", Split(*text, '\n', false)}}).dump(2) << "\n";
  } else {
    inv.out() << *text;
  }
  return 0;
}

}  // namespace

extern const CommandSpec kAgentSendCommand = {
    .name = "agent send",
    .aliases = {"agents send"},
    .category = Category::kAgents,
    .summary = "type TEXT into an agent's terminal (literally), then Enter",
    .args = "NAME TEXT...",
    .min_args = 2,
    .max_args = -1,
    .flags = {{"no-enter", FlagKind::kBool, "", "do not press Enter after the text"}},
    .description = "The words of TEXT are joined with spaces and typed as literal keys (tmux send-keys -l):\n"
                   "nothing in them is interpreted as a key name. Put `--` before TEXT that starts with '-'.",
    .run = RunAgentSend,
};

extern const CommandSpec kAgentPeekCommand = {
    .name = "agent peek",
    .aliases = {"agents peek"},
    .category = Category::kAgents,
    .summary = "print the last lines of an agent's terminal",
    .args = "NAME",
    .min_args = 1,
    .max_args = 1,
    .flags = {{"lines", FlagKind::kValue, "LINES", "how many lines (default 20)", {}, 'n'},
              {"json", FlagKind::kBool, "", "print JSON"}},
    .run = RunAgentPeek,
};

}  // namespace cloudcoop::cli
