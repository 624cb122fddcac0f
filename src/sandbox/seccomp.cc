#include "sandbox/seccomp.h"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/files.h"
#include "sandbox/layers.h"

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

namespace cloudcoop::sandbox::seccomp {
namespace {

// Calls a sandboxed process never needs and that an escape would: mounting, tracing other
// processes, loading kernel code, keyrings, BPF, perf, userfaultfd (a race-widening primitive),
// file handles (open_by_handle_at escapes bind mounts), entering namespaces, io_uring (it bypasses
// this filter and socket rules), rebooting and swap.
const std::vector<const char*> kDenied = {
    // mount family, old and new API
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    // other processes' memory
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "process_madvise",
    "pidfd_getfd",
    "kcmp",
    // kernel code and configuration
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "bpf",
    "perf_event_open",
    "lookup_dcookie",
    "acct",
    "syslog",
    "quotactl",
    "quotactl_fd",
    "nfsservctl",
    "uselib",
    "iopl",
    "ioperm",
    "vhangup",
    // keyrings
    "keyctl",
    "add_key",
    "request_key",
    // race and escape primitives
    "userfaultfd",
    "open_by_handle_at",
    "name_to_handle_at",
    "setns",
    // io_uring
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    // the machine
    "reboot",
    "swapon",
    "swapoff",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
};

struct ArgRule {
  const char* syscall;
  unsigned arg;
  uint64_t mask;
  uint64_t value;
  const char* why;
};

// Denied only with these arguments. ioctl's request is an unsigned int in the kernel: comparing
// the low 32 bits also catches the high-bits variant (CVE-2019-10063).
const ArgRule kArgRules[] = {
    {"ioctl", 1, 0xffffffffULL, TIOCSTI, "ioctl TIOCSTI (terminal input injection)"},
    {"ioctl", 1, 0xffffffffULL, TIOCLINUX, "ioctl TIOCLINUX (console selection paste)"},
    {"unshare", 0, CLONE_NEWUSER, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)"},
    {"clone", 0, CLONE_NEWUSER, CLONE_NEWUSER, "clone(CLONE_NEWUSER)"},
    {"socket", 0, 0xffffffffULL, AF_VSOCK, "socket(AF_VSOCK)"},
};

Status ScmpError(const char* call, const std::string& object, int rc) {
  return LayerErrno(Layer::kSeccomp, call, object, -rc,
                    "report this: libseccomp rejected a rule of the built-in filter");
}

StatusOr<std::vector<sock_filter>> Compile(DenyAction action) {
  const uint32_t deny = action == DenyAction::kNotify ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(EPERM);
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return LayerErrno(Layer::kSeccomp, "seccomp_init", "", ENOMEM, "free memory and retry");
  struct CtxGuard {
    scmp_filter_ctx c;
    ~CtxGuard() { seccomp_release(c); }
  } guard{ctx};
  // Only the native ABI: i386 and x32 calls (another table, other numbers) kill the process.
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc != 0) return ScmpError("seccomp_attr_set", "ACT_BADARCH", rc);
  // The launcher sets no_new_privs itself (and reads it back); loading must fail without it.
  rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (rc != 0) return ScmpError("seccomp_attr_set", "CTL_NNP", rc);
  for (const char* name : kDenied) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture (e.g. umount, create_module)
    rc = seccomp_rule_add(ctx, deny, nr, 0);
    if (rc != 0) return ScmpError("seccomp_rule_add", name, rc);
  }
  for (const auto& r : kArgRules) {
    int nr = seccomp_syscall_resolve_name(r.syscall);
    if (nr == __NR_SCMP_ERROR) continue;
    rc = seccomp_rule_add(ctx, deny, nr, 1,
                          SCMP_CMP(r.arg, SCMP_CMP_MASKED_EQ, r.mask, r.value));
    if (rc != 0) return ScmpError("seccomp_rule_add", r.why, rc);
  }
  int clone3 = seccomp_syscall_resolve_name("clone3");
  if (clone3 != __NR_SCMP_ERROR) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), clone3, 0);
    if (rc != 0) return ScmpError("seccomp_rule_add", "clone3", rc);
  }
  // libseccomp 2.5 exports BPF only to a file descriptor.
  UniqueFd mem(memfd_create("cloudcoop-seccomp", MFD_CLOEXEC));
  if (!mem.valid()) return LayerErrno(Layer::kSeccomp, "memfd_create", "", errno, "free memory and retry");
  rc = seccomp_export_bpf(ctx, mem.get());
  if (rc != 0) return ScmpError("seccomp_export_bpf", "", rc);
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0) {
    return LayerError(Layer::kSeccomp, StatusCode::kInternal, "exported BPF has an odd size", "report this");
  }
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  if (pread(mem.get(), prog.data(), static_cast<size_t>(size), 0) != size) {
    return LayerErrno(Layer::kSeccomp, "pread", "exported BPF", errno, "report this");
  }
  return prog;
}

}  // namespace

const std::vector<const char*>& DeniedSyscalls() { return kDenied; }

std::vector<std::string> DeniedSyscallSummary() {
  return {"mount family (mount, umount2, pivot_root, chroot, fsopen, fsmount, move_mount, open_tree, ...)",
          "ptrace, process_vm_readv/writev, pidfd_getfd",
          "kexec_*, init/finit/delete_module, bpf, perf_event_open",
          "keyctl, add_key, request_key",
          "userfaultfd, open_by_handle_at, setns, unshare/clone with CLONE_NEWUSER",
          "io_uring_setup/enter/register",
          "reboot, swapon/swapoff, clock setting",
          "ioctl TIOCSTI and TIOCLINUX (also with high bits set)",
          "socket(AF_VSOCK)"};
}

const std::vector<DenyRule>& DenyRules() {
  static const std::vector<DenyRule> rules = [] {
    std::vector<DenyRule> out;
    for (const char* name : kDenied) {
      int nr = seccomp_syscall_resolve_name(name);
      if (nr != __NR_SCMP_ERROR && nr >= 0) out.push_back({nr, name, false, 0, 0, 0, name});
    }
    for (const auto& r : kArgRules) {
      int nr = seccomp_syscall_resolve_name(r.syscall);
      if (nr == __NR_SCMP_ERROR || nr < 0 || (r.mask >> 32) != 0) continue;  // low-word rules only
      out.push_back({nr, r.syscall, true, r.arg, static_cast<uint32_t>(r.mask), static_cast<uint32_t>(r.value),
                     r.why});
    }
    return out;
  }();
  return rules;
}

const char* DeniedName(int nr) {
  for (const auto& r : DenyRules()) {
    if (r.nr == nr) return r.name;
  }
  return "";
}

StatusOr<std::vector<sock_filter>> BuildFilter(DenyAction action) {
  static StatusOr<std::vector<sock_filter>> errno_program = Compile(DenyAction::kErrno);
  if (action == DenyAction::kErrno) return errno_program;
  static StatusOr<std::vector<sock_filter>> notify_program = Compile(DenyAction::kNotify);
  return notify_program;
}

Status ApplyInChild(const std::vector<sock_filter>& program) {
  sock_fprog prog{static_cast<unsigned short>(program.size()), const_cast<sock_filter*>(program.data())};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    return LayerErrno(Layer::kSeccomp, "seccomp(SECCOMP_SET_MODE_FILTER)", "", errno,
                      errno == EACCES ? "no_new_privs must be set before the filter (launcher ordering bug)"
                                      : "boot a kernel with CONFIG_SECCOMP_FILTER=y");
  }
  return OkStatus();
}

Status VerifyInChild(DenyAction action) {
  const int want = action == DenyAction::kNotify ? ENOSYS : EPERM;
  int mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
  if (mode != 2) {
    return LayerVerifyError(Layer::kSeccomp,
                            "PR_GET_SECCOMP returned " + std::to_string(mode) + ", not 2 (filter)",
                            "check that the kernel supports seccomp filters");
  }
  errno = 0;
  if (ioctl(-1, TIOCSTI, nullptr) != -1 || errno != want) {
    return LayerVerifyError(Layer::kSeccomp,
                            "ioctl(-1, TIOCSTI) returned errno " + ErrnoName(errno) + " instead of " +
                                ErrnoName(want),
                            "report this: the filter does not deny terminal injection");
  }
  return OkStatus();
}

}  // namespace cloudcoop::sandbox::seccomp
