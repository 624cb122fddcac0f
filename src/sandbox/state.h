// Records of running sandboxes under <state>/sandbox/running/<name>.json: who supervises it, its
// uid, its cgroup, its network mode, the layers that were degraded and the plan it runs. `cloudcoop
// check` audits each one from /proc; the agent service lists usage and kills through them.
//
// Records are runtime state, not fsynced (after a crash the processes they describe are gone too),
// and written in place: one file created per sandbox start (ext4 is slow to allocate inodes in a
// directory that churns files). A record whose supervisor no longer exists (same
// pid and start time) is stale and is replaced or reported.
#ifndef CLOUDCOOP_SANDBOX_STATE_H_
#define CLOUDCOOP_SANDBOX_STATE_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/files.h"
#include "core/status.h"

namespace cloudcoop::sandbox::state {

struct RunningRecord {
  std::string name;
  std::string phase;  // "starting" or "running"
  pid_t supervisor_pid = 0;
  uint64_t supervisor_start_ticks = 0;  // field 22 of /proc/<pid>/stat, against pid reuse
  pid_t init_pid = 0;                   // the sandbox's pid 1, as the host sees it
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t started_unix = 0;
  std::string net;         // none | egress | host
  int cgroup_version = 0;  // 0: no cgroup (degraded)
  std::map<std::string, std::string> cgroup_paths;
  std::vector<std::string> degraded;  // "landlock: <reason>"
  std::string plan_json;
};

std::string RunningDir(const std::string& state_dir);
std::string RecordPath(const std::string& state_dir, const std::string& name);

// Creates the record for a new sandbox and returns an open descriptor on it for later updates;
// fails if a live sandbox of that name exists (a stale one is replaced).
StatusOr<UniqueFd> ClaimInParent(const std::string& state_dir, const RunningRecord& record);
// Rewrites it in place through the claim's descriptor (phase changes; readers skip a record that
// does not parse at the instant they read it).
Status Update(int fd, const RunningRecord& record);
void Remove(const std::string& state_dir, const std::string& name);

StatusOr<RunningRecord> Read(const std::string& path);
// The record without its plan (plan_json stays empty): what listings need, without building and
// dumping the plan, which is most of the record.
StatusOr<RunningRecord> ReadBrief(const std::string& path);
// Every record, live or stale, sorted by name. A missing directory is an empty list.
StatusOr<std::vector<RunningRecord>> List(const std::string& state_dir);

// Field 22 (start time in clock ticks) of /proc/<pid>/stat; 0 when the process does not exist.
uint64_t ProcessStartTicks(pid_t pid);
bool SupervisorAlive(const RunningRecord& record);

std::string ToJson(const RunningRecord& record);
StatusOr<RunningRecord> FromJson(const std::string& text, bool with_plan = true);

}  // namespace cloudcoop::sandbox::state

#endif  // CLOUDCOOP_SANDBOX_STATE_H_
