// Probes: identity, privileges and other processes (containment-tests.md rows 1-5, 22).
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "testing/probe/probe.h"

namespace cloudcoop::probe {
namespace {

bool AllZeroHex(const std::string& v) { return !v.empty() && v.find_first_not_of('0') == std::string::npos; }

// A sleeping child to aim at: a sibling process the probe owns.
struct Decoy {
  pid_t pid = -1;
  Decoy() {
    pid = fork();
    if (pid == 0) {
      for (;;) pause();
    }
  }
  ~Decoy() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

}  // namespace

CC_PROBE(nnp_status, "privileges", "NoNewPrivs is 1") {
  std::string v = StatusField("self", "NoNewPrivs");
  return v == "1" ? Blocked(0, "NoNewPrivs 1") : Reachable(0, "NoNewPrivs " + v);
}

CC_PROBE(setuid_exec, "privileges", "exec a setuid-root copy of the probe and read its euid") {
  std::string suid = ctx.Arg("suid");
  if (suid.empty()) return Skipped("no --arg suid=PATH from the harness");
  struct stat st;
  if (stat(suid.c_str(), &st) != 0) return Broken(errno, "the setuid decoy is not visible: " + suid);
  // Root's files show as the overflow uid (65534) inside a user namespace that does not map root.
  if ((st.st_uid != 0 && st.st_uid != 65534) || (st.st_mode & S_ISUID) == 0) {
    return Broken(0, "the decoy is not setuid root (uid " + std::to_string(st.st_uid) + ")");
  }
  int fds[2];
  if (pipe(fds) != 0) return Broken(errno, "pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    execl(suid.c_str(), suid.c_str(), "euid", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  char buf[32] = {};
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (n <= 0) return Broken(0, "the decoy printed nothing");
  int euid = std::atoi(buf);
  return euid == 0 ? Reachable(0, "euid 0 after exec of a setuid binary")
                   : Blocked(0, "euid " + std::to_string(euid) + " (setuid ignored)");
}

CC_PROBE(caps_effective, "privileges", "CapEff and CapPrm are empty") {
  std::string eff = StatusField("self", "CapEff"), prm = StatusField("self", "CapPrm");
  return AllZeroHex(eff) && AllZeroHex(prm) ? Blocked(0, "CapEff " + eff)
                                            : Reachable(0, "CapEff " + eff + " CapPrm " + prm);
}

CC_PROBE(caps_bounding, "privileges", "CapBnd is empty") {
  std::string v = StatusField("self", "CapBnd");
  return AllZeroHex(v) ? Blocked(0, "CapBnd " + v) : Reachable(0, "CapBnd " + v);
}

CC_PROBE(caps_ambient_inheritable, "privileges", "CapAmb and CapInh are empty") {
  std::string amb = StatusField("self", "CapAmb"), inh = StatusField("self", "CapInh");
  return AllZeroHex(amb) && AllZeroHex(inh) ? Blocked(0, "")
                                            : Reachable(0, "CapAmb " + amb + " CapInh " + inh);
}

CC_PROBE(uid_not_root, "privileges", "not uid 0, and setuid(0) fails") {
  if (getuid() == 0 || geteuid() == 0 || getgid() == 0) return Reachable(0, "running as uid/gid 0");
  int rc = setuid(0);
  // EINVAL: uid 0 does not even exist in the sandbox's user namespace.
  return Classify(rc, errno, {EPERM, EINVAL}, "setuid(0)");
}

CC_PROBE(seccomp_all_threads, "privileges", "Seccomp is 2 in every thread") {
  bool stop = false;
  std::thread t([&] {
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) usleep(1000);
  });
  usleep(2000);
  std::string bad;
  int threads = 0;
  DIR* d = opendir("/proc/self/task");
  while (dirent* e = d ? readdir(d) : nullptr) {
    if (e->d_name[0] == '.') continue;
    ++threads;
    std::string v = StatusField(std::string("self/task/") + e->d_name, "Seccomp");
    if (v != "2") bad += std::string(" ") + e->d_name + "=" + v;
  }
  if (d) closedir(d);
  __atomic_store_n(&stop, true, __ATOMIC_RELAXED);
  t.join();
  if (threads < 2) return Broken(0, "could not see two threads");
  return bad.empty() ? Blocked(0, std::to_string(threads) + " threads in mode 2")
                     : Reachable(0, "threads:" + bad);
}

CC_PROBE(umask_private, "privileges", "umask is 077 (files private by default)") {
  mode_t m = umask(0);
  umask(m);
  return m == 077 ? Blocked(0, "umask 077") : Reachable(0, "umask " + std::to_string(m));
}

CC_PROBE(environ_clean, "secrets", "no harness secret in the environment") {
  std::string secret = ctx.Arg("secret");
  if (secret.empty()) return Skipped("no --arg secret=VALUE");
  std::ifstream in("/proc/self/environ");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str().find(secret) == std::string::npos ? Blocked(0, "absent")
                                                    : Reachable(0, "the secret is in the environment");
}

CC_PROBE(init_cmdline_clean, "secrets", "no harness secret in the init's command line (world-readable)") {
  std::string secret = ctx.Arg("secret");
  if (secret.empty()) return Skipped("no --arg secret=VALUE");
  std::ifstream in("/proc/1/cmdline");
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().empty()) return Blocked(0, "/proc/1/cmdline is not readable");
  return ss.str().find(secret) == std::string::npos
             ? Blocked(0, "absent")
             : Reachable(0, "the supervisor's command line leaks into /proc/1");
}

CC_PROBE(fds_clean, "secrets", "no descriptor inherited beyond the terminal (0, 1, 2)") {
  std::string extra;
  for (int fd : ctx.fds_at_start) {
    if (fd > 2) {
      char target[256] = {};
      std::string link = "/proc/self/fd/" + std::to_string(fd);
      ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
      extra += " " + std::to_string(fd) + "->" + (n > 0 ? std::string(target, static_cast<size_t>(n)) : "?");
    }
  }
  return extra.empty() ? Blocked(0, "only 0, 1, 2") : Reachable(0, "inherited:" + extra);
}

CC_PROBE(pid1_environ, "processes", "read the sandbox init's environment") {
  int fd = open("/proc/1/environ", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char c;
    ssize_t n = read(fd, &c, 1);
    int err = errno;
    close(fd);
    if (n < 0) return Classify(-1, err, {EACCES, EPERM}, "read /proc/1/environ");
    return Reachable(0, "read /proc/1/environ");
  }
  return Classify(-1, errno, {EACCES, EPERM}, "open /proc/1/environ");
}

CC_PROBE(proc1_root, "processes", "reach a root through /proc/1/root") {
  char buf[256];
  ssize_t n = readlink("/proc/1/root", buf, sizeof buf);
  return Classify(n, errno, {EACCES, EPERM}, "readlink /proc/1/root");
}

CC_PROBE(proc1_mem_write, "processes", "open the init's memory for writing") {
  int fd = open("/proc/1/mem", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) close(fd);
  return Classify(fd, errno, {EACCES, EPERM}, "open /proc/1/mem O_WRONLY");
}

CC_PROBE(host_pids_invisible, "processes", "only the sandbox's processes are visible") {
  int count = 0;
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    if (e->d_name[0] >= '1' && e->d_name[0] <= '9') ++count;
  }
  if (d) closedir(d);
  std::string host = ctx.Arg("host_ns_pid");
  struct stat st;
  if (!host.empty() && stat("/proc/self/ns/pid", &st) == 0 && std::to_string(st.st_ino) == host) {
    return Reachable(0, "the host's pid namespace");
  }
  return count < 32 ? Blocked(0, std::to_string(count) + " processes visible")
                    : Reachable(0, std::to_string(count) + " processes visible");
}

CC_PROBE(ptrace_sibling, "processes", "PTRACE_SEIZE a sibling process") {
  Decoy decoy;
  long rc = ptrace(PTRACE_SEIZE, decoy.pid, nullptr, nullptr);
  int err = errno;
  if (rc == 0) ptrace(PTRACE_DETACH, decoy.pid, nullptr, nullptr);
  return Classify(rc, err, {EPERM}, "ptrace(PTRACE_SEIZE, sibling)");
}

CC_PROBE(ptrace_init, "processes", "PTRACE_ATTACH the sandbox init") {
  long rc = ptrace(PTRACE_ATTACH, 1, nullptr, nullptr);
  int err = errno;
  if (rc == 0) ptrace(PTRACE_DETACH, 1, nullptr, nullptr);
  return Classify(rc, err, {EPERM}, "ptrace(PTRACE_ATTACH, 1)");
}

CC_PROBE(process_vm_readv, "processes", "process_vm_readv with a bad local iovec") {
  Decoy decoy;
  iovec local{reinterpret_cast<void*>(1), 8};
  iovec remote{reinterpret_cast<void*>(0x1000), 8};
  ssize_t rc = process_vm_readv(decoy.pid, &local, 1, &remote, 1, 0);
  return Classify(rc, errno, {EPERM}, "EFAULT/ESRCH would mean the call reached the kernel");
}

CC_PROBE(process_vm_writev, "processes", "process_vm_writev with a bad local iovec") {
  Decoy decoy;
  iovec local{reinterpret_cast<void*>(1), 8};
  iovec remote{reinterpret_cast<void*>(0x1000), 8};
  ssize_t rc = process_vm_writev(decoy.pid, &local, 1, &remote, 1, 0);
  return Classify(rc, errno, {EPERM});
}

CC_PROBE(pidfd_getfd, "processes", "steal a descriptor with pidfd_getfd") {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  if (pidfd < 0) return Broken(errno, "pidfd_open");
  long rc = syscall(SYS_pidfd_getfd, pidfd, 0, 0);
  int err = errno;
  if (rc >= 0) close(static_cast<int>(rc));
  close(pidfd);
  return Classify(rc, err, {EPERM});
}

}  // namespace cloudcoop::probe
