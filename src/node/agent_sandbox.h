// What the agent host needs from the per-agent sandbox (src/sandbox/, issue 3), as one seam.
//
// The supervisor calls Run() to run the agent inside its sandbox to the end; host-side commands call
// Usage() for `agent list` and Freeze()/Kill()/Cleanup() for kill, panic and rm.
//
// NamespaceSandbox (the default) runs the agent through sandbox::RunSandbox (src/sandbox): its own
// persistent uid, user/mount/pid/ipc/uts/cgroup/network namespaces, cgroup limits from the agent's
// limits, seccomp, Landlock, no_new_privs, no capabilities; the workspace and the agent's home are
// the only writable trees it sees besides its private /tmp. Every layer fails closed. The explicit,
// printed and logged --unsandboxed mode (own uid, no_new_privs, RLIMIT_NPROC, umask 027) does not go
// through this seam. UnavailableSandbox refuses to start anything (unit tests).
#ifndef CLOUDCOOP_NODE_AGENT_SANDBOX_H_
#define CLOUDCOOP_NODE_AGENT_SANDBOX_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.h"
#include "core/status.h"
#include "node/registry.h"
#include "node/workspace.h"

namespace cloudcoop::node {

struct ResourceUsage {
  double cpu_seconds = 0;
  uint64_t memory_bytes = 0;
  int64_t pids = 0;
};

struct LaunchRequest {
  const AgentRecord* record = nullptr;
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // the complete environment of the agent
  std::vector<ProtectedPath> protect;
  std::string exit_status_file;
  // The configuration's audit.* settings (enabled, exec capture, segment size, retention) the
  // sandbox's audit log is opened with (sandbox::SandboxPlan, docs/adr/0017-exec-capture.md).
  AuditSettings audit;
};

struct LaunchResult {
  int exit_code = 0;  // as a shell reports it: the code, or 128 + signal
  int signal = 0;     // the signal that ended it, 0 when it exited
  // From the agent's cgroup after it ended (0 when unknown): the memory limit killed something,
  // forks were refused at the process limit.
  uint64_t oom_kills = 0;
  uint64_t pids_max_hits = 0;
};

class AgentSandbox {
 public:
  virtual ~AgentSandbox() = default;
  // Builds the agent's sandbox, runs the command in it and supervises it until it ends (the
  // calling process stays its parent and forwards signals). `on_running` is called once the command
  // runs. An error means the command never ran: a confinement layer could not be applied (the error
  // names it) or exec failed.
  virtual StatusOr<LaunchResult> Run(const LaunchRequest& request,
                                     const std::function<void()>& on_running) = 0;
  virtual std::optional<ResourceUsage> Usage(const AgentRecord& record) = 0;
  // Usage(r) of several agents at once (`agent list`), by agent name; agents without usage are
  // left out. The default asks Usage() for each.
  virtual std::map<std::string, ResourceUsage> UsageOf(const std::vector<const AgentRecord*>& records);
  virtual Status Freeze(const AgentRecord& record) = 0;
  virtual Status Thaw(const AgentRecord& record) = 0;
  virtual Status Kill(const AgentRecord& record) = 0;  // kill all in the cgroup, verify it is empty
  virtual Status Cleanup(const AgentRecord& record) = 0;
};

class UnavailableSandbox : public AgentSandbox {
 public:
  StatusOr<LaunchResult> Run(const LaunchRequest& request, const std::function<void()>& on_running) override;
  std::optional<ResourceUsage> Usage(const AgentRecord&) override { return std::nullopt; }
  Status Freeze(const AgentRecord&) override { return OkStatus(); }
  Status Thaw(const AgentRecord&) override { return OkStatus(); }
  Status Kill(const AgentRecord&) override { return OkStatus(); }
  Status Cleanup(const AgentRecord&) override { return OkStatus(); }
};

// The per-agent sandbox of src/sandbox. The agent's sandbox is named SandboxName(record) (its
// cgroup, running record and uid reservation under the agent's state directory), so
// `cloudcoop sandbox list` shows it too.
class NamespaceSandbox : public AgentSandbox {
 public:
  StatusOr<LaunchResult> Run(const LaunchRequest& request, const std::function<void()>& on_running) override;
  std::optional<ResourceUsage> Usage(const AgentRecord& record) override;
  // One pass over the running records of each state directory (not a lookup per agent).
  std::map<std::string, ResourceUsage> UsageOf(const std::vector<const AgentRecord*>& records) override;
  Status Freeze(const AgentRecord& record) override;
  Status Thaw(const AgentRecord& record) override;
  Status Kill(const AgentRecord& record) override;
  // Waits for the agent's supervisor to be gone, collects what a killed supervisor left (cgroup,
  // record) and releases the agent's uid reservation.
  Status Cleanup(const AgentRecord& record) override;
};

// "NAME-UID": unique on the host (agent uids are), valid as a sandbox and cgroup name.
std::string SandboxName(const AgentRecord& record);

// The sandbox this build uses (NamespaceSandbox).
AgentSandbox& DefaultAgentSandbox();

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_AGENT_SANDBOX_H_
