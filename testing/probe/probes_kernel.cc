// Probes: kernel interfaces, try-syscall style (containment-tests.md rows 9-15, 17). Every call gets
// arguments that make it fail harmlessly if the kernel lets it through (EFAULT, EBADF).
#include <fcntl.h>
#include <linux/keyctl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "testing/probe/probe.h"

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

namespace cloudcoop::probe {
namespace {

void* Bad() { return reinterpret_cast<void*>(1); }

// The errno a call made in a child returned (the child exits with it), or the signal that killed
// the child (as 1000 + signal).
int ChildErrno(const std::function<long()>& call) {
  int status = InChild([&] {
    long rc = call();
    return rc < 0 ? errno : 0;
  });
  if (WIFSIGNALED(status)) return 1000 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

// SIGSYS: the filter killed it. SIGSEGV (i386 only): the kernel has no such ABI at all.
Outcome FromChild(int code, std::initializer_list<int> blocked, bool segv_is_blocked = false) {
  if (code >= 1000) {
    int sig = code - 1000;
    if (sig == SIGSYS || (segv_is_blocked && sig == SIGSEGV))
      return Blocked(0, std::string("killed by ") + strsignal(sig));
    return Reachable(0, std::string("killed by ") + strsignal(sig));
  }
  if (code == 0) return Reachable(0, "the call succeeded");
  return Classify(-1, code, blocked);
}

struct Pty {
  int master = -1, slave = -1;
  Pty() {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return;
    const char* name = ptsname(master);
    if (name != nullptr) slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  }
  ~Pty() {
    if (slave >= 0) close(slave);
    if (master >= 0) close(master);
  }
  bool ok() const { return master >= 0 && slave >= 0; }
  // Whether anything is waiting to be read on either side.
  bool Injected() const {
    fcntl(master, F_SETFL, O_NONBLOCK);
    fcntl(slave, F_SETFL, O_NONBLOCK);
    termios t;
    if (tcgetattr(slave, &t) == 0) {
      cfmakeraw(&t);
      tcsetattr(slave, TCSANOW, &t);
    }
    char buf[16];
    return read(slave, buf, sizeof buf) > 0 || read(master, buf, sizeof buf) > 0;
  }
};

}  // namespace

CC_PROBE(mount, "kernel", "mount() with a bad filesystem type pointer") {
  long rc = syscall(SYS_mount, nullptr, "/tmp", Bad(), 0, nullptr);
  return Classify(rc, errno, {EPERM});
}

CC_PROBE(umount2, "kernel", "umount2 with a bad path pointer") {
  return Classify(CC_TRY(syscall(SYS_umount2, Bad(), 0)), {EPERM});
}

CC_PROBE(pivot_root, "kernel", "pivot_root with bad pointers") {
  return Classify(CC_TRY(syscall(SYS_pivot_root, Bad(), Bad())), {EPERM});
}

CC_PROBE(new_mount_api, "kernel", "fsopen, open_tree, move_mount, mount_setattr") {
  Outcome o = Classify(CC_TRY(syscall(SYS_fsopen, Bad(), 0)), {EPERM}, "fsopen");
  if (o.result != Result::kBlocked) return o;
  o = Classify(CC_TRY(syscall(SYS_open_tree, -1, Bad(), 0)), {EPERM}, "open_tree");
  if (o.result != Result::kBlocked) return o;
  o = Classify(CC_TRY(syscall(SYS_move_mount, -1, Bad(), -1, Bad(), 0)), {EPERM}, "move_mount");
  if (o.result != Result::kBlocked) return o;
  return Classify(CC_TRY(syscall(SYS_mount_setattr, -1, Bad(), 0, Bad(), 32)), {EPERM}, "mount_setattr");
}

CC_PROBE(chroot, "kernel", "chroot with a bad pointer") {
  return Classify(CC_TRY(syscall(SYS_chroot, Bad())), {EPERM});
}

CC_PROBE(keyctl, "kernel", "keyctl, add_key, request_key") {
  Outcome o =
      Classify(CC_TRY(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, -12345, 0)), {EPERM, ENOSYS}, "keyctl");
  if (o.result != Result::kBlocked) return o;
  o = Classify(CC_TRY(syscall(SYS_add_key, Bad(), Bad(), nullptr, 0, 0)), {EPERM, ENOSYS}, "add_key");
  if (o.result != Result::kBlocked) return o;
  return Classify(CC_TRY(syscall(SYS_request_key, Bad(), Bad(), nullptr, 0)), {EPERM, ENOSYS}, "request_key");
}

CC_PROBE(unshare_user, "namespaces", "unshare(CLONE_NEWUSER) in a child") {
  return FromChild(ChildErrno([] { return static_cast<long>(unshare(CLONE_NEWUSER)); }), {EPERM});
}

CC_PROBE(unshare_mount, "namespaces", "unshare(CLONE_NEWNS) in a child") {
  return FromChild(ChildErrno([] { return static_cast<long>(unshare(CLONE_NEWNS)); }), {EPERM});
}

CC_PROBE(unshare_net, "namespaces", "unshare(CLONE_NEWNET) in a child") {
  return FromChild(ChildErrno([] { return static_cast<long>(unshare(CLONE_NEWNET)); }), {EPERM});
}

CC_PROBE(setns, "namespaces", "setns(-1, 0)") { return Classify(CC_TRY(syscall(SYS_setns, -1, 0)), {EPERM}); }

CC_PROBE(clone3, "namespaces", "clone3 with a bad pointer (must not bypass the clone filter)") {
  return Classify(CC_TRY(syscall(SYS_clone3, Bad(), 88)), {ENOSYS, EPERM});
}

CC_PROBE(clone_newuser, "namespaces", "clone(CLONE_NEWUSER) in a child") {
  int code = ChildErrno([] {
    long rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (rc == 0) _exit(0);
    if (rc > 0) waitpid(static_cast<pid_t>(rc), nullptr, 0);
    return rc > 0 ? 0L : rc;
  });
  return FromChild(code, {EPERM});
}

CC_PROBE(namespaces_differ, "namespaces", "the sandbox's namespaces are not the host's") {
  std::string same;
  for (const char* ns : {"mnt", "pid", "ipc", "uts", "user", "net"}) {
    std::string host = ctx.Arg(std::string("host_ns_") + ns);
    if (host.empty()) continue;
    if (std::string(ns) == "net" && ctx.mode == "host") continue;  // probes_net.cc reports it
    struct stat st;
    if (stat((std::string("/proc/self/ns/") + ns).c_str(), &st) == 0 && std::to_string(st.st_ino) == host) {
      same += std::string(" ") + ns;
    }
  }
  if (ctx.Arg("host_ns_mnt").empty()) return Skipped("no --arg host_ns_*=INODE");
  return same.empty() ? Blocked(0, "all differ") : Reachable(0, "shared with the host:" + same);
}

CC_PROBE(raw_socket, "sockets", "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)") {
  int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
  int err = errno;
  if (fd >= 0) close(fd);
  return Classify(fd, err, {EPERM, EACCES});
}

CC_PROBE(packet_socket, "sockets", "socket(AF_PACKET, SOCK_RAW)") {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  int err = errno;
  if (fd >= 0) close(fd);
  return Classify(fd, err, {EPERM, EACCES});
}

CC_PROBE(vsock_socket, "sockets", "socket(AF_VSOCK)") {
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int err = errno;
  if (fd >= 0) close(fd);
  return Classify(fd, err, {EPERM});
}

CC_PROBE(io_uring, "kernel", "io_uring_setup, io_uring_enter, io_uring_register") {
  Outcome o = Classify(CC_TRY(syscall(SYS_io_uring_setup, 1, nullptr)), {EPERM, ENOSYS}, "io_uring_setup");
  if (o.result != Result::kBlocked) return o;
  o = Classify(CC_TRY(syscall(SYS_io_uring_enter, -1, 0, 0, 0, nullptr, 0)), {EPERM, ENOSYS},
               "io_uring_enter");
  if (o.result != Result::kBlocked) return o;
  return Classify(CC_TRY(syscall(SYS_io_uring_register, -1, 0, nullptr, 0)), {EPERM, ENOSYS},
                  "io_uring_register");
}

CC_PROBE(bpf, "kernel", "bpf(BPF_PROG_LOAD) with no attributes") {
  return Classify(CC_TRY(syscall(SYS_bpf, 5, nullptr, 0)), {EPERM});
}

CC_PROBE(perf_event_open, "kernel", "perf_event_open with a bad attribute pointer") {
  return Classify(CC_TRY(syscall(SYS_perf_event_open, Bad(), 0, -1, -1, 0)), {EPERM, EACCES});
}

CC_PROBE(userfaultfd, "kernel", "userfaultfd()") {
  long fd = syscall(SYS_userfaultfd, 0);
  int err = errno;
  if (fd >= 0) close(static_cast<int>(fd));
  return Classify(fd, err, {EPERM});
}

CC_PROBE(open_by_handle_at, "kernel", "open_by_handle_at(-1, NULL)") {
  return Classify(CC_TRY(syscall(SYS_open_by_handle_at, -1, nullptr, 0)), {EPERM});
}

CC_PROBE(kernel_modules, "kernel", "init_module, finit_module, delete_module, kexec_load") {
  Outcome o = Classify(CC_TRY(syscall(SYS_init_module, Bad(), 0, "")), {EPERM}, "init_module");
  if (o.result != Result::kBlocked) return o;
  o = Classify(CC_TRY(syscall(SYS_finit_module, -1, "", 0)), {EPERM}, "finit_module");
  if (o.result != Result::kBlocked) return o;
  o = Classify(CC_TRY(syscall(SYS_delete_module, Bad(), 0)), {EPERM}, "delete_module");
  if (o.result != Result::kBlocked) return o;
  return Classify(CC_TRY(syscall(SYS_kexec_load, 0, 0, nullptr, 0)), {EPERM}, "kexec_load");
}

CC_PROBE(reboot_swap, "kernel", "reboot, swapon, swapoff") {
  Outcome o = Classify(CC_TRY(syscall(SYS_reboot, 0, 0, 0, nullptr)), {EPERM}, "reboot");
  if (o.result != Result::kBlocked) return o;
  o = Classify(CC_TRY(syscall(SYS_swapon, Bad(), 0)), {EPERM}, "swapon");
  if (o.result != Result::kBlocked) return o;
  return Classify(CC_TRY(syscall(SYS_swapoff, Bad())), {EPERM}, "swapoff");
}

CC_PROBE(sethostname, "kernel", "sethostname (to the current name, so it changes nothing)") {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return Classify(CC_TRY(sethostname(name, std::strlen(name))), {EPERM});
}

CC_PROBE(tiocsti, "terminal", "TIOCSTI into a private pty, then look for the injected byte") {
  Pty pty;
  if (!pty.ok()) return Broken(errno, "could not open a pty pair");
  char c = 'x';
  int rc = ioctl(pty.slave, TIOCSTI, &c);
  int err = errno;
  if (pty.Injected()) return Reachable(0, "a byte was injected");
  return Classify(rc, err, {EPERM});
}

CC_PROBE(tiocsti_high_bits, "terminal", "TIOCSTI with the high 32 bits of the request set (CVE-2019-10063)") {
  Pty pty;
  if (!pty.ok()) return Broken(errno, "could not open a pty pair");
  char c = 'x';
  long rc = syscall(SYS_ioctl, pty.slave, 0xffffffff00000000UL | TIOCSTI, &c);
  int err = errno;
  if (pty.Injected()) return Reachable(0, "a byte was injected");
  return Classify(rc, err, {EPERM});
}

CC_PROBE(tioclinux, "terminal", "TIOCLINUX selection paste") {
  Pty pty;
  if (!pty.ok()) return Broken(errno, "could not open a pty pair");
  char sub = 3;  // TIOCL_PASTESEL
  return Classify(CC_TRY(ioctl(pty.slave, TIOCLINUX, &sub)), {EPERM});
}

CC_PROBE(tiocsti_terminal, "terminal", "TIOCSTI on the inherited terminal, with a bad pointer") {
  if (!isatty(0)) return Skipped("stdin is not a terminal");
  return Classify(CC_TRY(ioctl(0, TIOCSTI, Bad())), {EPERM});
}

CC_PROBE(x32_abi, "abi", "an x32 system call (getpid | __X32_SYSCALL_BIT)") {
  return FromChild(ChildErrno([] { return syscall(0x40000000 | SYS_getpid); }), {ENOSYS, EPERM});
}

CC_PROBE(i386_abi, "abi", "an i386 system call through int $0x80 (getpid)") {
  int code = ChildErrno([] {
    long ret = 20;  // __NR_getpid on i386
    asm volatile("int $0x80" : "+a"(ret) : : "memory");
    if (ret < 0) {
      errno = static_cast<int>(-ret);
      return -1L;
    }
    return ret;
  });
  return FromChild(code, {ENOSYS, EPERM}, /*segv_is_blocked=*/true);
}

}  // namespace cloudcoop::probe
