// Operating on running sandboxes from outside: list them with their usage (for `agent list`),
// freeze and kill them (the kill switch), and collect what killed supervisors left behind.
//
// A sandbox is found through its running record (state.h); its processes through its cgroup, so
// orphans and double-forked daemons are included. Killing goes through the cgroup (freeze, SIGKILL
// every member, thaw, until empty); the sandbox's supervisor then sees its init die, records the
// exit and removes everything.
#ifndef CLOUDCOOP_SANDBOX_CONTROL_H_
#define CLOUDCOOP_SANDBOX_CONTROL_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "sandbox/cgroup.h"
#include "sandbox/state.h"

namespace cloudcoop::sandbox {

struct SandboxInfo {
  state::RunningRecord record;
  bool alive = false;       // its supervisor is running (same pid and start time)
  bool have_usage = false;  // usage could be read (a live sandbox with a cgroup)
  cgroup::Usage usage;
};

// Every recorded sandbox, live or stale, sorted by name, with usage where available.
StatusOr<std::vector<SandboxInfo>> ListSandboxes(const std::string& state_dir);
StatusOr<SandboxInfo> FindSandbox(const std::string& state_dir, const std::string& name);

StatusOr<cgroup::Usage> ReadUsage(const state::RunningRecord& record);
// The counters (cgroup::Cgroup::ReadCounters: CPU time, memory, pids) of the named sandboxes that
// are recorded under `state_dir`, alive and in a cgroup, in one pass over the running records
// (each read without its plan). Names with no such sandbox are left out.
std::map<std::string, cgroup::Usage> ReadCountersOf(const std::string& state_dir,
                                                    const std::vector<std::string>& names);
// Freezes (or thaws) every process of the sandbox.
Status FreezeSandbox(const state::RunningRecord& record, bool frozen);
// SIGKILLs every process of the sandbox and waits until its group is empty.
Status KillSandbox(const state::RunningRecord& record);

struct StaleReport {
  std::vector<std::string> records;  // names of records whose supervisor is gone
  int uids = 0;                      // ephemeral uid allocations nobody holds
  int net_slots = 0;                 // egress address slots of dead supervisors (their veths removed)
  int groups = 0;                    // empty cgroups under the `cloudcoop` parent no record claims
};
// How old an empty, unclaimed sandbox cgroup must be before gc removes it.
inline constexpr int kOrphanGroupMinAgeSeconds = 60;
// Removes the empty groups under `parent` (in every hierarchy of /sys/fs/cgroup) whose names are
// not in `claimed` and that were made more than `min_age_s` ago: what a supervisor killed between
// removing its group and its record (or a failed removal) leaves, which no record leads gc to.
// Returns how many names went (a v1 group is one directory per hierarchy).
int CollectOrphanGroups(const std::set<std::string>& claimed, const std::string& parent, int min_age_s);
// What is stale, without changing anything.
StatusOr<StaleReport> FindStale(const std::string& state_dir);
// Kills what is left in stale sandboxes' cgroups, removes the groups, their records, unheld
// ephemeral uid allocations and egress address slots of dead supervisors, and empty sandbox
// cgroups under the default parent that no record claims and that are older than a minute.
StatusOr<StaleReport> CollectStale(const std::string& state_dir);

}  // namespace cloudcoop::sandbox

#endif  // CLOUDCOOP_SANDBOX_CONTROL_H_
