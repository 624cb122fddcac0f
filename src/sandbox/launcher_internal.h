// Shared between launcher.cc (the supervisor's checklist), child.cc (the sandbox init's checklist
// and its pid-1 loop) and supervisor.cc (the supervisor's wait loop). Not a public API.
#ifndef CLOUDCOOP_SANDBOX_LAUNCHER_INTERNAL_H_
#define CLOUDCOOP_SANDBOX_LAUNCHER_INTERNAL_H_

#include <linux/filter.h>
#include <signal.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/files.h"
#include "core/logging.h"
#include "sandbox/cgroup.h"
#include "sandbox/exec_audit.h"
#include "sandbox/ids.h"
#include "sandbox/launcher.h"
#include "sandbox/mountns.h"
#include "sandbox/netns.h"
#include "sandbox/state.h"

namespace cloudcoop::sandbox::internal {

// Exit status of a sandbox init that reported a failed step on the channel.
inline constexpr int kInitFailedExit = 125;

// kGo's value: which namespace handles lead its descriptors (then come the cgroup join files).
inline constexpr int kGoHasNetns = 1;
inline constexpr int kGoHasUserns = 2;

// Signals the supervisor forwards (when another process sent them) and the init relays to the
// command. Terminal-generated ones reach the command directly and are not forwarded twice.
const std::vector<int>& ForwardedSignals();
sigset_t ForwardedSignalSet();

// What the sandbox init needs; built by the supervisor before clone() and copied with it.
struct ChildCtx {
  const SandboxPlan* plan = nullptr;
  const RunOptions* options = nullptr;
  int channel = -1;
  uint32_t uid = 0;
  uint32_t gid = 0;
  mountns::GeneratedFiles files;
  // Received with kGo.
  std::vector<sock_filter> seccomp;
  int netns_fd = -1;
  int userns_fd = -1;
  std::vector<int> cgroup_fds;  // the group's self-join files (cgroup::Cgroup::SelfJoinFiles)
  int signal_fd = -1;
  bool in_userns = false;
  std::set<Layer> degraded;
};

// The sandbox init: runs its checklist, starts the command, then reaps and relays until the command
// exits. Never returns.
[[noreturn]] void ChildMain(ChildCtx& ctx);

// Steps of the init's checklist, in order (for Checklist()).
std::vector<ChecklistStep> ChildChecklist();

// Everything the supervisor holds for one sandbox.
struct ParentCtx {
  const SandboxPlan* plan = nullptr;
  const RunOptions* options = nullptr;
  RunResult result;
  state::RunningRecord record;
  bool record_claimed = false;
  UniqueFd record_fd;
  ids::Lease lease;
  mountns::Prepared placeholders;
  std::vector<sock_filter> seccomp;
  std::vector<UniqueFd> cgroup_join_fds;
  std::string plan_json;   // computed once
  UniqueFd channel;        // supervisor's end
  UniqueFd child_channel;  // init's end, closed after clone
  UniqueFd signal_fd;
  sigset_t old_mask{};
  bool mask_changed = false;
  pid_t child = -1;
  UniqueFd pidfd;
  std::unique_ptr<cgroup::Cgroup> cgroup;
  // The idle loop's view of the cgroup's oom-kill and pids-limit counters (supervisor.cc).
  cgroup::LimitHitCounters limit_hits;
  // The helper making the network namespace (none, egress) from netns.start on; collected by
  // netns.prepare (egress) or netns.collect (none).
  std::unique_ptr<netns::Pending> net_pending;
  netns::Setup net;
  UniqueFd userns;
  pid_t userns_holder = -1;  // the killed helper that made it, reaped after the launch
  std::set<Layer> degraded;
  ChildCtx child_ctx;
  std::unique_ptr<exec_audit::ExecAuditor> auditor;  // the audit log and exec capture (exec_audit.h)
  int command_ns_pid = 0;                            // the command's pid inside the sandbox
  // Filled in by the wait loop.
  bool have_command_status = false;
  int command_status = 0;  // wait status of the command, from the init
  int init_status = 0;     // wait status of the init
  Status launch_error;
};

// Steps of the supervisor before and after clone() (for Checklist()).
std::vector<ChecklistStep> ParentChecklistBeforeClone();
std::vector<ChecklistStep> ParentChecklistAfterClone();
std::vector<ChecklistStep> CommandChecklist();

// supervisor.cc: answers the init until the command runs (or a step fails), then supervises until
// the init exits. Returns the launch error, if any.
Status AwaitLaunch(ParentCtx& ctx);
void Supervise(ParentCtx& ctx);
// Kills the sandbox's init (and so its pid namespace) and reaps it.
void KillAndReapInit(ParentCtx& ctx);

// Microseconds on the monotonic clock (step timings in the debug log).
int64_t NowMicros();

// Fault injection (RunOptions::fail_step).
Status InjectedFault(const RunOptions& options, std::string_view step, Layer layer);

// One checklist step of `who` ("supervisor" or "init"): the injected fault if any, else `run`,
// timed in the debug log.
template <typename Run>
Status RunTimedStep(const char* who, const ChecklistStep& info, const RunOptions& options, Run&& run) {
  int64_t started = GetLogLevel() >= LogLevel::kDebug ? NowMicros() : 0;
  Status s = InjectedFault(options, info.id, info.layer);
  if (s.ok()) s = run();
  if (started != 0) {
    CC_LOG_DEBUG("sandbox %s step %s: %lld us (at %lld)", who, std::string(info.id).c_str(),
                 static_cast<long long>(NowMicros() - started),
                 static_cast<long long>(NowMicros() % 100000000));
  }
  return s;
}

}  // namespace cloudcoop::sandbox::internal

#endif  // CLOUDCOOP_SANDBOX_LAUNCHER_INTERNAL_H_
