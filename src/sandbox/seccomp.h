// seccomp: allow by default, EPERM for a deny list of kernel attack surface and sandbox-escape
// calls, ENOSYS for clone3 (its flags live in memory a filter cannot read, so libc falls back to
// clone, whose CLONE_NEWUSER flag is filtered), and death for any other ABI (i386, x32) so the
// deny list cannot be bypassed through another system-call table. Built with libseccomp (static).
//
// Exec capture (exec_audit.h, ADR 0017) loads a second filter after this one that returns
// SECCOMP_RET_USER_NOTIF for execve/execveat, with SECCOMP_FILTER_FLAG_NEW_LISTENER; its fd goes to
// the supervisor's wait loop.
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

// The compiled BPF program (computed once per process, in the parent, before the child needs it).
StatusOr<std::vector<sock_filter>> BuildFilter();

// Loads the filter into the calling thread (no_new_privs must be set already).
Status ApplyInChild(const std::vector<sock_filter>& program);
// Reads it back: Seccomp mode 2 in prctl, and a denied call (ioctl TIOCSTI on fd -1) returns EPERM
// rather than EBADF.
Status VerifyInChild();

}  // namespace cloudcoop::sandbox::seccomp

// Keep DeniedSyscallSummary() visible to plan_format.cc without the namespace.
namespace cloudcoop::sandbox {
using seccomp::DeniedSyscallSummary;
}

#endif  // CLOUDCOOP_SANDBOX_SECCOMP_H_
