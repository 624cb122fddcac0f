#include "node/supervisor.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "audit/control.h"
#include "audit/events.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/process.h"
#include "core/strings.h"
#include "node/procs.h"
#include "node/state.h"
#include "node/words.h"
#include "node/workspace.h"

extern char** environ;

namespace cloudcoop::node {

namespace {

volatile sig_atomic_t g_hangup = 0;
volatile sig_atomic_t g_term = 0;

void OnSignal(int sig) {
  if (sig == SIGHUP) g_hangup = 1;
  else g_term = 1;
}

std::string Bold(const std::string& s) { return "\033[1m" + s + "\033[0m"; }

// In the child, before exec: the agent's identity and process attributes. Only async-signal-safe
// calls; on failure writes a message to `errfd` and _exits.
[[noreturn]] void ExecDirect(const AgentRecord& r, const std::vector<std::string>& argv,
                             const std::vector<std::string>& env, int errfd) {
  auto die = [&](const char* what) {
    int e = errno;
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%s: %s", what, strerror(e));
    if (n > 0) (void)!write(errfd, buf, static_cast<size_t>(n));
    _exit(127);
  };
  // Own process group in the foreground of the pane's terminal, so Ctrl-C reaches the agent.
  setpgid(0, 0);
  signal(SIGTTOU, SIG_IGN);
  if (isatty(STDIN_FILENO)) tcsetpgrp(STDIN_FILENO, getpid());
  for (int s : {SIGTTOU, SIGINT, SIGQUIT, SIGTSTP, SIGHUP, SIGTERM, SIGPIPE, SIGCHLD}) signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (chdir(r.workspace.c_str()) != 0) die("chdir to the workspace");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("prctl(PR_SET_NO_NEW_PRIVS)");
  struct rlimit nproc = {static_cast<rlim_t>(r.limits.pids), static_cast<rlim_t>(r.limits.pids)};
  if (setrlimit(RLIMIT_NPROC, &nproc) != 0) die("setrlimit(RLIMIT_NPROC)");
  if (setgroups(0, nullptr) != 0) die("setgroups");
  if (setresgid(r.gid, r.gid, r.gid) != 0) die("setresgid");
  if (setresuid(r.uid, r.uid, r.uid) != 0) die("setresuid");
  // Read the identity back: a failed drop must not run the agent as root.
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (getresuid(&ru, &eu, &su) != 0 || ru != r.uid || eu != r.uid || su != r.uid) die("verify uid");
  if (getresgid(&rg, &eg, &sg) != 0 || rg != r.gid || eg != r.gid || sg != r.gid) die("verify gid");
  if (getgroups(0, nullptr) != 0) die("verify supplementary groups");
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) die("verify no_new_privs");
  umask(027);
  std::vector<char*> av, ev;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (const auto& e : env) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  environ = ev.data();
  execvp(av[0], av.data());
  die(("exec " + argv[0]).c_str());
  _exit(127);
}

}  // namespace

std::map<std::string, std::string> AgentEnvironment(const AgentRecord& r, const std::string& term) {
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/local/bin:/usr/bin:/bin"},
      {"HOME", r.home},
      {"USER", r.name},
      {"LOGNAME", r.name},
      {"SHELL", "/bin/bash"},
      {"LANG", "C.UTF-8"},
      {"TERM", term.empty() ? "screen" : term},
      {"CLOUDCOOP_AGENT", r.name},
  };
  for (const auto& [k, v] : r.env) env[k] = v;
  return env;
}

int RunSupervisor(const std::string& state_dir, const std::string& name, AgentSandbox& sandbox,
                  const AuditSettings& audit_settings) {
  Registry registry{StateLayout(state_dir)};
  auto rec_or = registry.Get(name);
  if (!rec_or.ok()) {
    std::cerr << "cloudcoop supervisor: " << rec_or.status().ToString() << "\n";
    return 125;
  }
  AgentRecord rec = *rec_or;
  AgentStatus status;
  status.generation = rec.generation;
  status.supervisor_pid = getpid();
  status.started_at = DefaultClock().Now();
  auto fail = [&](const std::string& why) {
    status.error = why;
    status.exited_at = DefaultClock().Now();
    (void)registry.PutStatus(name, status);
    std::cerr << "cloudcoop supervisor: agent " << name << " not started: " << why << "\n";
    return 125;
  };
  if (auto l = registry.GetLockout()) return fail("the host is locked out by `cloudcoop panic` (cloudcoop unlock --rotated)");
  if (rec.state != AdminState::kRunning) return fail("its record says " + std::string(AdminStateName(rec.state)));
  if (geteuid() != 0) return fail("the supervisor must run as root");

  const std::vector<std::string>& argv = rec.resume ? rec.resume_argv : rec.argv;
  const char* term = std::getenv("TERM");
  auto env_map = AgentEnvironment(rec, term != nullptr ? term : "");
  std::vector<std::string> env;
  for (const auto& [k, v] : env_map) env.push_back(k + "=" + v);

  std::cout << Bold("cloudcoop") << " agent " << Bold(name) << " (" << rec.profile << ", uid " << rec.uid
            << ", workspace " << rec.workspace << ")" << (rec.resume ? ", resuming" : "") << "\n"
            << "  " << JoinCommandWords(argv) << "\n";
  // Once the agent runs: its status (what `agent add` waits for) and a lifecycle record in the
  // audit log. A log that cannot be written is shown in the pane; the agent is already confined,
  // so it keeps running.
  std::unique_ptr<audit::Logger> audit_log;
  auto started = [&](pid_t pid) {
    status.agent_pid = pid;
    (void)registry.PutStatus(name, status);
    if (!audit_settings.enabled) {
      std::cout << "cloudcoop: WARNING: audit.enabled = false: this agent's start, exit and programs are not recorded\n";
      std::cout.flush();
      return;
    }
    auto logger = audit::Logger::Open(audit::AuditTarget::For(state_dir, audit_settings, SecretSettings{}).Options());
    if (!logger.ok()) {
      std::cout << "cloudcoop: warning: audit log: " << logger.status().ToString() << "\n";
      return;
    }
    audit_log = std::move(*logger);
    auto a = audit_log->Append(audit::LifecycleRecord(name, "start",
                                                      {{"uid", static_cast<int64_t>(rec.uid)},
                                                       {"generation", static_cast<int64_t>(rec.generation)},
                                                       {"argv", argv},
                                                       {"sandboxed", !rec.unsandboxed}}),
                               // Lifecycle records are batched (ADR 0004): written (they survive
                               // kill -9) but not synced here; the next synced record or the
                               // logger's close anchors them. A sync here held the audit lock
                               // while `agent add` waited to record its own end.
                               audit::Durability::kBatched);
    if (!a.ok()) std::cout << "cloudcoop: warning: audit log: " << a.status().ToString() << "\n";
  };
  int wstatus = 0;
  if (rec.unsandboxed) {
    std::cout << "\033[1;31m  UNSANDBOXED (--unsandboxed): own uid, no_new_privs and a process limit only; no "
                 "namespaces, cgroup limits, seccomp or Landlock\033[0m\n";
    std::cout.flush();
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    struct sigaction sa = {};
    sa.sa_handler = OnSignal;
    sigaction(SIGHUP, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGTSTP, SIG_IGN);
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + strerror(errno));
    pid_t child = fork();
    if (child < 0) return fail(std::string("fork: ") + strerror(errno));
    if (child == 0) {
      close(errpipe[0]);
      ExecDirect(rec, argv, env, errpipe[1]);
    }
    close(errpipe[1]);
    setpgid(child, child);
    char buf[512];
    ssize_t n = read(errpipe[0], buf, sizeof buf - 1);
    close(errpipe[0]);
    if (n > 0) {
      buf[n] = '\0';
      waitpid(child, nullptr, 0);
      return fail(buf);
    }
    started(child);
    // Wait for the agent; reap adopted orphans along the way.
    bool done = false;
    bool terminated = false;
    while (!done) {
      if ((g_hangup || g_term) && !terminated) {
        // tmux hung up (kill-session, server gone) or we were asked to stop: the agent goes too.
        terminated = true;
        if (g_hangup) {
          FreezeAndKill([&](uint32_t u) { return u == rec.uid; }, std::chrono::seconds(5));
        } else {
          SignalAll([&](uint32_t u) { return u == rec.uid; }, SIGTERM);
        }
      }
      int ws = 0;
      pid_t p = waitpid(-1, &ws, 0);
      if (p < 0) {
        if (errno == EINTR) continue;
        break;  // ECHILD: nothing left
      }
      if (p == child) {
        wstatus = ws;
        done = true;
      }
    }
  } else {
    std::cout << "  sandbox: uid " << rec.uid << ", namespaces, " << rec.limits.cpus << " CPUs, "
              << rec.limits.memory_bytes << " bytes, " << rec.limits.pids << " processes, seccomp, Landlock, network "
              << rec.network << "\n";
    std::cout.flush();
    LaunchRequest req;
    req.record = &rec;
    req.argv = argv;
    req.env = env_map;
    req.protect = ComputeProtectedPaths(rec);
    req.exit_status_file = registry.layout().agent_dir(name) + "/sandbox-exit.json";
    req.audit = audit_settings;
    auto result = sandbox.Run(req, [&] { started(getpid()); });
    if (!result.ok()) {
      return fail(result.status().message() +
                  (result.status().fix().empty() ? "" : " (fix: " + result.status().fix() + ")"));
    }
    wstatus = result->signal != 0 ? result->signal : (result->exit_code & 0xff) << 8;
    if (result->oom_kills > 0) {
      std::cout << "\ncloudcoop: the memory limit (" << rec.limits.memory_bytes << " bytes) killed " << result->oom_kills
                << " process(es) of agent " << name << "\n";
    }
    if (result->pids_max_hits > 0) {
      std::cout << "\ncloudcoop: the process limit (" << rec.limits.pids << ") refused " << result->pids_max_hits
                << " fork(s) of agent " << name << "\n";
    }
  }
  // Whatever the agent left running (background jobs) ends with it; during a panic the panic
  // sweeps every agent at once, and a hundred supervisors scanning /proc would only slow it down.
  bool panic = registry.GetLockout().has_value();
  if (!panic) {
    FreezeAndKill([&](uint32_t u) { return u == rec.uid; }, std::chrono::seconds(5));
    (void)sandbox.Kill(rec);
  }
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  status.exited_at = DefaultClock().Now();
  int rc = 0;
  if (WIFEXITED(wstatus)) {
    status.exit_code = WEXITSTATUS(wstatus);
    rc = *status.exit_code;
  } else if (WIFSIGNALED(wstatus)) {
    status.signal = WTERMSIG(wstatus);
    rc = 128 + *status.signal;
  }
  (void)registry.PutStatus(name, status);
  // During a panic the panic's own record names every agent it stopped; a hundred supervisors
  // syncing exit records at once would only hold it up.
  if (audit_log && !panic) {
    audit::Fields f = {{"exit_code", static_cast<int64_t>(rc)}};
    if (status.signal) f["signal"] = static_cast<int64_t>(*status.signal);
    (void)audit_log->Append(audit::LifecycleRecord(name, "exit", f), audit::Durability::kSync);
  }
  std::cout << "\n" << Bold("cloudcoop") << ": agent " << name << " ended ("
            << (status.signal ? "signal " + std::to_string(*status.signal) : "status " + std::to_string(rc)) << ")\n";
  if (rec.repo && !g_hangup && !panic) {
    auto h = HandoffBranch(DefaultProcessRunner(), registry.layout(), rec);
    if (h.ok()) {
      std::cout << "  its branch is in " << rec.repo->path << " as " << h->ref.substr(11) << " (" << h->commit.substr(0, 12)
                << ")\n";
    } else {
      std::cout << "  could not hand over its branch: " << h.status().message() << "\n";
    }
  }
  std::cout.flush();
  return rc;
}

}  // namespace cloudcoop::node
