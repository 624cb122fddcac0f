#include "sandbox/control.h"

#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "core/files.h"
#include "sandbox/cgroup.h"
#include "sandbox/ids.h"
#include "sandbox/layers.h"
#include "sandbox/net_egress.h"
#include "sandbox/plan.h"

namespace cloudcoop::sandbox {
namespace {

StatusOr<std::unique_ptr<cgroup::Cgroup>> GroupOf(const state::RunningRecord& r) {
  if (r.cgroup_version == 0 || r.cgroup_paths.empty()) {
    return LayerError(Layer::kCgroup, StatusCode::kFailedPrecondition,
                      "sandbox " + r.name + " runs without a cgroup (degraded)",
                      "stop it through its supervisor (pid " + std::to_string(r.supervisor_pid) + ")");
  }
  auto group = cgroup::OpenFromPaths(r.cgroup_version, r.cgroup_paths);
  if (group == nullptr) {
    return LayerError(Layer::kCgroup, StatusCode::kDataLoss,
                      "sandbox " + r.name + " has an unusable cgroup record", "run `cloudcoop sandbox gc`");
  }
  return group;
}

}  // namespace

StatusOr<std::vector<SandboxInfo>> ListSandboxes(const std::string& state_dir) {
  CC_ASSIGN_OR_RETURN(std::vector<state::RunningRecord> records, state::List(state_dir));
  std::vector<SandboxInfo> out;
  for (auto& r : records) {
    SandboxInfo info;
    info.alive = state::SupervisorAlive(r);
    info.record = std::move(r);
    if (info.alive) {
      auto usage = ReadUsage(info.record);
      if (usage.ok()) {
        info.usage = *usage;
        info.have_usage = true;
      }
    }
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(),
            [](const SandboxInfo& a, const SandboxInfo& b) { return a.record.name < b.record.name; });
  return out;
}

StatusOr<SandboxInfo> FindSandbox(const std::string& state_dir, const std::string& name) {
  // One record, not a listing of all (the agent host asks once per agent: with 100 agents, a
  // listing each time made `agent list` and `panic` quadratic).
  std::string path = state::RecordPath(state_dir, name);
  if (name.empty() || name.find('/') != std::string::npos || !PathExists(path)) {
    return NotFoundError("no sandbox named \"" + name + "\" is recorded under " + state_dir)
        .WithFix("run `cloudcoop sandbox list` to see the running ones");
  }
  // A record is rewritten in place (state.h): one being written at this instant does not parse.
  StatusOr<state::RunningRecord> record = state::Read(path);
  for (int attempt = 0; attempt < 20 && !record.ok() && PathExists(path); ++attempt) {
    usleep(1000);
    record = state::Read(path);
  }
  if (!record.ok()) {
    if (!PathExists(path)) {
      return NotFoundError("no sandbox named \"" + name + "\" is recorded under " + state_dir)
          .WithFix("run `cloudcoop sandbox list` to see the running ones");
    }
    return record.status().Annotate("reading the record of sandbox " + name);
  }
  SandboxInfo info;
  info.alive = state::SupervisorAlive(*record);
  info.record = std::move(*record);
  if (info.alive) {
    auto usage = ReadUsage(info.record);
    if (usage.ok()) {
      info.usage = *usage;
      info.have_usage = true;
    }
  }
  return info;
}

StatusOr<cgroup::Usage> ReadUsage(const state::RunningRecord& record) {
  CC_ASSIGN_OR_RETURN(auto group, GroupOf(record));
  return group->ReadUsage();
}

std::map<std::string, cgroup::Usage> ReadCountersOf(const std::string& state_dir,
                                                    const std::vector<std::string>& names) {
  std::map<std::string, cgroup::Usage> out;
  auto present = ListDir(state::RunningDir(state_dir));
  if (!present.ok()) return out;
  std::set<std::string> files(present->begin(), present->end());
  for (const auto& name : names) {
    if (name.empty() || name.find('/') != std::string::npos || files.count(name + ".json") == 0) continue;
    std::string path = state::RecordPath(state_dir, name);
    // A record is rewritten in place (state.h): one being written at this instant does not parse.
    StatusOr<state::RunningRecord> record = state::ReadBrief(path);
    for (int attempt = 0; attempt < 20 && !record.ok() && PathExists(path); ++attempt) {
      usleep(1000);
      record = state::ReadBrief(path);
    }
    if (!record.ok() || !state::SupervisorAlive(*record)) continue;
    auto group = GroupOf(*record);
    if (!group.ok()) continue;
    auto usage = (*group)->ReadCounters();
    if (usage.ok()) out[name] = *usage;
  }
  return out;
}

Status FreezeSandbox(const state::RunningRecord& record, bool frozen) {
  CC_ASSIGN_OR_RETURN(auto group, GroupOf(record));
  return group->Freeze(frozen);
}

Status KillSandbox(const state::RunningRecord& record) {
  auto group = GroupOf(record);
  if (!group.ok()) {
    // No cgroup (degraded): the init's pid namespace still takes everything down with it. Only
    // while its supervisor is alive is the recorded pid certainly still the init.
    if (record.init_pid > 0 && state::SupervisorAlive(record)) {
      kill(record.init_pid, SIGKILL);
      return OkStatus();
    }
    return group.status();
  }
  return (*group)->KillAll();
}

// A live sandbox's group holds its init from its first milliseconds on, and the kernel refuses to
// remove a group with members, so only dead groups go.
int CollectOrphanGroups(const std::set<std::string>& claimed, const std::string& parent, int min_age_s) {
  auto layout = cgroup::DetectLayout("/sys/fs/cgroup");
  if (!layout.ok()) return 0;
  std::set<std::string> bases;
  if (layout->version == 2) {
    bases.insert(JoinPath(layout->unified, parent));
  } else {
    for (const auto& [controller, mount] : layout->controllers) bases.insert(JoinPath(mount, parent));
  }
  time_t now = time(nullptr);
  std::set<std::string> removed;
  for (const auto& base : bases) {
    auto entries = ListDir(base);
    if (!entries.ok()) continue;
    for (const auto& name : *entries) {
      std::string dir = JoinPath(base, name);
      struct stat st;
      if (claimed.count(name) || lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      if (now - st.st_mtime < min_age_s) continue;
      if (rmdir(dir.c_str()) == 0) removed.insert(name);
    }
  }
  return static_cast<int>(removed.size());
}

StatusOr<StaleReport> FindStale(const std::string& state_dir) {
  StaleReport report;
  CC_ASSIGN_OR_RETURN(std::vector<state::RunningRecord> records, state::List(state_dir));
  for (const auto& r : records) {
    if (!state::SupervisorAlive(r)) report.records.push_back(r.name);
  }
  return report;
}

StatusOr<StaleReport> CollectStale(const std::string& state_dir) {
  StaleReport report;
  CC_ASSIGN_OR_RETURN(std::vector<state::RunningRecord> records, state::List(state_dir));
  for (const auto& r : records) {
    if (state::SupervisorAlive(r)) continue;
    std::unique_ptr<cgroup::Cgroup> group;
    if (r.cgroup_version != 0) {
      group = cgroup::OpenFromPaths(r.cgroup_version, r.cgroup_paths);
    } else {
      // Killed before it recorded its cgroup: where the plan says it would be.
      auto plan = PlanFromJson(r.plan_json);
      auto layout =
          plan.ok() ? cgroup::DetectLayout(plan->cgroup_root) : StatusOr<cgroup::Layout>(plan.status());
      if (layout.ok()) {
        auto where =
            cgroup::Open(*layout, plan->cgroup_parent.empty() ? "cloudcoop" : plan->cgroup_parent, r.name);
        group = cgroup::OpenFromPaths(where->version(), where->Paths());
      }
    }
    if (group != nullptr) {
      Status s = group->CleanupInParent();
      if (!s.ok()) return s;
    }
    state::Remove(state_dir, r.name);
    report.records.push_back(r.name);
  }
  std::set<std::string> claimed;
  for (const auto& r : records) claimed.insert(r.name);
  report.groups = CollectOrphanGroups(claimed, "cloudcoop", kOrphanGroupMinAgeSeconds);
  CC_ASSIGN_OR_RETURN(report.uids, ids::CollectStale(state_dir));
  CC_ASSIGN_OR_RETURN(report.net_slots, CollectStaleEgressSlots(EgressConfigForStateDir(state_dir)));
  return report;
}

}  // namespace cloudcoop::sandbox
