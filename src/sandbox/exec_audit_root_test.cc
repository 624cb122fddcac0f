// Exec capture and the sandbox's audit records, against real sandboxes (needs root; label root):
// every program an agent executes is recorded with its argv, however it is executed; the records
// verify as a chain; lifecycle records (plan, start, exit, OOM kills, pids-limit hits); a sandbox
// whose audit log cannot be opened does not start and leaves nothing behind; the `check` item.
#include "sandbox/exec_audit.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "audit/query.h"
#include "audit/verify.h"
#include "core/files.h"
#include "core/strings.h"
#include "sandbox/control.h"
#include "sandbox/launcher.h"
#include "sandbox/plan.h"
#include "sandbox/state.h"
#include "testing/sandbox_harness.h"
#include "testing/test_util.h"

namespace cloudcoop::sandbox {
namespace {

using namespace ::cloudcoop::testing;  // NOLINT

std::string TricksBinary() { return ProbeDir() + "/cloudcoop_exec_tricks"; }
// A shell command for the sandbox: five deny-listed calls, then `loop` denied ptrace calls, the
// outcome of each in ./denied.out.
std::string DeniedCallsScript(int loop) {
  return "cp " + TricksBinary() + " ./tricks && ./tricks denied " + std::to_string(loop) + " > denied.out";
}

std::vector<std::string> Argv(const audit::Record& r) {
  std::vector<std::string> out;
  auto it = r.fields.find("argv");
  if (it == r.fields.end()) return out;
  for (const auto& v : it->second.as_list()) out.push_back(v.as_string());
  return out;
}

std::string Str(const audit::Record& r, const std::string& key) {
  auto it = r.fields.find(key);
  return it == r.fields.end() ? "" : it->second.as_string();
}

int64_t Int(const audit::Record& r, const std::string& key) {
  auto it = r.fields.find(key);
  return it == r.fields.end() ? -1 : it->second.as_int();
}

bool Missing(const audit::Record& r) { return r.fields.count("missing") != 0; }

class ExecAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "these tests need root";
    chmod(tmp.path().c_str(), 0755);
    state = tmp.Sub("state");
    ws = tmp.Sub("ws");
    ASSERT_EQ(mkdir(ws.c_str(), 0777), 0);
    chmod(ws.c_str(), 0777);
    ASSERT_TRUE(PathExists(TricksBinary())) << TricksBinary();
  }
  void TearDown() override { (void)CollectStale(state); }

  SandboxPlan Plan(std::vector<std::string> argv, const std::string& suffix = "x",
                   const AuditSettings& audit = AuditSettings()) {
    PlanRequest r;
    r.audit = audit;
    r.name = UniqueSandboxName(suffix);
    r.argv = std::move(argv);
    r.workspace = ws;
    r.net = NetMode::kNone;
    r.net_explicit = true;
    r.state_dir = state;
    r.memory_bytes = 256ULL << 20;
    r.pids = 64;
    r.cpus = 1;
    r.extra_binds = {{ProbeDir(), ProbeDir(), false}};
    AgentSettings defaults;
    auto plan = BuildPlan(defaults, r, HostLayout::Read());
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    return plan.ok() ? *plan : SandboxPlan{};
  }

  std::vector<audit::Record> Records(const std::string& agent, std::optional<audit::RecordType> type) {
    std::vector<audit::Record> out;
    audit::LogReader reader(state + "/audit");
    Status s = reader.ReadNew(
        [&](const audit::Record& r, std::string_view) {
          if (r.agent == agent && (!type.has_value() || r.type == *type)) out.push_back(r);
        },
        [&](const std::string& seg, uint64_t off, const Status& why) {
          ADD_FAILURE() << "bad line in " << seg << " at " << off << ": " << why.ToString();
        });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  std::vector<audit::Record> Execs(const std::string& agent) { return Records(agent, audit::RecordType::kExec); }
  std::vector<audit::Record> Lifecycle(const std::string& agent, const std::string& event) {
    std::vector<audit::Record> out;
    for (auto& r : Records(agent, audit::RecordType::kLifecycle)) {
      if (Str(r, "event") == event) out.push_back(r);
    }
    return out;
  }

  void ExpectChainVerifies() {
    auto report = audit::Verify({state + "/audit", std::nullopt});
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_FALSE(report->missing);
    EXPECT_FALSE(report->problem.has_value()) << report->problem->message;
  }

  void ExpectNoLeftovers(const SandboxPlan& plan) {
    EXPECT_FALSE(PathExists(state::RecordPath(state, plan.name))) << "record left";
    auto uids = ListDir(state + "/sandbox/uids");
    for (const auto& u : uids.ok() ? *uids : std::vector<std::string>{}) {
      UniqueFd fd(open((state + "/sandbox/uids/" + u).c_str(), O_RDWR | O_CLOEXEC));
      EXPECT_TRUE(fd.valid() && flock(fd.get(), LOCK_EX | LOCK_NB) == 0) << "uid " << u << " still held";
    }
    for (const char* c : {"memory", "pids", "cpu", "cpuacct", "freezer"}) {
      EXPECT_FALSE(IsDirectory(std::string("/sys/fs/cgroup/") + c + "/cloudcoop/" + plan.name))
          << c << " cgroup left";
    }
  }

  TempDir tmp;
  std::string state, ws;
};

// A script executing N distinct programs yields exactly those N exec records (after the one for the
// shell itself), in order, with their argv, pid/ppid, uid and cwd.
TEST_F(ExecAuditTest, AScriptRunningNProgramsYieldsExactlyThoseNRecords) {
  const std::vector<std::vector<std::string>> programs = {
      // None of them a bash builtin (true, false, echo, printf would not be executed).
      {"ls", "-d", "/"},         {"expr", "two words"},  {"date", "+%s"},     {"uname", "-s"},
      {"id", "-u"},              {"basename", "/a/b"},   {"dirname", "/a/b"}, {"seq", "1", "3"},
      {"wc", "-c", "/dev/null"}, {"cat", "/dev/null"},
  };
  std::string script = "#!/bin/bash\n";
  for (const auto& p : programs) {
    std::string line;
    for (const auto& a : p) line += (line.empty() ? "" : " ") + std::string("'") + a + "'";
    script += line + " > /dev/null || :\n";
  }
  ASSERT_TRUE(WriteFileAtomic(ws + "/run.sh", script).ok());
  chmod((ws + "/run.sh").c_str(), 0755);
  SandboxPlan plan = Plan({"/bin/bash", ws + "/run.sh"}, "n");
  auto result = RunSandbox(plan);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->exit_code, 0);

  auto execs = Execs(plan.name);
  ASSERT_EQ(execs.size(), programs.size() + 1);
  EXPECT_EQ(Argv(execs[0]), (std::vector<std::string>{"/bin/bash", ws + "/run.sh"}));
  EXPECT_EQ(Str(execs[0], "exe"), "/bin/bash");
  int64_t shell_pid = Int(execs[0], "pid");
  for (size_t i = 0; i < programs.size(); ++i) {
    const audit::Record& r = execs[i + 1];
    EXPECT_EQ(Argv(r), programs[i]) << "record " << i + 1;
    EXPECT_EQ(Str(r, "exe"), "/usr/bin/" + programs[i][0]);
    EXPECT_EQ(Str(r, "via"), "execve");
    EXPECT_EQ(Int(r, "ppid"), shell_pid) << "the shell forked it";
    EXPECT_EQ(Int(r, "uid"), static_cast<int64_t>(result->uid));
    EXPECT_EQ(Str(r, "cwd"), ws);
    EXPECT_FALSE(Missing(r));
  }
  ExpectChainVerifies();
}

// However the agent executes a program, it is recorded: a static binary making raw system calls,
// execveat, fexecve, a script run through its #! line, a binary it wrote itself; and it cannot take
// the notifications away by creating a listener of its own.
TEST_F(ExecAuditTest, ExecCaptureCannotBeAvoided) {
  std::string tricks = TricksBinary();
  std::string script =
      "set -e\n"
      "cp /usr/bin/printf ./mine\n"               // a binary the agent wrote itself
      "cp " + tricks + " ./tricks\n"                // a static binary it wrote itself
      "printf '#!/bin/sh\\n/usr/bin/true via-shebang\\n' > ./s.sh\n"
      "chmod +x ./mine ./s.sh ./tricks\n"
      "./mine 'self-%s' x > /dev/null\n"
      "./tricks raw /usr/bin/true raw-arg\n"
      "./tricks execveat /usr/bin true at-arg\n"
      "./tricks fexecve /usr/bin/true fd-arg\n"
      "./s.sh shebang-arg\n"
      "./tricks listener > listener.out\n";
  SandboxPlan plan = Plan({"/bin/sh", "-c", script}, "a");
  auto result = RunSandbox(plan);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(Trim(*ReadFile(ws + "/listener.out")), "listener EPERM")
      << "the agent created its own notification listener";

  std::vector<std::pair<std::string, std::vector<std::string>>> got;  // exe, argv
  std::map<std::string, std::string> via;
  for (const auto& r : Execs(plan.name)) {
    if (Missing(r)) continue;
    got.push_back({Str(r, "exe"), Argv(r)});
    via[Argv(r).back()] = Str(r, "via");
  }
  auto has = [&](const std::string& exe, const std::vector<std::string>& argv) {
    for (const auto& g : got) {
      if (g.first == exe && g.second == argv) return true;
    }
    return false;
  };
  std::string all;
  for (const auto& g : got) all += g.first + " [" + Join(g.second, ", ") + "]\n";
  EXPECT_TRUE(has(ws + "/mine", {"./mine", "self-%s", "x"})) << all;
  EXPECT_TRUE(has(ws + "/tricks", {"./tricks", "raw", "/usr/bin/true", "raw-arg"})) << all;
  EXPECT_TRUE(has("/usr/bin/true", {"/usr/bin/true", "raw-arg"})) << all;  // static, raw syscall
  EXPECT_TRUE(has("/usr/bin/true", {"true", "at-arg"})) << all;            // execveat(dirfd, name)
  EXPECT_TRUE(has("/usr/bin/true", {"/usr/bin/true", "fd-arg"})) << all;   // fexecve
  EXPECT_TRUE(has(ws + "/s.sh", {"./s.sh", "shebang-arg"})) << all;        // the script itself
  EXPECT_TRUE(has("/usr/bin/true", {"/usr/bin/true", "via-shebang"})) << all;  // and what it ran
  EXPECT_TRUE(has(ws + "/tricks", {"./tricks", "listener"})) << all;
  EXPECT_EQ(via["at-arg"], "execveat");
  EXPECT_EQ(via["fd-arg"], "fexecve");
  EXPECT_EQ(via["raw-arg"], "execve");
  ExpectChainVerifies();
}

TEST_F(ExecAuditTest, ArgvIsBoundedAndMarked) {
  std::string big(10000, 'a');
  SandboxPlan plan = Plan({"/bin/sh", "-c", "/usr/bin/true \"$0\" $(seq 1 300) > /dev/null", big}, "b");
  auto result = RunSandbox(plan);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  bool found = false;
  for (const auto& r : Execs(plan.name)) {
    if (Str(r, "exe") != "/usr/bin/true") continue;
    found = true;
    EXPECT_EQ(Argv(r).size(), audit::kMaxArgs);
    EXPECT_EQ(Argv(r)[1].size(), audit::kMaxArgBytes);
    EXPECT_EQ(Int(r, "argc"), 302);
    EXPECT_TRUE(r.fields.count("argv_truncated"));
  }
  EXPECT_TRUE(found);
}

TEST_F(ExecAuditTest, LifecycleRecordsPlanStartAndExit) {
  SandboxPlan plan = Plan({"sh", "-c", "exit 3"}, "lc");
  auto result = RunSandbox(plan);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto all = Records(plan.name, audit::RecordType::kLifecycle);
  ASSERT_GE(all.size(), 3u);
  EXPECT_EQ(Str(all.front(), "event"), "plan");
  EXPECT_EQ(Str(all.back(), "event"), "exit");
  auto planrec = Lifecycle(plan.name, "plan");
  ASSERT_EQ(planrec.size(), 1u);
  EXPECT_EQ(Int(planrec[0], "uid"), static_cast<int64_t>(result->uid));
  std::vector<std::string> layers;
  for (const auto& v : planrec[0].fields.at("layers").as_list()) layers.push_back(v.as_string());
  for (const char* l : {"seccomp", "landlock", "userns", "cgroup", "audit"}) {
    EXPECT_NE(std::find(layers.begin(), layers.end(), l), layers.end()) << l;
  }
  EXPECT_EQ(planrec[0].fields.at("limits").as_object().at("pids").as_int(), 64);
  ASSERT_EQ(Lifecycle(plan.name, "start").size(), 1u);
  auto exit = Lifecycle(plan.name, "exit");
  ASSERT_EQ(exit.size(), 1u);
  EXPECT_EQ(Int(exit[0], "exit_code"), 3);
  EXPECT_EQ(Int(exit[0], "signal"), 0);
  EXPECT_GE(Int(exit[0], "exec_records"), 1);
  // The plan comes before the first exec, which comes before the start record.
  auto execs = Execs(plan.name);
  ASSERT_FALSE(execs.empty());
  EXPECT_LT(planrec[0].seq, execs.front().seq);
  EXPECT_LT(execs.front().seq, Lifecycle(plan.name, "start")[0].seq);
  ExpectChainVerifies();
}

TEST_F(ExecAuditTest, OomKillsAndPidsLimitHitsAreRecorded) {
  SandboxPlan plan = Plan({ProbeBinary(), "membomb", "400"}, "oom");
  plan.memory_bytes = 64ULL << 20;
  auto result = RunSandbox(plan);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto oom = Lifecycle(plan.name, "oom-kill");
  ASSERT_EQ(oom.size(), 1u) << "exit code " << result->exit_code;
  EXPECT_GE(Int(oom[0], "oom_kills"), 1);

  SandboxPlan pplan = Plan({ProbeBinary(), "forkbomb", "40"}, "pids");
  pplan.pids = 8;
  auto presult = RunSandbox(pplan);
  ASSERT_TRUE(presult.ok()) << presult.status().ToString();
  auto pids = Lifecycle(pplan.name, "pids-limit");
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_GE(Int(pids[0], "pids_max_hits"), 1);
  EXPECT_EQ(Int(pids[0], "pids_limit"), 8);
}

// While the sandbox runs, the supervisor's counter tick (every 5 s) records a pids-limit hit, not
// only the exit record's final read.
TEST_F(ExecAuditTest, ALimitHitIsRecordedWhileTheSandboxStillRuns) {
  SandboxPlan plan = Plan({"/bin/sh", "-c", ProbeBinary() + " forkbomb 40; exec sleep 60"}, "tick");
  plan.pids = 8;
  // The launcher wants a single-threaded process: the sandbox runs in a child, the log is read here.
  pid_t runner = fork();
  ASSERT_GE(runner, 0);
  if (runner == 0) {
    auto result = RunSandbox(plan);
    _exit(result.ok() ? 0 : 1);
  }
  bool seen = false, seen_running = false;
  for (int i = 0; i < 300 && !seen; ++i) {  // 30 s at most; the tick comes every 5 s
    usleep(100 * 1000);
    if (Lifecycle(plan.name, "pids-limit").empty()) continue;
    seen = true;
    seen_running = Lifecycle(plan.name, "exit").empty();
  }
  kill(runner, SIGTERM);  // passed on to the command: the sandbox ends
  int status = 0;
  ASSERT_EQ(waitpid(runner, &status, 0), runner);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the sandbox run failed";
  EXPECT_TRUE(seen_running) << "no pids-limit record while the sandbox ran";
  auto pids = Lifecycle(plan.name, "pids-limit");
  ASSERT_EQ(pids.size(), 1u) << "recorded once: the exit's read finds no new hits";
  EXPECT_GE(Int(pids[0], "pids_max_hits"), 1);
  EXPECT_EQ(Int(pids[0], "pids_limit"), 8);
  EXPECT_EQ(Lifecycle(plan.name, "exit").size(), 1u);
}

TEST_F(ExecAuditTest, ALaunchFailureIsRecorded) {
  SandboxPlan plan = Plan({"/nonexistent/cmd"}, "lf");
  auto result = RunSandbox(plan);
  ASSERT_FALSE(result.ok());
  auto failed = Lifecycle(plan.name, "start-failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(Str(failed[0], "error").find("execve /nonexistent/cmd"), std::string::npos);
  // The attempt itself was captured (the path did not exist).
  auto execs = Execs(plan.name);
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_TRUE(Missing(execs[0]));
}

// Fail closed: an audit log that cannot be opened stops the start, with an error that names the
// layer, the directory and the fix, and nothing is left behind.
TEST_F(ExecAuditTest, AnUnusableAuditDirectoryStopsTheStartAndLeavesNothing) {
  ASSERT_EQ(mkdir(state.c_str(), 0700), 0);
  ASSERT_TRUE(WriteFileAtomic(state + "/audit", "not a directory").ok());
  SandboxPlan plan = Plan({"sh", "-c", "touch " + ws + "/ran"}, "bad");
  auto result = RunSandbox(plan);
  ASSERT_FALSE(result.ok());
  std::string msg = result.status().message();
  EXPECT_NE(msg.find("sandbox layer audit: cannot open the audit log " + state + "/audit"), std::string::npos)
      << msg;
  EXPECT_NE(result.status().fix().find("does not start without its audit log"), std::string::npos);
  EXPECT_EQ(LaunchFailureExitCode(result.status()), 125);
  EXPECT_FALSE(PathExists(ws + "/ran"));
  ExpectNoLeftovers(plan);
  EXPECT_FALSE(PathExists(state + "/sandbox/running/" + plan.name + ".json"));

  // An audit directory under a file: ENOTDIR.
  plan.audit_dir = state + "/audit/sub";
  auto again = RunSandbox(plan);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("sandbox layer audit"), std::string::npos);
  ExpectNoLeftovers(plan);

  // Through the binary: exit 125 and the message on stderr.
  CliResult r = RunBinary({"sandbox", "run", "--net", "none", "--workspace", ws, "--", "touch", ws + "/ran2"},
                          {{"CLOUDCOOP_STATE_DIR", state}});
  EXPECT_EQ(r.rc, 125) << r.err;
  EXPECT_NE(r.err.find("cannot open the audit log"), std::string::npos) << r.err;
  EXPECT_FALSE(PathExists(ws + "/ran2"));
}

TEST_F(ExecAuditTest, TurningCaptureOffIsExplicitAndRecordedAsDegraded) {
  SandboxPlan plan = Plan({"sh", "-c", "/usr/bin/true; grep Seccomp_filters /proc/self/status > status"}, "off");
  plan.exec_capture = false;
  std::vector<std::string> reported;
  RunOptions options;
  options.on_degraded = [&](const std::string& d) { reported.push_back(d); };
  auto result = RunSandbox(plan, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].rfind("audit: exec capture turned off", 0), 0u) << reported[0];
  EXPECT_EQ(result->degraded, reported);
  EXPECT_TRUE(Execs(plan.name).empty());
  auto degraded = Lifecycle(plan.name, "degraded");
  ASSERT_EQ(degraded.size(), 1u);
  EXPECT_EQ(Str(degraded[0], "layer"), "audit");
  EXPECT_NE(ReadFile(ws + "/status")->find("Seccomp_filters:\t1"), std::string::npos);
}

// The configured segment size reaches the sandbox's log: a small one rotates during the run, every
// exec record is kept across the segments, and the chain verifies.
TEST_F(ExecAuditTest, TheConfiguredSegmentSizeRotatesTheSandboxsLog) {
  constexpr int kPrograms = 40;
  std::string script = "#!/bin/bash\nfor i in $(/usr/bin/seq 1 " + std::to_string(kPrograms) +
                       "); do /usr/bin/expr \"$i\" + 0 > /dev/null; done\n";
  ASSERT_TRUE(WriteFileAtomic(ws + "/loop.sh", script).ok());
  chmod((ws + "/loop.sh").c_str(), 0755);
  AuditSettings audit;
  audit.segment_max_bytes = 4096;
  SandboxPlan plan = Plan({"/bin/bash", ws + "/loop.sh"}, "rot", audit);
  EXPECT_EQ(plan.audit_segment_max_bytes, 4096u);
  auto result = RunSandbox(plan);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->exit_code, 0);
  // The shell, seq, and one expr per iteration.
  EXPECT_EQ(Execs(plan.name).size(), static_cast<size_t>(kPrograms + 2));
  auto files = ListDir(state + "/audit");
  ASSERT_TRUE(files.ok());
  size_t segments = 0;
  for (const auto& f : *files) {
    if (StartsWith(f, "seg-")) {
      ++segments;
      struct stat st {};
      ASSERT_EQ(stat((state + "/audit/" + f).c_str(), &st), 0);
      EXPECT_LE(st.st_size, 4096) << f << ": a segment larger than the configured size";
    }
  }
  EXPECT_GE(segments, 3u) << "the sandbox's log did not rotate at the configured 4K";
  ExpectChainVerifies();

  // With a retention setting, only that many segments remain and the chain still verifies (from
  // the checkpoint naming what was dropped).
  audit.retention_segments = 2;
  SandboxPlan kept = Plan({"/bin/bash", ws + "/loop.sh"}, "ret", audit);
  result = RunSandbox(kept);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  files = ListDir(state + "/audit");
  ASSERT_TRUE(files.ok());
  segments = 0;
  for (const auto& f : *files) segments += StartsWith(f, "seg-") ? 1 : 0;
  EXPECT_LE(segments, 2u);
  size_t checkpoints = 0;
  audit::LogReader reader(state + "/audit");
  ASSERT_TRUE(reader
                  .ReadNew([&](const audit::Record& r, std::string_view) { checkpoints += r.type == audit::RecordType::kCheckpoint; },
                           [&](const std::string&, uint64_t, const Status& why) { ADD_FAILURE() << why.ToString(); })
                  .ok());
  EXPECT_GE(checkpoints, 1u) << "no checkpoint record after dropping segments";
  ExpectChainVerifies();
}

// audit.enabled = false: the sandbox runs without a log (nothing to record in), and says so: the
// degradation is reported, kept in the result (the running record), no audit directory appears and
// the init carries only the main seccomp filter.
TEST_F(ExecAuditTest, AuditDisabledIsExplicitAndPrintedAsDegraded) {
  AuditSettings audit;
  audit.enabled = false;
  SandboxPlan plan = Plan({"sh", "-c", "/usr/bin/true; grep Seccomp_filters /proc/self/status > status"},
                          "noaudit", audit);
  EXPECT_FALSE(plan.exec_capture);
  std::vector<std::string> reported;
  RunOptions options;
  options.on_degraded = [&](const std::string& d) { reported.push_back(d); };
  auto result = RunSandbox(plan, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0], "audit: no audit log, no exec capture (audit.enabled = false)");
  EXPECT_EQ(result->degraded, reported);
  EXPECT_FALSE(PathExists(state + "/audit")) << "audit.enabled = false still wrote a log";
  EXPECT_NE(ReadFile(ws + "/status")->find("Seccomp_filters:\t1"), std::string::npos);
  ExpectNoLeftovers(plan);
}

// `check`: audit.exec_capture passes for a running sandbox with capture, fails for one without.
TEST_F(ExecAuditTest, TheCheckItemSeesCaptureActiveForEveryRunningAgent) {
  std::map<std::string, std::string> env = {{"CLOUDCOOP_STATE_DIR", state}};
  auto run_bg = [&](const std::string& name, bool capture, bool audit_enabled = true) {
    pid_t pid = fork();
    if (pid == 0) {
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      std::vector<std::string> argv = {BinaryPath(), "sandbox", "run", "--name", name, "--net", "none"};
      if (!capture) argv.push_back("--no-exec-capture");
      if (!audit_enabled) argv.insert(argv.end(), {"--set", "audit.enabled=false"});
      argv.insert(argv.end(), {"--", "sleep", "60"});
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    return pid;
  };
  auto wait_running = [&](const std::string& name) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto info = FindSandbox(state, name);
      if (info.ok() && info->record.phase == "running") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  auto stop = [&](pid_t pid) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  };
  EXPECT_EQ(exec_audit::CheckExecCaptureActive(state).result, policy::CheckResult::kNotApplicable);
  std::string on = UniqueSandboxName("chk");
  pid_t a = run_bg(on, true);
  ASSERT_TRUE(wait_running(on));
  auto outcome = exec_audit::CheckExecCaptureActive(state);
  EXPECT_EQ(outcome.result, policy::CheckResult::kPass) << outcome.message;
  CliResult check = RunBinary({"check", "--only", "audit.exec_capture", "--json"}, env);
  EXPECT_EQ(check.rc, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("\"PASS\""), std::string::npos) << check.out;

  std::string off = UniqueSandboxName("chkoff");
  pid_t b = run_bg(off, false);
  ASSERT_TRUE(wait_running(off));
  outcome = exec_audit::CheckExecCaptureActive(state);
  EXPECT_EQ(outcome.result, policy::CheckResult::kFail);
  EXPECT_NE(outcome.message.find(off + ": exec capture turned off"), std::string::npos) << outcome.message;
  EXPECT_EQ(outcome.message.find(on + ":"), std::string::npos) << outcome.message;
  check = RunBinary({"check", "--only", "audit.exec_capture", "--json"}, env);
  EXPECT_EQ(check.rc, 3) << check.out << check.err;

  // audit.enabled = false in the configuration: flagged the same way, naming the setting.
  std::string noaudit = UniqueSandboxName("chknoaudit");
  pid_t c = run_bg(noaudit, true, false);
  ASSERT_TRUE(wait_running(noaudit));
  outcome = exec_audit::CheckExecCaptureActive(state);
  EXPECT_EQ(outcome.result, policy::CheckResult::kFail);
  EXPECT_NE(outcome.message.find(noaudit + ": exec capture turned off (audit.enabled = false)"), std::string::npos)
      << outcome.message;
  stop(a);
  stop(b);
  stop(c);
}

// Denied system calls (the seccomp deny list) are recorded as denials (ADR 0019) and still fail
// with EPERM: exactly the calls the agent made, with the syscall, its number, the argument the rule
// looked at, pid and uid; a loop of denied calls is coalesced into few records whose counts add up.
TEST_F(ExecAuditTest, DeniedCallsAreRecordedAsDenialsAndStillFailWithEperm) {
  constexpr int kLoop = 300;
  SandboxPlan plan = Plan({"/bin/sh", "-c", DeniedCallsScript(kLoop)}, "deny");
  auto result = RunSandbox(plan);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->exit_code, 0);
  auto out = ReadFile(ws + "/denied.out");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "mount EPERM\nioctl EPERM\nunshare EPERM\nkeyctl EPERM\nbpf EPERM\nptrace " +
                      std::to_string(kLoop) + "/" + std::to_string(kLoop) + " EPERM\n");

  int64_t tricks_pid = -1;
  for (const auto& r : Execs(plan.name)) {
    if (Str(r, "exe") == ws + "/tricks") tricks_pid = Int(r, "pid");
  }
  ASSERT_GT(tricks_pid, 0) << "no exec record for ./tricks";

  auto denials = Records(plan.name, audit::RecordType::kDenial);
  std::map<std::string, std::vector<audit::Record>> by_call;
  for (const auto& r : denials) by_call[Str(r, "syscall")].push_back(r);
  std::vector<std::string> calls;
  for (const auto& [k, v] : by_call) calls.push_back(k);
  EXPECT_EQ(calls, (std::vector<std::string>{"bpf", "ioctl", "keyctl", "mount", "ptrace", "unshare"}));
  const std::map<std::string, long> numbers = {{"mount", SYS_mount},   {"ioctl", SYS_ioctl}, {"unshare", SYS_unshare},
                                               {"keyctl", SYS_keyctl}, {"bpf", SYS_bpf},     {"ptrace", SYS_ptrace}};
  for (const auto& [call, records] : by_call) {
    for (const auto& r : records) {
      EXPECT_EQ(Str(r, "what"), "syscall");
      EXPECT_EQ(Int(r, "nr"), numbers.at(call)) << call;
      EXPECT_EQ(Str(r, "errno"), "EPERM") << call;
      EXPECT_EQ(Int(r, "pid"), tricks_pid) << call;
      EXPECT_EQ(r.actor.at("kind").as_string(), "supervisor");
    }
    // The first record of each call is its own, with who made it.
    EXPECT_EQ(Int(records[0], "count"), 1) << call;
    EXPECT_EQ(records[0].fields.count("coalesced"), 0u) << call;
    EXPECT_EQ(Int(records[0], "uid"), static_cast<int64_t>(result->uid)) << call;
    EXPECT_EQ(Str(records[0], "exe"), ws + "/tricks") << call;
    if (call != "ptrace") {
      EXPECT_EQ(records.size(), 1u) << call;
    }
  }
  EXPECT_EQ(Str(by_call["ioctl"][0], "request"), "0x5412");      // TIOCSTI
  EXPECT_EQ(Str(by_call["unshare"][0], "flags"), "0x10020000");  // CLONE_NEWUSER | CLONE_NEWNS
  // The loop: coalesced per second, the counts add up to every call.
  int64_t total = 0;
  for (const auto& r : by_call["ptrace"]) total += Int(r, "count");
  EXPECT_EQ(total, kLoop);
  EXPECT_LT(by_call["ptrace"].size(), 20u) << "a loop of denied calls was not coalesced";
  for (size_t i = 1; i < by_call["ptrace"].size(); ++i) {
    EXPECT_TRUE(by_call["ptrace"][i].fields.count("coalesced") != 0 || Int(by_call["ptrace"][i], "count") == 1);
  }
  auto exit = Lifecycle(plan.name, "exit");
  ASSERT_EQ(exit.size(), 1u);
  EXPECT_EQ(Int(exit[0], "denied_calls"), kLoop + 5);
  EXPECT_LT(denials.back().seq, exit[0].seq) << "denial records come before the exit record";
  ExpectChainVerifies();

  // And through the command: `cloudcoop audit --type denial --agent NAME --json`.
  CliResult q = RunBinary({"audit", "--type", "denial", "--agent", plan.name, "--json"},
                          {{"CLOUDCOOP_STATE_DIR", state}});
  EXPECT_EQ(q.rc, 0) << q.err;
  size_t lines = 0;
  for (const auto& line : Split(q.out, '\n', true)) {
    if (Trim(line).empty()) continue;
    ++lines;
    EXPECT_NE(line.find("\"type\":\"denial\""), std::string::npos) << line;
  }
  EXPECT_EQ(lines, denials.size()) << q.out;
  EXPECT_NE(q.out.find("\"syscall\":\"mount\""), std::string::npos) << q.out;
}

// A loop of denied calls is slowed down once it passes ExecAuditor::kDenialsPerSecondAtFullSpeed
// in a second (each answer then waits kThrottledDenialDelayUs): the supervisor answers, on CPU
// outside the agent's limits, about two thousand a second at most instead of tens of thousands.
// Every call is still refused and counted. Only an upper bound on a rate is asserted: a slower
// machine makes fewer calls, never more.
TEST_F(ExecAuditTest, ALoopOfDeniedCallsIsThrottledAndEveryCallStillCounted) {
  constexpr int kLoop = 4000;
  SandboxPlan plan = Plan({"/bin/sh", "-c", DeniedCallsScript(kLoop)}, "denyloop");
  auto result = RunSandbox(plan);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->exit_code, 0);
  auto out = ReadFile(ws + "/denied.out");
  ASSERT_TRUE(out.ok());
  EXPECT_NE(out->find("ptrace " + std::to_string(kLoop) + "/" + std::to_string(kLoop) + " EPERM"),
            std::string::npos)
      << *out;
  int64_t total = 0, most_in_a_window = 0;
  for (const auto& r : Records(plan.name, audit::RecordType::kDenial)) {
    if (Str(r, "syscall") != "ptrace") continue;
    total += Int(r, "count");
    most_in_a_window = std::max(most_in_a_window, Int(r, "count"));
  }
  EXPECT_EQ(total, kLoop);
  // A coalescing window (1 s) can straddle two throttle seconds: twice the full-speed allowance,
  // plus at most one delayed answer per millisecond.
  using exec_audit::ExecAuditor;
  int64_t bound = 2 * static_cast<int64_t>(ExecAuditor::kDenialsPerSecondAtFullSpeed) +
                  1000 * 1000 / ExecAuditor::kThrottledDenialDelayUs;
  EXPECT_LE(most_in_a_window, bound) << "denied calls were answered at full speed past the throttle";
  auto exit = Lifecycle(plan.name, "exit");
  ASSERT_EQ(exit.size(), 1u);
  EXPECT_EQ(Int(exit[0], "denied_calls"), kLoop + 5);
}

// Without exec capture there is no listener: the deny list answers EPERM itself and nothing is
// recorded (the plan's choice is recorded as degraded instead).
TEST_F(ExecAuditTest, WithoutCaptureDeniedCallsStillFailWithEpermUnrecorded) {
  SandboxPlan plan = Plan({"/bin/sh", "-c", DeniedCallsScript(3)}, "denyoff");
  plan.exec_capture = false;
  auto result = RunSandbox(plan);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(*ReadFile(ws + "/denied.out"),
            "mount EPERM\nioctl EPERM\nunshare EPERM\nkeyctl EPERM\nbpf EPERM\nptrace 3/3 EPERM\n");
  EXPECT_TRUE(Records(plan.name, audit::RecordType::kDenial).empty());
}

// Exec records are queued and written in batches after the answer (ADR 0017, "Batching"): none is
// lost when the agent gets SIGTERM (through its supervisor) or when the sandbox is killed.
TEST_F(ExecAuditTest, QueuedExecRecordsSurviveSigtermAndAKilledSandbox) {
  std::map<std::string, std::string> env = {{"CLOUDCOOP_STATE_DIR", state}};
  for (bool kill_sandbox : {false, true}) {
    std::string name = UniqueSandboxName(kill_sandbox ? "batchkill" : "batchterm");
    std::string marker = ws + "/marker-" + name;
    std::string script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do /usr/bin/true $i; done; "
                         "/usr/bin/touch " + marker + "; exec /usr/bin/sleep 60";
    pid_t pid = fork();
    if (pid == 0) {
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      std::vector<std::string> argv = {BinaryPath(), "sandbox", "run", "--name", name, "--net", "none",
                                       "--workspace", ws, "--", "/bin/sh", "-c", script};
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    ASSERT_GT(pid, 0);
    // Wait for the marker, then for sleep to run (its exec record is the last one queued).
    bool sleeping = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!sleeping && std::chrono::steady_clock::now() < deadline) {
      auto info = FindSandbox(state, name);
      if (PathExists(marker) && info.ok()) {
        auto procs = ListDir("/proc");
        for (const auto& p : procs.ok() ? *procs : std::vector<std::string>{}) {
          struct stat sb;
          auto comm = ReadFile("/proc/" + p + "/comm");
          if (comm.ok() && Trim(*comm) == "sleep" && stat(("/proc/" + p).c_str(), &sb) == 0 &&
              sb.st_uid == info->record.uid) {
            sleeping = true;
          }
        }
      }
      if (!sleeping) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(sleeping) << name << ": the agent never reached its sleep";
    if (kill_sandbox) {
      auto info = FindSandbox(state, name);
      ASSERT_TRUE(info.ok()) << info.status().ToString();
      ASSERT_TRUE(KillSandbox(info->record).ok());
    } else {
      kill(pid, SIGTERM);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    // sh, 20 × true, touch, sleep.
    auto execs = Execs(name);
    // On a mismatch, every record of the sandbox says which exec is missing and why.
    std::string all;
    for (const auto& r : Records(name, std::nullopt)) all += audit::SerializeRecord(r) + "\n";
    EXPECT_EQ(execs.size(), 23u) << name << "\n" << all;
    auto exit = Lifecycle(name, "exit");
    ASSERT_EQ(exit.size(), 1u) << name;
    EXPECT_EQ(Int(exit[0], "exec_records"), 23) << name;
    EXPECT_EQ(Int(exit[0], "execs_refused"), 0) << name;
    EXPECT_EQ(Int(exit[0], "signal"), kill_sandbox ? SIGKILL : SIGTERM) << name;
  }
  ExpectChainVerifies();
}

}  // namespace
}  // namespace cloudcoop::sandbox
