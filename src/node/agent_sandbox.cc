#include "node/agent_sandbox.h"

#include <sys/stat.h>

#include <algorithm>
#include <iostream>
#include <chrono>
#include <thread>

#include "core/strings.h"
#include "sandbox/control.h"
#include "sandbox/ids.h"
#include "sandbox/launcher.h"
#include "sandbox/plan.h"

namespace cloudcoop::node {

StatusOr<LaunchResult> UnavailableSandbox::Run(const LaunchRequest& request, const std::function<void()>&) {
  return UnimplementedError(
             "agent " + request.record->name +
             ": this build of cloudcoop has no per-agent sandbox, and agents never run outside one "
             "silently")
      .WithFix("run it explicitly without the sandbox: cloudcoop agent add " + request.record->name +
               " --unsandboxed ... (own uid and no_new_privs only; printed and logged)");
}

std::map<std::string, ResourceUsage> AgentSandbox::UsageOf(const std::vector<const AgentRecord*>& records) {
  std::map<std::string, ResourceUsage> out;
  for (const AgentRecord* r : records) {
    if (auto u = Usage(*r)) out[r->name] = *u;
  }
  return out;
}

std::string SandboxName(const AgentRecord& record) { return record.name + "-" + std::to_string(record.uid); }

namespace {

bool IsUnderOrSame(const std::string& path, const std::string& dir) {
  return path == dir ||
         (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

// The agent's protected paths (host paths) as the sandbox sees them: the workspace is bound at its
// own path, the home at /home/NAME. A pinned path (writable, but not renameable) is what the sandbox
// does for every ancestor of a protected path; one without a protected path below it cannot be
// expressed, and is refused rather than dropped.
StatusOr<std::vector<sandbox::ProtectedPath>> ToSandboxPaths(const AgentRecord& r,
                                                             const std::vector<ProtectedPath>& in,
                                                             const std::string& inside_home) {
  std::vector<sandbox::ProtectedPath> out;
  for (const auto& p : in) {
    if (p.kind == ProtectedPath::Kind::kPin) {
      bool covered = std::any_of(in.begin(), in.end(), [&](const ProtectedPath& q) {
        return q.kind == ProtectedPath::Kind::kReadOnly && q.path != p.path && IsUnderOrSame(q.path, p.path);
      });
      if (!covered) {
        return FailedPreconditionError("agent " + r.name + ": the sandbox cannot pin " + p.path +
                                       " without a protected path inside it (" + p.why + ")")
            .WithFix("report this: the agent's protected paths and the sandbox disagree");
      }
      continue;  // pinned by the sandbox as an ancestor of its protected children
    }
    std::string path = p.path;
    if (IsUnderOrSame(path, r.home)) {
      path = inside_home + path.substr(r.home.size());
    } else if (!IsUnderOrSame(path, r.workspace)) {
      return FailedPreconditionError("agent " + r.name + ": protected path " + p.path +
                                     " is neither in its workspace nor in its home")
          .WithFix("report this: the agent's protected paths and the sandbox disagree");
    }
    out.push_back({path, p.directory ? sandbox::PathKind::kDir : sandbox::PathKind::kFile});
  }
  return out;
}

StatusOr<std::optional<sandbox::SandboxInfo>> Find(const AgentRecord& record) {
  if (record.state_dir.empty() || record.uid == 0) return std::optional<sandbox::SandboxInfo>();
  auto info = sandbox::FindSandbox(record.state_dir, SandboxName(record));
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound) return std::optional<sandbox::SandboxInfo>();
    return info.status();
  }
  return std::optional<sandbox::SandboxInfo>(std::move(*info));
}

}  // namespace

StatusOr<LaunchResult> NamespaceSandbox::Run(const LaunchRequest& request,
                                             const std::function<void()>& on_running) {
  const AgentRecord& r = *request.record;
  const std::string name = SandboxName(r);
  if (r.uid == 0 || r.state_dir.empty()) {
    return InvalidArgumentError("agent " + r.name + ": its record has no uid or state directory")
        .WithFix("remove it (cloudcoop agent rm " + r.name + ") and add it again");
  }
  // The agent's uid, reserved for its sandbox for the agent's whole life (released by `agent rm`):
  // no other sandbox of this state directory can take it.
  auto reserved = sandbox::ids::ReserveForOwner(r.state_dir, name, r.uid, 1);
  if (!reserved.ok()) {
    return Status(reserved.status().code(), "agent " + r.name + ": cannot reserve its uid " +
                                                std::to_string(r.uid) +
                                                " for its sandbox: " + reserved.status().message())
        .WithFix(reserved.status().fix().empty() ? "see cloudcoop sandbox list" : reserved.status().fix());
  }
  if (*reserved != r.uid) {
    return FailedPreconditionError("agent " + r.name + ": the sandbox reservation " + name + " holds uid " +
                                   std::to_string(*reserved) + ", not the agent's uid " +
                                   std::to_string(r.uid))
        .WithFix("remove the agent (cloudcoop agent rm " + r.name + ") and add it again");
  }

  sandbox::PlanRequest req;
  req.name = name;
  req.hostname = r.name;
  req.user_name = r.name;
  req.argv = request.argv;
  req.workspace = r.workspace;
  req.home = r.home;
  auto net = sandbox::ParseNetMode(r.network);
  if (!net.ok()) return net.status();
  req.net = *net;
  req.net_explicit = true;  // the operator chose it at `agent add` (host only with --net host)
  req.cpus = r.limits.cpus;
  req.memory_bytes = r.limits.memory_bytes;
  req.pids = r.limits.pids;
  req.uid = r.uid;
  req.umask = 027;  // the operator's group reads the workspace (ADR 0014); others never
  req.state_dir = r.state_dir;
  req.exit_status_file = request.exit_status_file;
  req.audit = request.audit;
  const std::string inside_home = "/home/" + r.name;
  CC_ASSIGN_OR_RETURN(req.protected_paths, ToSandboxPaths(r, request.protect, inside_home));
  AgentSettings defaults;  // every value the plan needs is set above
  auto plan = sandbox::BuildPlan(defaults, req, sandbox::HostLayout::Read());
  if (!plan.ok()) return plan.status();
  plan->audit_agent = r.name;  // `cloudcoop audit --agent NAME` finds what the agent ran
  // The environment is exactly the agent's (supervisor.h), with its home as the sandbox shows it.
  plan->env.clear();
  for (const auto& [k, v] : request.env) plan->env.emplace_back(k, k == "HOME" ? plan->home : v);
  std::sort(plan->env.begin(), plan->env.end());
  CC_RETURN_IF_ERROR(sandbox::ValidatePlan(*plan));

  sandbox::RunOptions options;
  options.on_running = on_running;
  options.on_degraded = [](const std::string& what) {  // shown in the agent's pane (and its transcript)
    std::cout << "cloudcoop: WARNING: sandbox layer DEGRADED: " << what << "\n";
    std::cout.flush();
  };
  options.collect_usage = true;
  auto result = sandbox::RunSandbox(*plan, options);
  if (!result.ok()) return result.status();
  LaunchResult out;
  out.exit_code = result->exit_code;
  out.signal = result->signal;
  if (result->have_usage) {
    out.oom_kills = result->usage.oom_kills;
    out.pids_max_hits = result->usage.pids_max_hits;
  }
  return out;
}

std::optional<ResourceUsage> NamespaceSandbox::Usage(const AgentRecord& record) {
  auto info = Find(record);
  if (!info.ok() || !info->has_value() || !(*info)->alive || !(*info)->have_usage) return std::nullopt;
  const auto& u = (*info)->usage;
  return ResourceUsage{static_cast<double>(u.cpu_usec) / 1e6, u.memory_bytes, u.pids};
}

std::map<std::string, ResourceUsage> NamespaceSandbox::UsageOf(const std::vector<const AgentRecord*>& records) {
  // Agents of one host share its state directory: group them by it, one pass each.
  std::map<std::string, std::vector<const AgentRecord*>> by_dir;
  for (const AgentRecord* r : records) {
    if (!r->state_dir.empty() && r->uid != 0) by_dir[r->state_dir].push_back(r);
  }
  std::map<std::string, ResourceUsage> out;
  for (const auto& [dir, group] : by_dir) {
    std::vector<std::string> names;
    for (const AgentRecord* r : group) names.push_back(SandboxName(*r));
    auto counters = sandbox::ReadCountersOf(dir, names);
    for (const AgentRecord* r : group) {
      auto it = counters.find(SandboxName(*r));
      if (it == counters.end()) continue;
      const auto& u = it->second;
      out[r->name] = ResourceUsage{static_cast<double>(u.cpu_usec) / 1e6, u.memory_bytes, u.pids};
    }
  }
  return out;
}

Status NamespaceSandbox::Freeze(const AgentRecord& record) {
  CC_ASSIGN_OR_RETURN(auto info, Find(record));
  if (!info.has_value()) return OkStatus();
  return sandbox::FreezeSandbox(info->record, true);
}

Status NamespaceSandbox::Thaw(const AgentRecord& record) {
  CC_ASSIGN_OR_RETURN(auto info, Find(record));
  if (!info.has_value()) return OkStatus();
  return sandbox::FreezeSandbox(info->record, false);
}

Status NamespaceSandbox::Kill(const AgentRecord& record) {
  CC_ASSIGN_OR_RETURN(auto info, Find(record));
  if (!info.has_value()) return OkStatus();
  return sandbox::KillSandbox(info->record);
}

Status NamespaceSandbox::Cleanup(const AgentRecord& record) {
  if (record.state_dir.empty() || record.uid == 0) return OkStatus();
  // The supervisor removes its sandbox's record, cgroup and uid claim as it exits: wait for it
  // (bounded, killing what is in the cgroup), then collect what a killed supervisor left.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool recorded = false;
  for (;;) {
    CC_ASSIGN_OR_RETURN(auto info, Find(record));
    recorded = info.has_value();
    if (!info.has_value() || !info->alive) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      return FailedPreconditionError("agent " + record.name + ": its sandbox supervisor (pid " +
                                     std::to_string(info->record.supervisor_pid) + ") is still running")
          .WithFix("cloudcoop agent kill " + record.name + ", then try again");
    }
    CC_RETURN_IF_ERROR(sandbox::KillSandbox(info->record));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (recorded) {
    CC_ASSIGN_OR_RETURN(auto stale, sandbox::CollectStale(record.state_dir));
    (void)stale;
  }
  // The uid reservation (sandbox/owners/NAME-UID, ids.h). Its claim is an flock the exiting
  // supervisor may still hold for a moment: retry that case briefly.
  struct stat st;
  if (lstat((record.state_dir + "/sandbox/owners/" + SandboxName(record)).c_str(), &st) != 0)
    return OkStatus();
  Status released = OkStatus();
  for (int i = 0; i < 250; ++i) {
    released = sandbox::ids::ReleaseOwner(record.state_dir, SandboxName(record));
    if (released.ok() || released.code() != StatusCode::kFailedPrecondition) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return released;
}

AgentSandbox& DefaultAgentSandbox() {
  static NamespaceSandbox sandbox;
  return sandbox;
}

}  // namespace cloudcoop::node
