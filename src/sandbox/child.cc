// The sandbox init (pid 1 of the new pid namespace): its checklist and its reaper loop.
//
// Order matters and is the point of this file:
//  - die-with-parent is armed before anything else, and again after each credential change
//    (the kernel clears it then);
//  - the mount tree is built as root of the host user namespace (it needs to open host paths), and
//    only then does the init enter its own user namespace;
//  - the bounding set and securebits are locked while CAP_SETPCAP is still held, rlimits are lowered
//    before the uid switch, the uid switch drops every capability;
//  - no_new_privs, then Landlock, then seccomp come last, each read back; seccomp last because its
//    deny list includes calls the earlier steps make (mount, setns, unshare);
//  - the init makes itself non-dumpable so the command (same uid) cannot read or trace it, closes
//    every inherited descriptor, and only then starts the command.
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>

#include "core/files.h"
#include "core/logging.h"
#include "core/strings.h"
#include "sandbox/caps.h"
#include "sandbox/cgroup.h"
#include "sandbox/channel.h"
#include "sandbox/exec_audit.h"
#include "sandbox/landlock.h"
#include "sandbox/launcher_internal.h"
#include "sandbox/no_new_privs.h"
#include "sandbox/pidns.h"
#include "sandbox/rlimits.h"
#include "sandbox/seccomp.h"
#include "sandbox/userns.h"
#include "sandbox/utsns.h"

extern char** environ;

namespace cloudcoop::sandbox::internal {
namespace {

using StepFn = Status (*)(ChildCtx&);

struct Step {
  ChecklistStep info;
  StepFn run;
};

Status ArmDeath(ChildCtx& c) { return pidns::ArmDeathSignalInChild(c.channel); }

// The init is a copy of the supervisor, so /proc/1/cmdline (world-readable, unlike environ) would show
// the supervisor's command line, e.g. `--env TOKEN=...`. Overwrite the argument and environment areas
// the kernel reads those files from (fields 48-51 of /proc/self/stat).
Status Scrub(ChildCtx& c) {
  (void)c;
  auto stat = ReadFile("/proc/self/stat");
  if (!stat.ok())
    return LayerErrno(Layer::kExec, "read", "/proc/self/stat", ENOENT, "mount /proc on the host");
  auto fields = Split(std::string_view(*stat).substr(stat->rfind(')') + 2), ' ', true);
  // fields[0] is field 3; arg_start..env_end are fields 48..51.
  if (fields.size() < 49) {
    return LayerError(Layer::kExec, StatusCode::kFailedPrecondition,
                      "/proc/self/stat lacks arg_start..env_end", "boot a kernel of 3.5 or later");
  }
  auto addr = [&](size_t field) {
    return static_cast<uintptr_t>(std::strtoull(fields[field - 3].c_str(), nullptr, 10));
  };
  uintptr_t arg_start = addr(48), arg_end = addr(49), env_start = addr(50), env_end = addr(51);
  static const char kName[] = "cloudcoop-sandbox-init";
  if (arg_end > arg_start) {
    std::memset(reinterpret_cast<void*>(arg_start), 0, arg_end - arg_start);
    std::memcpy(reinterpret_cast<void*>(arg_start), kName, std::min(sizeof kName, arg_end - arg_start));
  }
  if (env_end > env_start) std::memset(reinterpret_cast<void*>(env_start), 0, env_end - env_start);
  environ = nullptr;
  prctl(PR_SET_NAME, "cc-init", 0, 0, 0);
  return OkStatus();
}
Status BuildRoot(ChildCtx& c) { return mountns::ApplyInChild(*c.plan, c.files, c.uid, c.gid); }
Status VerifyRoot(ChildCtx& c) { return mountns::VerifyInChild(*c.plan); }

Status JoinNet(ChildCtx& c) {
  Status s = netns::ApplyInChild(c.plan->net, c.netns_fd);
  if (c.netns_fd >= 0) close(c.netns_fd);
  c.netns_fd = -1;
  return s;
}
Status VerifyNet(ChildCtx& c) { return netns::VerifyInChild(c.plan->net); }

Status JoinCgroup(ChildCtx& c) {
  // A single-threaded task moving itself: no RCU grace period (see cgroup::Cgroup::SelfJoinFiles).
  Status s = cgroup::JoinSelf(c.cgroup_fds, getpid());
  for (int fd : c.cgroup_fds) close(fd);
  c.cgroup_fds.clear();
  return s;
}

Status CgroupNamespace(ChildCtx& c) {
  (void)c;
  // Now that the supervisor moved us into the sandbox's group, make it our cgroup root.
  if (unshare(CLONE_NEWCGROUP) != 0) {
    return LayerErrno(Layer::kCgroup, "unshare(CLONE_NEWCGROUP)", "", errno, "boot a kernel of 4.6 or later");
  }
  return OkStatus();
}

Status Hostname(ChildCtx& c) { return utsns::ApplyInChild(c.plan->hostname); }
Status VerifyHostname(ChildCtx& c) { return utsns::VerifyInChild(c.plan->hostname); }
Status VerifyPid1(ChildCtx& c) {
  (void)c;
  return pidns::VerifyInChild();
}

Status EnterUserns(ChildCtx& c) {
  CC_RETURN_IF_ERROR(userns::ApplyInChild(c.userns_fd));
  close(c.userns_fd);
  c.userns_fd = -1;
  c.in_userns = true;
  return OkStatus();
}

Status DropBounding(ChildCtx& c) {
  (void)c;
  return caps::DropBoundingInChild();
}
Status Rlimits(ChildCtx& c) { return rlimits::ApplyInChild(c.plan->rlimits); }
Status VerifyRlimits(ChildCtx& c) { return rlimits::VerifyInChild(c.plan->rlimits); }
Status SwitchIds(ChildCtx& c) { return userns::SwitchIdsInChild(c.uid, c.gid); }
Status ClearCaps(ChildCtx& c) {
  (void)c;
  return caps::ClearAllInChild();
}
Status VerifyCaps(ChildCtx& c) {
  (void)c;
  return caps::VerifyInChild();
}
Status VerifyIds(ChildCtx& c) { return userns::VerifyInChild(c.uid, c.gid, c.in_userns); }

Status EnterCwd(ChildCtx& c) {
  if (chdir(c.plan->cwd.c_str()) != 0) {
    return LayerErrno(Layer::kMountns, "chdir", c.plan->cwd, errno,
                      errno == EACCES ? "give uid " + std::to_string(c.uid) +
                                            " access to the directory (chown it, or "
                                            "reserve a uid for the sandbox name)"
                                      : "check the working directory");
  }
  return OkStatus();
}

Status Nnp(ChildCtx& c) {
  (void)c;
  return no_new_privs::ApplyInChild();
}
Status VerifyNnp(ChildCtx& c) {
  (void)c;
  return no_new_privs::VerifyInChild();
}
Status Landlock(ChildCtx& c) {
  landlock::Rules rules;
  rules.writable = c.plan->WritablePaths();
  rules.devices = {"/dev"};
  return landlock::ApplyInChild(rules);
}
Status VerifyLandlock(ChildCtx& c) {
  (void)c;
  return landlock::VerifyInChild();
}
Status Seccomp(ChildCtx& c) {
  if (c.seccomp.empty()) {
    return LayerError(Layer::kSeccomp, StatusCode::kInternal, "no seccomp program arrived with go",
                      "report this");
  }
  return seccomp::ApplyInChild(c.seccomp);
}
Status VerifySeccomp(ChildCtx& c) {
  // With exec capture the deny list is notified (ADR 0019): ENOSYS until the listener filter loads.
  return seccomp::VerifyInChild(c.plan->exec_capture ? seccomp::DenyAction::kNotify : seccomp::DenyAction::kErrno);
}

// Exec capture (exec_audit.h): after the main filter, before the command exists.
Status ExecFilter(ChildCtx& c) {
  if (!c.plan->exec_capture) return OkStatus();  // the supervisor records the plan's choice as degraded
  return exec_audit::LoadFilterInChild(c.channel);
}
Status VerifyExecFilter(ChildCtx& c) {
  if (!c.plan->exec_capture) return OkStatus();
  return exec_audit::VerifyInChild();
}

Status NotDumpable(ChildCtx& c) {
  (void)c;
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return LayerErrno(Layer::kPidns, "prctl(PR_SET_DUMPABLE)", "0", errno, "report this");
  }
  return OkStatus();
}

Status CloseFds(ChildCtx& c) {
  // Everything but the terminal (0, 1, 2), the channel and the signalfd: no host directory,
  // socket or lock that the supervisor (or whoever started it) held may reach the command.
  int keep[] = {2, c.channel, c.signal_fd};
  std::sort(std::begin(keep), std::end(keep));
  unsigned lo = 3;
  for (int k : keep) {
    if (k >= static_cast<int>(lo)) {
      if (static_cast<unsigned>(k) > lo &&
          syscall(SYS_close_range, lo, static_cast<unsigned>(k) - 1, 0u) != 0) {
        return LayerErrno(Layer::kExec, "close_range", std::to_string(lo), errno,
                          "boot a kernel of 5.9 or later");
      }
      lo = static_cast<unsigned>(k) + 1;
    }
  }
  if (syscall(SYS_close_range, lo, ~0u, 0u) != 0) {
    return LayerErrno(Layer::kExec, "close_range", std::to_string(lo) + "..", errno,
                      "boot a kernel of 5.9 or later");
  }
  return OkStatus();
}

const Step kBeforeGo[] = {
    {{"pidns.arm", "init", Layer::kPidns, "arm SIGKILL on supervisor death (PR_SET_PDEATHSIG)"}, ArmDeath},
    {{"exec.scrub", "init", Layer::kExec, "wipe the supervisor's command line and environment from the init"},
     Scrub},
    {{"mountns.apply", "init", Layer::kMountns,
      "build the new root (binds, /proc, /dev, /tmp, home, masks, protected paths) and pivot_root into it"},
     BuildRoot},
    {{"mountns.verify", "init", Layer::kMountns,
      "read back: root read-only, binds, masks and protected paths"},
     VerifyRoot},
};

const Step kAfterGo[] = {
    {{"netns.apply", "init", Layer::kNetns,
      "none, egress: join the network namespace the supervisor sent; host: stay"},
     JoinNet},
    {{"netns.verify", "init", Layer::kNetns,
      "read back: none sees only lo, up; egress sees lo and eth0 up and nothing else up"},
     VerifyNet},
    {{"cgroup.join", "init", Layer::kCgroup,
      "join the sandbox's cgroup itself (write 0 to its tasks files) and read the membership back"},
     JoinCgroup},
    {{"cgroup.namespace", "init", Layer::kCgroup, "unshare a cgroup namespace rooted at the sandbox's group"},
     CgroupNamespace},
    {{"utsns.apply", "init", Layer::kUtsns, "set the hostname"}, Hostname},
    {{"utsns.verify", "init", Layer::kUtsns, "read back the hostname"}, VerifyHostname},
    {{"pidns.verify", "init", Layer::kPidns, "read back: pid 1, death signal armed"}, VerifyPid1},
    {{"userns.apply", "init", Layer::kUserns,
      "enter the sandbox's user namespace (mapping only the sandbox uid/gid)"},
     EnterUserns},
    {{"caps.bounding", "init", Layer::kCaps,
      "empty the bounding set, lock securebits (needs CAP_SETPCAP: before the uid switch)"},
     DropBounding},
    {{"rlimits.apply", "init", Layer::kRlimits, "lower NOFILE, NPROC, MEMLOCK, CORE"}, Rlimits},
    {{"rlimits.verify", "init", Layer::kRlimits, "read back the limits"}, VerifyRlimits},
    // The identity drop is layer "ids", never degradable: it runs even without a user namespace.
    {{"ids.switch", "init", Layer::kIds,
      "setgroups, setresgid, setresuid to the sandbox uid (clears capabilities)"},
     SwitchIds},
    {{"pidns.rearm", "init", Layer::kPidns, "re-arm the death signal (a uid change clears it)"}, ArmDeath},
    {{"caps.clear", "init", Layer::kCaps, "clear inheritable and ambient capabilities"}, ClearCaps},
    {{"caps.verify", "init", Layer::kCaps, "read back: every capability set empty, securebits locked"},
     VerifyCaps},
    {{"ids.verify", "init", Layer::kIds, "read back: uids, gids, groups (and the uid_map)"}, VerifyIds},
    {{"mountns.cwd", "init", Layer::kMountns, "enter the working directory as the sandbox user"}, EnterCwd},
    {{"no_new_privs.apply", "init", Layer::kNoNewPrivs, "set no_new_privs"}, Nnp},
    {{"no_new_privs.verify", "init", Layer::kNoNewPrivs, "read back no_new_privs"}, VerifyNnp},
    {{"landlock.apply", "init", Layer::kLandlock,
      "restrict writes to the writable paths, scope sockets and signals"},
     Landlock},
    {{"landlock.verify", "init", Layer::kLandlock, "read back: a write the file permissions allow is denied"},
     VerifyLandlock},
    {{"seccomp.apply", "init", Layer::kSeccomp, "load the system-call filter"}, Seccomp},
    {{"seccomp.verify", "init", Layer::kSeccomp, "read back: mode 2, ioctl TIOCSTI returns EPERM"},
     VerifySeccomp},
    {{"audit.exec-filter", "init", Layer::kAudit,
      "load the exec capture filter (execve, execveat -> user notification; no further listeners) and hand "
      "its listener to the supervisor"},
     ExecFilter},
    {{"audit.exec-verify", "init", Layer::kAudit, "read back: creating another listener fails with EPERM"},
     VerifyExecFilter},
    {{"pidns.dumpable", "init", Layer::kPidns,
      "make the init non-dumpable (the command cannot trace or read it)"},
     NotDumpable},
    {{"exec.fds", "init", Layer::kExec, "close every inherited descriptor but the terminal"}, CloseFds},
};

// A step fails closed, unless its layer may be degraded by the plan: then the layer is reported to
// the supervisor and the steps of that layer that follow are skipped.
void RunSteps(ChildCtx& c, const Step* steps, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const Step& step = steps[i];
    if (c.degraded.count(step.info.layer)) continue;
    Status s = RunTimedStep("init", step.info, *c.options, [&] { return step.run(c); });
    if (s.ok()) continue;
    if (c.plan->MayDegrade(step.info.layer)) {
      c.degraded.insert(step.info.layer);
      channel::Message m{channel::Type::kDegraded};
      m.text = std::string(LayerName(step.info.layer)) + ": " + s.message();
      (void)channel::Send(c.channel, m);
      continue;
    }
    channel::Message m{channel::Type::kError};
    m.status = s;
    (void)channel::Send(c.channel, m);
    _exit(kInitFailedExit);
  }
}

// What the command's process needs, prepared before it is created: it shares the init's memory
// until its execve (CLONE_VM | CLONE_VFORK) and makes only system calls.
struct ExecArgs {
  std::vector<std::string> strings;
  std::vector<char*> argv, envp;
  std::vector<std::string> candidates;  // PATH lookup with the sandbox's PATH (execvpe would use ours)
  bool inject_failure = false;
  int injected_errno = 0;
  int err = 0;  // written by the command's process when every execve failed
  mode_t umask = 077;
};

ExecArgs PrepareExec(const SandboxPlan& plan, const RunOptions& options) {
  ExecArgs a;
  std::string path = "/usr/bin:/bin";
  a.strings.reserve(plan.env.size() + plan.argv.size());
  for (const auto& [k, v] : plan.env) {
    a.strings.push_back(k + "=" + v);
    if (k == "PATH") path = v;
  }
  size_t env_count = a.strings.size();
  for (const auto& arg : plan.argv) a.strings.push_back(arg);
  for (size_t i = 0; i < env_count; ++i) a.envp.push_back(a.strings[i].data());
  a.envp.push_back(nullptr);
  for (size_t i = env_count; i < a.strings.size(); ++i) a.argv.push_back(a.strings[i].data());
  a.argv.push_back(nullptr);
  const std::string& cmd = plan.argv[0];
  if (cmd.find('/') != std::string::npos) {
    a.candidates.push_back(cmd);
  } else {
    for (const auto& dir : Split(path, ':', true)) a.candidates.push_back(dir + "/" + cmd);
  }
  a.umask = static_cast<mode_t>(plan.umask);
  a.inject_failure = options.fail_step == "exec.execve";
  a.injected_errno = options.fail_errno;
  return a;
}

int ExecCommand(void* arg) {
  auto* a = static_cast<ExecArgs*>(arg);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  umask(a->umask);
  if (a->inject_failure) {
    a->err = a->injected_errno;
    _exit(126);
  }
  int err = ENOENT;
  for (const auto& candidate : a->candidates) {
    execve(candidate.c_str(), a->argv.data(), a->envp.data());
    if (errno != ENOENT && errno != ENOTDIR) err = errno;  // like execvp: remember EACCES
  }
  a->err = err;
  _exit(err == ENOENT ? 127 : 126);
}

// Starts the command; the vfork-style clone returns once it has exec'd (or failed to).
pid_t StartCommand(ChildCtx& c) {
  alignas(16) static char stack[64 * 1024];
  ExecArgs args = PrepareExec(*c.plan, *c.options);
  pid_t pid = clone(ExecCommand, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  if (pid < 0) {
    channel::Message m{channel::Type::kError};
    m.status = LayerErrno(Layer::kExec, "clone(CLONE_VFORK)", "", errno, "raise the sandbox's pids limit");
    (void)channel::Send(c.channel, m);
    _exit(kInitFailedExit);
  }
  if (args.err != 0) {
    channel::Message m{channel::Type::kError};
    m.status =
        LayerErrno(Layer::kExec, "execve", c.plan->argv[0], args.err,
                   args.err == ENOENT ? "the command is not on the sandbox's PATH or not inside the sandbox; "
                                        "use an absolute path under a bound directory"
                                      : "make the command executable by the sandbox user");
    (void)channel::Send(c.channel, m);
    int status;
    waitpid(pid, &status, 0);
    _exit(args.err == ENOENT ? 127 : 126);
  }
  channel::Message m{channel::Type::kRunning};
  m.value = pid;
  (void)channel::Send(c.channel, m);
  return pid;
}

// pid 1: reap every child (orphans are re-parented here), relay the supervisor's signals to the
// command, and when the command exits report its status and exit, which makes the kernel kill
// whatever is left in the pid namespace.
[[noreturn]] void ReapLoop(ChildCtx& c, int sfd, pid_t command) {
  for (;;) {
    signalfd_siginfo si;
    ssize_t n = read(sfd, &si, sizeof si);
    if (n != static_cast<ssize_t>(sizeof si)) {
      if (n < 0 && errno == EINTR) continue;
      _exit(kInitFailedExit);
    }
    if (si.ssi_signo == SIGCHLD) {
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == command) {
          channel::Message m{channel::Type::kExit};
          m.value = status;
          (void)channel::Send(c.channel, m);
          _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
      }
      continue;
    }
    // Only signals sent from outside the namespace (the supervisor; sender pid not visible here).
    // The terminal's own signals (SI_KERNEL) already reached the command's process group.
    bool from_outside = si.ssi_pid == 0 && (si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE);
    if (from_outside) kill(command, static_cast<int>(si.ssi_signo));
  }
}

}  // namespace

std::vector<ChecklistStep> ChildChecklist() {
  std::vector<ChecklistStep> out;
  for (const auto& s : kBeforeGo) out.push_back(s.info);
  out.push_back({"supervisor.wait-go", "init", Layer::kSupervisor,
                 "wait for the supervisor's go (cgroup joined, network ready)"});
  for (const auto& s : kAfterGo) out.push_back(s.info);
  return out;
}

std::vector<ChecklistStep> CommandChecklist() {
  return {
      {"exec.fork", "init", Layer::kExec, "start the command (vfork-style); the init stays pid 1 and reaps"},
      {"exec.execve", "command", Layer::kExec,
       "unblock signals, umask (077, agents 027), execve with the plan's environment (no setsid: keeps the "
       "terminal)"}};
}

void ChildMain(ChildCtx& c) {
  sigset_t set = ForwardedSignalSet();
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  c.signal_fd = sfd;
  if (sfd < 0) {
    channel::Message m{channel::Type::kError};
    m.status = LayerErrno(Layer::kPidns, "signalfd", "", errno, "report this");
    (void)channel::Send(c.channel, m);
    _exit(kInitFailedExit);
  }
  RunSteps(c, kBeforeGo, std::size(kBeforeGo));
  auto go = channel::Recv(c.channel);
  if (!go.ok() || go->type != channel::Type::kGo) _exit(kInitFailedExit);  // the supervisor gave up
  size_t next = 0;
  if ((go->value & kGoHasNetns) != 0 && next < go->fds.size()) c.netns_fd = go->fds[next++];
  if ((go->value & kGoHasUserns) != 0 && next < go->fds.size()) {
    c.userns_fd = go->fds[next++];
  } else {
    c.degraded.insert(Layer::kUserns);  // the supervisor reported it (--allow-degraded userns)
  }
  for (; next < go->fds.size(); ++next) c.cgroup_fds.push_back(go->fds[next]);
  if (go->text.size() % sizeof(sock_filter) == 0) {
    c.seccomp.resize(go->text.size() / sizeof(sock_filter));
    std::memcpy(c.seccomp.data(), go->text.data(), go->text.size());
  }
  RunSteps(c, kAfterGo, std::size(kAfterGo));
  pid_t command = StartCommand(c);
  ReapLoop(c, sfd, command);
}

}  // namespace cloudcoop::sandbox::internal
