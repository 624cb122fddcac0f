// Builders for the records the sandbox supervisor will write (exec, lifecycle, denial), so that
// wiring it up is a call per event. Values are bounded here: a record never grows without limit
// because an agent ran a program with a huge argv.
//
//   auto logger = audit::Logger::Open(target.Options());          // once per supervisor
//   logger->Append(audit::ExecRecord(info), audit::Durability::kBatched);
//   logger->MaybeFlush();                                         // on each poll-loop tick
#ifndef CLOUDCOOP_AUDIT_EVENTS_H_
#define CLOUDCOOP_AUDIT_EVENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "audit/logger.h"

namespace cloudcoop::audit {

// Limits applied by ExecRecord.
inline constexpr size_t kMaxArgs = 256;           // argv entries kept
inline constexpr size_t kMaxArgBytes = 4096;      // bytes kept of one argument
inline constexpr size_t kMaxArgvBytes = 64 * 1024;  // bytes kept of the whole argv

struct ExecInfo {
  std::string agent;
  int64_t pid = 0;
  int64_t ppid = 0;
  int64_t uid = -1;
  std::string exe;  // the path that was executed (as resolved by the kernel when known)
  std::vector<std::string> argv;
  std::string cwd;
  std::string via;  // "execve", "execveat", "fexecve" when known
};

// {"kind":"agent","name":...,"uid":...}: the agent as the actor of what it did.
Fields AgentActor(const std::string& agent, int64_t uid);
// {"kind":"supervisor","agent":...,"pid":<this process>}: the supervisor reporting about an agent.
Fields SupervisorActor(const std::string& agent);

// An exec record: fields pid, ppid, uid, exe, argv (bounded; "argv_truncated": true and
// "argc": the original count when something was cut), cwd, via.
Event ExecRecord(const ExecInfo& info);
// A lifecycle record: fields {"event": event} plus `fields` (e.g. "start", "exit", "oom-kill",
// "pids-limit", "degraded", "plan").
Event LifecycleRecord(const std::string& agent, const std::string& event, Fields fields = {});
// A denial record: fields {"what": what} plus `fields` (e.g. {"syscall":"ptrace","errno":"EPERM"}).
Event DenialRecord(const std::string& agent, const std::string& what, Fields fields = {});

// Bounds argv as ExecRecord does; sets *truncated when anything was cut.
std::vector<std::string> BoundArgv(const std::vector<std::string>& argv, bool* truncated);

}  // namespace cloudcoop::audit

#endif  // CLOUDCOOP_AUDIT_EVENTS_H_
