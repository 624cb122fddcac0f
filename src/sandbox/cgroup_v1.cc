// cgroup v1: one directory per controller (memory, pids, cpu, cpuacct, freezer), each at
// <mount>/<parent>/<name>. cpu and cpuacct may share a mount ("cpu,cpuacct"); each directory is
// created, joined and removed once.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "core/files.h"
#include "core/strings.h"
#include "sandbox/cgroup_backends.h"
#include "sandbox/layers.h"

namespace cloudcoop::sandbox::cgroup {
namespace {

constexpr uint64_t kPeriodUs = 100000;
constexpr uint64_t kPageMask = ~uint64_t{4095};

StatusOr<uint64_t> ReadNumber(CgroupFs& fs, const std::string& path) {
  CC_ASSIGN_OR_RETURN(std::string text, fs.Read(path));
  std::string_view t = Trim(text);
  if (t == "max") return ~uint64_t{0};
  auto v = ParseInt64(t);
  if (!v.has_value()) {
    return LayerError(Layer::kCgroup, StatusCode::kDataLoss,
                      path + " holds \"" + std::string(t) + "\", not a number", "report this kernel version");
  }
  return static_cast<uint64_t>(*v);
}

class V1 : public Cgroup {
 public:
  V1(std::map<std::string, std::string> paths, CgroupFs& fs, bool owned)
      : paths_(std::move(paths)), fs_(fs), owned_(owned) {
    std::set<std::string> seen;
    for (const auto& [c, dir] : paths_) {
      if (seen.insert(dir).second) dirs_.push_back(dir);
    }
  }

  int version() const override { return 1; }
  std::map<std::string, std::string> Paths() const override { return paths_; }

  Status PrepareInParent(const Limits& limits) override {
    for (const auto& dir : dirs_) {
      bool existed = fs_.Exists(dir);
      CC_RETURN_IF_ERROR(fs_.MakeDir(Dirname(dir)));
      CC_RETURN_IF_ERROR(fs_.MakeDir(dir));
      if (existed) {
        // Left behind by a supervisor that was killed: reusable only when empty.
        CC_ASSIGN_OR_RETURN(std::string procs, fs_.Read(JoinPath(dir, "cgroup.procs")));
        if (!Trim(procs).empty()) {
          return LayerError(Layer::kCgroup, StatusCode::kAlreadyExists,
                            dir + " already holds processes (" + std::string(Trim(procs)) + ")",
                            "another sandbox with this name is running: pick another name or stop it");
        }
      }
    }
    owned_ = true;  // from here on, cleanup may kill and remove it
    std::string mem = Dir("memory");
    CC_RETURN_IF_ERROR(
        fs_.Write(JoinPath(mem, "memory.limit_in_bytes"), std::to_string(limits.memory_bytes)));
    std::string memsw = JoinPath(mem, "memory.memsw.limit_in_bytes");
    if (fs_.Exists(memsw)) {
      CC_RETURN_IF_ERROR(fs_.Write(memsw, std::to_string(limits.memory_bytes)));
    } else if (HostHasSwap()) {
      return LayerError(
          Layer::kCgroup, StatusCode::kFailedPrecondition,
          "this host has swap but no memory+swap accounting (" + memsw +
              " is missing), so the memory "
              "limit could be escaped through swap",
          "boot with swapaccount=1, or turn swap off (swapoff -a), or pass --allow-degraded cgroup");
    }
    CC_RETURN_IF_ERROR(fs_.Write(JoinPath(Dir("pids"), "pids.max"), std::to_string(limits.pids)));
    CC_RETURN_IF_ERROR(fs_.Write(JoinPath(Dir("cpu"), "cpu.cfs_period_us"), std::to_string(kPeriodUs)));
    CC_RETURN_IF_ERROR(fs_.Write(JoinPath(Dir("cpu"), "cpu.cfs_quota_us"),
                                 std::to_string(CpuQuotaMicros(limits.cpus, kPeriodUs))));
    return VerifyLimits(limits);
  }

  Status VerifyLimits(const Limits& limits) override {
    CC_ASSIGN_OR_RETURN(Limits got, ReadLimits());
    if (got.memory_bytes != (limits.memory_bytes & kPageMask)) {
      return LayerVerifyError(Layer::kCgroup,
                              "memory.limit_in_bytes reads back as " + std::to_string(got.memory_bytes),
                              "check that nothing else writes to " + Dir("memory"));
    }
    std::string memsw = JoinPath(Dir("memory"), "memory.memsw.limit_in_bytes");
    if (fs_.Exists(memsw)) {
      CC_ASSIGN_OR_RETURN(uint64_t sw, ReadNumber(fs_, memsw));
      if (sw != (limits.memory_bytes & kPageMask)) {
        return LayerVerifyError(Layer::kCgroup,
                                "memory.memsw.limit_in_bytes reads back as " + std::to_string(sw),
                                "check that nothing else writes to " + Dir("memory"));
      }
    }
    if (got.pids != limits.pids) {
      return LayerVerifyError(Layer::kCgroup, "pids.max reads back as " + std::to_string(got.pids),
                              "check that nothing else writes to " + Dir("pids"));
    }
    CC_ASSIGN_OR_RETURN(uint64_t quota, ReadNumber(fs_, JoinPath(Dir("cpu"), "cpu.cfs_quota_us")));
    if (quota != CpuQuotaMicros(limits.cpus, kPeriodUs)) {
      return LayerVerifyError(Layer::kCgroup, "cpu.cfs_quota_us reads back as " + std::to_string(quota),
                              "check that nothing else writes to " + Dir("cpu"));
    }
    return OkStatus();
  }

  Status JoinFromParent(pid_t pid) override {
    for (const auto& dir : dirs_) {
      CC_RETURN_IF_ERROR(fs_.Write(JoinPath(dir, "cgroup.procs"), std::to_string(pid)));
    }
    return VerifyMember(pid);
  }

  std::vector<std::string> SelfJoinFiles() const override {
    std::vector<std::string> files;
    for (const auto& dir : dirs_) files.push_back(JoinPath(dir, "tasks"));
    return files;
  }

  // Read back: the pid is listed in every hierarchy's group.
  Status VerifyMember(pid_t pid) override {
    for (const auto& dir : dirs_) {
      CC_ASSIGN_OR_RETURN(std::string procs, fs_.Read(JoinPath(dir, "cgroup.procs")));
      auto list = Split(procs, '\n', true);
      if (std::find(list.begin(), list.end(), std::to_string(pid)) == list.end()) {
        return LayerVerifyError(Layer::kCgroup,
                                "pid " + std::to_string(pid) + " is not in " + dir + "/cgroup.procs",
                                "report this");
      }
    }
    return OkStatus();
  }

  Status CleanupInParent() override {
    if (!owned_) return OkStatus();
    // Whatever hierarchies are left: a cleanup cut short (its supervisor killed between two
    // rmdirs) removed some, and gc finishes the rest.
    std::vector<std::string> left;
    for (const auto& dir : dirs_) {
      if (fs_.Exists(dir)) left.push_back(dir);
    }
    if (left.empty()) return OkStatus();
    Status killed = KillAll();
    Status removed;
    for (const auto& dir : left) {
      // A group can stay busy for a moment after its last task exits.
      Status s;
      PollUntil(500, [&] {
        s = fs_.RemoveDir(dir);
        return s.ok();
      });
      if (!s.ok() && removed.ok()) removed = s;
    }
    return killed.ok() ? removed : killed;
  }

  StatusOr<std::vector<pid_t>> Procs() override {
    auto read = fs_.Read(JoinPath(Dir("freezer"), "cgroup.procs"));
    if (!read.ok()) {
      CC_RETURN_IF_ERROR(UnlessRemoved(fs_, read.status(), Dir("freezer")));
      return std::vector<pid_t>{};
    }
    const std::string& text = *read;
    std::vector<pid_t> pids;
    for (const auto& line : Split(text, '\n', true)) {
      auto v = ParseInt64(line);
      if (v.has_value()) pids.push_back(static_cast<pid_t>(*v));
    }
    return pids;
  }

  Status Freeze(bool frozen) override {
    std::string state = JoinPath(Dir("freezer"), "freezer.state");
    Status written = fs_.Write(state, frozen ? "FROZEN" : "THAWED");
    if (!written.ok()) return UnlessRemoved(fs_, written, Dir("freezer"));
    std::string want = frozen ? "FROZEN" : "THAWED";
    // A group removed meanwhile (its supervisor cleans up once the sandbox is gone) has no
    // members left to freeze or thaw: done, rather than polling a missing file for a second.
    bool ok = PollUntil(1000, [&] {
      auto now = fs_.Read(state);
      return (now.ok() && Trim(*now) == want) || !fs_.Exists(state);
    });
    if (!ok) {
      return LayerVerifyError(Layer::kCgroup, state + " did not become " + want + " within 1 s",
                              "a task may be stuck in the kernel (D state); retry");
    }
    return OkStatus();
  }

  // Freeze (so nothing forks while we kill), SIGKILL every member, thaw (so the kills land),
  // then SIGKILL whatever is still listed until the group is empty. Only the first round freezes:
  // a group whose members are already dying can take long to report FROZEN, and a process with
  // SIGKILL pending cannot fork anything that outlives it unseen (its children are listed too).
  Status KillAll() override {
    CC_ASSIGN_OR_RETURN(std::vector<pid_t> first, Procs());
    if (first.empty()) return OkStatus();  // the usual case: the pid namespace took everything down
    for (int round = 0; round < 200; ++round) {
      Status frozen = round == 0 ? Freeze(true) : FailedPreconditionError("not frozen after round 0");
      CC_ASSIGN_OR_RETURN(std::vector<pid_t> pids, Procs());
      for (pid_t p : pids) kill(p, SIGKILL);
      if (frozen.ok()) {
        Status thawed = Freeze(false);
        if (!thawed.ok() && fs_.Exists(Dir("freezer"))) return thawed;
      }
      if (pids.empty() || !fs_.Exists(Dir("freezer"))) return OkStatus();
      PollUntil(10, [&] {
        auto left = Procs();
        return left.ok() && left->empty();
      });
    }
    CC_ASSIGN_OR_RETURN(std::vector<pid_t> left, Procs());
    if (left.empty()) return OkStatus();
    return LayerError(Layer::kCgroup, StatusCode::kDeadlineExceeded,
                      std::to_string(left.size()) + " processes survived SIGKILL in " + Dir("freezer"),
                      "they are stuck in the kernel; check `cat /proc/<pid>/stack` and retry");
  }

  StatusOr<Usage> ReadCounters() override {
    Usage u;
    CC_ASSIGN_OR_RETURN(uint64_t ns, ReadNumber(fs_, JoinPath(Dir("cpuacct"), "cpuacct.usage")));
    u.cpu_usec = ns / 1000;
    CC_ASSIGN_OR_RETURN(u.memory_bytes, ReadNumber(fs_, JoinPath(Dir("memory"), "memory.usage_in_bytes")));
    CC_ASSIGN_OR_RETURN(uint64_t pids, ReadNumber(fs_, JoinPath(Dir("pids"), "pids.current")));
    u.pids = static_cast<int64_t>(pids);
    return u;
  }

  LimitHitFiles LimitHitPaths() const override {
    return {JoinPath(Dir("memory"), "memory.oom_control"), JoinPath(Dir("pids"), "pids.events")};
  }

  StatusOr<Usage> ReadUsage() override {
    CC_ASSIGN_OR_RETURN(Usage u, ReadCounters());
    CC_ASSIGN_OR_RETURN(u.memory_peak_bytes,
                        ReadNumber(fs_, JoinPath(Dir("memory"), "memory.max_usage_in_bytes")));
    auto oom = fs_.Read(JoinPath(Dir("memory"), "memory.oom_control"));
    if (oom.ok())
      u.oom_kills = ParseKeyedValue(*oom, "oom_kill").ok() ? *ParseKeyedValue(*oom, "oom_kill") : 0;
    auto stat = fs_.Read(JoinPath(Dir("cpu"), "cpu.stat"));
    if (stat.ok()) {
      auto t = ParseKeyedValue(*stat, "nr_throttled");
      if (t.ok()) u.throttled_periods = *t;
    }
    auto events = fs_.Read(JoinPath(Dir("pids"), "pids.events"));
    if (events.ok()) {
      auto m = ParseKeyedValue(*events, "max");
      if (m.ok()) u.pids_max_hits = *m;
    }
    CC_ASSIGN_OR_RETURN(u.limits, ReadLimits());
    return u;
  }

 private:
  std::string Dir(const std::string& controller) const {
    auto it = paths_.find(controller);
    return it == paths_.end() ? std::string("/nonexistent-cgroup-controller-") + controller : it->second;
  }

  StatusOr<Limits> ReadLimits() {
    Limits l;
    CC_ASSIGN_OR_RETURN(l.memory_bytes, ReadNumber(fs_, JoinPath(Dir("memory"), "memory.limit_in_bytes")));
    CC_ASSIGN_OR_RETURN(uint64_t pids, ReadNumber(fs_, JoinPath(Dir("pids"), "pids.max")));
    l.pids = pids == ~uint64_t{0} ? -1 : static_cast<int64_t>(pids);
    CC_ASSIGN_OR_RETURN(uint64_t quota, ReadNumber(fs_, JoinPath(Dir("cpu"), "cpu.cfs_quota_us")));
    CC_ASSIGN_OR_RETURN(uint64_t period, ReadNumber(fs_, JoinPath(Dir("cpu"), "cpu.cfs_period_us")));
    // cfs_quota_us is -1 when unlimited; ReadNumber reads that as a huge value.
    l.cpus =
        (quota > (1ULL << 40) || period == 0) ? 0 : static_cast<double>(quota) / static_cast<double>(period);
    return l;
  }

  std::map<std::string, std::string> paths_;
  std::vector<std::string> dirs_;
  CgroupFs& fs_;
  bool owned_ = false;  // created (or adopted) by us: never clean up another sandbox's group
};

}  // namespace

std::unique_ptr<Cgroup> NewV1(std::map<std::string, std::string> paths, CgroupFs& fs, bool adopt) {
  return std::make_unique<V1>(std::move(paths), fs, adopt);
}

}  // namespace cloudcoop::sandbox::cgroup
