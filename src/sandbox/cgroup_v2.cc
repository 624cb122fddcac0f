// cgroup v2: one directory at <unified>/<parent>/<name>, controllers enabled through the parents'
// cgroup.subtree_control. Killing uses cgroup.kill (Linux 5.14+), else freeze + SIGKILL.
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "core/files.h"
#include "core/strings.h"
#include "sandbox/cgroup_backends.h"
#include "sandbox/layers.h"

namespace cloudcoop::sandbox::cgroup {
namespace {

constexpr uint64_t kPeriodUs = 100000;
constexpr uint64_t kPageMask = ~uint64_t{4095};
const char* const kControllers[] = {"cpu", "memory", "pids"};

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

class V2 : public Cgroup {
 public:
  V2(std::string dir, CgroupFs& fs, bool owned) : dir_(std::move(dir)), fs_(fs), owned_(owned) {}

  int version() const override { return 2; }
  std::map<std::string, std::string> Paths() const override { return {{"unified", dir_}}; }

  Status PrepareInParent(const Limits& limits) override {
    std::string parent = Dirname(dir_);
    CC_RETURN_IF_ERROR(EnableControllers(Dirname(parent)));
    CC_RETURN_IF_ERROR(fs_.MakeDir(parent));
    CC_RETURN_IF_ERROR(EnableControllers(parent));
    bool existed = fs_.Exists(dir_);
    CC_RETURN_IF_ERROR(fs_.MakeDir(dir_));
    if (existed) {
      CC_ASSIGN_OR_RETURN(std::vector<pid_t> procs, Procs());
      if (!procs.empty()) {
        return LayerError(Layer::kCgroup, StatusCode::kAlreadyExists, dir_ + " already holds processes",
                          "another sandbox with this name is running: pick another name or stop it");
      }
    }
    owned_ = true;  // from here on, cleanup may kill and remove it
    CC_RETURN_IF_ERROR(fs_.Write(File("memory.max"), std::to_string(limits.memory_bytes)));
    if (fs_.Exists(File("memory.swap.max"))) {
      CC_RETURN_IF_ERROR(fs_.Write(File("memory.swap.max"), "0"));
    } else if (HostHasSwap()) {
      return LayerError(
          Layer::kCgroup, StatusCode::kFailedPrecondition,
          "this host has swap but " + File("memory.swap.max") +
              " is missing, so the memory limit "
              "could be escaped through swap",
          "boot with swap accounting (CONFIG_MEMCG_SWAP), or turn swap off, or pass --allow-degraded cgroup");
    }
    CC_RETURN_IF_ERROR(fs_.Write(File("pids.max"), std::to_string(limits.pids)));
    CC_RETURN_IF_ERROR(fs_.Write(File("cpu.max"), std::to_string(CpuQuotaMicros(limits.cpus, kPeriodUs)) +
                                                      " " + std::to_string(kPeriodUs)));
    return VerifyLimits(limits);
  }

  Status VerifyLimits(const Limits& limits) override {
    CC_ASSIGN_OR_RETURN(Limits got, ReadLimits());
    if (got.memory_bytes != (limits.memory_bytes & kPageMask)) {
      return LayerVerifyError(Layer::kCgroup, "memory.max reads back as " + std::to_string(got.memory_bytes),
                              "check that nothing else writes to " + dir_);
    }
    if (fs_.Exists(File("memory.swap.max"))) {
      CC_ASSIGN_OR_RETURN(uint64_t swap, ReadNumber(fs_, File("memory.swap.max")));
      if (swap != 0) {
        return LayerVerifyError(Layer::kCgroup, "memory.swap.max reads back as " + std::to_string(swap),
                                "check that nothing else writes to " + dir_);
      }
    }
    if (got.pids != limits.pids) {
      return LayerVerifyError(Layer::kCgroup, "pids.max reads back as " + std::to_string(got.pids),
                              "check that nothing else writes to " + dir_);
    }
    double want = static_cast<double>(CpuQuotaMicros(limits.cpus, kPeriodUs)) / kPeriodUs;
    if (got.cpus != want) {
      return LayerVerifyError(Layer::kCgroup, "cpu.max reads back as " + std::to_string(got.cpus) + " CPUs",
                              "check that nothing else writes to " + dir_);
    }
    return OkStatus();
  }

  Status JoinFromParent(pid_t pid) override {
    CC_RETURN_IF_ERROR(fs_.Write(File("cgroup.procs"), std::to_string(pid)));
    return VerifyMember(pid);
  }

  std::vector<std::string> SelfJoinFiles() const override { return {File("cgroup.procs")}; }

  Status VerifyMember(pid_t pid) override {
    CC_ASSIGN_OR_RETURN(std::vector<pid_t> procs, Procs());
    if (std::find(procs.begin(), procs.end(), pid) == procs.end()) {
      return LayerVerifyError(
          Layer::kCgroup, "pid " + std::to_string(pid) + " is not in " + File("cgroup.procs"), "report this");
    }
    return OkStatus();
  }

  Status CleanupInParent() override {
    if (!owned_ || !fs_.Exists(dir_)) return OkStatus();
    Status killed = KillAll();
    Status removed;
    PollUntil(500, [&] {
      removed = fs_.RemoveDir(dir_);
      return removed.ok();
    });
    return killed.ok() ? removed : killed;
  }

  StatusOr<std::vector<pid_t>> Procs() override {
    auto read = fs_.Read(File("cgroup.procs"));
    if (!read.ok()) {
      CC_RETURN_IF_ERROR(UnlessRemoved(fs_, read.status(), dir_));
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
    Status written = fs_.Write(File("cgroup.freeze"), frozen ? "1" : "0");
    if (!written.ok()) return UnlessRemoved(fs_, written, dir_);
    bool ok = PollUntil(1000, [&] {
      auto events = fs_.Read(File("cgroup.events"));
      if (!events.ok()) return !fs_.Exists(File("cgroup.events"));  // removed meanwhile: no members
      auto v = ParseKeyedValue(*events, "frozen");
      return v.ok() && *v == (frozen ? 1u : 0u);
    });
    if (!ok) {
      return LayerVerifyError(Layer::kCgroup,
                              dir_ + " did not report frozen " + (frozen ? "1" : "0") + " within 1 s",
                              "a task may be stuck in the kernel (D state); retry");
    }
    return OkStatus();
  }

  Status KillAll() override {
    CC_ASSIGN_OR_RETURN(std::vector<pid_t> first, Procs());
    if (first.empty()) return OkStatus();
    if (fs_.Exists(File("cgroup.kill"))) {
      Status killed = fs_.Write(File("cgroup.kill"), "1");
      if (!killed.ok()) return UnlessRemoved(fs_, killed, dir_);
    } else {
      for (int round = 0; round < 200; ++round) {
        CC_RETURN_IF_ERROR(Freeze(true));
        CC_ASSIGN_OR_RETURN(std::vector<pid_t> pids, Procs());
        for (pid_t p : pids) kill(p, SIGKILL);
        CC_RETURN_IF_ERROR(Freeze(false));
        if (pids.empty()) break;
      }
    }
    bool empty = PollUntil(2000, [&] {
      auto left = Procs();
      return left.ok() && left->empty();
    });
    if (!empty) {
      return LayerError(Layer::kCgroup, StatusCode::kDeadlineExceeded,
                        "processes survived the kill in " + dir_,
                        "they are stuck in the kernel; check `cat /proc/<pid>/stack` and retry");
    }
    return OkStatus();
  }

  StatusOr<Usage> ReadCounters() override {
    std::string cpu_stat;
    return Counters(&cpu_stat);
  }

  LimitHitFiles LimitHitPaths() const override { return {File("memory.events"), File("pids.events")}; }

  StatusOr<Usage> ReadUsage() override {
    std::string cpu_stat;
    CC_ASSIGN_OR_RETURN(Usage u, Counters(&cpu_stat));
    auto throttled = ParseKeyedValue(cpu_stat, "nr_throttled");
    if (throttled.ok()) u.throttled_periods = *throttled;
    if (fs_.Exists(File("memory.peak"))) {
      CC_ASSIGN_OR_RETURN(u.memory_peak_bytes, ReadNumber(fs_, File("memory.peak")));
    }
    auto events = fs_.Read(File("memory.events"));
    if (events.ok()) {
      auto oom = ParseKeyedValue(*events, "oom_kill");
      if (oom.ok()) u.oom_kills = *oom;
    }
    auto pid_events = fs_.Read(File("pids.events"));
    if (pid_events.ok()) {
      auto m = ParseKeyedValue(*pid_events, "max");
      if (m.ok()) u.pids_max_hits = *m;
    }
    CC_ASSIGN_OR_RETURN(u.limits, ReadLimits());
    return u;
  }

 private:
  std::string File(const std::string& name) const { return JoinPath(dir_, name); }

  // The counters `agent list` shows (cpu, memory, pids); cpu.stat is handed back for the rest.
  StatusOr<Usage> Counters(std::string* cpu_stat) {
    Usage u;
    CC_ASSIGN_OR_RETURN(*cpu_stat, fs_.Read(File("cpu.stat")));
    auto usage = ParseKeyedValue(*cpu_stat, "usage_usec");
    if (!usage.ok()) {
      return LayerError(Layer::kCgroup, StatusCode::kDataLoss, File("cpu.stat") + " has no usage_usec",
                        "report this");
    }
    u.cpu_usec = *usage;
    CC_ASSIGN_OR_RETURN(u.memory_bytes, ReadNumber(fs_, File("memory.current")));
    CC_ASSIGN_OR_RETURN(uint64_t pids, ReadNumber(fs_, File("pids.current")));
    u.pids = static_cast<int64_t>(pids);
    return u;
  }

  // Makes cpu, memory and pids available to the children of `dir` (a no-op when they already are).
  Status EnableControllers(const std::string& dir) {
    CC_ASSIGN_OR_RETURN(std::string enabled, fs_.Read(JoinPath(dir, "cgroup.subtree_control")));
    std::vector<std::string> have = Split(std::string(Trim(enabled)), ' ', true);
    std::string add;
    for (const char* c : kControllers) {
      if (std::find(have.begin(), have.end(), c) == have.end())
        add += std::string(add.empty() ? "" : " ") + "+" + c;
    }
    if (add.empty()) return OkStatus();
    return fs_.Write(JoinPath(dir, "cgroup.subtree_control"), add);
  }

  StatusOr<Limits> ReadLimits() {
    Limits l;
    CC_ASSIGN_OR_RETURN(l.memory_bytes, ReadNumber(fs_, File("memory.max")));
    CC_ASSIGN_OR_RETURN(uint64_t pids, ReadNumber(fs_, File("pids.max")));
    l.pids = pids == ~uint64_t{0} ? -1 : static_cast<int64_t>(pids);
    CC_ASSIGN_OR_RETURN(std::string cpu_max, fs_.Read(File("cpu.max")));
    std::vector<std::string> parts = Split(std::string(Trim(cpu_max)), ' ', true);
    if (parts.size() == 2 && parts[0] != "max") {
      auto q = ParseInt64(parts[0]);
      auto p = ParseInt64(parts[1]);
      if (q.has_value() && p.has_value() && *p > 0)
        l.cpus = static_cast<double>(*q) / static_cast<double>(*p);
    }
    return l;
  }

  std::string dir_;
  CgroupFs& fs_;
  bool owned_ = false;  // created (or adopted) by us: never clean up another sandbox's group
};

}  // namespace

std::unique_ptr<Cgroup> NewV2(std::string dir, CgroupFs& fs, bool adopt) {
  return std::make_unique<V2>(std::move(dir), fs, adopt);
}

}  // namespace cloudcoop::sandbox::cgroup
