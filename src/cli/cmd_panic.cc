// cloudcoop panic and cloudcoop unlock --rotated: the emergency stop of this host, and its release.
#include <nlohmann/json.hpp>
#include <istream>
#include <ostream>

#include "cli/agent_host.h"
#include "cli/command.h"
#include "core/strings.h"

namespace cloudcoop::cli {
namespace {

int RunPanic(Invocation& inv) {
  if (!inv.Has("yes")) {
    if (!inv.stdin_is_tty()) {
      return inv.UsageError("panic stops every agent on this host; add --yes to confirm when not on a terminal");
    }
    inv.out() << "This stops EVERY agent on this host now and locks it until `cloudcoop unlock --rotated`.\n"
                 "Type yes to continue: ";
    inv.out().flush();
    std::string answer;
    std::getline(inv.in(), answer);
    if (Trim(answer) != "yes") {
      inv.err() << "cloudcoop: panic cancelled (nothing was done)\n";
      return 1;
    }
  }
  auto host = OpenLocalHost(inv, /*create=*/true);
  if (!host.ok()) return inv.Fail(host.status());
  StatusOr<node::PanicReport> report = InternalError("panic did not run");
  Status recorded = Audited(inv, "", /*must_act=*/true, [&] {
    report = host->host->Panic(inv.ValueOr("reason", ""));
    return report.status();
  });
  if (!report.ok()) return inv.Fail(report.status());
  if (!recorded.ok()) inv.err() << "cloudcoop: warning: the audit log could not record the panic's outcome: " << recorded.ToString() << "\n";
  long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(report->took).count();
  bool clean = report->survivors.empty() && report->tmux_server_killed;
  if (inv.json()) {
    inv.out() << nlohmann::json({{"agents", report->agents},
                                 {"frozen", report->frozen},
                                 {"killed", report->killed},
                                 {"tmux_server_killed", report->tmux_server_killed},
                                 {"registry_locked", report->registry_locked},
                                 {"survivors", report->survivors},
                                 {"notes", report->notes},
                                 {"took_ms", ms},
                                 {"locked_out", true},
                                 {"clean", clean}})
                     .dump(2)
              << "\n";
  } else {
    inv.out() << "PANIC: stopped " << report->agents.size() << " agent(s) on this host in " << ms << " ms\n"
              << "  froze " << report->frozen << " process(es) first, then killed " << report->killed << "\n"
              << "  tmux server " << (report->tmux_server_killed ? "stopped and its socket removed" : "STILL RUNNING") << "\n"
              << "  verified: " << (report->survivors.empty() ? "no agent process is left"
                                                               : std::to_string(report->survivors.size()) + " process(es) SURVIVED")
              << "\n"
              << "  locked out: `agent add` and `agent restart` refuse until `cloudcoop unlock --rotated`\n";
    for (const auto& n : report->notes) inv.out() << "  note: " << n << "\n";
    inv.out() << "next: rotate every credential the agents could reach (API keys, tokens, deploy keys), then\n"
                 "      cloudcoop unlock --rotated\n";
  }
  return clean ? 0 : 3;
}

int RunUnlock(Invocation& inv) {
  if (!inv.Has("rotated")) {
    return inv.UsageError(
        "unlock needs --rotated: confirm that every credential the agents could reach was rotated after the panic");
  }
  auto host = OpenLocalHost(inv, /*create=*/true);
  if (!host.ok()) return inv.Fail(host.status());
  Status st = Audited(inv, "", /*must_act=*/false, [&] { return host->host->Unlock(); });
  if (!st.ok()) return inv.Fail(st);
  inv.out() << "unlocked: agents may start again on this host\n";
  return 0;
}

}  // namespace

extern const CommandSpec kPanicCommand = {
    .name = "panic",
    .category = Category::kSecurity,
    .summary = "emergency stop: freeze and kill every agent on this host, verify, lock out",
    .flags = {{"reason", FlagKind::kValue, "TEXT", "why (kept in the lock-out and the audit log)"},
              {"yes", FlagKind::kBool, "", "do not ask for confirmation"},
              {"json", FlagKind::kBool, "", "print JSON"}},
    .description = "Freezes every agent first (so nothing can fork away), kills them all, stops cloudcoop's tmux\n"
                   "server, verifies no agent process is left (exit 3 if one is), and writes a lock-out so\n"
                   "`agent add` and `agent restart` refuse until `cloudcoop unlock --rotated`. Prints what it did\n"
                   "and how long it took.",
    .run = RunPanic,
    .needs_root = true,
};

extern const CommandSpec kUnlockCommand = {
    .name = "unlock",
    .category = Category::kSecurity,
    .summary = "lift the lock-out of `cloudcoop panic` after credentials were rotated",
    .flags = {{"rotated", FlagKind::kBool, "", "confirm that every credential the agents could reach was rotated"}},
    .run = RunUnlock,
    .needs_root = true,
};

}  // namespace cloudcoop::cli
