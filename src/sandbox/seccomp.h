// seccomp: allow by default, EPERM for a deny list of kernel attack surface and sandbox-escape
// calls, ENOSYS for clone3 (its flags live in memory a filter cannot read, so libc falls back to
// clone, whose CLONE_NEWUSER flag is filtered), and death for any other ABI (i386, x32) so the
// deny list cannot be bypassed through another system-call table. Built with libseccomp (static).
//
// Exec capture (exec_audit.h, ADR 0017) loads a second filter after this one that returns
// SECCOMP_RET_USER_NOTIF for execve/execveat, with SECCOMP_FILTER_FLAG_NEW_LISTENER; its fd goes to
// the supervisor's wait loop. With capture on, the deny list goes through that listener too (ADR
// 0019): this filter then returns SECCOMP_RET_USER_NOTIF (not ERRNO, which would take precedence)
// for the deny list, the second filter does the same and, being newer, wins the tie, so the
// supervisor records a denial and answers EPERM. Without a listener (the supervisor gone) the
// kernel answers such a call with ENOSYS: still denied.
#ifndef CLOUDCOOP_SANDBOX_SECCOMP_H_
#define CLOUDCOOP_SANDBOX_SECCOMP_H_

#include <linux/filter.h>

#include <string>
#include <vector>

#include "core/status.h"

namespace cloudcoop::sandbox::seccomp {

// One line per denied call or call family, for `--plan` and `check`.
std::vector<std::string> DeniedSyscallSummary();
// Every syscall name the filter denies outright.
const std::vector<const char*>& DeniedSyscalls();

// What the deny list returns: EPERM directly, or a user notification answered by the supervisor
// (which records a denial and answers EPERM; exec capture's listener filter must follow).
enum class DenyAction { kErrno, kNotify };

// One rule of the deny list, resolved for the native ABI: the call, or the call when
// (low 32 bits of args[arg] & mask) == value (every argument rule compares the low word only).
struct DenyRule {
  int nr;
  const char* name;
  bool has_arg;
  unsigned arg;
  uint32_t mask;
  uint32_t value;
  const char* why;
};
// The deny list (calls not on this architecture left out), in filter order.
const std::vector<DenyRule>& DenyRules();
// The name of a denied call's number ("" when it is not on the deny list).
const char* DeniedName(int nr);

// The compiled BPF program (computed once per process and action, in the parent, before the child
// needs it).
StatusOr<std::vector<sock_filter>> BuildFilter(DenyAction action = DenyAction::kErrno);

// Loads the filter into the calling thread (no_new_privs must be set already).
Status ApplyInChild(const std::vector<sock_filter>& program);
// Reads it back: Seccomp mode 2 in prctl, and a denied call (ioctl TIOCSTI on fd -1) returns EPERM
// (kNotify: ENOSYS, as the listener filter is not loaded yet) rather than EBADF.
Status VerifyInChild(DenyAction action = DenyAction::kErrno);

}  // namespace cloudcoop::sandbox::seccomp

// Keep DeniedSyscallSummary() visible to plan_format.cc without the namespace.
namespace cloudcoop::sandbox {
using seccomp::DeniedSyscallSummary;
}

#endif  // CLOUDCOOP_SANDBOX_SECCOMP_H_
