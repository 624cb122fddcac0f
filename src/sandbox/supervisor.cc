// The supervisor's side after clone(): answering the init until the command runs, then waiting.
//
// The wait loop polls a set of descriptors (the init's pidfd, a signalfd, the channel, exec capture's
// seccomp notification listener, answered by exec_audit::ExecAuditor::Serve) and, in network mode
// egress, the sandbox's DNS relay sockets (the supervisor is single-threaded, so the relay is served
// from this loop).
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/files.h"
#include "core/logging.h"
#include "core/strings.h"
#include "sandbox/channel.h"
#include "sandbox/exec_audit.h"
#include "sandbox/launcher_internal.h"
#include "sandbox/userns.h"

namespace cloudcoop::sandbox::internal {
namespace {

// After the terminal hangs up, the command gets this long to exit on its own SIGHUP.
constexpr int kHangupGraceMs = 3000;

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void ReapInit(ParentCtx& ctx) {
  if (ctx.child <= 0) return;
  int status = 0;
  while (waitpid(ctx.child, &status, __WALL) < 0 && errno == EINTR) {
  }
  ctx.init_status = status;
  ctx.child = -1;
}

void SendSignal(ParentCtx& ctx, int sig) {
  if (ctx.pidfd.valid()) syscall(SYS_pidfd_send_signal, ctx.pidfd.get(), sig, nullptr, 0);
}

std::string DescribeWait(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

}  // namespace

const std::vector<int>& ForwardedSignals() {
  static const std::vector<int> sigs = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2};
  return sigs;
}

sigset_t ForwardedSignalSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : ForwardedSignals()) sigaddset(&set, s);
  return set;
}

int64_t NowMicros() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

Status InjectedFault(const RunOptions& options, std::string_view step, Layer layer) {
  if (options.fail_step.empty() || options.fail_step != step) return OkStatus();
  return LayerErrno(layer, "injected fault", std::string(step), options.fail_errno,
                    "none: a test asked for this failure");
}

void KillAndReapInit(ParentCtx& ctx) {
  SendSignal(ctx, SIGKILL);
  ReapInit(ctx);
}

// Until the command runs, its first execs (the init's PATH search included) wait on the supervisor:
// serve them while waiting for the channel.
void ServeExecsUntilReadable(ParentCtx& ctx) {
  while (ctx.auditor != nullptr && ctx.auditor->capturing()) {
    pollfd fds[2] = {{ctx.channel.get(), POLLIN, 0}, {ctx.auditor->listener(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents & POLLIN) ctx.auditor->Serve();
    if (fds[1].revents & (POLLHUP | POLLERR | POLLNVAL)) ctx.auditor->ListenerClosed();
    if (fds[0].revents != 0) return;
  }
}

Status AwaitLaunch(ParentCtx& ctx) {
  for (;;) {
    ServeExecsUntilReadable(ctx);
    auto msg = channel::Recv(ctx.channel.get());
    if (!msg.ok()) {
      // The init died without reporting (killed, or crashed): say how.
      ReapInit(ctx);
      return LayerError(Layer::kSupervisor, StatusCode::kInternal,
                        "the sandbox init " + DescribeWait(ctx.init_status) + " before the command started",
                        "run with CLOUDCOOP_LOG=debug and report this");
    }
    switch (msg->type) {
      case channel::Type::kDegraded:
        ctx.result.degraded.push_back(msg->text);
        if (ctx.options->on_degraded) ctx.options->on_degraded(msg->text);
        break;
      case channel::Type::kAuditFd: {
        Status s = msg->fds.size() == 1 && ctx.auditor != nullptr
                       ? ctx.auditor->AcceptListener(msg->fds[0])
                       : LayerError(Layer::kAudit, StatusCode::kInternal, "malformed exec capture message",
                                    "report this");
        if (msg->fds.size() == 1 && ctx.auditor != nullptr) msg->fds.clear();  // owned by the auditor now
        if (!s.ok()) {
          for (int fd : msg->fds) close(fd);
          KillAndReapInit(ctx);
          return s;
        }
        break;
      }
      case channel::Type::kRunning:
        ctx.command_ns_pid = msg->value;
        if (ctx.plan->exec_capture && (ctx.auditor == nullptr || !ctx.auditor->accepted())) {
          KillAndReapInit(ctx);
          return LayerVerifyError(Layer::kAudit, "the command started without exec capture",
                                  "report this: the init did not hand over the capture listener");
        }
        return OkStatus();
      case channel::Type::kError: ReapInit(ctx); return msg->status;
      default:
        KillAndReapInit(ctx);
        return LayerError(Layer::kSupervisor, StatusCode::kInternal,
                          "unexpected message from the sandbox init", "report this");
    }
    for (int fd : msg->fds) close(fd);
  }
}

// An idle supervisor per agent should cost little. Once the command has run for a while, the
// start-up code (config parsing, plan building, the mount and seccomp code) and its read-only data
// are dead weight in the supervisor's resident set: hand back the pages of its read-only file
// mappings that are still the file's own (Anonymous: 0 in smaps, so never written or relocated:
// dropping them loses nothing; they stay in the page cache and fault back in if ever used again),
// mark them random-access so a later fault brings back one page rather than its neighbours, and
// trim the heap. Relocated read-only data (RELRO: copied on write, so Anonymous > 0) is never
// dropped. Short-lived sandboxes never pay for it.
constexpr int kIdleBeforeTrimMs = 2000;

// The clean read-only file mappings, found in /proc/self/smaps. Collected first and dropped last,
// after the smaps text and the heap are released: code that runs after a mapping is dropped faults
// its pages back in, each fault bringing the kernel's fault-around window (64 KiB) with it.
struct CleanMappings {
  static constexpr int kMax = 64;
  uintptr_t start[kMax];
  uintptr_t end[kMax];
  int n = 0;
};

void FindCleanFileMappings(CleanMappings* out) {
  auto smaps = ReadFile("/proc/self/smaps");
  if (!smaps.ok()) return;
  uintptr_t start = 0, end = 0;
  bool candidate = false;
  for (const auto& line : Split(*smaps, '\n', true)) {
    if (line.empty()) continue;
    if (!std::isupper(static_cast<unsigned char>(line[0]))) {
      // A mapping's header: "start-end perms offset dev inode path".
      auto f = Split(line, ' ', true);
      candidate = f.size() >= 6 && (f[1] == "r-xp" || f[1] == "r--p") && !f[5].empty() && f[5][0] == '/';
      if (candidate) {
        start = std::strtoull(f[0].c_str(), nullptr, 16);
        end = std::strtoull(f[0].substr(f[0].find('-') + 1).c_str(), nullptr, 16);
      }
      continue;
    }
    if (candidate && StartsWith(line, "Anonymous:")) {
      candidate = false;
      if (std::strtoull(line.c_str() + 10, nullptr, 10) != 0 || end <= start || out->n == CleanMappings::kMax)
        continue;
      out->start[out->n] = start;
      out->end[out->n] = end;
      ++out->n;
    }
  }
}

void ReleaseStartupPages() {
  CleanMappings m;
  FindCleanFileMappings(&m);  // its heap is freed when it returns
  malloc_trim(0);
  for (int i = 0; i < m.n; ++i) {
    void* addr = reinterpret_cast<void*>(m.start[i]);
    madvise(addr, m.end[i] - m.start[i], MADV_DONTNEED);
    madvise(addr, m.end[i] - m.start[i], MADV_RANDOM);
  }
}

// The audit side of the wait loop: batched exec records are synced within a second, and the
// cgroup's OOM-kill and pids-limit counters are compared every few seconds.
constexpr int kCounterTickMs = 5000;

int AuditTimeout(ParentCtx& ctx, int timeout) {
  timeout = ctx.auditor->PollTimeoutMs(timeout);
  if (ctx.cgroup == nullptr) return timeout;
  return timeout < 0 ? kCounterTickMs : std::min(timeout, kCounterTickMs);
}

void AuditTick(ParentCtx& ctx, int64_t* next_counters) {
  ctx.auditor->MaybeFlush();
  if (ctx.cgroup == nullptr) return;
  int64_t now = NowMs();
  if (now < *next_counters) return;
  *next_counters = now + kCounterTickMs;
  // Two counters every tick; the whole usage (the limits the record names) only when one grew.
  cgroup::Usage hits;
  if (ctx.limit_hits.Read(&hits.oom_kills, &hits.pids_max_hits) && !ctx.auditor->CountersGrew(hits)) return;
  auto usage = ctx.cgroup->ReadUsage();
  if (usage.ok()) ctx.auditor->RecordCounters(*usage);
}

void Supervise(ParentCtx& ctx) {
  bool channel_open = true;
  bool trimmed = false;
  int64_t hangup_deadline = -1;
  int64_t launched_at = NowMs();
  // The first counter read is a tick after the start: a command that exits sooner has its
  // counters read once, for the exit record (Cleanup).
  int64_t next_counters = launched_at + kCounterTickMs;
  std::vector<pollfd> fds;
  while (ctx.child > 0) {
    exec_audit::ExecAuditor* audit = ctx.auditor.get();
    // A growable list: the first four are ours; the egress DNS relay (if any) appends its sockets,
    // which change as queries come and go.
    fds.assign({{ctx.pidfd.get(), POLLIN, 0},
                {ctx.signal_fd.get(), POLLIN, 0},
                {channel_open ? ctx.channel.get() : -1, POLLIN, 0},
                {audit != nullptr && audit->capturing() ? audit->listener() : -1, POLLIN, 0}});
    netns::AddPollFds(ctx.net, &fds);
    // The earliest of: the idle trim, the hang-up grace period, the relay's next query timeout, the
    // audit log's next flush or counter read.
    int64_t now = NowMs();
    int timeout = netns::PollTimeoutMs(ctx.net);
    auto until = [&](int64_t at) {
      int ms = static_cast<int>(std::max<int64_t>(0, at - now));
      timeout = timeout < 0 ? ms : std::min(timeout, ms);
    };
    if (!trimmed && hangup_deadline < 0) until(launched_at + kIdleBeforeTrimMs);
    if (hangup_deadline >= 0) until(hangup_deadline);
    if (audit != nullptr) timeout = AuditTimeout(ctx, timeout);
    int n = poll(fds.data(), fds.size(), timeout);
    if (audit != nullptr && n >= 0) {
      if (fds[3].revents & POLLIN) audit->Serve();
      if (fds[3].revents & (POLLHUP | POLLERR)) audit->ListenerClosed();
      AuditTick(ctx, &next_counters);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      CC_LOG_ERROR("sandbox %s: poll failed (%s); killing it", ctx.plan->name.c_str(), strerror(errno));
      KillAndReapInit(ctx);
      break;
    }
    netns::ProcessPollFds(ctx.net, fds);
    now = NowMs();
    if (hangup_deadline >= 0 && now >= hangup_deadline) {
      CC_LOG_WARN("sandbox %s: terminal hung up and the command did not exit; killing it",
                  ctx.plan->name.c_str());
      KillAndReapInit(ctx);
      break;
    }
    if (!trimmed && hangup_deadline < 0 && now >= launched_at + kIdleBeforeTrimMs) {
      ReleaseStartupPages();
      trimmed = true;
    }
    if (fds[2].revents != 0) {
      auto msg = channel::Recv(ctx.channel.get());
      if (!msg.ok()) {
        channel_open = false;
      } else if (msg->type == channel::Type::kExit) {
        ctx.have_command_status = true;
        ctx.command_status = msg->value;
      }
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      if (read(ctx.signal_fd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        // Sent by a process (kill, tmux, the agent service): pass it on. From the terminal: the
        // command's process group got it already; a hang-up starts a grace period.
        if (si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE) {
          SendSignal(ctx, static_cast<int>(si.ssi_signo));
        } else if (si.ssi_signo == SIGHUP && hangup_deadline < 0) {
          hangup_deadline = NowMs() + kHangupGraceMs;
        }
      }
    }
    if (fds[0].revents & POLLIN) ReapInit(ctx);
  }
  // A status the init sent just before exiting may still be queued.
  if (channel_open && !ctx.have_command_status) {
    pollfd p{ctx.channel.get(), POLLIN, 0};
    if (poll(&p, 1, 0) > 0) {
      auto msg = channel::Recv(ctx.channel.get());
      if (msg.ok() && msg->type == channel::Type::kExit) {
        ctx.have_command_status = true;
        ctx.command_status = msg->value;
      }
    }
  }
  int status = ctx.have_command_status ? ctx.command_status : ctx.init_status;
  if (WIFSIGNALED(status)) {
    ctx.result.signal = WTERMSIG(status);
    ctx.result.exit_code = 128 + WTERMSIG(status);
  } else {
    ctx.result.exit_code = WEXITSTATUS(status);
  }
}

}  // namespace cloudcoop::sandbox::internal
