// RunSandbox: applies a SandboxPlan and supervises the sandbox until its command exits.
//
// The calling process is the supervisor: it stays the sandbox's parent (it reaps, forwards
// signals, records the exit, kills the cgroup afterwards), keeps its terminal (no setsid: the
// command gets the caller's controlling terminal; TIOCSTI is filtered instead), and takes the whole
// sandbox down with it if it dies. The steps it runs are the checklist below, in order, each one
// failing closed (the error names the layer, the syscall, errno and the fix) and each lock-down read
// back. `cloudcoop sandbox run --plan` prints the same checklist.
//
// Used by `cloudcoop sandbox run` and by the agent service's pane command.
#ifndef CLOUDCOOP_SANDBOX_LAUNCHER_H_
#define CLOUDCOOP_SANDBOX_LAUNCHER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "sandbox/cgroup.h"
#include "sandbox/layers.h"
#include "sandbox/plan.h"

namespace cloudcoop::sandbox {

struct ChecklistStep {
  std::string_view id;     // stable: "landlock.apply"
  std::string_view where;  // "supervisor", "init", "command"
  Layer layer;
  std::string_view what;
};

// Every step of a sandbox start, in the order they run.
const std::vector<ChecklistStep>& Checklist();

struct RunOptions {
  // Called once per layer skipped under --allow-degraded (the CLI prints it; the record keeps it).
  std::function<void(const std::string&)> on_degraded;
  // Called once the command is running (exec succeeded), with the sandbox's running record name.
  std::function<void()> on_running;
  // Read the cgroup's final counters into RunResult::usage (always done when the plan has an exit
  // status file).
  bool collect_usage = false;
  // Fault injection for tests: the step with this id fails with `fail_errno` as if its system
  // call had. Never set by the CLI.
  std::string fail_step;
  int fail_errno = EPERM;
};

struct RunResult {
  int exit_code = 0;  // the command's status as a shell reports it: its code, or 128 + signal
  int signal = 0;     // the signal that ended it, 0 when it exited
  uint32_t uid = 0;
  std::vector<std::string> degraded;  // "landlock: <reason>"
  // The cgroup's final counters, read after the command exited and before the group is removed
  // (oom_kills > 0: the memory limit killed something; pids_max_hits: forks refused).
  bool have_usage = false;
  cgroup::Usage usage;
};

// Applies `plan` and runs its command to the end. An error means the sandbox never ran the command
// (a layer failed, or exec failed: layer "exec"); the command's own failure is a RunResult.
// The caller must be single-threaded and root.
StatusOr<RunResult> RunSandbox(const SandboxPlan& plan, const RunOptions& options = {});

// The exit-code convention of `sandbox run` for a sandbox that never ran its command: 127 when the
// command was not found, 126 when it could not be executed, 125 for every other failure.
int LaunchFailureExitCode(const Status& status);

}  // namespace cloudcoop::sandbox

#endif  // CLOUDCOOP_SANDBOX_LAUNCHER_H_
