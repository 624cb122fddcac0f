// The launcher, run in-process and through the binary (needs root; label root): exit statuses,
// every checklist step failing closed, degraded layers, real failures, the plan being what is
// applied, signals, the terminal.
#include "sandbox/launcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/files.h"
#include "core/strings.h"
#include "sandbox/control.h"
#include "sandbox/ids.h"
#include "sandbox/netns.h"
#include "sandbox/plan.h"
#include "sandbox/state.h"
#include "testing/sandbox_harness.h"
#include "testing/test_util.h"

namespace cloudcoop::sandbox {
namespace {

using namespace ::cloudcoop::testing;  // NOLINT
using nlohmann::json;

// Moves the test (and what it starts) into a fresh, empty network namespace for its lifetime: an
// egress start there finds an unprepared host (no uplink, no firewall table) whatever the state of
// this machine's own network, and could not touch it even if the fail-closed check were broken.
class ScratchNetns {
 public:
  ScratchNetns() : self_(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) {
    ok_ = self_.valid() && unshare(CLONE_NEWNET) == 0;
  }
  ~ScratchNetns() {
    if (ok_) (void)setns(self_.get(), CLONE_NEWNET);
  }
  bool ok() const { return ok_; }

 private:
  UniqueFd self_;
  bool ok_ = false;
};

bool WaitFor(const std::function<bool()>& cond, int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

class LauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "these tests need root";
    chmod(tmp.path().c_str(), 0755);
    state = tmp.Sub("state");
    ws = tmp.Sub("ws");
    ASSERT_EQ(mkdir(ws.c_str(), 0777), 0);
    chmod(ws.c_str(), 0777);
  }
  void TearDown() override { (void)CollectStale(state); }

  SandboxPlan Plan(std::vector<std::string> argv, const std::string& suffix = "l") {
    PlanRequest r;
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
    r.protected_paths = {{ws + "/.mcp.json", PathKind::kFile}};
    AgentSettings defaults;
    auto plan = BuildPlan(defaults, r, HostLayout::Read());
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    return plan.ok() ? *plan : SandboxPlan{};
  }

  // Nothing of a sandbox may remain once RunSandbox returned.
  void ExpectNoLeftovers(const SandboxPlan& plan) {
    EXPECT_FALSE(PathExists(state::RecordPath(state, plan.name))) << "record left";
    // uid files stay for reuse; none may still be held.
    auto uids = ListDir(state + "/sandbox/uids");
    for (const auto& u : uids.ok() ? *uids : std::vector<std::string>{}) {
      UniqueFd fd(open((state + "/sandbox/uids/" + u).c_str(), O_RDWR | O_CLOEXEC));
      EXPECT_TRUE(fd.valid() && flock(fd.get(), LOCK_EX | LOCK_NB) == 0) << "uid " << u << " still held";
    }
    for (const char* c : {"memory", "pids", "cpu", "cpuacct", "freezer"}) {
      EXPECT_FALSE(IsDirectory(std::string("/sys/fs/cgroup/") + c + "/cloudcoop/" + plan.name))
          << c << " cgroup left";
    }
    EXPECT_FALSE(PathExists(ws + "/.mcp.json")) << "placeholder left";
    // No helper (network namespace, user namespace) and no init outlives the start, reaped or not.
    errno = 0;
    EXPECT_EQ(waitpid(-1, nullptr, WNOHANG | __WALL), -1) << "a child process was left";
    EXPECT_EQ(errno, ECHILD);
  }

  TempDir tmp;
  std::string state, ws;
};

TEST_F(LauncherTest, ReturnsTheCommandsExitStatus) {
  auto result = RunSandbox(Plan({"sh", "-c", "exit 7"}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->exit_code, 7);
  EXPECT_EQ(result->signal, 0);
  EXPECT_GE(result->uid, kDefaultUidBase);
  EXPECT_TRUE(result->degraded.empty());
  auto killed = RunSandbox(Plan({"sh", "-c", "kill -TERM $$"}));
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ(killed->exit_code, 128 + SIGTERM);
  EXPECT_EQ(killed->signal, SIGTERM);
}

TEST_F(LauncherTest, AMissingCommandIsAnExecErrorWithExitCode127) {
  SandboxPlan plan = Plan({"/nonexistent/cmd"});
  auto result = RunSandbox(plan);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("sandbox layer exec: execve /nonexistent/cmd"), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("ENOENT"), std::string::npos);
  EXPECT_EQ(LaunchFailureExitCode(result.status()), 127);
  ExpectNoLeftovers(plan);
  CliResult r = RunBinary({"sandbox", "run", "--net", "none", "--", "no-such-command-xyz"},
                          {{"CLOUDCOOP_STATE_DIR", state}});
  EXPECT_EQ(r.rc, 127) << r.err;
  EXPECT_NE(r.err.find("no-such-command-xyz"), std::string::npos);
}

// Every step of the checklist, made to fail: the sandbox must not start, the error must name the
// layer and errno, and nothing may be left behind.
class StepFailureTest : public LauncherTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(StepFailureTest, FailsClosed) {
  const std::string step = GetParam();
  SandboxPlan plan = Plan({"sh", "-c", "touch " + ws + "/ran"}, "f");
  RunOptions options;
  options.fail_step = step;
  options.fail_errno = EPERM;
  auto result = RunSandbox(plan, options);
  ASSERT_FALSE(result.ok()) << "step " << step << " failed but the sandbox ran";
  const ChecklistStep* info = nullptr;
  for (const auto& s : Checklist()) {
    if (s.id == step) info = &s;
  }
  ASSERT_NE(info, nullptr);
  std::string msg = result.status().message();
  EXPECT_NE(msg.find("sandbox layer " + std::string(LayerName(info->layer))), std::string::npos) << msg;
  EXPECT_NE(msg.find("errno EPERM"), std::string::npos) << msg;
  EXPECT_FALSE(result.status().fix().empty());
  // The last two read-backs run once the command started (the init checked its cgroup before).
  if (step != "state.running" && step != "cgroup.outside") {
    EXPECT_FALSE(PathExists(ws + "/ran")) << "the command ran although " << step << " failed";
  }
  ExpectNoLeftovers(plan);
}

std::vector<std::string> InjectableSteps() {
  std::vector<std::string> ids;
  for (const auto& s : Checklist()) {
    if (s.id == "supervisor.wait-go" || s.id == "exec.fork") continue;  // not steps of their own
    ids.emplace_back(s.id);
  }
  return ids;
}

INSTANTIATE_TEST_SUITE_P(EveryStep, StepFailureTest, ::testing::ValuesIn(InjectableSteps()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

// The network namespace made in parallel (netns.start): new, only loopback, up; no helper left
// whether or not it was taken, and nothing left open.
TEST(NetnsPendingTest, TheNamespaceIsNewWithOnlyLoopbackUpAndNoHelperOutlivesItsOwner) {
  ASSERT_EQ(geteuid(), 0u) << "this test needs root";
  auto fds_before = ListDir("/proc/self/fd");
  ASSERT_TRUE(fds_before.ok());
  {
    auto pending = netns::Pending::Start();
    ASSERT_TRUE(pending.ok()) << pending.status().ToString();
    auto fd = (*pending)->Take();
    ASSERT_TRUE(fd.ok()) << fd.status().ToString();
    struct stat mine, theirs;
    ASSERT_EQ(stat("/proc/self/ns/net", &mine), 0);
    ASSERT_EQ(fstat(fd->get(), &theirs), 0);
    EXPECT_NE(mine.st_ino, theirs.st_ino) << "the helper's namespace is the caller's";
    errno = 0;
    EXPECT_EQ(waitpid(-1, nullptr, WNOHANG | __WALL), -1) << "the helper outlived Take()";
    EXPECT_EQ(errno, ECHILD);
    pid_t child = fork();
    if (child == 0) {
      bool ok = setns(fd->get(), CLONE_NEWNET) == 0 && netns::VerifyInChild(NetMode::kNone).ok();
      _exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "not exactly lo, up, in the new namespace";
  }
  for (int i = 0; i < 3; ++i) {
    auto untaken = netns::Pending::Start();  // dropped at once: its destructor waits for the helper
    ASSERT_TRUE(untaken.ok()) << untaken.status().ToString();
  }
  errno = 0;
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG | __WALL), -1) << "a helper that was not taken outlived its owner";
  EXPECT_EQ(errno, ECHILD);
  auto fds_after = ListDir("/proc/self/fd");
  ASSERT_TRUE(fds_after.ok());
  EXPECT_EQ(fds_after->size(), fds_before->size()) << "a namespace descriptor was left open";
}

TEST_F(LauncherTest, ADegradedLayerIsReportedRecordedAndTheRestStillApplies) {
  SandboxPlan plan =
      Plan({"sh", "-c", "grep -E 'NoNewPrivs|Seccomp:' /proc/self/status > " + ws + "/status"});
  plan.allow_degraded = {Layer::kLandlock};
  plan.exit_status_file = tmp.Sub("exit.json");
  RunOptions options;
  options.fail_step = "landlock.apply";
  std::vector<std::string> reported;
  options.on_degraded = [&](const std::string& d) { reported.push_back(d); };
  auto result = RunSandbox(plan, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->exit_code, 0);
  ASSERT_EQ(result->degraded.size(), 1u);
  EXPECT_EQ(result->degraded[0].rfind("landlock: ", 0), 0u) << result->degraded[0];
  EXPECT_EQ(reported, result->degraded);
  auto exit = json::parse(*ReadFile(plan.exit_status_file));
  EXPECT_EQ(exit["degraded"][0], result->degraded[0]);
  std::string status = *ReadFile(ws + "/status");
  EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos) << status;
  EXPECT_NE(status.find("Seccomp:\t2"), std::string::npos) << "seccomp still applies after landlock degraded";
}

TEST_F(LauncherTest, ADegradedUserNamespaceStillDropsToTheSandboxUid) {
  SandboxPlan plan =
      Plan({"sh", "-c",
            "grep -E '^(Uid|Gid|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status > " + ws + "/status"});
  plan.allow_degraded = {Layer::kUserns};
  RunOptions options;
  options.fail_step = "userns.prepare";
  auto result = RunSandbox(plan, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->degraded.size(), 1u);
  EXPECT_EQ(result->degraded[0].rfind("userns: ", 0), 0u);
  std::string status = *ReadFile(ws + "/status");
  std::string uid = std::to_string(result->uid);
  EXPECT_NE(status.find("Uid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid), std::string::npos) << status;
  EXPECT_NE(status.find("CapEff:\t0000000000000000"), std::string::npos) << status;
  EXPECT_NE(status.find("CapBnd:\t0000000000000000"), std::string::npos) << status;
  EXPECT_NE(status.find("Seccomp:\t2"), std::string::npos) << status;
}

TEST_F(LauncherTest, WithoutAllowDegradedTheSameFailureStopsTheStart) {
  SandboxPlan plan = Plan({"true"});
  RunOptions options;
  options.fail_step = "landlock.apply";
  auto result = RunSandbox(plan, options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("sandbox layer landlock"), std::string::npos);
}

TEST_F(LauncherTest, ACgroupRootThatIsNotCgroupfsFailsClosedOrDegradesWhenAllowed) {
  SandboxPlan plan = Plan({"true"});
  plan.cgroup_root = tmp.Sub("not-cgroupfs");
  ASSERT_EQ(mkdir(plan.cgroup_root.c_str(), 0755), 0);
  auto result = RunSandbox(plan);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("sandbox layer cgroup: " + plan.cgroup_root +
                                           " is not a cgroup filesystem"),
            std::string::npos)
      << result.status().message();
  plan.allow_degraded = {Layer::kCgroup};
  auto degraded = RunSandbox(plan);
  ASSERT_TRUE(degraded.ok()) << degraded.status().ToString();
  ASSERT_EQ(degraded->degraded.size(), 1u);
  EXPECT_EQ(degraded->degraded[0].rfind("cgroup: ", 0), 0u);
}

TEST_F(LauncherTest, AnRlimitAboveTheHardLimitFailsNamingTheFix) {
  SandboxPlan plan = Plan({"true"});
  struct rlimit now;
  getrlimit(RLIMIT_NOFILE, &now);
  ASSERT_NE(now.rlim_max, RLIM_INFINITY);
  for (auto& r : plan.rlimits) {
    if (r.resource == RLIMIT_NOFILE) r.soft = r.hard = now.rlim_max + 1;
  }
  auto result = RunSandbox(plan);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("sandbox layer rlimits: setrlimit RLIMIT_NOFILE"),
            std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("errno EPERM"), std::string::npos);
  EXPECT_NE(result.status().fix().find("CAP_SYS_RESOURCE"), std::string::npos);
  ExpectNoLeftovers(plan);
}

TEST_F(LauncherTest, AWorkspaceRemovedAfterPlanningFailsInTheMountLayer) {
  std::string gone = tmp.Sub("gone");
  ASSERT_EQ(mkdir(gone.c_str(), 0755), 0);
  SandboxPlan plan = Plan({"true"});
  plan.binds.push_back({gone, gone, true});
  ASSERT_EQ(rmdir(gone.c_str()), 0);
  auto result = RunSandbox(plan);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("sandbox layer mountns: open_tree " + gone), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("ENOENT"), std::string::npos);
}

TEST_F(LauncherTest, EgressOnAnUnpreparedHostFailsClosedAndSaysWhatToDo) {
  // Egress that works is tested in a test topology (net_egress_root_test.cc); here the start must
  // stop before touching anything, and never fall back to another mode.
  ScratchNetns scratch;
  ASSERT_TRUE(scratch.ok());
  SandboxPlan plan = Plan({"true"});
  plan.net = NetMode::kEgress;
  auto result = RunSandbox(plan);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("sandbox layer netns: network mode egress"), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().fix().find("--net none"), std::string::npos);
  EXPECT_NE(result.status().fix().find("cloudcoop sandbox prepare-host"), std::string::npos);
  ExpectNoLeftovers(plan);
}

TEST_F(LauncherTest, AUidHeldByARunningSandboxIsNotShared) {
  auto held = ids::AcquireInParent(state, "other", std::nullopt, kDefaultUidBase, kDefaultUidCount);
  ASSERT_TRUE(held.ok());
  SandboxPlan plan = Plan({"true"});
  plan.uid = held->uid;
  auto result = RunSandbox(plan);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("in use by another running sandbox"), std::string::npos);
  SandboxPlan fresh = Plan({"true"});
  auto ok = RunSandbox(fresh);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_NE(ok->uid, held->uid);
  ids::ReleaseInParent(*held);
}

TEST_F(LauncherTest, TheAppliedSandboxIsThePlan) {
  SandboxPlan plan = Plan({"sh", "-c", ProbeBinary() + " report > " + ws + "/report.json"});
  plan.env.emplace_back("ZZ_EXTRA", "1");
  auto result = RunSandbox(plan);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->exit_code, 0);
  json rep = json::parse(*ReadFile(ws + "/report.json"), nullptr, false);
  ASSERT_FALSE(rep.is_discarded());
  EXPECT_EQ(rep["hostname"], plan.hostname);
  EXPECT_EQ(rep["cwd"], plan.cwd);
  EXPECT_EQ(rep["uid"], result->uid);
  EXPECT_EQ(rep["gid"], result->uid);
  EXPECT_EQ(rep["groups"], json::array({result->uid}));
  EXPECT_EQ(rep["umask"], 077);
  std::map<std::string, std::string> want(plan.env.begin(), plan.env.end());
  std::map<std::string, std::string> got = rep["env"].get<std::map<std::string, std::string>>();
  got.erase("PWD");  // set by sh
  got.erase("SHLVL");
  got.erase("_");
  EXPECT_EQ(got, want) << "the environment is exactly the plan's";
  for (const auto& r : plan.rlimits) {
    EXPECT_EQ(rep["rlimits"][r.name][0].get<uint64_t>(), r.soft) << r.name;
    EXPECT_EQ(rep["rlimits"][r.name][1].get<uint64_t>(), r.hard) << r.name;
  }
  EXPECT_EQ(rep["status"]["NoNewPrivs"], "1");
  EXPECT_EQ(rep["status"]["Seccomp"], "2");
  EXPECT_EQ(rep["status"]["CapEff"], "0000000000000000");
  EXPECT_EQ(rep["status"]["CapBnd"], "0000000000000000");
  std::string uid = std::to_string(result->uid);
  EXPECT_EQ(Split(rep["uid_map"].get<std::string>(), ' ', true).size(), 3u);
  EXPECT_NE(rep["passwd"].get<std::string>().find(plan.user_name + ":x:" + uid + ":" + uid),
            std::string::npos);
  // Every planned mount, with its planned mode; nothing of the host's root left.
  std::map<std::string, std::string> mounts;  // mount point -> per-mount options
  for (const auto& line : Split(rep["mountinfo"].get<std::string>(), '\n', true)) {
    auto f = Split(line, ' ', true);
    if (f.size() > 5) mounts[f[4]] = f[5];
  }
  for (const auto& b : plan.binds) {
    ASSERT_TRUE(mounts.count(b.target)) << b.target << " is not mounted";
    EXPECT_EQ(StartsWith(mounts[b.target], "ro"), !b.writable) << b.target << " " << mounts[b.target];
    if (b.writable) {
      EXPECT_NE(mounts[b.target].find("nosuid"), std::string::npos) << b.target;
    }
  }
  for (const auto& m : plan.masked) EXPECT_TRUE(mounts.count(m)) << m << " is not masked";
  for (const auto& p : plan.protected_paths) {
    ASSERT_TRUE(mounts.count(p.path)) << p.path << " is not protected";
    EXPECT_TRUE(StartsWith(mounts[p.path], "ro")) << p.path;
  }
  for (const char* special :
       {"/", "/proc", "/tmp", "/dev", "/dev/pts", "/dev/shm", "/etc/passwd", "/etc/hostname"}) {
    EXPECT_TRUE(mounts.count(special)) << special;
  }
  EXPECT_TRUE(StartsWith(mounts["/"], "ro"));
  EXPECT_FALSE(mounts.count("/sys")) << "/sys is not part of the plan";
  EXPECT_FALSE(mounts.count("/run/docker.sock"));
}

TEST_F(LauncherTest, ThePrintedPlanIsTheRecordedPlanAndTheCgroupHoldsItsLimits) {
  std::map<std::string, std::string> env = {{"CLOUDCOOP_STATE_DIR", state}};
  std::string name = UniqueSandboxName("plan");
  std::vector<std::string> flags = {"sandbox", "run", "--name",   name,  "--net",  "none", "--workspace", ws,
                                    "--cpus",  "0.5", "--memory", "96M", "--pids", "48"};
  std::vector<std::string> with_plan = flags;
  with_plan.insert(with_plan.end(), {"--plan", "--json", "--", "sleep", "30"});
  CliResult printed = RunBinary(with_plan, env);
  ASSERT_EQ(printed.rc, 0) << printed.err;
  json printed_plan = json::parse(printed.out, nullptr, false);
  ASSERT_FALSE(printed_plan.is_discarded()) << printed.out;
  pid_t sup = fork();
  if (sup == 0) {
    setenv("CLOUDCOOP_STATE_DIR", state.c_str(), 1);
    std::vector<std::string> run = flags;
    run.insert(run.end(), {"--", "sleep", "30"});
    std::vector<char*> argv;
    std::string bin = BinaryPath();
    argv.push_back(bin.data());
    for (auto& a : run) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        auto info = FindSandbox(state, name);
        return info.ok() && info->record.phase == "running" && info->have_usage;
      },
      20));
  auto info = FindSandbox(state, name);
  json recorded = json::parse(info->record.plan_json, nullptr, false);
  EXPECT_EQ(recorded, printed_plan) << "--plan printed something other than what runs";
  EXPECT_DOUBLE_EQ(info->usage.limits.cpus, 0.5);
  EXPECT_EQ(info->usage.limits.memory_bytes, 96ULL << 20);
  EXPECT_EQ(info->usage.limits.pids, 48);
  EXPECT_TRUE(KillSandbox(info->record).ok());
  int status = 0;
  waitpid(sup, &status, 0);
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGKILL);
}

TEST_F(LauncherTest, ConcurrentSandboxesGetDistinctUids) {
  std::map<std::string, std::string> env = {{"CLOUDCOOP_STATE_DIR", state}};
  std::vector<pid_t> sups;
  std::vector<std::string> names = {UniqueSandboxName("c1"), UniqueSandboxName("c2"),
                                    UniqueSandboxName("c3")};
  for (const auto& name : names) {
    pid_t p = fork();
    if (p == 0) {
      setenv("CLOUDCOOP_STATE_DIR", state.c_str(), 1);
      execl(BinaryPath().c_str(), "cloudcoop", "sandbox", "run", "--name", name.c_str(), "--net", "none",
            "--", "sleep", "30", static_cast<char*>(nullptr));
      _exit(127);
    }
    sups.push_back(p);
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        auto list = ListSandboxes(state);
        return list.ok() && list->size() == 3 &&
               std::all_of(list->begin(), list->end(),
                           [](const SandboxInfo& s) { return s.record.phase == "running"; });
      },
      20));
  std::set<uint32_t> uids;
  auto running = ListSandboxes(state);
  ASSERT_TRUE(running.ok());
  for (const auto& s : *running) {
    uids.insert(s.record.uid);
    EXPECT_TRUE(KillSandbox(s.record).ok());
  }
  EXPECT_EQ(uids.size(), 3u) << "two running sandboxes shared a uid";
  for (pid_t p : sups) waitpid(p, nullptr, 0);
}

TEST_F(LauncherTest, SignalsSentToTheSupervisorReachTheCommand) {
  std::string name = UniqueSandboxName("sig");
  pid_t sup = fork();
  if (sup == 0) {
    setenv("CLOUDCOOP_STATE_DIR", state.c_str(), 1);
    execl(BinaryPath().c_str(), "cloudcoop", "sandbox", "run", "--name", name.c_str(), "--net", "none", "--",
          "sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.05; done", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        auto info = FindSandbox(state, name);
        return info.ok() && info->record.phase == "running";
      },
      20));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let sh install its trap
  ASSERT_EQ(kill(sup, SIGTERM), 0);
  int status = 0;
  waitpid(sup, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 42);
}

// The command keeps the caller's terminal (no new session): /dev/tty opens, stdin is a tty, and
// TIOCSTI on that very terminal is denied.
TEST_F(LauncherTest, TheCommandKeepsTheTerminalButCannotInjectIntoIt) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  std::string slave_name = ptsname(master);
  std::string script = "test -t 0 && echo stdin-is-tty; exec 3</dev/tty && echo devtty-ok; " + ProbeBinary() +
                       " --only tiocsti_terminal | grep -o '\"result\":\"[a-z-]*\",\"errno\":\"[A-Z]*\"'";
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int slave = open(slave_name.c_str(), O_RDWR);
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    setenv("CLOUDCOOP_STATE_DIR", state.c_str(), 1);
    execl(BinaryPath().c_str(), "cloudcoop", "sandbox", "run", "--net", "none", "--ro-bind",
          ProbeDir().c_str(), "--", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the last slave fd closes
    out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
  EXPECT_NE(out.find("stdin-is-tty"), std::string::npos) << out;
  EXPECT_NE(out.find("devtty-ok"), std::string::npos) << "the controlling terminal was lost (setsid?)\n"
                                                      << out;
  EXPECT_NE(out.find("\"result\":\"blocked\",\"errno\":\"EPERM\""), std::string::npos) << out;
}

TEST_F(LauncherTest, SandboxRunNeedsAnExplicitNetworkModeForHost) {
  CliResult r = RunBinary({"sandbox", "run", "--set", "agents.network=host", "--", "true"},
                          {{"CLOUDCOOP_STATE_DIR", state}});
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find("explicitly"), std::string::npos) << r.err;
  CliResult ok =
      RunBinary({"sandbox", "run", "--net", "host", "--", "true"}, {{"CLOUDCOOP_STATE_DIR", state}});
  EXPECT_EQ(ok.rc, 0) << ok.err;
}

TEST_F(LauncherTest, TheDefaultEgressModeFailsClosedOnAnUnpreparedHostWithAClearError) {
  ScratchNetns scratch;
  ASSERT_TRUE(scratch.ok());
  CliResult r = RunBinary({"sandbox", "run", "--", "true"}, {{"CLOUDCOOP_STATE_DIR", state}});
  EXPECT_EQ(r.rc, 125) << r.err;
  EXPECT_NE(r.err.find("network mode egress: this host is not prepared"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cloudcoop sandbox prepare-host"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--net none"), std::string::npos) << r.err;
  auto records = state::List(state);
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());
}

TEST_F(LauncherTest, AllowDegradedIsPrinted) {
  CliResult r =
      RunBinary({"sandbox", "run", "--net", "none", "--allow-degraded", "landlock", "--plan", "--", "true"},
                {{"CLOUDCOOP_STATE_DIR", state}});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("ALLOWED TO BE MISSING: landlock"), std::string::npos) << r.out;
  CliResult bad = RunBinary({"sandbox", "run", "--net", "none", "--allow-degraded", "seccomp", "--", "true"},
                            {{"CLOUDCOOP_STATE_DIR", state}});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("never optional"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace cloudcoop::sandbox
