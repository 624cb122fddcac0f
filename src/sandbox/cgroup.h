// cgroups: one group per sandbox with a CPU quota, a memory limit (memory+swap the same: no swap
// escape) and a pids limit; usage read back for `agent list`; freeze and kill for the kill switch.
//
// Two back-ends share this interface: cgroup v1 (cgroup_v1.cc: one directory per controller, as on
// the project's Debian 12 hosts) and cgroup v2 (cgroup_v2.cc: one unified directory). The supervisor
// creates the group and writes the limits (PrepareInParent), moves the sandbox's init into it before
// the command can run (JoinFromParent), and after the sandbox exits kills whatever is left and removes
// it (CleanupInParent). Groups live at <cgroupfs>/<parent>/<name>; the host's own groups are never
// touched and controllers are never rebound.
#ifndef CLOUDCOOP_SANDBOX_CGROUP_H_
#define CLOUDCOOP_SANDBOX_CGROUP_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/files.h"
#include "core/status.h"

namespace cloudcoop::sandbox::cgroup {

struct Limits {
  double cpus = 0;            // CPU quota in CPUs (period 100 ms)
  uint64_t memory_bytes = 0;  // memory, and memory+swap
  int64_t pids = 0;
};

struct Usage {
  uint64_t cpu_usec = 0;           // CPU time used
  uint64_t memory_bytes = 0;       // current
  uint64_t memory_peak_bytes = 0;  // high-water mark (0 when the kernel does not keep one)
  int64_t pids = 0;                // tasks now
  uint64_t oom_kills = 0;          // OOM kills inside the group
  uint64_t throttled_periods = 0;  // CPU periods in which the quota throttled the group
  uint64_t pids_max_hits = 0;      // forks refused at the pids limit
  Limits limits;                   // as read back from the group
};

// File access behind the back-ends: the real cgroupfs, or (in tests) a directory that mimics it.
class CgroupFs {
 public:
  virtual ~CgroupFs() = default;
  virtual Status MakeDir(const std::string& path);  // EEXIST is not an error
  virtual Status RemoveDir(const std::string& path);
  virtual Status Write(const std::string& path, const std::string& value);
  virtual StatusOr<std::string> Read(const std::string& path);
  virtual bool Exists(const std::string& path);
};
CgroupFs& RealCgroupFs();

class Cgroup {
 public:
  virtual ~Cgroup() = default;
  virtual int version() const = 0;
  // Controller (or "unified") -> directory of this group.
  virtual std::map<std::string, std::string> Paths() const = 0;

  // Creates the group and writes the limits, then reads them back.
  virtual Status PrepareInParent(const Limits& limits) = 0;
  virtual Status VerifyLimits(const Limits& limits) = 0;
  // Moves `pid` into the group from outside. (The launcher does not use this on its hot path: a
  // task moved by another costs an RCU grace period per hierarchy, see SelfJoinFiles.)
  virtual Status JoinFromParent(pid_t pid) = 0;
  // The files the sandbox's init writes "0" to, itself, to join: v1 <dir>/tasks of each hierarchy,
  // v2 cgroup.procs. A single thread moving itself skips cgroup_threadgroup_rwsem, whose write side
  // waits for an RCU grace period (milliseconds on a busy host).
  virtual std::vector<std::string> SelfJoinFiles() const = 0;
  // Read back from outside: `pid` is a member (of every hierarchy).
  virtual Status VerifyMember(pid_t pid) = 0;
  // Kills every process in the group until it is empty, then removes it.
  virtual Status CleanupInParent() = 0;

  virtual StatusOr<std::vector<pid_t>> Procs() = 0;
  virtual Status Freeze(bool frozen) = 0;
  // SIGKILL to every member until the group is empty (bounded; error if something survives).
  virtual Status KillAll() = 0;
  virtual StatusOr<Usage> ReadUsage() = 0;
  // Only cpu_usec, memory_bytes and pids (what `agent list` shows): three reads instead of a dozen.
  virtual StatusOr<Usage> ReadCounters() { return ReadUsage(); }
  // The files holding ReadUsage's oom_kills and pids_max_hits ("oom_kill N" and "max N" lines):
  // v1 memory.oom_control and pids.events, v2 memory.events and pids.events.
  struct LimitHitFiles {
    std::string oom;
    std::string pids;
  };
  virtual LimitHitFiles LimitHitPaths() const = 0;
};

// The two counters the idle supervisor watches every few seconds (oom_kills and pids_max_hits),
// through descriptors opened once: a pread into a stack buffer and a scan per read, and so little
// code to fault back in once the supervisor has dropped its start-up pages (ADR 0016).
class LimitHitCounters {
 public:
  static StatusOr<LimitHitCounters> Open(const Cgroup& group);
  // False when a file cannot be read (the group is gone, or Open was never called); a line the
  // kernel lacks reads as 0.
  bool Read(uint64_t* oom_kills, uint64_t* pids_max_hits) const;

 private:
  UniqueFd oom_;
  UniqueFd pids_;
};

// Where the controllers are on this host.
struct Layout {
  int version = 0;                                 // 1 or 2
  std::string unified;                             // v2: the cgroup2 mount (or a test directory)
  std::map<std::string, std::string> controllers;  // v1: controller -> mount point
};

// The controllers every sandbox needs (v1 names; v2 needs cpu, memory, pids).
const std::vector<std::string>& RequiredV1Controllers();

// Finds the layout: a cgroup2 mount at `root` (default /sys/fs/cgroup) with cpu, memory and pids
// enabled, else v1 hierarchies mounted under `root` with every required controller. The error
// names what is missing and how to fix it.
StatusOr<Layout> DetectLayout(const std::string& root);
// v1 mounts from /proc/self/mountinfo text (exposed for tests).
std::map<std::string, std::string> ParseV1Mounts(const std::string& mountinfo, const std::string& under);

std::unique_ptr<Cgroup> Open(const Layout& layout, const std::string& parent, const std::string& name,
                             CgroupFs& fs = RealCgroupFs());

// Opens an existing group from the paths a running record holds (for usage, freeze and kill).
std::unique_ptr<Cgroup> OpenFromPaths(int version, const std::map<std::string, std::string>& paths,
                                      CgroupFs& fs = RealCgroupFs());

// Read back from /proc/<pid>/cgroup (valid until the process is reaped, unlike cgroup.procs, which
// an exiting task leaves at once): `pid` is in every hierarchy's `group`.
Status VerifyProcCgroup(const Cgroup& group, pid_t pid);

// The init's side of SelfJoinFiles: writes "0" to each (already open, read-write) file, then reads
// each back: it must list the caller (as its pid namespace sees it: `self_pid`).
Status JoinSelf(const std::vector<int>& fds, pid_t self_pid);

// v1 and v2 value helpers (exposed for tests).
uint64_t CpuQuotaMicros(double cpus, uint64_t period_us);
StatusOr<uint64_t> ParseKeyedValue(const std::string& text, const std::string& key);  // "key 123" lines
std::optional<uint64_t> FindKeyedValue(std::string_view text, std::string_view key);  // the same, no copies

}  // namespace cloudcoop::sandbox::cgroup

#endif  // CLOUDCOOP_SANDBOX_CGROUP_H_
