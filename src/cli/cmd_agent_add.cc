// cloudcoop agent add NAME ...: start an agent in its own sandbox and tmux session.
#include <cstdlib>

#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/agent_host.h"
#include "cli/command.h"
#include "config/loader.h"
#include "core/strings.h"
#include "node/names.h"
#include "node/words.h"

namespace cloudcoop::cli {
namespace {

nlohmann::json ProtectedJson(const std::vector<node::ProtectedPath>& paths) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : paths) {
    out.push_back({{"path", p.path},
                   {"kind", p.kind == node::ProtectedPath::Kind::kPin ? "pin" : "read-only"},
                   {"directory", p.directory},
                   {"exists", p.exists},
                   {"symlink", p.symlink},
                   {"why", p.why}});
  }
  return out;
}

int RunAgentAdd(Invocation& inv) {
  auto config = inv.Config();
  if (!config.ok()) return inv.Fail(config.status());
  node::AddRequest req;
  req.name = inv.args()[0];
  req.profile = inv.Value("profile");
  req.cmd = inv.Value("cmd");
  req.workspace = inv.Value("workspace");
  req.repo = inv.Value("repo");
  req.branch = inv.Value("branch");
  req.cpus = inv.Value("cpus");
  req.memory = inv.Value("memory");
  req.pids = inv.Value("pids");
  req.network = inv.Value("net");
  req.env = inv.Values("env");
  req.unsandboxed = inv.Has("unsandboxed");
  // Cheap usage checks before touching the host (so even a broken state dir gets the right error).
  if (auto st = node::ValidateAgentName(req.name); !st.ok()) return inv.Fail(st);
  auto host = OpenLocalHost(inv, /*create=*/true);
  if (!host.ok()) return inv.Fail(host.status());
  if (req.unsandboxed) {
    // Red whatever the terminal: the escape hatch must stand out (NO_COLOR turns it off).
    bool color = std::getenv("NO_COLOR") == nullptr;
    inv.err() << (color ? "\033[1;31m" : "") << "cloudcoop: WARNING: --unsandboxed: agent " << req.name
              << " runs under its own uid with no_new_privs and a process limit only (no namespaces, cgroup limits, "
                 "seccomp or Landlock); this is recorded in the audit log and `cloudcoop check` fails while it runs"
              << (color ? "\033[0m" : "") << "\n";
  }
  StatusOr<node::AgentRecord> rec = InternalError("agent add did not run");
  Status st = Audited(inv, req.name, /*must_act=*/false, [&] {
    rec = host->host->Add(req, (*config)->settings().agents, HostFacts::Read());
    return rec.status();
  });
  if (!st.ok()) return inv.Fail(st);
  if (inv.json()) {
    nlohmann::json j = {{"name", rec->name},
                        {"profile", rec->profile},
                        {"argv", rec->argv},
                        {"uid", rec->uid},
                        {"workspace", rec->workspace},
                        {"home", rec->home},
                        {"network", rec->network},
                        {"limits",
                         {{"cpus", rec->limits.cpus}, {"memory_bytes", rec->limits.memory_bytes}, {"pids", rec->limits.pids}}},
                        {"unsandboxed", rec->unsandboxed},
                        {"protected", ProtectedJson(node::ComputeProtectedPaths(*rec))}};
    if (rec->repo) {
      j["repo"] = {{"path", rec->repo->path}, {"branch", rec->repo->branch}, {"handoff_ref", rec->repo->handoff_ref},
                   {"base_commit", rec->repo->base_commit}};
    }
    inv.out() << j.dump(2) << "\n";
    return 0;
  }
  inv.out() << "agent " << rec->name << " started: " << node::JoinCommandWords(rec->argv) << " (profile " << rec->profile
            << ", uid " << rec->uid << ")\n"
            << "  workspace " << rec->workspace << "\n";
  if (rec->repo) {
    inv.out() << "  works on branch " << rec->repo->branch << " of its own clone of " << rec->repo->path << "\n"
              << "  its commits come back to " << rec->repo->path << " as branch " << rec->repo->handoff_ref.substr(11)
              << " (cloudcoop agent fetch " << rec->name << ")\n";
  }
  inv.out() << "  limits " << rec->limits.cpus << " CPUs, " << FormatBytes(rec->limits.memory_bytes) << ", "
            << rec->limits.pids << " processes; network " << rec->network << "\n"
            << "  watch it: cloudcoop connect " << rec->name << " (detach with the tmux prefix, then d)\n";
  return 0;
}

}  // namespace

extern const CommandSpec kAgentAddCommand = {
    .name = "agent add",
    .aliases = {"agents add"},
    .category = Category::kAgents,
    .summary = "start an agent in its own sandbox and tmux session",
    .args = "NAME",
    .min_args = 1,
    .max_args = 1,
    .flags = {{"profile", FlagKind::kValue, "P", "agent profile (agents.profiles.P); default agents.default_profile"},
              {"cmd", FlagKind::kValue, "\"CMD ARGS\"", "run this command instead of the profile's (split into words, no shell)"},
              {"workspace", FlagKind::kValue, "DIR", "give the agent this directory (it becomes the agent's)"},
              {"repo", FlagKind::kValue, "PATH", "give the agent its own clone of this git repository"},
              {"branch", FlagKind::kValue, "B", "with --repo: the branch the agent works on (default cloudcoop/NAME)"},
              {"cpus", FlagKind::kValue, "N", "CPU limit (default agents.cpus)"},
              {"memory", FlagKind::kValue, "SIZE", "memory limit, e.g. 2G (default agents.memory)"},
              {"pids", FlagKind::kValue, "N", "process and thread limit (default agents.pids)"},
              {"net", FlagKind::kValue, "MODE", "network: none, egress or host (default agents.network)", {"none", "egress", "host"}},
              {"env", FlagKind::kRepeated, "K=V", "set an environment variable inside the sandbox"},
              {"unsandboxed", FlagKind::kBool, "", "DEGRADED: run without the sandbox (own uid and no_new_privs only); printed and logged"},
              {"json", FlagKind::kBool, "", "print the agent and its protected paths as JSON"}},
    .description = "Returns once the agent runs. Names are 1-32 lowercase letters, digits and single hyphens.\n"
                   "Refuses duplicate names, unknown profiles, missing repositories and limits beyond the host,\n"
                   "and leaves nothing behind when it fails. Refused while `cloudcoop panic` has locked the host.",
    .run = RunAgentAdd,
    .needs_root = true,
};

}  // namespace cloudcoop::cli
