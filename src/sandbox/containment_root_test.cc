// Containment, proven by trying to break out (needs root; label root). Each test starts real
// sandboxes through the cloudcoop binary, exactly as an operator or the agent service would.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/files.h"
#include "core/process.h"
#include "core/strings.h"
#include "sandbox/cgroup.h"
#include "sandbox/control.h"
#include "sandbox/ids.h"
#include "sandbox/plan.h"
#include "sandbox/posture.h"
#include "sandbox/state.h"
#include "testing/sandbox_harness.h"
#include "testing/test_util.h"

namespace cloudcoop::sandbox {
namespace {

using namespace ::cloudcoop::testing;  // NOLINT
using nlohmann::json;

constexpr const char* kSecret = "cc-test-secret-9f2b7c41e0";

// A cloudcoop process started in the background (a sandbox that keeps running while the test
// looks at it). Killed on destruction if still there.
class Background {
 public:
  Background(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
    pid_ = fork();
    if (pid_ == 0) {
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      std::vector<std::string> argv = {BinaryPath()};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
  }
  ~Background() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

bool WaitFor(const std::function<bool()>& cond, int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

class ContainmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "these tests need root";
    chmod(tmp.path().c_str(), 0755);
    state = tmp.Sub("state");
    ws = tmp.Sub("ws");
    ASSERT_EQ(mkdir(ws.c_str(), 0777), 0);
    chmod(ws.c_str(), 0777);
    tmp.Write("sibling/notes.txt", "another agent's work\n");
    tmp.Write("operator/.config/gcloud/credentials.db", "operator credentials\n");
    host_tmp_file = "/tmp/cloudcoop-host-decoy-" + std::to_string(getpid());
    ASSERT_TRUE(WriteFileAtomic(host_tmp_file, "host tmp\n").ok());
    env = {{"CLOUDCOOP_STATE_DIR", state}, {"CLOUDCOOP_TEST_SECRET", kSecret}};
  }
  void TearDown() override {
    unlink(host_tmp_file.c_str());
    (void)CollectStale(state);
  }

  CliResult Sandbox(const std::vector<std::string>& flags, const std::vector<std::string>& command) {
    std::vector<std::string> args = {"sandbox", "run"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back("--");
    args.insert(args.end(), command.begin(), command.end());
    return RunBinary(args, env);
  }

  std::vector<std::string> ProbeArgs(const std::string& mode, const std::string& suid, const TcpListener& tcp,
                                     const AbstractListener& abstract, const std::string& sibling_tcp) {
    std::vector<std::string> a = {ProbeBinary(), "--mode", mode};
    for (const auto& kv : std::vector<std::string>{
             "workspace=" + ws, "sibling=" + tmp.Sub("sibling"), "operator_home=" + tmp.Sub("operator"),
             "state_dir=" + state, "host_tmp_file=" + host_tmp_file, "suid=" + suid,
             "secret=" + std::string(kSecret), "host_tcp=" + tcp.HostPort(), "abstract=" + abstract.name(),
             "sibling_tcp=" + sibling_tcp, "protected=" + ws + "/.git/hooks," + ws + "/.mcp.json"}) {
      a.push_back("--arg");
      a.push_back(kv);
    }
    for (const auto& h : HostNamespaceArgs()) a.push_back(h);
    return a;
  }

  // The full probe suite in one network mode, with a sibling sandbox listening on its loopback.
  ProbeRun RunSuite(const std::string& mode) {
    (void)MakeDirs(ws + "/.git/hooks", 0755);
    std::string suid = MakeSetuidProbe(tmp);
    TcpListener tcp;
    AbstractListener abstract;
    int sibling_port = 20000 + (getpid() % 20000);
    std::string sibling_name = UniqueSandboxName("sib");
    Background sibling({"sandbox", "run", "--name", sibling_name, "--net", mode == "host" ? "none" : mode,
                        "--ro-bind", ProbeDir(), "--", ProbeBinary(), "listen", std::to_string(sibling_port)},
                       env);
    EXPECT_TRUE(WaitFor([&] { return FindSandbox(state, sibling_name).ok(); }, 20))
        << "sibling did not start";
    // The secret rides in the supervisor's own command line: it must not show in /proc/1/cmdline.
    std::vector<std::string> flags = {"--name",      UniqueSandboxName("probe"),
                                      "--net",       mode,
                                      "--workspace", ws,
                                      "--exit-file", tmp.Sub(std::string(kSecret) + ".json"),
                                      "--ro-bind",   ProbeDir(),
                                      "--ro-bind",   Dirname(suid),
                                      "--protect",   ".git/hooks/",
                                      "--protect",   ".mcp.json",
                                      "--memory",    "512M",
                                      "--pids",      "128",
                                      "--cpus",      "1"};
    CliResult r =
        Sandbox(flags, ProbeArgs(mode, suid, tcp, abstract, "127.0.0.1:" + std::to_string(sibling_port)));
    return ParseProbeOutput(r.out, r.rc, r.err);
  }

  TempDir tmp;
  std::string state, ws, host_tmp_file;
  std::map<std::string, std::string> env;
};

void ExpectResult(const ProbeRun& run, const std::string& probe, const std::string& result,
                  const std::string& err = "") {
  auto it = run.by_name.find(probe);
  ASSERT_NE(it, run.by_name.end()) << "probe " << probe << " did not run";
  EXPECT_EQ(it->second.result, result) << probe << ": " << it->second.detail;
  if (!err.empty()) {
    EXPECT_EQ(it->second.err, err) << probe << ": " << it->second.detail;
  }
}

TEST_F(ContainmentTest, NoBreachInModeNone) {
  ProbeRun run = RunSuite("none");
  ASSERT_EQ(run.rc, 0) << run.Problems() << run.raw;
  EXPECT_EQ(run.breaches, 0) << run.Problems();
  EXPECT_EQ(run.broken, 0) << run.Problems();
  int tried = 0;
  for (const auto& l : run.lines) tried += l.result != "skipped";
  EXPECT_GE(tried, 30) << "at least 30 probes must actually run";
  ExpectResult(run, "nnp_status", "blocked");
  ExpectResult(run, "setuid_exec", "blocked");
  ExpectResult(run, "caps_effective", "blocked");
  ExpectResult(run, "caps_bounding", "blocked");
  ExpectResult(run, "seccomp_all_threads", "blocked");
  ExpectResult(run, "environ_clean", "blocked");
  ExpectResult(run, "init_cmdline_clean", "blocked");
  ExpectResult(run, "fds_clean", "blocked");
  ExpectResult(run, "pid1_environ", "blocked", "EACCES");
  ExpectResult(run, "ptrace_sibling", "blocked", "EPERM");
  ExpectResult(run, "process_vm_readv", "blocked", "EPERM");
  ExpectResult(run, "sibling_workspace", "blocked", "ENOENT");
  ExpectResult(run, "operator_credentials", "blocked", "ENOENT");
  ExpectResult(run, "state_dir_hidden", "blocked", "ENOENT");
  ExpectResult(run, "host_tmp_private", "blocked", "ENOENT");
  ExpectResult(run, "etc_shadow", "blocked", "EACCES");
  ExpectResult(run, "write_usr", "blocked", "EROFS");
  ExpectResult(run, "write_root", "blocked", "EROFS");
  ExpectResult(run, "container_sockets", "blocked", "ENOENT");
  ExpectResult(run, "mount", "blocked", "EPERM");
  ExpectResult(run, "new_mount_api", "blocked", "EPERM");
  ExpectResult(run, "keyctl", "blocked", "EPERM");
  ExpectResult(run, "unshare_user", "blocked", "EPERM");
  ExpectResult(run, "setns", "blocked", "EPERM");
  ExpectResult(run, "clone3", "blocked", "ENOSYS");
  ExpectResult(run, "clone_newuser", "blocked", "EPERM");
  ExpectResult(run, "raw_socket", "blocked", "EPERM");
  ExpectResult(run, "packet_socket", "blocked", "EPERM");
  ExpectResult(run, "io_uring", "blocked", "EPERM");
  ExpectResult(run, "bpf", "blocked", "EPERM");
  ExpectResult(run, "userfaultfd", "blocked", "EPERM");
  ExpectResult(run, "tiocsti", "blocked", "EPERM");
  ExpectResult(run, "tiocsti_high_bits", "blocked", "EPERM");
  ExpectResult(run, "tioclinux", "blocked", "EPERM");
  ExpectResult(run, "x32_abi", "blocked");
  ExpectResult(run, "hardlink_out", "blocked", "EXDEV");
  ExpectResult(run, "device_nodes", "blocked");
  ExpectResult(run, "protected_paths", "blocked");
  ExpectResult(run, "namespaces_differ", "blocked");
  ExpectResult(run, "net_namespace", "blocked");
  ExpectResult(run, "host_loopback", "blocked", "ECONNREFUSED");
  ExpectResult(run, "sibling_listener", "blocked", "ECONNREFUSED");
  ExpectResult(run, "abstract_unix", "blocked", "ECONNREFUSED");
  ExpectResult(run, "metadata_ip", "blocked", "ENETUNREACH");
  ExpectResult(run, "metadata_name", "blocked");
  ExpectResult(run, "workspace_writable", "ok");
}

TEST_F(ContainmentTest, NoBreachInModeHost) {
  ProbeRun run = RunSuite("host");
  ASSERT_EQ(run.rc, 0) << run.Problems() << run.raw;
  EXPECT_EQ(run.breaches, 0) << run.Problems();
  ExpectResult(run, "net_namespace", "allowed-by-mode");
  ExpectResult(run, "host_loopback", "allowed-by-mode");
  // The host's abstract socket namespace is shared in host mode: Landlock's scope denies it.
  ExpectResult(run, "abstract_unix", "blocked", "EPERM");
  ExpectResult(run, "metadata_ip", "skipped");  // would leave the machine
  ExpectResult(run, "tiocsti", "blocked", "EPERM");
  ExpectResult(run, "ptrace_sibling", "blocked", "EPERM");
  ExpectResult(run, "namespaces_differ", "blocked");
}

TEST_F(ContainmentTest, TheProbeFindsBreachesInAWeakSandbox) {
  // An unprivileged user namespace with full capabilities in it, no seccomp, no Landlock, no
  // no_new_privs: harmless to the host, and the probe must flag it.
  CliResult r = RunBinary({"--help"}, {});  // make sure the binary works before blaming the probe
  ASSERT_EQ(r.rc, 0);
  ProcessSpec spec;
  spec.argv = {
      "unshare", "--user",       "--mount",     "--pid",  "--fork", "--net", "--uts",
      "--ipc",   "--mount-proc", ProbeBinary(), "--mode", "none",   "--arg", "disposable_namespace=1"};
  spec.timeout = std::chrono::seconds(60);
  auto result = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ProbeRun run = ParseProbeOutput(result->out, result->exit_code, result->err);
  EXPECT_EQ(run.rc, 1) << "exit code 1 means a breach";
  EXPECT_GE(run.breaches, 20) << run.raw;
  ExpectResult(run, "nnp_status", "reachable");
  ExpectResult(run, "caps_bounding", "reachable");
  ExpectResult(run, "clone3", "reachable", "EFAULT");
  ExpectResult(run, "mount", "reachable", "EFAULT");
}

TEST_F(ContainmentTest, TheProbeRefusesToRunOutsideASandbox) {
  ProcessSpec spec;
  spec.argv = {ProbeBinary(), "--mode", "none"};
  auto result = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_NE(result->err.find("refusing"), std::string::npos);
}

json ReadJson(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? json::parse(*text, nullptr, false) : json();
}

TEST_F(ContainmentTest, ForkBombStopsAtThePidsLimit) {
  std::string exit_file = tmp.Sub("exit.json");
  CliResult r = Sandbox({"--name", UniqueSandboxName("fork"), "--net", "none", "--pids", "32", "--ro-bind",
                         ProbeDir(), "--exit-file", exit_file},
                        {ProbeBinary(), "forkbomb", "500"});
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  json out = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(out.is_discarded()) << r.out;
  EXPECT_EQ(out["errno"], "EAGAIN");
  EXPECT_LT(out["forked"].get<int>(), 32);
  EXPECT_GT(out["forked"].get<int>(), 5);
  json exit = ReadJson(exit_file);
  EXPECT_GT(exit["usage"]["pids_max_hits"].get<int>(), 0) << exit.dump();
}

TEST_F(ContainmentTest, MemoryBombIsKilledInsideItsOwnCgroupOnly) {
  std::string sibling = UniqueSandboxName("calm");
  Background calm({"sandbox", "run", "--name", sibling, "--net", "none", "--", "sleep", "60"}, env);
  ASSERT_TRUE(WaitFor([&] { return FindSandbox(state, sibling).ok(); }, 20));
  std::string exit_file = tmp.Sub("exit.json");
  CliResult r = Sandbox({"--name", UniqueSandboxName("mem"), "--net", "none", "--memory", "64M", "--ro-bind",
                         ProbeDir(), "--exit-file", exit_file},
                        {ProbeBinary(), "membomb", "1024"});
  EXPECT_EQ(r.rc, 137) << r.out << r.err;
  json exit = ReadJson(exit_file);
  EXPECT_EQ(exit["signal"], SIGKILL) << exit.dump();
  EXPECT_GE(exit["usage"]["oom_kills"].get<int>(), 1) << exit.dump();
  auto calm_info = FindSandbox(state, sibling);
  ASSERT_TRUE(calm_info.ok());
  EXPECT_TRUE(calm_info->alive) << "the sibling sandbox survived";
  ASSERT_TRUE(calm_info->have_usage);
  EXPECT_EQ(calm_info->usage.oom_kills, 0u);
}

TEST_F(ContainmentTest, CpuHogIsThrottledToItsQuota) {
  std::string exit_file = tmp.Sub("exit.json");
  CliResult r = Sandbox({"--name", UniqueSandboxName("cpu"), "--net", "none", "--cpus", "0.2", "--ro-bind",
                         ProbeDir(), "--exit-file", exit_file},
                        {ProbeBinary(), "cpuhog", "2", "2"});
  ASSERT_EQ(r.rc, 0) << r.err;
  json out = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(out.is_discarded()) << r.out;
  // Two spinning threads for 2 s would use 4 s of CPU unthrottled; 0.2 CPU allows about 0.4 s.
  EXPECT_LT(out["cpu_s"].get<double>(), 1.5) << r.out;
  json exit = ReadJson(exit_file);
  EXPECT_GT(exit["usage"]["throttled_periods"].get<int>(), 0) << exit.dump();
}

TEST_F(ContainmentTest, KillingTheSupervisorLeavesNothing) {
  std::string name = UniqueSandboxName("orphan");
  uint32_t uid = ReserveUniqueUid(state, name);
  Background sup({"sandbox", "run", "--name", name, "--net", "none", "--", "sh", "-c",
                  "sleep 300 & (setsid sleep 301 &); sh -c 'sleep 302 &'; exec sleep 303"},
                 env);
  std::vector<pid_t> pids;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto info = FindSandbox(state, name);
        if (!info.ok() || info->record.phase != "running") return false;
        EXPECT_EQ(info->record.uid, uid);
        auto group = cgroup::OpenFromPaths(info->record.cgroup_version, info->record.cgroup_paths);
        auto procs = group->Procs();
        if (!procs.ok() || procs->size() < 5) return false;  // init + 4 sleepers
        pids = *procs;
        return true;
      },
      20))
      << "the sandbox did not start its processes";
  ASSERT_EQ(kill(sup.pid(), SIGKILL), 0);
  sup.Wait();
  EXPECT_TRUE(WaitFor(
      [&] {
        for (pid_t p : pids) {
          if (!GoneOrZombie(p)) return false;
        }
        return true;
      },
      30))
      << "a sandbox process outlived its supervisor";
  EXPECT_FALSE(AnyProcessWithUid(uid));
  auto stale = FindStale(state);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->records.size(), 1u) << "the killed supervisor left its record";
  CliResult gc = RunBinary({"sandbox", "gc"}, env);
  EXPECT_EQ(gc.rc, 0) << gc.err;
  EXPECT_TRUE(FindStale(state)->records.empty());
}

TEST_F(ContainmentTest, ProcessesLeftBehindDieWithTheCommand) {
  std::string exit_file = tmp.Sub("exit.json");
  std::string name = UniqueSandboxName("bg");
  uint32_t uid = ReserveUniqueUid(state, name);
  CliResult r = Sandbox({"--name", name, "--net", "none", "--exit-file", exit_file},
                        {"sh", "-c", "sleep 300 & (setsid sleep 300 &); exit 3"});
  EXPECT_EQ(r.rc, 3);
  json exit = ReadJson(exit_file);
  EXPECT_EQ(exit["uid"].get<uint32_t>(), uid) << "the reserved uid is used";
  EXPECT_FALSE(AnyProcessWithUid(uid)) << "a background process survived";
}

TEST_F(ContainmentTest, ProtectedPathsStayReadOnlyAndPlaceholdersGoAway) {
  std::string name = UniqueSandboxName("prot");
  // A range of this process's own: the host-wide uid claims refuse a uid another test's sandbox runs.
  uint32_t uid = ReserveUniqueUid(state, name);
  tmp.Write("ws/.git/hooks/pre-commit", "#!/bin/sh\necho original hook\n");
  tmp.Write("ws/.git/config", "[core]\n\tbare = false\n");
  tmp.Write("ws/README", "hello\n");
  ASSERT_EQ(system(("chown -R " + std::to_string(uid) + ":" + std::to_string(uid) + " " + ws).c_str()), 0);
  std::string hook_before = *ReadFile(ws + "/.git/hooks/pre-commit");
  std::string script =
      "cd " + ws +
      "\n"
      "try() { if sh -c \"$2\" 2>/dev/null; then echo \"BREACH-$1\"; else echo \"ok-$1\"; fi; }\n"
      "try config 'echo x >> .git/config'\n"
      "try hook-new 'touch .git/hooks/post-checkout'\n"
      "try hook-edit 'echo evil >> .git/hooks/pre-commit'\n"
      "try mcp 'echo {} > .mcp.json'\n"
      "try claude 'echo {} > .claude/settings.json'\n"
      "try vscode 'touch .vscode/tasks.json'\n"
      "try bashrc 'echo evil >> .bashrc'\n"
      "try rename-git 'mv .git .git-old'\n"
      "try rename-hooks 'mv .git/hooks .git/hooks-old'\n"
      "try rm-hooks 'rm -rf .git/hooks'\n"
      "try rm-mcp 'rm -f .mcp.json'\n"
      "try link 'ln .git/config cfg-link'\n"
      "try symlink-swap 'mv .claude .claude-old'\n"
      "if echo '{}' > .claude/settings.local.json; then echo ok-local; else echo BROKEN-local; fi\n"
      "if echo data > notes.txt; then echo ok-write; else echo BROKEN-write; fi\n";
  CliResult r = Sandbox({"--name", name, "--net", "none", "--workspace", ws, "--protect-defaults"},
                        {"sh", "-c", script});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.find("BREACH"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("BROKEN"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ok-rename-git"), std::string::npos) << r.out;
  EXPECT_EQ(*ReadFile(ws + "/.git/hooks/pre-commit"), hook_before) << "the hook changed on the host";
  EXPECT_EQ(*ReadFile(ws + "/.git/config"), "[core]\n\tbare = false\n");
  EXPECT_FALSE(PathExists(ws + "/.git/hooks/post-checkout"));
  EXPECT_FALSE(PathExists(ws + "/.mcp.json")) << "the empty placeholder was removed";
  EXPECT_FALSE(PathExists(ws + "/.vscode"));
  EXPECT_FALSE(PathExists(ws + "/.bashrc"));
  EXPECT_FALSE(PathExists(ws + "/.claude/settings.json"));
  EXPECT_TRUE(PathExists(ws + "/.claude/settings.local.json")) << "the agent's own file stays";
  EXPECT_EQ(*ReadFile(ws + "/notes.txt"), "data\n");
}

TEST_F(ContainmentTest, APlantedSymlinkAtAProtectedPathStopsTheStart) {
  ASSERT_EQ(symlink("/etc", (ws + "/.vscode").c_str()), 0);
  CliResult r = Sandbox(
      {"--name", UniqueSandboxName("sym"), "--net", "none", "--workspace", ws, "--protect", ".vscode/"},
      {"true"});
  EXPECT_EQ(r.rc, 125) << r.out;
  EXPECT_NE(r.err.find("sandbox layer mountns"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("symbolic link"), std::string::npos) << r.err;
}

TEST_F(ContainmentTest, PostureAuditPassesForARealSandbox) {
  std::string name = UniqueSandboxName("audit");
  Background sup(
      {"sandbox", "run", "--name", name, "--net", "none", "--", "sh", "-c", "sleep 60 & exec sleep 61"}, env);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto info = FindSandbox(state, name);
        return info.ok() && info->record.phase == "running" && info->have_usage && info->usage.pids >= 3;
      },
      20));
  auto info = FindSandbox(state, name);
  auto report = AuditSandbox(info->record);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->problems.empty()) << Join(report->problems, "\n");
  EXPECT_GE(report->processes, 3);
  CliResult check = RunBinary({"check", "--only", "sandbox.running.posture", "--json"}, env);
  EXPECT_EQ(check.rc, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("\"PASS\""), std::string::npos) << check.out;
}

TEST_F(ContainmentTest, PostureAuditFailsForAnUnconfinedProcessInTheGroup) {
  // A record and cgroup that claim to be a sandbox, holding a plain (unconfined) process.
  std::string name = UniqueSandboxName("fake");
  auto layout = cgroup::DetectLayout("");
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  auto group = cgroup::Open(*layout, "cloudcoop", name);
  ASSERT_TRUE(group->PrepareInParent({1, 64ULL << 20, 64}).ok());
  pid_t child = fork();
  if (child == 0) {
    execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_TRUE(group->JoinFromParent(child).ok());
  state::RunningRecord r;
  r.name = name;
  r.phase = "running";
  r.supervisor_pid = getpid();
  r.supervisor_start_ticks = state::ProcessStartTicks(getpid());
  r.uid = r.gid = 1000000123;
  r.net = "none";
  r.cgroup_version = group->version();
  r.cgroup_paths = group->Paths();
  SandboxPlan plan;
  plan.name = name;
  plan.cpus = 1;
  plan.memory_bytes = 64ULL << 20;
  plan.pids = 64;
  r.plan_json = PlanToJson(plan);
  auto report = AuditSandbox(r);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::string all = Join(report->problems, "\n");
  EXPECT_NE(all.find("NoNewPrivs 0"), std::string::npos) << all;
  EXPECT_NE(all.find("Seccomp 0"), std::string::npos) << all;
  EXPECT_NE(all.find("CapEff"), std::string::npos) << all;
  EXPECT_NE(all.find("Uid 0"), std::string::npos) << all;
  EXPECT_NE(all.find("mnt namespace is the host's"), std::string::npos) << all;
  ASSERT_TRUE(group->CleanupInParent().ok());
  waitpid(child, nullptr, 0);
}

}  // namespace
}  // namespace cloudcoop::sandbox
