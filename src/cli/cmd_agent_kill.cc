// cloudcoop agent kill, restart, rm and fetch: stop, resume, remove an agent; bring its branch home.
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/agent_host.h"
#include "cli/command.h"
#include "core/strings.h"

namespace cloudcoop::cli {
namespace {

constexpr Duration kDefaultGrace = std::chrono::seconds(5);

long long Ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

int RunAgentKill(Invocation& inv) {
  bool all = inv.Has("all");
  if (all == !inv.args().empty()) return inv.UsageError("give either an agent NAME or --all");
  auto grace = GraceFlag(inv, kDefaultGrace);
  if (!grace.ok()) return inv.Fail(grace.status());
  auto host = OpenLocalHost(inv, /*create=*/false);
  if (!host.ok()) return inv.Fail(host.status());
  std::vector<std::string> names;
  if (all) {
    for (const auto& r : host->host->registry().List()) names.push_back(r.name);
  } else {
    names.push_back(inv.args()[0]);
  }
  nlohmann::json out = nlohmann::json::array();
  Status first;
  for (const auto& n : names) {
    StatusOr<node::KillReport> r = InternalError("agent kill did not run");
    Status audited = Audited(inv, n, /*must_act=*/false, [&] {
      r = host->host->Kill(n, *grace);
      return r.status();
    });
    if (r.ok() && !audited.ok()) r = audited;
    if (!r.ok()) {
      if (!all) return inv.Fail(r.status());
      if (first.ok()) first = r.status();
      inv.err() << "cloudcoop: error: " << r.status().message() << "\n";
      continue;
    }
    if (inv.json()) {
      out.push_back({{"name", n}, {"was_running", r->was_running}, {"terminated", r->terminated}, {"killed", r->killed},
                     {"took_ms", Ms(r->took)}});
    } else if (r->was_running) {
      inv.out() << "killed agent " << n << ": " << r->terminated << " process(es) ended on SIGTERM, " << r->killed
                << " needed SIGKILL; none left (" << Ms(r->took) << " ms)\n";
    } else {
      inv.out() << "agent " << n << " was not running; marked killed\n";
    }
  }
  if (inv.json()) inv.out() << out.dump(2) << "\n";
  if (all && names.empty() && !inv.json()) inv.out() << "no agents on this host\n";
  return first.ok() ? 0 : ExitCodeFor(first);
}

int RunAgentRestart(Invocation& inv) {
  auto grace = GraceFlag(inv, kDefaultGrace);
  if (!grace.ok()) return inv.Fail(grace.status());
  auto host = OpenLocalHost(inv, /*create=*/true);
  if (!host.ok()) return inv.Fail(host.status());
  StatusOr<node::AgentRecord> rec = InternalError("agent restart did not run");
  Status st = Audited(inv, inv.args()[0], /*must_act=*/false, [&] {
    rec = host->host->Restart(inv.args()[0], *grace);
    return rec.status();
  });
  if (!st.ok()) return inv.Fail(st);
  if (inv.json()) {
    inv.out() << nlohmann::json({{"name", rec->name}, {"generation", rec->generation}, {"argv", rec->resume_argv}}).dump(2)
              << "\n";
  } else {
    inv.out() << "agent " << rec->name << " restarted in " << rec->workspace << ": "
              << Join(rec->resume_argv, " ") << "\n";
  }
  return 0;
}

int RunAgentRm(Invocation& inv) {
  auto grace = GraceFlag(inv, kDefaultGrace);
  if (!grace.ok()) return inv.Fail(grace.status());
  auto host = OpenLocalHost(inv, /*create=*/false);
  if (!host.ok()) return inv.Fail(host.status());
  StatusOr<std::vector<std::string>> notes = InternalError("agent rm did not run");
  Status st = Audited(inv, inv.args()[0], /*must_act=*/false, [&] {
    notes = host->host->Remove(inv.args()[0], inv.Has("purge"), *grace);
    return notes.status();
  });
  if (!st.ok()) return inv.Fail(st);
  if (inv.json()) {
    inv.out() << nlohmann::json({{"name", inv.args()[0]}, {"removed", true}, {"notes", *notes}}).dump(2) << "\n";
  } else {
    inv.out() << "removed agent " << inv.args()[0] << "\n";
    for (const auto& n : *notes) inv.out() << "  " << n << "\n";
  }
  return 0;
}

int RunAgentFetch(Invocation& inv) {
  bool all = inv.Has("all");
  if (all == !inv.args().empty()) return inv.UsageError("give either an agent NAME or --all");
  auto host = OpenLocalHost(inv, /*create=*/false);
  if (!host.ok()) return inv.Fail(host.status());
  std::vector<std::string> names;
  if (all) {
    for (const auto& r : host->host->registry().List()) {
      if (r.repo) names.push_back(r.name);
    }
  } else {
    names.push_back(inv.args()[0]);
  }
  nlohmann::json out = nlohmann::json::array();
  Status first;
  for (const auto& n : names) {
    StatusOr<node::HandoffResult> h = InternalError("agent fetch did not run");
    Status audited = Audited(inv, n, /*must_act=*/false, [&] {
      h = host->host->Handoff(n);
      return h.status();
    });
    if (h.ok() && !audited.ok()) h = audited;
    if (!h.ok()) {
      if (!all) return inv.Fail(h.status());
      if (first.ok()) first = h.status();
      inv.err() << "cloudcoop: error: " << h.status().message() << "\n";
      continue;
    }
    auto rec = host->host->registry().Get(n);
    std::string repo = rec.ok() && rec->repo ? rec->repo->path : "";
    if (inv.json()) {
      out.push_back({{"name", n}, {"repo", repo}, {"ref", h->ref}, {"commit", h->commit}, {"changed", h->changed}});
    } else {
      inv.out() << n << ": " << repo << " " << h->ref.substr(11) << " -> " << h->commit.substr(0, 12)
                << (h->changed ? " (updated)" : " (unchanged)") << "\n";
    }
  }
  if (inv.json()) inv.out() << out.dump(2) << "\n";
  return first.ok() ? 0 : ExitCodeFor(first);
}

}  // namespace

extern const CommandSpec kAgentKillCommand = {
    .name = "agent kill",
    .aliases = {"agents kill"},
    .category = Category::kAgents,
    .summary = "stop an agent (SIGTERM, then kill everything it runs; none survives)",
    .args = "NAME",
    .min_args = 0,
    .max_args = 1,
    .flags = {{"all", FlagKind::kBool, "", "every agent on this host"},
              {"grace", FlagKind::kValue, "SECONDS", "time between SIGTERM and SIGKILL (default 5; 0 kills at once)"},
              {"json", FlagKind::kBool, "", "print JSON"}},
    .description = "After the grace time the agent's processes are frozen and killed, then checked: the command\n"
                   "fails (exit 3) if any survived. The pane stays for `agent peek`; `agent restart` resumes.",
    .run = RunAgentKill,
    .needs_root = true,
};

extern const CommandSpec kAgentRestartCommand = {
    .name = "agent restart",
    .aliases = {"agents restart"},
    .category = Category::kAgents,
    .summary = "start an agent again in the same workspace with its profile's resume command",
    .args = "NAME",
    .min_args = 1,
    .max_args = 1,
    .flags = {{"grace", FlagKind::kValue, "SECONDS", "if it still runs: time between SIGTERM and SIGKILL (default 5)"},
              {"json", FlagKind::kBool, "", "print JSON"}},
    .description = "Refused while `cloudcoop panic` has locked the host.",
    .run = RunAgentRestart,
    .needs_root = true,
};

extern const CommandSpec kAgentRmCommand = {
    .name = "agent rm",
    .aliases = {"agents rm", "agent remove"},
    .category = Category::kAgents,
    .summary = "stop and remove an agent; its workspace is kept unless --purge",
    .args = "NAME",
    .min_args = 1,
    .max_args = 1,
    .flags = {{"purge", FlagKind::kBool, "", "also delete the workspace cloudcoop made for it (after handing over its branch)"},
              {"grace", FlagKind::kValue, "SECONDS", "time between SIGTERM and SIGKILL (default 5)"},
              {"json", FlagKind::kBool, "", "print JSON"}},
    .run = RunAgentRm,
    .needs_root = true,
};

extern const CommandSpec kAgentFetchCommand = {
    .name = "agent fetch",
    .aliases = {"agents fetch"},
    .category = Category::kAgents,
    .summary = "bring a --repo agent's commits into your repository as branch cloudcoop/NAME",
    .args = "NAME",
    .min_args = 0,
    .max_args = 1,
    .flags = {{"all", FlagKind::kBool, "", "every agent started with --repo"},
              {"json", FlagKind::kBool, "", "print JSON"}},
    .description = "Also happens by itself when the agent ends, is killed or removed. The branch is bundled as\n"
                   "the agent's uid and fetched as the repository's owner: only git objects cross, nothing the\n"
                   "agent wrote runs on your side. Your repository then has it without sudo.",
    .run = RunAgentFetch,
    .needs_root = true,
};

}  // namespace cloudcoop::cli
