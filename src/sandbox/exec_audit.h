// Exec capture and the sandbox's audit records (docs/adr/0017-exec-capture.md).
//
// Capture is done from outside the agent: the sandbox init loads a second seccomp filter that
// returns SECCOMP_RET_USER_NOTIF for execve and execveat (and EPERM for any later attempt to create
// another notification listener, which could otherwise take the notifications away), with
// SECCOMP_FILTER_FLAG_NEW_LISTENER, and hands the listener fd to the supervisor over the channel
// before it starts the command: the command's own first exec is captured too. The supervisor
// answers each notification in its poll loop: it reads pid, ppid, uid, the path and argv (bounded)
// from the caller's memory and cwd from /proc, checks with SECCOMP_IOCTL_NOTIF_ID_VALID that the
// caller is still the one waiting, queues an exec record and lets the system call continue; the
// queue is written in batches (64 records or 50 ms, before any other record, and at the end). While
// records cannot be written, execs are refused (EPERM): fail closed.
//
// The same filter notifies the main filter's deny list (ADR 0019): the supervisor answers EPERM
// and records a `denial` (coalesced per call per second).
//
// The supervisor also writes the sandbox's lifecycle records: the plan (layers, limits, degraded),
// start, exit (code, signal, cgroup usage), OOM kills and pids-limit hits (from the cgroup's
// counters), and a failed start.
//
// Phases: ExecAuditor::Open (supervisor, before anything else is created: a log that cannot be
// opened stops the start), LoadFilterInChild / VerifyInChild (init, after the main seccomp filter),
// ExecAuditor::AcceptListener (supervisor, on the channel's kAuditFd), Serve (poll loop).
#ifndef CLOUDCOOP_SANDBOX_EXEC_AUDIT_H_
#define CLOUDCOOP_SANDBOX_EXEC_AUDIT_H_

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "audit/events.h"
#include "audit/logger.h"
#include "core/files.h"
#include "core/status.h"
#include "policy/checks.h"
#include "sandbox/cgroup.h"
#include "sandbox/plan.h"

namespace cloudcoop::sandbox::exec_audit {

// The notification filter (a few BPF instructions, built without libseccomp).
std::vector<sock_filter> BuildNotifyFilter();

// Init side: loads the filter with a new listener, sends the listener to the supervisor (channel
// message kAuditFd) and closes the init's copy. no_new_privs must be set.
Status LoadFilterInChild(int channel);
// Read-back: creating another listener now fails with EPERM (only the audit filter denies that).
Status VerifyInChild();

// What one notification became (for tests and the bench).
struct Captured {
  audit::ExecInfo info;
  bool missing = false;  // the path did not exist when the call was made (the exec will fail)
};
// What is read while the caller waits (pid as seen by this process; `args` are the system call's
// arguments, `nr` its number): ppid and uid, cwd, the path and argv from the caller's memory (with
// process_vm_readv). Returns false when the caller went away meanwhile.
bool CollectExec(int pid, int nr, const uint64_t args[6], Captured* out);
// The caller's ppid and real uid: PIDFD_GET_INFO where the kernel has it (6.13), else
// /proc/<pid>/status. False when the process is gone.
bool ReadCallerIds(int pid, int64_t* ppid, int64_t* uid);
// Whether the absolute path `exe` does not exist under the directory `root` (resolved inside it).
// False when root < 0 or exe is not absolute.
bool PathMissing(int root, const std::string& exe);

class ExecAuditor {
 public:
  // Opens the audit log (creating <dir> 0700 if needed). An error stops the sandbox start.
  static StatusOr<std::unique_ptr<ExecAuditor>> Open(const SandboxPlan& plan);
  ~ExecAuditor();

  // The listener fd from the init: checked to be a seccomp notification fd.
  Status AcceptListener(int fd);
  int listener() const { return listener_.get(); }
  bool capturing() const { return listener_.valid(); }
  // The listener arrived (it may be closed again already: every process using the filter is gone).
  bool accepted() const { return accepted_; }
  // Answers every pending notification (call on POLLIN). Never blocks.
  void Serve();
  // POLLHUP/POLLERR on the listener: no process uses the filter any more.
  void ListenerClosed() { listener_.Reset(); }
  // The poll loop's timeout, shortened while batched records wait to be synced.
  int PollTimeoutMs(int timeout_ms) const;
  void MaybeFlush();
  Status Flush();

  // Lifecycle records. Batched except the exit, which is synced.
  Status RecordPlan(const SandboxPlan& plan, uint32_t uid, int init_pid, const std::vector<std::string>& layers);
  void RecordStart(int init_pid, int command_ns_pid, const std::vector<std::string>& degraded);
  void RecordStartFailed(const Status& error);
  void RecordExit(int exit_code, int signal, const cgroup::Usage* usage);
  // At cleanup: the exit of a launched sandbox, else the start failure (when `error` is set).
  void RecordEnd(bool launched, const Status& error, int exit_code, int signal, const cgroup::Usage* usage);
  // Compares the cgroup's OOM-kill and pids-limit counters with the last values seen and records
  // increases (called on the poll loop's counter tick and at exit).
  void RecordCounters(const cgroup::Usage& usage);
  // Whether RecordCounters would record something for these counters (oom_kills, pids_max_hits).
  bool CountersGrew(const cgroup::Usage& hits) const {
    return hits.oom_kills > seen_oom_kills_ || hits.pids_max_hits > seen_pids_hits_;
  }

  uint64_t exec_records() const { return exec_records_; }
  uint64_t refused() const { return refused_; }
  uint64_t denied() const { return denied_; }

  // Denial records are coalesced per system call: the first denied call in a window of this length
  // is recorded at once, the repeats within the window as one record with their count when the
  // window ends (on the poll loop's tick, the next denial of that call, or the exit).
  static constexpr int64_t kDenialWindowMs = 1000;
  // Exec (and denial) records are queued while the notification is answered and written in one
  // append when this many are queued or the oldest is this old (the poll loop's tick), before any
  // other record, and at the end (ADR 0017, "Batching").
  static constexpr size_t kBatchRecords = 64;
  static constexpr int64_t kBatchDelayMs = 50;
  // A loop of denied calls would have the supervisor answer tens of thousands a second, on CPU
  // outside the agent's cgroup limits. The first this many denials of a second are answered at
  // once; each one after that waits this long for its answer: the loop costs the agent time, not
  // its supervisor CPU (about a thousand answers a second at most).
  static constexpr uint64_t kDenialsPerSecondAtFullSpeed = 1000;
  static constexpr int kThrottledDenialDelayUs = 1000;
  // How long the answer to the `n`th denied call of the current second waits.
  static int DenialAnswerDelayUs(uint64_t n) {
    return n > kDenialsPerSecondAtFullSpeed ? kThrottledDenialDelayUs : 0;
  }

 private:
  explicit ExecAuditor(std::string agent) : agent_(std::move(agent)) {}
  // Queues `event` behind the queued records and writes them all.
  void Append(const audit::Event& event, audit::Durability durability);
  void Queue(audit::Event event);
  // Writes the queued records in one append; false (and execs refused) while that fails.
  bool WriteQueued(audit::Durability durability);
  // A notification for a deny-listed call: recorded (coalesced), answered EPERM.
  void Deny(const seccomp_notif& req);
  // Writes the coalesced records of windows that ended by `now_ms` (all of them when < 0).
  void FlushDenials(int64_t now_ms);

  struct DenialWindow {
    int64_t start_ms = 0;
    uint64_t repeats = 0;      // denied calls after the recorded one, in this window
    audit::Fields last;        // the last repeat's fields
  };
  // Writes the window's coalesced record (if it had repeats) and removes it.
  std::map<int, DenialWindow>::iterator EndDenialWindow(std::map<int, DenialWindow>::iterator it);
  std::map<int, DenialWindow> denial_windows_;
  uint64_t denied_ = 0;
  int64_t denial_second_start_ms_ = 0;  // the current second of the throttle, and its denials so far
  uint64_t denials_this_second_ = 0;
  std::vector<audit::Event> queued_;
  int64_t queued_since_ms_ = 0;
  bool write_failed_ = false;

  std::string agent_;
  std::unique_ptr<audit::Logger> logger_;
  UniqueFd listener_;
  UniqueFd root_;      // the sandbox's root, for PathMissing (opened at the first exec)
  UniqueFd mount_ns_;  // and its mount namespace, which keeps the mounts under root_ in place
  size_t notif_size_ = 0;
  size_t resp_size_ = 0;
  std::vector<char> notif_buf_;
  std::vector<char> resp_buf_;
  uint64_t exec_records_ = 0;
  uint64_t refused_ = 0;
  uint64_t seen_oom_kills_ = 0;
  uint64_t seen_pids_hits_ = 0;
  bool log_failed_reported_ = false;
  bool accepted_ = false;
};

// The `check` item: every running sandbox's supervisor holds a seccomp notification listener and
// its init carries the audit filter (or the sandbox runs with exec capture turned off: a failure).
policy::CheckOutcome CheckExecCaptureActive(const std::string& state_dir);
void RegisterExecAuditChecks(policy::CheckRegistry& registry);

}  // namespace cloudcoop::sandbox::exec_audit

#endif  // CLOUDCOOP_SANDBOX_EXEC_AUDIT_H_
