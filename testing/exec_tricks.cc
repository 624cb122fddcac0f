// cloudcoop_exec_tricks: a statically linked helper that executes programs the ways a shell does
// not, for the exec capture tests (src/sandbox/exec_audit_root_test.cc). Static on purpose: no
// dynamic loader, no libc wrappers that a preload could intercept; every exec is a raw system call.
//
//   cloudcoop_exec_tricks raw PATH ARG...           execve(2) through syscall()
//   cloudcoop_exec_tricks execveat DIR NAME ARG...  execveat(open(DIR), NAME, ...)
//   cloudcoop_exec_tricks fexecve PATH ARG...       execveat(open(PATH), "", ..., AT_EMPTY_PATH)
//   cloudcoop_exec_tricks listener                  try to create a seccomp notification listener
//                                                   (to take exec notifications away); prints errno
//   cloudcoop_exec_tricks denied N                  makes deny-listed calls (mount, ioctl TIOCSTI,
//                                                   unshare(CLONE_NEWUSER), keyctl, bpf, then N times
//                                                   ptrace(PTRACE_TRACEME)); prints "NAME ERRNO" each
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <termios.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char** environ;

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "raw") == 0) {
    syscall(SYS_execve, argv[2], argv + 2, environ);
    fprintf(stderr, "raw execve %s: %s\n", argv[2], strerror(errno));
    return 126;
  }
  if (argc >= 4 && strcmp(argv[1], "execveat") == 0) {
    int dir = open(argv[2], O_PATH | O_DIRECTORY);
    if (dir < 0) return 125;
    syscall(SYS_execveat, dir, argv[3], argv + 3, environ, 0);
    fprintf(stderr, "execveat %s/%s: %s\n", argv[2], argv[3], strerror(errno));
    return 126;
  }
  if (argc >= 3 && strcmp(argv[1], "fexecve") == 0) {
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) return 125;
    syscall(SYS_execveat, fd, "", argv + 2, environ, AT_EMPTY_PATH);
    fprintf(stderr, "fexecve %s: %s\n", argv[2], strerror(errno));
    return 126;
  }
  if (argc == 2 && strcmp(argv[1], "listener") == 0) {
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {1, &allow};
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    printf("listener %s\n", fd >= 0 ? "CREATED" : strerrorname_np(errno));
    return fd >= 0 ? 1 : 0;
  }
  if (argc == 3 && strcmp(argv[1], "denied") == 0) {
    // Raw system calls, so that nothing in between retries or changes them.
    char c = 'x';
    int rc = 0;
    errno = 0;
    long r = syscall(SYS_mount, "none", "/tmp", "tmpfs", 0UL, NULL);
    printf("mount %s\n", r == -1 ? strerrorname_np(errno) : "ALLOWED");
    rc |= r != -1;
    r = syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI, &c);
    printf("ioctl %s\n", r == -1 ? strerrorname_np(errno) : "ALLOWED");
    rc |= r != -1;
    r = syscall(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS);
    printf("unshare %s\n", r == -1 ? strerrorname_np(errno) : "ALLOWED");
    rc |= r != -1;
    r = syscall(SYS_keyctl, 0, -3, 0);
    printf("keyctl %s\n", r == -1 ? strerrorname_np(errno) : "ALLOWED");
    rc |= r != -1;
    r = syscall(SYS_bpf, 0, NULL, 0);
    printf("bpf %s\n", r == -1 ? strerrorname_np(errno) : "ALLOWED");
    rc |= r != -1;
    int n = atoi(argv[2]);
    int eperm = 0;
    for (int i = 0; i < n; ++i) {
      errno = 0;
      if (syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) == -1 && errno == EPERM) ++eperm;
    }
    printf("ptrace %d/%d EPERM\n", eperm, n);
    return rc != 0 || eperm != n;
  }
  fprintf(stderr, "usage: cloudcoop_exec_tricks raw|execveat|fexecve|listener|denied ...\n");
  return 2;
}
