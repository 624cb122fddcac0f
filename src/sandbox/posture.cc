#include "sandbox/posture.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <map>

#include "core/files.h"
#include "core/strings.h"
#include "sandbox/cgroup.h"
#include "sandbox/control.h"
#include "sandbox/netns.h"
#include "sandbox/plan.h"

namespace cloudcoop::sandbox {
namespace {

std::string Field(const std::string& status, const std::string& name) {
  for (const auto& line : Split(status, '\n', true)) {
    if (StartsWith(line, name + ":"))
      return std::string(Trim(std::string_view(line).substr(name.size() + 1)));
  }
  return "";
}

bool Zero(const std::string& hex) { return !hex.empty() && hex.find_first_not_of('0') == std::string::npos; }

bool Degraded(const state::RunningRecord& r, const std::string& layer) {
  for (const auto& d : r.degraded) {
    if (StartsWith(d, layer + ":")) return true;
  }
  return false;
}

// The status of one thread; the problems it shows.
void AuditStatus(const state::RunningRecord& r, const std::string& who, const std::string& status,
                 std::vector<std::string>& problems) {
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok) problems.push_back(who + ": " + what);
  };
  expect(Field(status, "NoNewPrivs") == "1", "NoNewPrivs " + Field(status, "NoNewPrivs"));
  expect(Field(status, "Seccomp") == "2", "Seccomp " + Field(status, "Seccomp"));
  for (const char* cap : {"CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"}) {
    expect(Zero(Field(status, cap)), std::string(cap) + " " + Field(status, cap));
  }
  std::string want_uid = std::to_string(r.uid), want_gid = std::to_string(r.gid);
  for (const auto& [field, want] : {std::pair{"Uid", want_uid}, std::pair{"Gid", want_gid}}) {
    auto ids = Split(Field(status, field), '\t', true);
    bool ok = ids.size() == 4 && r.uid != 0 && r.gid != 0;
    for (const auto& id : ids) ok = ok && std::string(Trim(id)) == want;
    expect(ok, std::string(field) + " " + Field(status, field) + " (want " + want + ", never 0)");
  }
}

void AuditNamespaces(const state::RunningRecord& r, const std::string& pid,
                     std::vector<std::string>& problems) {
  for (const char* ns : {"mnt", "pid", "ipc", "uts", "user", "net"}) {
    uint64_t mine = netns::NamespaceInode("self", ns);
    uint64_t theirs = netns::NamespaceInode(pid, ns);
    if (theirs == 0) continue;  // exited meanwhile; the pidfd check decides
    bool host_ok =
        (std::string(ns) == "net" && r.net == "host") || (std::string(ns) == "user" && Degraded(r, "userns"));
    if (mine == theirs && !host_ok) problems.push_back("pid " + pid + ": " + ns + " namespace is the host's");
  }
}

void AuditCgroupMembership(const state::RunningRecord& r, const std::string& pid,
                           const std::string& cgroup_file, std::vector<std::string>& problems) {
  if (r.cgroup_version == 0) return;
  for (const auto& [controller, dir] : r.cgroup_paths) {
    bool found = false;
    for (const auto& line : Split(cgroup_file, '\n', true)) {
      auto parts = Split(line, ':');
      if (parts.size() < 3) continue;
      bool match = controller == "unified" ? parts[0] == "0" : false;
      for (const auto& c : Split(parts[1], ',', true)) match = match || c == controller;
      std::string path = parts[2];
      if (match && path != "/" && EndsWith(dir, path)) found = true;
    }
    if (!found) problems.push_back("pid " + pid + ": not in its " + controller + " cgroup " + dir);
  }
}

void AuditLimits(const state::RunningRecord& r, std::vector<std::string>& problems) {
  if (r.cgroup_version == 0) return;
  auto plan = PlanFromJson(r.plan_json);
  auto usage = ReadUsage(r);
  if (!plan.ok() || !usage.ok()) {
    problems.push_back("cgroup limits unreadable: " +
                       (plan.ok() ? usage.status().message() : plan.status().message()));
    return;
  }
  const cgroup::Limits& got = usage->limits;
  if (got.memory_bytes != (plan->memory_bytes & ~uint64_t{4095})) {
    problems.push_back("memory limit " + std::to_string(got.memory_bytes) + ", planned " +
                       std::to_string(plan->memory_bytes));
  }
  if (got.pids != plan->pids) {
    problems.push_back("pids limit " + std::to_string(got.pids) + ", planned " + std::to_string(plan->pids));
  }
  if (got.cpus <= 0 || std::fabs(got.cpus - plan->cpus) > 0.011) {
    problems.push_back("cpu limit " + std::to_string(got.cpus) + ", planned " + std::to_string(plan->cpus));
  }
}

// /proc/<pid>/limits against the planned rlimits.
void AuditRlimits(const SandboxPlan& plan, const std::string& pid, const std::string& limits,
                  std::vector<std::string>& problems) {
  static const std::map<std::string, std::string> kRows = {{"NOFILE", "Max open files"},
                                                           {"NPROC", "Max processes"},
                                                           {"MEMLOCK", "Max locked memory"},
                                                           {"CORE", "Max core file size"}};
  for (const auto& r : plan.rlimits) {
    auto row = kRows.find(r.name);
    if (row == kRows.end()) continue;
    for (const auto& line : Split(limits, '\n', true)) {
      if (!StartsWith(line, row->second)) continue;
      auto cols = Split(line.substr(row->second.size()), ' ', true);
      auto value = [](const std::string& v) {
        return v == "unlimited" ? ~uint64_t{0} : std::strtoull(v.c_str(), nullptr, 10);
      };
      if (cols.size() < 2 || value(cols[0]) != r.soft || value(cols[1]) != r.hard) {
        problems.push_back("pid " + pid + ": RLIMIT_" + r.name + " is not " + std::to_string(r.soft) + "/" +
                           std::to_string(r.hard));
      }
    }
  }
}

bool PidfdAlive(int pidfd) { return syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0; }

}  // namespace

StatusOr<PostureReport> AuditSandbox(const state::RunningRecord& r) {
  PostureReport report;
  report.name = r.name;
  if (r.net == "host") report.warnings.push_back("shares the host's network (--net host)");
  for (const auto& d : r.degraded) report.warnings.push_back("degraded " + d);
  std::vector<pid_t> pids;
  if (r.cgroup_version != 0) {
    auto group = cgroup::OpenFromPaths(r.cgroup_version, r.cgroup_paths);
    if (group == nullptr)
      return DataLossError("sandbox " + r.name + ": unusable cgroup record").WithFix("cloudcoop sandbox gc");
    CC_ASSIGN_OR_RETURN(pids, group->Procs());
  } else if (r.init_pid > 0) {
    pids.push_back(r.init_pid);
  }
  auto plan = PlanFromJson(r.plan_json);
  for (pid_t p : pids) {
    UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, p, 0)));
    if (!pidfd.valid()) continue;  // exited
    std::string pid = std::to_string(p);
    std::vector<std::string> found;
    auto tasks = ListDir("/proc/" + pid + "/task");
    int threads = 0;
    if (tasks.ok()) {
      for (const auto& t : *tasks) {
        auto status = ReadFile("/proc/" + pid + "/task/" + t + "/status");
        if (!status.ok()) continue;
        ++threads;
        AuditStatus(r, "pid " + pid + (t == pid ? "" : " thread " + t), *status, found);
      }
    }
    AuditNamespaces(r, pid, found);
    auto cg = ReadFile("/proc/" + pid + "/cgroup");
    if (cg.ok()) AuditCgroupMembership(r, pid, *cg, found);
    auto limits = ReadFile("/proc/" + pid + "/limits");
    if (limits.ok() && plan.ok()) AuditRlimits(*plan, pid, *limits, found);
    // Only what was read while this exact process still existed counts.
    if (!PidfdAlive(pidfd.get())) continue;
    ++report.processes;
    report.threads += threads;
    for (auto& f : found) report.problems.push_back(std::move(f));
  }
  if (report.processes == 0) report.warnings.push_back("no process left to audit");
  AuditLimits(r, report.problems);
  return report;
}

}  // namespace cloudcoop::sandbox
