#include "sandbox/checks.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "core/files.h"
#include "core/strings.h"
#include "sandbox/cgroup.h"
#include "sandbox/control.h"
#include "sandbox/landlock.h"
#include "sandbox/posture.h"
#include "sandbox/seccomp.h"

namespace cloudcoop::sandbox {
namespace {

using policy::CheckContext;
using policy::CheckOutcome;

std::string ReadTrimmed(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? std::string(Trim(*text)) : "";
}

CheckOutcome KernelNamespaces(const CheckContext&) {
  std::string missing;
  for (const char* ns : {"user", "pid", "mnt", "net", "ipc", "uts", "cgroup"}) {
    struct stat st;
    if (stat((std::string("/proc/self/ns/") + ns).c_str(), &st) != 0) missing += std::string(" ") + ns;
  }
  for (const char* knob : {"user", "pid", "mnt", "net", "ipc", "uts", "cgroup"}) {
    std::string v = ReadTrimmed(std::string("/proc/sys/user/max_") + knob + "_namespaces");
    if (v == "0") missing += std::string(" ") + knob + " (max_" + knob + "_namespaces=0)";
  }
  if (!missing.empty()) {
    return policy::Fail("namespaces missing or disabled:" + missing,
                        "boot a kernel with CONFIG_USER_NS, CONFIG_PID_NS, CONFIG_NET_NS, ... and raise "
                        "/proc/sys/user/max_*_namespaces");
  }
  return policy::Pass("user, pid, mount, network, ipc, uts and cgroup namespaces available");
}

CheckOutcome KernelSeccomp(const CheckContext&) {
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
    return policy::Fail("seccomp is not available (prctl PR_GET_SECCOMP: " + ErrnoName(errno) + ")",
                        "boot a kernel with CONFIG_SECCOMP_FILTER=y");
  }
  auto program = seccomp::BuildFilter();
  if (!program.ok()) return policy::Fail(program.status().message(), program.status().fix());
  return policy::Pass("seccomp filters available; the sandbox filter compiles to " +
                      std::to_string(program->size()) + " BPF instructions");
}

CheckOutcome KernelLandlock(const CheckContext&) {
  int abi = landlock::QueryAbi();
  if (abi < 0) {
    return policy::Fail(
        "Landlock is not available (" + ErrnoName(-abi) + ")",
        "boot a kernel with CONFIG_SECURITY_LANDLOCK=y and landlock in lsm=, or run sandboxes with "
        "--allow-degraded landlock");
  }
  if (abi < 6) {
    return policy::Warn("Landlock ABI " + std::to_string(abi) +
                            ": no scoping of abstract Unix sockets and signals (needs ABI 6, Linux 6.12)",
                        "upgrade the kernel");
  }
  return policy::Pass("Landlock ABI " + std::to_string(abi));
}

CheckOutcome KernelCgroups(const CheckContext&) {
  auto layout = cgroup::DetectLayout("");
  if (!layout.ok()) return policy::Fail(layout.status().message(), layout.status().fix());
  if (layout->version == 2)
    return policy::Pass("cgroup v2 at " + layout->unified + " with cpu, memory and pids");
  std::vector<std::string> names;
  for (const auto& [c, dir] : layout->controllers) names.push_back(c);
  return policy::Pass("cgroup v1 controllers: " + Join(names, ", "));
}

CheckOutcome Tiocsti(const CheckContext&) {
  std::string legacy = ReadTrimmed("/proc/sys/dev/tty/legacy_tiocsti");
  std::string got = TiocstiProbe();
  std::string note =
      legacy == "1" ? " (dev.tty.legacy_tiocsti=1 on this host: the filter is what blocks it)" : "";
  if (!got.empty())
    return policy::Fail("TIOCSTI is not blocked by the sandbox filter: " + got + note, "report this");
  return policy::Pass("the sandbox filter denies TIOCSTI, its high-bits variant and TIOCLINUX with EPERM" +
                      note);
}

CheckOutcome RunningPosture(const CheckContext& ctx) {
  auto list = ListSandboxes(ctx.state_dir);
  if (!list.ok())
    return policy::Fail("cannot read running sandboxes: " + list.status().message(), list.status().fix());
  std::vector<std::string> problems;
  int audited = 0;
  for (const auto& s : *list) {
    if (!s.alive || s.record.phase != "running") continue;
    auto report = AuditSandbox(s.record);
    if (!report.ok()) {
      problems.push_back(s.record.name + ": cannot audit: " + report.status().message());
      continue;
    }
    ++audited;
    for (const auto& p : report->problems) problems.push_back(s.record.name + ": " + p);
  }
  if (!problems.empty()) {
    return policy::Fail(Join(problems, "; "),
                        "stop the affected sandboxes (`cloudcoop sandbox kill NAME`) and report this");
  }
  if (audited == 0) return policy::NotApplicable("no running sandboxes under " + ctx.state_dir);
  return policy::Pass(std::to_string(audited) +
                      " running sandbox(es): NoNewPrivs 1, Seccomp 2, no capabilities, own "
                      "uid, own namespaces, cgroup limits as planned");
}

CheckOutcome RunningHostNetwork(const CheckContext& ctx) {
  auto list = ListSandboxes(ctx.state_dir);
  if (!list.ok())
    return policy::Fail("cannot read running sandboxes: " + list.status().message(), list.status().fix());
  std::vector<std::string> names, degraded;
  for (const auto& s : *list) {
    if (!s.alive) continue;
    if (s.record.net == "host") names.push_back(s.record.name);
    for (const auto& d : s.record.degraded) degraded.push_back(s.record.name + " (" + d + ")");
  }
  if (!names.empty() || !degraded.empty()) {
    std::string msg;
    if (!names.empty()) msg += "sharing the host's network: " + Join(names, ", ") + ". ";
    if (!degraded.empty()) msg += "running with degraded layers: " + Join(degraded, "; ");
    return policy::Warn(msg, "restart them with --net none (or egress) and without --allow-degraded");
  }
  return policy::Pass("no running sandbox shares the host's network or runs degraded");
}

CheckOutcome Stale(const CheckContext& ctx) {
  auto stale = FindStale(ctx.state_dir);
  if (!stale.ok())
    return policy::Fail("cannot read sandbox records: " + stale.status().message(), stale.status().fix());
  if (!stale->records.empty()) {
    return policy::Warn("records left by killed supervisors: " + Join(stale->records, ", "),
                        "run `cloudcoop sandbox gc`");
  }
  return policy::Pass("no stale sandbox records");
}

}  // namespace

std::string TiocstiProbe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return "cannot create a pipe";
  auto program = seccomp::BuildFilter();
  if (!program.ok()) return program.status().message();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    auto report = [&](const std::string& s) {
      (void)!write(fds[1], s.data(), s.size());
      _exit(0);
    };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) report("no_new_privs failed");
    Status s = seccomp::ApplyInChild(*program);
    if (!s.ok()) report(s.message());
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) report("no pty");
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) report("no pty slave");
    char c = 'x';
    std::string out;
    errno = 0;
    if (ioctl(slave, TIOCSTI, &c) == 0 || errno != EPERM) out += "TIOCSTI errno " + ErrnoName(errno) + "; ";
    errno = 0;
    if (syscall(SYS_ioctl, slave, 0xffffffff00000000UL | TIOCSTI, &c) == 0 || errno != EPERM) {
      out += "high-bits TIOCSTI errno " + ErrnoName(errno) + "; ";
    }
    char sub = 3;
    errno = 0;
    if (ioctl(slave, 0x541C /* TIOCLINUX */, &sub) == 0 || errno != EPERM)
      out += "TIOCLINUX errno " + ErrnoName(errno) + "; ";
    fcntl(slave, F_SETFL, O_NONBLOCK);
    termios t;
    if (tcgetattr(slave, &t) == 0) {
      cfmakeraw(&t);
      tcsetattr(slave, TCSANOW, &t);
    }
    char buf[8];
    if (read(slave, buf, sizeof buf) > 0) out += "a byte was injected; ";
    report(out);
  }
  close(fds[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (pid < 0) return "fork failed";
  if (!WIFEXITED(status)) return "the probe process died";
  return out;
}

void RegisterSandboxChecks(policy::CheckRegistry& registry) {
  registry.Add({"sandbox.kernel.namespaces", "kernel offers the namespaces sandboxes use", "containment 11",
                "", policy::Severity::kCritical, KernelNamespaces});
  registry.Add({"sandbox.kernel.seccomp", "kernel offers seccomp filters", "containment 3", "",
                policy::Severity::kCritical, KernelSeccomp});
  registry.Add({"sandbox.kernel.landlock", "kernel offers Landlock", "containment 7", "",
                policy::Severity::kHigh, KernelLandlock});
  registry.Add({"sandbox.kernel.cgroups", "cgroup controllers for cpu, memory and pids", "containment 23-25",
                "", policy::Severity::kHigh, KernelCgroups});
  registry.Add({"sandbox.tiocsti", "terminal injection (TIOCSTI, TIOCLINUX) is blocked", "containment 15", "",
                policy::Severity::kCritical, Tiocsti});
  registry.Add({"sandbox.running.posture", "every running sandbox's posture, audited from /proc",
                "containment 3 (outside)", "", policy::Severity::kCritical, RunningPosture});
  registry.Add({"sandbox.running.exceptions", "no running sandbox shares the host network or runs degraded",
                "containment 21", "", policy::Severity::kMedium, RunningHostNetwork});
  registry.Add({"sandbox.stale", "no records left by killed supervisors", "kill switch", "",
                policy::Severity::kLow, Stale});
}

}  // namespace cloudcoop::sandbox
