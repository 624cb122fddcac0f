// The floor of any synchronous exec capture on this machine: the cost of one seccomp user
// notification round trip (the caller stops, a listener in another process wakes, answers
// CONTINUE, the caller wakes) with a listener that reads nothing and records nothing.
// bench_exec_capture.sh runs it after the workloads; docs/PERFORMANCE.md compares it with the
// per-exec budget of the 5% target.
//
// A child makes N getppid() calls, timed, in three modes: no filter; a filter that allows
// everything (the BPF cost alone); a filter that notifies getppid to the parent, which polls and
// answers each one as the supervisor does (poll, NOTIF_RECV, NOTIF_SEND with CONTINUE). With
// --same-cpu both processes are pinned to CPU 0 (no cross-vCPU wake-ups).
// Usage: cloudcoop_notify_roundtrip [N] [--same-cpu]
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

double NowUs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}

void PinToCpu0() {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0) perror("sched_setaffinity");
}

// The child's listener, copied into this process (pidfd_getfd: the child sends only its number).
int TakeListener(pid_t child, int sock) {
  int number = -1;
  if (read(sock, &number, sizeof number) != sizeof number) return -1;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  if (pidfd < 0) return -1;
  int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, number, 0));
  close(pidfd);
  return fd;
}

enum class Mode { kNone, kAllow, kNotify };

// Runs the child's loop in `mode`; returns microseconds per call (negative on failure).
double Measure(Mode mode, int n, bool same_cpu, bool sync_wake = false) {
  int sv[2];
  int result[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 || pipe(result) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (same_cpu) PinToCpu0();
    if (mode != Mode::kNone) {
      sock_filter notify[] = {
          BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
          BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
          BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
          BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      };
      sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
      sock_fprog prog = mode == Mode::kNotify ? sock_fprog{4, notify} : sock_fprog{1, allow};
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(2);
      long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                        mode == Mode::kNotify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
      if (fd < 0) _exit(3);
      // Kept open until the end: the parent copies it out of this process.
      int number = static_cast<int>(fd);
      if (mode == Mode::kNotify && write(sv[1], &number, sizeof number) != sizeof number) _exit(4);
    }
    for (int i = 0; i < n / 10; ++i) syscall(SYS_getppid);  // warm-up
    double t = NowUs();
    for (int i = 0; i < n; ++i) syscall(SYS_getppid);
    double per = (NowUs() - t) / n;
    if (write(result[1], &per, sizeof per) != sizeof per) _exit(5);
    _exit(0);
  }
  close(sv[1]);
  close(result[1]);
  cpu_set_t before;
  bool pinned = same_cpu && sched_getaffinity(0, sizeof before, &before) == 0;
  if (pinned) PinToCpu0();
  if (mode == Mode::kNotify) {
    int listener = TakeListener(pid, sv[0]);
    if (listener < 0) return -1;
    if (sync_wake) {
      // SECCOMP_IOCTL_NOTIF_SET_FLAGS / SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6; old headers).
      constexpr unsigned long kSetFlags = _IOW('!', 4, uint64_t);
      if (ioctl(listener, kSetFlags, 1UL) != 0) perror("SECCOMP_IOCTL_NOTIF_SET_FLAGS");
    }
    seccomp_notif req;
    seccomp_notif_resp resp;
    for (;;) {  // ends when the child exits (the listener hangs up)
      pollfd p{listener, POLLIN, 0};
      if (poll(&p, 1, -1) < 0) continue;
      if ((p.revents & POLLIN) == 0) break;
      std::memset(&req, 0, sizeof req);
      if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) continue;
      std::memset(&resp, 0, sizeof resp);
      resp.id = req.id;
      resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      (void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    }
    close(listener);
  }
  double per = -1;
  if (read(result[0], &per, sizeof per) != sizeof per) per = -1;
  int status = 0;
  waitpid(pid, &status, 0);
  close(sv[0]);
  close(result[0]);
  if (pinned) sched_setaffinity(0, sizeof before, &before);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? per : -1;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 20000;
  bool same_cpu = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--same-cpu") {
      same_cpu = true;
    } else {
      n = std::atoi(argv[i]);
    }
  }
  if (n <= 0) {
    std::fprintf(stderr, "usage: cloudcoop_notify_roundtrip [N] [--same-cpu]\n");
    return 2;
  }
  double none = Measure(Mode::kNone, n, same_cpu);
  double allow = Measure(Mode::kAllow, n, same_cpu);
  double notify = Measure(Mode::kNotify, n, same_cpu);
  double sync = Measure(Mode::kNotify, n, same_cpu, true);
  if (none < 0 || allow < 0 || notify < 0 || sync < 0) {
    std::fprintf(stderr,
                 "cloudcoop_notify_roundtrip: a measurement failed (root or no_new_privs, seccomp 5.5+)\n");
    return 1;
  }
  std::printf(
      "%s, %d calls each: getppid %.2f us; with an allow-all filter %.2f us; notified and answered "
      "CONTINUE by a listener process %.2f us (round trip %.2f us); the same with the listener's "
      "synchronous wake-up flag %.2f us\n",
      same_cpu ? "both pinned to CPU 0" : "unpinned", n, none, allow, notify, notify - none, sync);
  return 0;
}
