// The agent commands end to end, as a user runs them: the real cloudcoop binary, real tmux on the
// test's own state directory (so its own socket), real uids, real git. Every test gets its own
// state directory and agent uid range, and ends with `cloudcoop panic` on that state directory,
// which stops its agents and its tmux server even when the test failed.
//
// Agents run in their real sandbox (src/sandbox through node::NamespaceSandbox) with --net none
// (this build has no egress mode); the explicit --unsandboxed escape hatch has its own tests.
// Besides the agent processes, TearDown and ExpectNoTrace check that no sandbox record, cgroup or
// uid reservation of this test's agents is left.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/files.h"
#include "core/process.h"
#include "core/strings.h"
#include "node/procs.h"
#include "node/workspace.h"
#include "testing/test_util.h"

namespace cloudcoop::node {
namespace {

using ::cloudcoop::testing::CliResult;
using ::cloudcoop::testing::RunBinary;
using ::cloudcoop::testing::TempDir;
using nlohmann::json;

// Added to every `agent add` that names no network mode and is not --unsandboxed.
std::vector<std::string> SandboxArgs() { return {"--net", "none"}; }

// The cgroup directories of sandboxes whose name ends in "-UID" with UID in [base, base+count).
std::vector<std::string> AgentCgroups(uint32_t base, uint32_t count) {
  std::vector<std::string> out;
  auto ctrls = ListDir("/sys/fs/cgroup");
  if (!ctrls.ok()) return out;
  for (const auto& c : *ctrls) {
    std::string parent = "/sys/fs/cgroup/" + c + "/cloudcoop";
    auto groups = ListDir(parent);
    if (!groups.ok()) continue;
    for (const auto& g : *groups) {
      size_t dash = g.rfind('-');
      if (dash == std::string::npos) continue;
      auto uid = ParseInt64(g.substr(dash + 1));
      if (uid && *uid >= base && *uid < int64_t{base} + count) out.push_back(parent + "/" + g);
    }
  }
  return out;
}

class AgentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "the agent host tests need root (per-agent uids, tmux as root)";
    ASSERT_EQ(chmod(tmp_.path().c_str(), 0711), 0);
    state_ = tmp_.Sub("s");
    base_ = 50000000u + static_cast<uint32_t>(getpid() % 2000000) * 1000u;  // below 2^31
    env_ = {{"CLOUDCOOP_STATE_DIR", state_},
            {"CLOUDCOOP_AGENT_UID_BASE", std::to_string(base_)},
            {"CLOUDCOOP_AGENT_UID_COUNT", "1000"},
            {"HOME", tmp_.path()},
            {"XDG_CONFIG_HOME", tmp_.Sub("xdg")}};
    probe_ = ::cloudcoop::testing::SourceDir() + "/testing/agent_probe.py";
  }
  void TearDown() override {
    if (PathExists(state_)) Cc({"panic", "--yes", "--reason", "test teardown"});
    EXPECT_TRUE(ScanProcesses(InRange()).empty()) << "agent processes survived the test";
    // The supervisors remove their sandboxes' cgroups as they exit (after the panic: bounded wait).
    std::vector<std::string> left;
    for (int i = 0; i < 250; ++i) {
      left = AgentCgroups(base_, 1000);
      if (left.empty()) break;
      usleep(20000);
    }
    EXPECT_TRUE(left.empty()) << "cgroups survived the test: " << Join(left, " ");
  }

  std::function<bool(uint32_t)> InRange() const {
    uint32_t b = base_;
    return [b](uint32_t u) { return u >= b && u < b + 1000; };
  }
  CliResult Cc(const std::vector<std::string>& args, std::map<std::string, std::string> extra = {}) {
    auto env = env_;
    for (auto& [k, v] : extra) env[k] = v;
    return RunBinary(args, env);
  }
  CliResult Add(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"agent", "add", name};
    bool chosen = std::find(extra.begin(), extra.end(), "--net") != extra.end() ||
                  std::find(extra.begin(), extra.end(), "--unsandboxed") != extra.end();
    if (!chosen) {
      for (auto& a : SandboxArgs()) args.push_back(a);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return Cc(args);
  }
  void AddOk(const std::string& name, std::vector<std::string> extra = {}) {
    auto r = Add(name, extra);
    ASSERT_EQ(r.rc, 0) << r.err << r.out;
  }
  std::string Peek(const std::string& name, int lines = 200) {
    return Cc({"agent", "peek", name, "-n", std::to_string(lines)}).out;
  }
  // Polls the pane (bounded: 20 s) until `needle` shows up. The typed command line shows too, and a
  // long one wraps (the prompt holds the workspace path), so a wrapped line can start with any word
  // of it: wait for output the shell computes ("echo done-$((6*7))", then "\ndone-42"), never for
  // text the command line contains.
  bool WaitFor(const std::string& name, const std::string& needle) {
    for (int i = 0; i < 400; ++i) {
      if (Peek(name).find(needle) != std::string::npos) return true;
      usleep(50000);
    }
    return false;
  }
  void Send(const std::string& name, const std::string& text) {
    auto r = Cc({"agent", "send", name, "--", text});
    ASSERT_EQ(r.rc, 0) << r.err;
  }
  json List() {
    auto r = Cc({"agent", "list", "--json"});
    EXPECT_EQ(r.rc, 0) << r.err;
    json j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json::array() : j;
  }
  json Agent(const std::string& name) {
    for (auto& a : List()) {
      if (a["name"] == name) return a;
    }
    return json();
  }
  uint32_t Uid(const std::string& name) { return Agent(name).value("uid", 0u); }
  std::vector<ProcInfo> Procs(uint32_t uid) {
    return ScanProcesses([uid](uint32_t u) { return u == uid; });
  }
  // Copies the probe into the agent's workspace (owned by the agent) and returns its path there.
  std::string InstallProbe(const std::string& name) {
    std::string ws = Agent(name).value("workspace", "");
    std::string dst = ws + "/.probe.py";
    auto text = ReadFile(probe_);
    EXPECT_TRUE(text.ok());
    EXPECT_TRUE(WriteFileAtomic(dst, *text, 0750).ok());
    uint32_t uid = Uid(name);
    EXPECT_EQ(chown(dst.c_str(), uid, uid), 0);
    return dst;
  }
  // Runs a probe inside the agent's pane and returns its result word.
  std::string Probe(const std::string& name, const std::string& probe, const std::string& op, const std::string& label,
                    std::vector<std::string> args) {
    std::string cmd = "python3 " + probe + " " + op + " " + label;
    for (auto& a : args) cmd += " " + ShellQuoteForDisplay(a);
    Send(name, cmd);
    std::string needle = "PROBE " + label + " ";
    for (int i = 0; i < 400; ++i) {
      std::string screen = Peek(name, 400);
      size_t at = screen.rfind(needle);
      if (at != std::string::npos) {
        size_t end = screen.find('\n', at);
        return std::string(Trim(screen.substr(at + needle.size(), end - at - needle.size())));
      }
      usleep(50000);
    }
    return "(no answer)";
  }
  // What `agent add` may leave behind after a failure: nothing but the state directory skeleton.
  void ExpectNoTrace(const std::string& what) {
    for (const std::string dir : {"agents", "homes", "workspaces", "handoff"}) {
      auto entries = ListDir(state_ + "/" + dir);
      if (entries.ok()) {
        EXPECT_TRUE(entries->empty()) << what << ": " << dir << " has " << Join(*entries, ",");
      }
    }
    EXPECT_TRUE(List().empty()) << what;
    EXPECT_TRUE(ScanProcesses(InRange()).empty()) << what;
    // Nor anything of a sandbox: running record, uid reservation or claim, cgroup.
    for (const std::string dir : {"sandbox/running", "sandbox/owners", "sandbox/uids"}) {
      auto entries = ListDir(state_ + "/" + dir);
      if (entries.ok()) {
        EXPECT_TRUE(entries->empty()) << what << ": " << dir << " has " << Join(*entries, ",");
      }
    }
    auto cgroups = AgentCgroups(base_, 1000);
    EXPECT_TRUE(cgroups.empty()) << what << ": cgroups left: " << Join(cgroups, " ");
    ProcessSpec spec;
    spec.argv = {"tmux", "-S", state_ + "/run/tmux.sock", "list-sessions"};
    auto ls = DefaultProcessRunner().Run(spec);
    if (ls.ok()) {
      EXPECT_TRUE(Trim(ls->out).empty()) << what << ": tmux sessions left: " << ls->out;
    }
  }

  TempDir tmp_;
  std::string state_;
  uint32_t base_ = 0;
  std::map<std::string, std::string> env_;
  std::string probe_;
};

TEST_F(AgentsTest, AddListSendPeekKillRestartRm) {
  auto add = Add("alpha", {"--json"});
  ASSERT_EQ(add.rc, 0) << add.err;
  json a = json::parse(add.out);
  EXPECT_EQ(a["name"], "alpha");
  EXPECT_EQ(a["profile"], "shell");
  EXPECT_EQ(a["argv"], json::array({"bash", "-l"}));
  uint32_t uid = a["uid"];
  EXPECT_GE(uid, base_);
  std::string ws = a["workspace"];
  EXPECT_EQ(ws, state_ + "/workspaces/alpha");
  struct stat st;
  ASSERT_EQ(stat(ws.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid);
  EXPECT_EQ(st.st_mode & 07777, 02750);

  json row = Agent("alpha");
  EXPECT_EQ(row["state"], "running");
  EXPECT_EQ(row["workspace"], ws);
  EXPECT_GE(row["processes"].get<int>(), 1);

  Send("alpha", "echo marker-$((6*7)) && id -u && pwd");
  ASSERT_TRUE(WaitFor("alpha", "\nmarker-42")) << Peek("alpha");
  ASSERT_TRUE(WaitFor("alpha", "\n" + ws + "\n")) << Peek("alpha");  // pwd: the last of the three
  std::string screen = Peek("alpha");
  EXPECT_NE(screen.find(std::to_string(uid)), std::string::npos) << screen;
  EXPECT_NE(screen.find("\n" + ws + "\n"), std::string::npos) << screen;
  // The last output line in the table.
  Send("alpha", "echo the-last-$((6*7))");
  ASSERT_TRUE(WaitFor("alpha", "\nthe-last-42"));
  usleep(200000);
  auto table = Cc({"agent", "list"});
  EXPECT_NE(table.out.find("alpha"), std::string::npos);
  EXPECT_NE(table.out.find("running"), std::string::npos) << table.out;

  // Kill: SIGTERM, then everything (a shell ignores SIGTERM, a background job too).
  Send("alpha", "sleep 1000 & (trap '' TERM; setsid sleep 999 &) ; echo started-bg-$((6*7))");
  ASSERT_TRUE(WaitFor("alpha", "\nstarted-bg-42"));
  EXPECT_GE(Procs(uid).size(), 3u);
  auto kill = Cc({"agent", "kill", "alpha", "--grace", "0.5", "--json"});
  ASSERT_EQ(kill.rc, 0) << kill.err;
  json k = json::parse(kill.out);
  EXPECT_TRUE(k[0]["was_running"]);
  EXPECT_GE(k[0]["killed"].get<int>(), 1);
  EXPECT_TRUE(Procs(uid).empty());
  row = Agent("alpha");
  EXPECT_EQ(row["state"], "killed");
  EXPECT_EQ(row["killed_by"], "kill");
  ASSERT_TRUE(WaitFor("alpha", "agent alpha ended"));

  // Restart: same workspace, same uid, the resume command, a new generation.
  ASSERT_TRUE(WriteFileAtomic(ws + "/kept.txt", "still here\n", 0644).ok());
  auto restart = Cc({"agent", "restart", "alpha", "--json"});
  ASSERT_EQ(restart.rc, 0) << restart.err;
  EXPECT_EQ(json::parse(restart.out)["generation"], 2);
  row = Agent("alpha");
  EXPECT_EQ(row["state"], "running");
  EXPECT_EQ(row["uid"], uid);
  Send("alpha", "cat kept.txt");
  ASSERT_TRUE(WaitFor("alpha", "still here"));

  // rm keeps the workspace; the record, session, home and processes go.
  auto rm = Cc({"agent", "rm", "alpha", "--grace", "0"});
  ASSERT_EQ(rm.rc, 0) << rm.err;
  EXPECT_NE(rm.out.find("kept its workspace " + ws), std::string::npos) << rm.out;
  EXPECT_TRUE(List().empty());
  EXPECT_TRUE(PathExists(ws + "/kept.txt"));
  EXPECT_FALSE(PathExists(state_ + "/homes/alpha"));
  EXPECT_TRUE(Procs(uid).empty());
  EXPECT_EQ(Cc({"agent", "peek", "alpha"}).rc, 1);
  // The same name cannot silently take over the old workspace...
  auto again = Add("alpha");
  EXPECT_EQ(again.rc, 1);
  EXPECT_NE(again.err.find("the workspace " + ws + " of an earlier agent named \"alpha\" is still there"),
            std::string::npos)
      << again.err;
  // ...but it may be handed over explicitly, and --purge removes what cloudcoop made.
  AddOk("beta");
  std::string ws2 = Agent("beta")["workspace"];
  auto purge = Cc({"agent", "rm", "beta", "--purge", "--grace", "0"});
  ASSERT_EQ(purge.rc, 0) << purge.err;
  EXPECT_FALSE(PathExists(ws2));
  // The audit log has every action (start, outcome with details, end) and the agent's lifecycle,
  // and its chain verifies.
  auto log = Cc({"audit", "--json", "--agent", "alpha"});
  ASSERT_EQ(log.rc, 0) << log.err;
  for (const char* action : {"agent add", "agent kill", "agent restart", "agent rm", "agent.kill"}) {
    EXPECT_NE(log.out.find(std::string("\"action\":\"") + action + "\""), std::string::npos) << action;
  }
  EXPECT_NE(log.out.find("\"event\":\"start\""), std::string::npos);
  EXPECT_NE(log.out.find("\"event\":\"exit\""), std::string::npos);
  // Every program the agent ran, captured by its sandbox's supervisor, under the agent's name.
  auto execs = Cc({"audit", "--json", "--agent", "alpha", "--type", "exec"});
  ASSERT_EQ(execs.rc, 0) << execs.err;
  EXPECT_NE(execs.out.find("\"argv\":[\"id\",\"-u\"]"), std::string::npos) << execs.out;
  EXPECT_NE(execs.out.find("\"argv\":[\"sleep\",\"1000\"]"), std::string::npos) << execs.out;
  EXPECT_EQ(Cc({"audit", "verify"}).rc, 0);
}

TEST_F(AgentsTest, ExitStatusIsRecorded) {
  AddOk("quitter", {"--cmd", "bash --norc --noprofile -c 'echo bye; exit 7'"});
  json row;
  for (int i = 0; i < 200; ++i) {
    row = Agent("quitter");
    if (row["state"] == "exited") break;
    usleep(50000);
  }
  EXPECT_EQ(row["state"], "exited");
  EXPECT_EQ(row["exit_code"], 7);
  EXPECT_EQ(row["detail"], "status 7");
  EXPECT_TRUE(WaitFor("quitter", "agent quitter ended (status 7)"));
}

TEST_F(AgentsTest, SendTypesTextLiterally) {
  AddOk("typist", {"--cmd", "cat"});
  // tmux would take a trailing ';' as a command separator and key names as keys; -l and the
  // escaping keep all of it literal.
  for (const std::string text : {"ends-with;", "ends-with\\;", "Enter", "C-c", "-starts-with-dash", "a ;b; c;"}) {
    Send("typist", text);
    ASSERT_TRUE(WaitFor("typist", text + "\n" + text)) << text << "\n" << Peek("typist");
  }
  EXPECT_EQ(Agent("typist")["state"], "running");  // C-c was typed, not pressed
}

TEST_F(AgentsTest, AgentsCannotReadOrSignalEachOther) {
  AddOk("left");
  AddOk("right");
  std::string right_ws = Agent("right")["workspace"];
  ASSERT_TRUE(WriteFileAtomic(right_ws + "/secret.txt", "right's secret\n", 0640).ok());
  ASSERT_EQ(chown((right_ws + "/secret.txt").c_str(), Uid("right"), Uid("right")), 0);
  std::string probe = InstallProbe("left");
  int right_pid = 0;
  for (const auto& p : Procs(Uid("right"))) right_pid = p.pid;
  ASSERT_GT(right_pid, 0);
  // Without the sandbox the sibling's files exist but are not readable (EACCES); inside it they
  // are not even visible (ENOENT). Either way: not ok.
  std::string read = Probe("left", probe, "read", "sibling-file", {right_ws + "/secret.txt"});
  EXPECT_TRUE(read == "EACCES" || read == "ENOENT") << read;
  std::string home = Probe("left", probe, "read", "sibling-home", {state_ + "/homes/right/.bashrc"});
  EXPECT_TRUE(home == "EACCES" || home == "ENOENT") << home;
  std::string list = Probe("left", probe, "write", "sibling-write", {right_ws + "/planted.txt"});
  EXPECT_TRUE(list == "EACCES" || list == "ENOENT") << list;
  std::string sig = Probe("left", probe, "signal", "sibling-signal", {std::to_string(right_pid)});
  EXPECT_TRUE(sig == "EPERM" || sig == "ESRCH") << sig;
  std::string env = Probe("left", probe, "environ", "sibling-environ", {std::to_string(right_pid)});
  EXPECT_TRUE(env == "EACCES" || env == "ENOENT") << env;
  std::string state = Probe("left", probe, "read", "registry", {state_ + "/agents/right/agent.json"});
  EXPECT_TRUE(state == "EACCES" || state == "ENOENT") << state;
  std::string sock = Probe("left", probe, "read", "tmux-socket-dir", {state_ + "/run/tmux.sock"});
  EXPECT_TRUE(sock == "EACCES" || sock == "ENOENT" || sock == "ENXIO") << sock;
  EXPECT_FALSE(PathExists(right_ws + "/planted.txt"));
  // The agent's own files are readable by the operator's group and nobody else.
  Send("left", "echo mine > own.txt && mkdir sub && echo deep > sub/f && echo made-files-$((6*7))");
  ASSERT_TRUE(WaitFor("left", "\nmade-files-42"));
  std::string left_ws = Agent("left")["workspace"];
  struct stat st;
  ASSERT_EQ(stat((left_ws + "/own.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640);
  EXPECT_EQ(st.st_gid, 0u);  // the operator's group (root runs this test)
  ASSERT_EQ(stat((left_ws + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02750);
}

// Isolation through the agent path, with things that are open on the host on purpose (world-readable
// files, a sibling's pid): only the sandbox stands between the agent and them. Every probe tries to
// break out and the test fails if one succeeds.
TEST_F(AgentsTest, SandboxedAgentsCannotReachEachOtherTheOperatorOrPastTheirLimits) {
  std::string op_secret = tmp_.path() + "/operator-secret.txt";  // in the operator's HOME
  ASSERT_TRUE(WriteFileAtomic(op_secret, "operator's secret\n", 0644).ok());
  AddOk("left", {"--memory", "128M", "--pids", "48"});
  AddOk("right");
  std::string left_ws = Agent("left")["workspace"];
  std::string right_ws = Agent("right")["workspace"];
  ASSERT_TRUE(WriteFileAtomic(right_ws + "/secret.txt", "right's secret\n", 0644).ok());
  ASSERT_EQ(chmod(right_ws.c_str(), 02755), 0);  // open on the host: only the sandbox hides it
  int right_pid = 0;
  for (const auto& p : Procs(Uid("right"))) right_pid = p.pid;
  ASSERT_GT(right_pid, 0);
  // The sandbox reports usage for `agent list` (cgroup counters).
  json row = Agent("right");
  ASSERT_TRUE(row["memory_bytes"].is_number()) << row.dump();
  EXPECT_GT(row["memory_bytes"].get<uint64_t>(), 0u);
  EXPECT_GE(row["pids"].get<int>(), 1);
  EXPECT_FALSE(row["unsandboxed"].get<bool>());

  std::string probe = InstallProbe("left");
  auto not_there = [](const std::string& r) { return r == "ENOENT"; };
  auto denied = [](const std::string& r) { return r == "ENOENT" || r == "EACCES" || r == "EROFS" || r == "EPERM"; };
  // The sibling: its workspace, home, registry entry and processes are not even visible.
  std::string r1 = Probe("left", probe, "read", "sibling-file", {right_ws + "/secret.txt"});
  EXPECT_TRUE(not_there(r1)) << r1;
  std::string r2 = Probe("left", probe, "write", "sibling-write", {right_ws + "/planted.txt"});
  EXPECT_TRUE(denied(r2)) << r2;
  EXPECT_FALSE(PathExists(right_ws + "/planted.txt"));
  std::string r3 = Probe("left", probe, "read", "sibling-home", {state_ + "/homes/right/.bashrc"});
  EXPECT_TRUE(not_there(r3)) << r3;
  std::string r4 = Probe("left", probe, "signal", "sibling-signal", {std::to_string(right_pid)});
  EXPECT_EQ(r4, "ESRCH");  // another pid namespace
  std::string r5 = Probe("left", probe, "environ", "sibling-environ", {std::to_string(right_pid)});
  EXPECT_TRUE(not_there(r5)) << r5;
  std::string r6 = Probe("left", probe, "read", "registry", {state_ + "/agents/right/agent.json"});
  EXPECT_TRUE(not_there(r6)) << r6;
  std::string r7 = Probe("left", probe, "read", "tmux-socket", {state_ + "/run/tmux.sock"});
  EXPECT_TRUE(not_there(r7)) << r7;
  // The operator: the home (world-readable file) and root's home.
  std::string r8 = Probe("left", probe, "read", "operator-home", {op_secret});
  EXPECT_TRUE(not_there(r8)) << r8;
  if (PathExists("/root/.profile")) {
    std::string r9 = Probe("left", probe, "read", "root-home", {"/root/.profile"});
    EXPECT_TRUE(not_there(r9)) << r9;
  }
  // The host: system directories are read-only.
  std::string r10 = Probe("left", probe, "write", "system-write", {"/usr/local/planted-by-agent"});
  EXPECT_TRUE(denied(r10)) << r10;
  EXPECT_FALSE(PathExists("/usr/local/planted-by-agent"));
  // Its own workspace works.
  std::string r12 = Probe("left", probe, "write", "own-workspace", {left_ws + "/mine.txt"});
  EXPECT_EQ(r12, "ok");

  // The process limit (48): forks past it fail.
  std::string r13 = Probe("left", probe, "fork", "fork-bomb", {"200"});
  EXPECT_EQ(r13, "EAGAIN");
  // The memory limit (128M): a 512 MiB allocation is killed, the agent's shell survives.
  Send("left", "python3 " + probe + " alloc mem-bomb 512; echo alloc-exit=$?");
  std::string screen;
  for (int i = 0; i < 600; ++i) {  // the typed command shows "alloc-exit=$?": wait for a digit
    screen = Peek("left", 400);
    if (screen.find("alloc-exit=0") != std::string::npos || screen.find("alloc-exit=1") != std::string::npos) break;
    usleep(50000);
  }
  EXPECT_EQ(screen.find("PROBE mem-bomb ok"), std::string::npos) << screen;
  EXPECT_NE(screen.find("alloc-exit=137"), std::string::npos) << screen;
  EXPECT_EQ(Agent("left")["state"], "running");
  EXPECT_EQ(Agent("right")["state"], "running");
  // Ended, the agent's sandbox is gone: no cgroup, no running record; its uid reservation stays
  // until rm.
  ASSERT_EQ(Cc({"agent", "kill", "left", "--grace", "0"}).rc, 0);
  uint32_t left_uid = Uid("left");
  std::vector<std::string> left_groups;
  for (int i = 0; i < 250; ++i) {
    left_groups = AgentCgroups(left_uid, 1);
    if (left_groups.empty()) break;
    usleep(20000);
  }
  EXPECT_TRUE(left_groups.empty()) << Join(left_groups, " ");
  EXPECT_TRUE(PathExists(state_ + "/sandbox/owners/left-" + std::to_string(left_uid)));
  ASSERT_EQ(Cc({"agent", "rm", "left", "--purge", "--grace", "0"}).rc, 0);
  EXPECT_FALSE(PathExists(state_ + "/sandbox/owners/left-" + std::to_string(left_uid)));
  EXPECT_FALSE(PathExists(state_ + "/sandbox/uids/" + std::to_string(left_uid)));
}

// A sandbox layer that cannot be applied fails `agent add` and leaves nothing behind: here the
// mount layer refuses a protected path (the workspace's .envrc) that is a symbolic link.
TEST_F(AgentsTest, ALayerThatCannotBeAppliedFailsTheAddAndLeavesNoTrace) {
  std::string dir = tmp_.Sub("linked");
  ASSERT_TRUE(MakeDirs(dir).ok());
  ASSERT_EQ(symlink("/etc/passwd", (dir + "/.envrc").c_str()), 0);
  auto before = SnapshotOwnership(dir);
  ASSERT_TRUE(before.ok());
  auto r = Add("linked", {"--workspace", dir});
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.err.find("sandbox layer mountns"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is a symbolic link"), std::string::npos) << r.err;
  ExpectNoTrace("a layer failed");
  auto after = SnapshotOwnership(dir);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->entries.size(), before->entries.size());
}

TEST_F(AgentsTest, KillLeavesNoProcess) {
  AddOk("sticky");
  uint32_t uid = Uid("sticky");
  // Processes that try to get away: new sessions, double forks, ignored signals, renamed.
  Send("sticky",
       "trap '' TERM HUP; (setsid bash -c 'trap \"\" TERM HUP; exec -a innocent sleep 1000' &); "
       "(bash -c 'sleep 998 & disown' &); nohup sleep 997 >/dev/null 2>&1 & echo escaped-$((6*7))");
  ASSERT_TRUE(WaitFor("sticky", "\nescaped-42"));
  usleep(200000);
  EXPECT_GE(Procs(uid).size(), 4u);
  auto r = Cc({"agent", "kill", "sticky", "--grace", "0.2"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("none left"), std::string::npos) << r.out;
  EXPECT_TRUE(Procs(uid).empty());
  EXPECT_EQ(Agent("sticky")["state"], "killed");
  // Killing again is harmless.
  auto again = Cc({"agent", "kill", "sticky"});
  EXPECT_EQ(again.rc, 0) << again.err;
  EXPECT_NE(again.out.find("was not running"), std::string::npos);
}

TEST_F(AgentsTest, KillAllStopsEveryAgent) {
  AddOk("k1");
  AddOk("k2");
  auto r = Cc({"agent", "kill", "--all", "--grace", "0"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Agent("k1")["state"], "killed");
  EXPECT_EQ(Agent("k2")["state"], "killed");
  EXPECT_TRUE(ScanProcesses(InRange()).empty());
}

TEST_F(AgentsTest, PanicWithTwentyAgentsLeavesNoneAndLocksOut) {
  for (int i = 0; i < 20; ++i) {
    std::string n = "p" + std::to_string(i);
    AddOk(n);
    Send(n, "sleep 1000 & sleep 1001 & echo bg-$((6*7))-" + n);
  }
  ASSERT_TRUE(WaitFor("p19", "\nbg-42-p19"));
  EXPECT_GE(ScanProcesses(InRange()).size(), 40u);
  std::string socket = state_ + "/run/tmux.sock";
  EXPECT_TRUE(PathExists(socket));
  auto r = Cc({"panic", "--yes", "--reason", "drill", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err << r.out;
  json p = json::parse(r.out);
  EXPECT_EQ(p["agents"].size(), 20u);
  EXPECT_TRUE(p["clean"]);
  EXPECT_TRUE(p["survivors"].empty());
  EXPECT_GE(p["frozen"].get<int>(), 40);
  EXPECT_TRUE(p["tmux_server_killed"]);
  EXPECT_TRUE(ScanProcesses(InRange()).empty());
  EXPECT_FALSE(PathExists(socket));
  for (auto& a : List()) {
    EXPECT_EQ(a["state"], "killed") << a["name"];
    EXPECT_EQ(a["killed_by"], "panic");
  }
  EXPECT_TRUE(PathExists(state_ + "/agents/p3/panic-screen.txt"));
  // Locked out: nothing starts until unlock --rotated.
  auto add = Add("late");
  EXPECT_EQ(add.rc, 1);
  EXPECT_NE(add.err.find("locked out by `cloudcoop panic`"), std::string::npos) << add.err;
  EXPECT_NE(add.err.find("cloudcoop unlock --rotated"), std::string::npos);
  EXPECT_TRUE(Agent("late").is_null());
  EXPECT_FALSE(PathExists(state_ + "/homes/late"));
  EXPECT_FALSE(PathExists(state_ + "/workspaces/late"));
  auto restart = Cc({"agent", "restart", "p0"});
  EXPECT_EQ(restart.rc, 1);
  EXPECT_NE(restart.err.find("locked out"), std::string::npos);
  EXPECT_EQ(Cc({"unlock"}).rc, 2);
  auto unlock = Cc({"unlock", "--rotated"});
  ASSERT_EQ(unlock.rc, 0) << unlock.err;
  AddOk("late");
  auto restart2 = Cc({"agent", "restart", "p0"});
  EXPECT_EQ(restart2.rc, 0) << restart2.err;
  auto log = Cc({"audit", "--json", "--type", "control"});
  ASSERT_EQ(log.rc, 0) << log.err;
  EXPECT_NE(log.out.find("\"action\":\"panic\""), std::string::npos);
  EXPECT_NE(log.out.find("\"reason\":\"drill\""), std::string::npos);
  EXPECT_NE(log.out.find("\"action\":\"unlock\""), std::string::npos);
}

TEST_F(AgentsTest, PanicNeedsConfirmationWithoutATerminal) {
  auto r = Cc({"panic"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("add --yes"), std::string::npos);
  EXPECT_FALSE(PathExists(state_ + "/lockout.json"));
}

TEST_F(AgentsTest, ConcurrentAddsAreSafe) {
  std::vector<std::thread> threads;
  std::vector<CliResult> distinct(6), same(4);
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] { distinct[i] = Add("c" + std::to_string(i)); });
  }
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { same[i] = Add("contested"); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(distinct[i].rc, 0) << distinct[i].err;
  int winners = 0;
  for (auto& r : same) {
    if (r.rc == 0) {
      ++winners;
    } else {
      EXPECT_NE(r.err.find("an agent named \"contested\" already exists"), std::string::npos) << r.err;
    }
  }
  EXPECT_EQ(winners, 1);
  json all = List();
  EXPECT_EQ(all.size(), 7u);
  std::set<uint32_t> uids;
  for (auto& a : all) {
    EXPECT_EQ(a["state"], "running") << a["name"];
    uids.insert(a["uid"].get<uint32_t>());
  }
  EXPECT_EQ(uids.size(), 7u) << "two agents share an uid";
}

TEST_F(AgentsTest, BadInputsGiveClearErrorsAndLeaveNoTrace) {
  std::string notrepo = tmp_.Sub("plain");
  ASSERT_TRUE(MakeDirs(notrepo).ok());
  struct Case {
    std::vector<std::string> args;
    int rc;
    std::string message;
  } cases[] = {
      {{"Bad_Name"}, 2, "agent name Bad_Name is not valid"},
      {{"a;b"}, 2, "agent name 'a;b' is not valid"},
      {{"ok", "--profile", "clade"}, 2, "unknown agent profile \"clade\""},
      {{"ok", "--cmd", "rm -rf / ; true"}, 2, "shell operator ';'"},
      {{"ok", "--repo", tmp_.Sub("missing")}, 1, "does not exist on this host"},
      {{"ok", "--repo", notrepo}, 2, "is not a git repository"},
      {{"ok", "--cpus", "64"}, 2, "--cpus 64 is more than this host's"},
      {{"ok", "--memory", "100T"}, 2, "is more than this host's"},
      {{"ok", "--pids", "99999999"}, 2, "between 8 and 4194304"},
      {{"ok", "--net", "wide"}, 2, "--net wide is not one of: none, egress, host"},
      {{"ok", "--env", "PATH=/evil"}, 2, "PATH is set by cloudcoop"},
      {{"ok", "--workspace", "relative/dir"}, 2, "is not an absolute path"},
      {{"ok", "--workspace", "/srv"}, 2, "is a system directory"},
      {{"ok", "--workspace", "/srv/"}, 2, "is a system directory"},
      {{"ok", "--workspace", state_}, 2, "overlaps cloudcoop's state directory"},
      {{"ok", "--branch", "x"}, 2, "--branch needs --repo"},
      {{"ok", "--repo", notrepo, "--workspace", notrepo}, 2, "cannot be combined"},
  };
  struct stat srv_before;
  ASSERT_EQ(stat("/srv", &srv_before), 0);
  for (const auto& c : cases) {
    auto r = Add(c.args[0], std::vector<std::string>(c.args.begin() + 1, c.args.end()));
    std::string what = Join(c.args, " ");
    EXPECT_EQ(r.rc, c.rc) << what << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << what << ": " << r.err;
    EXPECT_TRUE(r.err.find("fix:") != std::string::npos || r.err.find("usage:") != std::string::npos)
        << what << ": no fix in " << r.err;
    ExpectNoTrace(what);
  }
  struct stat srv_after;
  ASSERT_EQ(stat("/srv", &srv_after), 0);
  EXPECT_EQ(srv_after.st_mode, srv_before.st_mode);
  EXPECT_EQ(srv_after.st_uid, srv_before.st_uid);
  EXPECT_EQ(srv_after.st_gid, srv_before.st_gid);
  // A duplicate is refused and the first agent is untouched.
  AddOk("dup");
  uint32_t uid = Uid("dup");
  auto dup = Add("dup");
  EXPECT_EQ(dup.rc, 1);
  EXPECT_NE(dup.err.find("an agent named \"dup\" already exists"), std::string::npos) << dup.err;
  EXPECT_EQ(List().size(), 1u);
  EXPECT_EQ(Agent("dup")["state"], "running");
  EXPECT_EQ(Uid("dup"), uid);
  // Commands on agents that do not exist.
  for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{{"agent", "kill", "ghost"},
                                                                         {"agent", "restart", "ghost"},
                                                                         {"agent", "rm", "ghost"},
                                                                         {"agent", "peek", "ghost"},
                                                                         {"agent", "send", "ghost", "x"}}) {
    auto r = Cc(cmd);
    EXPECT_EQ(r.rc, 1) << Join(cmd, " ");
    EXPECT_NE(r.err.find("there is no agent named \"ghost\""), std::string::npos) << r.err;
  }
}

TEST_F(AgentsTest, TmuxMissingIsReportedAndLeavesNoTrace) {
  std::string empty = tmp_.Sub("emptybin");
  ASSERT_TRUE(MakeDirs(empty).ok());
  auto r = Cc({"agent", "add", "lonely", "--unsandboxed"}, {{"PATH", empty}});
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.err.find("tmux is not installed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("apt-get install tmux"), std::string::npos) << r.err;
  ExpectNoTrace("tmux missing");
}

// Runs the binary in a private mount namespace where the state directory is a read-only tmpfs.
TEST_F(AgentsTest, UnwritableStateDirIsReportedAndLeavesNoTrace) {
  std::string ro = tmp_.Sub("ro");
  ASSERT_TRUE(MakeDirs(ro).ok());
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t child = fork();
  if (child == 0) {
    dup2(out[1], 2);
    dup2(out[1], 1);
    if (unshare(CLONE_NEWNS) != 0) _exit(90);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(91);
    if (mount("tmpfs", ro.c_str(), "tmpfs", MS_RDONLY, "size=1m") != 0) _exit(92);
    setenv("CLOUDCOOP_STATE_DIR", (ro + "/state").c_str(), 1);
    std::string bin = ::cloudcoop::testing::BinaryPath();
    execl(bin.c_str(), bin.c_str(), "agent", "add", "nowhere", "--unsandboxed", nullptr);
    _exit(93);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int ws = 0;
  waitpid(child, &ws, 0);
  ASSERT_TRUE(WIFEXITED(ws));
  EXPECT_EQ(WEXITSTATUS(ws), 1) << text;
  EXPECT_NE(text.find("create state directory " + ro + "/state: Read-only file system (EROFS)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("CLOUDCOOP_STATE_DIR"), std::string::npos) << text;
  EXPECT_TRUE(ScanProcesses(InRange()).empty());
}

TEST_F(AgentsTest, ExistingWorkspaceIsHandedOverAndGivenBackExactlyOnFailure) {
  std::string dir = tmp_.Sub("project");
  ASSERT_TRUE(MakeDirs(dir + "/src").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/src/a.txt", "a\n", 0644).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/run.sh", "#!/bin/sh\n", 0755).ok());
  ASSERT_EQ(chown((dir + "/src/a.txt").c_str(), 4242, 4343), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  auto before = SnapshotOwnership(dir);
  ASSERT_TRUE(before.ok());
  // The agent's command does not exist: the supervisor fails, add rolls back.
  auto bad = Add("borrower", {"--workspace", dir, "--cmd", "/nonexistent/agent-program --x"});
  EXPECT_EQ(bad.rc, 1) << bad.err;
  EXPECT_NE(bad.err.find("sandbox layer exec: execve /nonexistent/agent-program failed: No such file or directory"),
            std::string::npos)
      << bad.err;
  auto after = SnapshotOwnership(dir);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->entries.size(), before->entries.size());
  for (size_t i = 0; i < after->entries.size(); ++i) {
    const auto& b = before->entries[i];
    const auto& a = after->entries[i];
    EXPECT_EQ(a.path, b.path);
    EXPECT_EQ(a.uid, b.uid) << a.path;
    EXPECT_EQ(a.gid, b.gid) << a.path;
    EXPECT_EQ(a.mode, b.mode) << a.path;
  }
  ExpectNoTrace("failed start with --workspace");
  // Handed over for real: the agent writes there, the tree is the agent's with the operator's group.
  AddOk("borrower", {"--workspace", dir + "/"});
  EXPECT_EQ(Agent("borrower")["workspace"], dir);
  Send("borrower", "cat src/a.txt && echo new > src/b.txt && echo wrote-b-$((6*7))");
  ASSERT_TRUE(WaitFor("borrower", "\nwrote-b-42"));
  struct stat st;
  ASSERT_EQ(stat((dir + "/src/b.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, Uid("borrower"));
  EXPECT_EQ(st.st_mode & 0777, 0640);
  ASSERT_EQ(stat((dir + "/run.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750);
  // Another agent cannot be given the same directory.
  auto twice = Add("second", {"--workspace", dir});
  EXPECT_EQ(twice.rc, 1);
  EXPECT_NE(twice.err.find("belongs to agent borrower"), std::string::npos) << twice.err;
  // --purge never deletes a directory cloudcoop did not make.
  auto rm = Cc({"agent", "rm", "borrower", "--purge", "--grace", "0"});
  ASSERT_EQ(rm.rc, 0) << rm.err;
  EXPECT_NE(rm.out.find("cloudcoop did not create it"), std::string::npos) << rm.out;
  EXPECT_TRUE(PathExists(dir + "/src/b.txt"));
}

TEST_F(AgentsTest, CheckReportsUnsandboxedAgentsStraysAndLockout) {
  auto results = [&]() {
    auto r = Cc({"check", "--only", "agents.", "--json"});
    std::map<std::string, std::string> out;
    json j = json::parse(r.out, nullptr, false);
    if (j.is_discarded()) return out;
    for (auto& c : j["checks"]) out[c["id"]] = c["result"];
    out["rc"] = std::to_string(r.rc);
    return out;
  };
  AddOk("checked");
  auto r = results();
  EXPECT_EQ(r["agents.state-dir"], "PASS");
  EXPECT_EQ(r["agents.sandboxed"], "PASS");
  EXPECT_EQ(r["agents.no-strays"], "PASS");
  // The escape hatch: printed in red, shown in the list, recorded in the audit log, and `check`
  // fails while such an agent runs.
  auto escape = Add("escape", {"--unsandboxed"});
  ASSERT_EQ(escape.rc, 0) << escape.err;
  EXPECT_NE(escape.err.find("\033[1;31mcloudcoop: WARNING: --unsandboxed: agent escape"), std::string::npos)
      << escape.err;
  r = results();
  EXPECT_EQ(r["agents.sandboxed"], "FAIL");  // --unsandboxed is reported, never hidden
  EXPECT_EQ(r["rc"], "3");
  EXPECT_TRUE(Agent("escape")["unsandboxed"].get<bool>());
  EXPECT_FALSE(Agent("checked")["unsandboxed"].get<bool>());
  auto table = Cc({"agent", "list"});
  EXPECT_NE(table.out.find("!sbx: running without the sandbox"), std::string::npos) << table.out;
  auto log = Cc({"audit", "--json", "--agent", "escape"});
  EXPECT_NE(log.out.find("--unsandboxed"), std::string::npos) << log.out;
  EXPECT_NE(log.out.find("\"sandboxed\":false"), std::string::npos) << log.out;
  // Once it is gone, check passes again.
  ASSERT_EQ(Cc({"agent", "rm", "escape", "--purge", "--grace", "0"}).rc, 0);
  EXPECT_EQ(results()["agents.sandboxed"], "PASS");
  EXPECT_EQ(r["agents.lockout"], "PASS");
  // A process under an agent uid that no record explains is a stray.
  uint32_t stray_uid = base_ + 999;
  ProcessSpec spec;
  spec.argv = {"setpriv", "--reuid=" + std::to_string(stray_uid), "--regid=" + std::to_string(stray_uid), "--clear-groups",
               "sleep", "30"};
  std::thread stray([&] { (void)DefaultProcessRunner().Run(spec); });
  for (int i = 0; i < 100 && ScanProcesses([&](uint32_t u) { return u == stray_uid; }).empty(); ++i) usleep(20000);
  EXPECT_EQ(results()["agents.no-strays"], "FAIL");
  ASSERT_EQ(Cc({"panic", "--yes"}).rc, 0);  // stops the stray too: it is in this host's range
  stray.join();
  r = results();
  EXPECT_EQ(r["agents.lockout"], "WARN");
  EXPECT_EQ(r["agents.no-strays"], "PASS");
}

TEST_F(AgentsTest, ListIsNotFooledByWhatAgentsPrint) {
  // "aspoof" is captured before "zquiet": if its fake framing ended its block early, zquiet's
  // screen would be read from the wrong place.
  AddOk("aspoof");
  AddOk("zquiet");
  Send("aspoof", "printf '%%end 1 1 1\\n%%error 1 2 1\\n%%begin 1 3 1\\nfake\\n%%end 1 3 1\\n'; echo spoofed-$((6*7))");
  ASSERT_TRUE(WaitFor("aspoof", "\nspoofed-42"));
  Send("zquiet", "echo quiet-$((6*7)); sleep 1000");
  ASSERT_TRUE(WaitFor("zquiet", "\nquiet-42"));
  EXPECT_EQ(Agent("zquiet")["last_line"], "quiet-42");
  EXPECT_EQ(Agent("aspoof")["last_line"].get<std::string>().rfind("aspoof:", 0), 0u) << Agent("aspoof")["last_line"];
  EXPECT_EQ(Agent("zquiet")["clients"], 0);  // list's own control client is not counted
  for (auto& a : List()) EXPECT_EQ(a["state"], "running") << a["name"];
}

// A terminal for the tests: a second, test-owned tmux server whose panes run `cloudcoop connect`.
class OuterTerminal {
 public:
  explicit OuterTerminal(std::string socket) : socket_(std::move(socket)) {}
  ~OuterTerminal() {
    Run({"kill-server"});
    unlink(socket_.c_str());
  }
  ProcessResult Run(std::vector<std::string> args) {
    ProcessSpec spec;
    spec.argv = {"tmux", "-S", socket_, "-f", "/dev/null"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.timeout = std::chrono::seconds(20);
    auto r = DefaultProcessRunner().Run(spec);
    return r.ok() ? *r : ProcessResult{};
  }
  // A window running argv (through env(1) so the state directory reaches cloudcoop).
  void Open(const std::string& window, const std::map<std::string, std::string>& env, std::vector<std::string> argv) {
    std::vector<std::string> cmd = {"env"};
    for (const auto& [k, v] : env) cmd.push_back(k + "=" + v);
    cmd.push_back("TERM=screen");
    cmd.insert(cmd.end(), argv.begin(), argv.end());
    std::vector<std::string> args;
    if (!started_) {
      args = {"start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";", "new-session", "-d", "-s", "outer",
              "-n", window, "-x", "120", "-y", "40", "--"};
      started_ = true;
    } else {
      args = {"new-window", "-d", "-t", "outer:", "-n", window, "--"};
    }
    args.insert(args.end(), cmd.begin(), cmd.end());
    Run(args);
  }
  std::string Screen(const std::string& window) {
    return Run({"capture-pane", "-p", "-S", "-100", "-t", "outer:" + window}).out;
  }
  void Type(const std::string& window, const std::string& text) {
    Run({"send-keys", "-t", "outer:" + window, "-l", "--", text});
    Run({"send-keys", "-t", "outer:" + window, "Enter"});
  }
  void Key(const std::string& window, const std::string& key) { Run({"send-keys", "-t", "outer:" + window, key}); }
  bool WaitScreen(const std::string& window, const std::string& needle) {
    for (int i = 0; i < 200; ++i) {
      if (Screen(window).find(needle) != std::string::npos) return true;
      usleep(50000);
    }
    return false;
  }

 private:
  std::string socket_;
  bool started_ = false;
};

// Who is attached to cloudcoop's own tmux server: session -> "ro"/"rw" per client.
std::multimap<std::string, std::string> Clients(const std::string& state) {
  ProcessSpec spec;
  spec.argv = {"tmux", "-S", state + "/run/tmux.sock", "list-clients", "-F", "#{client_session} #{client_readonly}"};
  auto r = DefaultProcessRunner().Run(spec);
  std::multimap<std::string, std::string> out;
  if (!r.ok()) return out;
  for (const auto& line : Split(r->out, '\n', true)) {
    auto f = Split(line, ' ');
    if (f.size() == 2) out.emplace(f[0], f[1] == "1" ? "ro" : "rw");
  }
  return out;
}

TEST_F(AgentsTest, ConnectReadOnlyWatchesWithoutTyping) {
  AddOk("watched");
  Send("watched", "echo visible-$((40+2))");
  ASSERT_TRUE(WaitFor("watched", "visible-42"));
  OuterTerminal term(tmp_.Sub("outer.sock"));
  std::string bin = ::cloudcoop::testing::BinaryPath();
  term.Open("ro", env_, {bin, "connect", "watched", "--read-only"});
  ASSERT_TRUE(term.WaitScreen("ro", "visible-42")) << term.Screen("ro");
  auto clients = Clients(state_);
  ASSERT_EQ(clients.count("watched"), 1u);
  EXPECT_EQ(clients.find("watched")->second, "ro");
  term.Type("ro", "echo typed-by-a-watcher");
  usleep(500000);
  EXPECT_EQ(Peek("watched").find("typed-by-a-watcher"), std::string::npos) << "a read-only client typed into the agent";
  // A read-write connection does reach the agent, and detaching leaves the agent running.
  term.Open("rw", env_, {bin, "connect", "watched"});
  ASSERT_TRUE(term.WaitScreen("rw", "visible-42"));
  term.Type("rw", "echo typed-by-the-operator");
  ASSERT_TRUE(WaitFor("watched", "\ntyped-by-the-operator"));
  term.Key("rw", "C-b");
  term.Key("rw", "d");
  ASSERT_TRUE(term.WaitScreen("rw", "detached")) << term.Screen("rw");
  EXPECT_EQ(Agent("watched")["state"], "running");
  // connect refuses unknown agents and non-terminals with a clear error.
  auto ghost = Cc({"connect", "ghost"});
  EXPECT_EQ(ghost.rc, 1);
  EXPECT_NE(ghost.err.find("there is no agent named \"ghost\""), std::string::npos);
  auto noterm = Cc({"connect", "watched"});
  EXPECT_EQ(noterm.rc, 1);
  EXPECT_NE(noterm.err.find("connect needs a terminal"), std::string::npos) << noterm.err;
}

TEST_F(AgentsTest, AttachNextGivesEachTerminalADifferentAgent) {
  AddOk("n1");
  AddOk("n2");
  OuterTerminal term(tmp_.Sub("outer.sock"));
  std::string bin = ::cloudcoop::testing::BinaryPath();
  term.Open("w1", env_, {bin, "agent", "attach", "--next"});
  term.Open("w2", env_, {bin, "agent", "attach", "--next"});
  std::multimap<std::string, std::string> clients;
  for (int i = 0; i < 200 && clients.size() < 2; ++i) {
    clients = Clients(state_);
    usleep(50000);
  }
  EXPECT_EQ(clients.count("n1"), 1u) << term.Screen("w1") << term.Screen("w2");
  EXPECT_EQ(clients.count("n2"), 1u);
  // A third terminal finds every agent watched.
  term.Open("w3", env_, {bin, "agent", "attach", "--next"});
  EXPECT_TRUE(term.WaitScreen("w3", "every running agent already has a terminal attached")) << term.Screen("w3");
}

// A real, unprivileged operator account that owns a repository (removed again at the end).
class OperatorUser {
 public:
  OperatorUser() {
    name_ = "ccop" + std::to_string(getpid());
    ProcessSpec spec;
    spec.argv = {"useradd", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                 "/usr/sbin/nologin", name_};
    auto r = DefaultProcessRunner().Run(spec);
    if (!r.ok() || !r->success()) return;
    struct passwd* pw = getpwnam(name_.c_str());
    if (pw == nullptr) return;
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  }
  ~OperatorUser() {
    ProcessSpec spec;
    spec.argv = {"userdel", name_};
    (void)DefaultProcessRunner().Run(spec);
  }
  bool ok() const { return uid_ != 0; }
  uint32_t uid() const { return uid_; }
  uint32_t gid() const { return gid_; }
  // Runs argv as the operator (no sudo, no root).
  ProcessResult Run(std::vector<std::string> argv, const std::string& cwd = "") {
    ProcessSpec spec;
    spec.argv = {"setpriv", "--reuid=" + std::to_string(uid_), "--regid=" + std::to_string(gid_), "--init-groups", "--"};
    spec.argv.insert(spec.argv.end(), argv.begin(), argv.end());
    spec.env["HOME"] = "/nonexistent";
    spec.env["GIT_CONFIG_NOSYSTEM"] = "1";
    spec.env["GIT_CONFIG_GLOBAL"] = "/dev/null";
    spec.cwd = cwd;
    spec.timeout = std::chrono::seconds(60);
    auto r = DefaultProcessRunner().Run(spec);
    return r.ok() ? *r : ProcessResult{};
  }

 private:
  std::string name_;
  uint32_t uid_ = 0;
  uint32_t gid_ = 0;
};

TEST_F(AgentsTest, RepoCloneBranchHandoffAndProtectedPaths) {
  OperatorUser op;
  ASSERT_TRUE(op.ok()) << "useradd failed";
  std::string repo = tmp_.Sub("project");
  ASSERT_EQ(mkdir(repo.c_str(), 0755), 0);
  ASSERT_EQ(chown(repo.c_str(), op.uid(), op.gid()), 0);
  auto git = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"git", "-c", "user.name=Operator", "-c", "user.email=op@example.invalid"};
    argv.insert(argv.end(), args.begin(), args.end());
    return op.Run(argv, repo);
  };
  ASSERT_TRUE(git({"init", "-q", "-b", "main"}).success());
  ASSERT_TRUE(op.Run({"sh", "-c", "echo 'int main(){}' > main.c && printf '#!/bin/sh\\necho operator hook\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit"}, repo).success());
  ASSERT_TRUE(git({"add", "main.c"}).success());
  ASSERT_TRUE(git({"commit", "-q", "-m", "initial"}).success());
  std::string base = std::string(Trim(git({"rev-parse", "HEAD"}).out));

  auto add = Add("coder", {"--repo", repo, "--json"});
  ASSERT_EQ(add.rc, 0) << add.err;
  json a = json::parse(add.out);
  EXPECT_EQ(a["repo"]["path"], repo);
  EXPECT_EQ(a["repo"]["branch"], "cloudcoop/coder");
  EXPECT_EQ(a["repo"]["handoff_ref"], "refs/heads/cloudcoop/coder");
  EXPECT_EQ(a["repo"]["base_commit"], base);
  std::string ws = a["workspace"];
  uint32_t uid = a["uid"];
  // The clone: the agent's, readable by the operator's group; .git/config and hooks are root's,
  // hooks are empty (the operator's pre-commit hook did not come along), .git is sticky.
  struct stat st;
  ASSERT_EQ(stat(ws.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid);
  EXPECT_EQ(st.st_gid, op.gid());
  ASSERT_EQ(stat((ws + "/.git").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_mode & 07777, 01770);
  ASSERT_EQ(stat((ws + "/.git/config").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  auto hooks = ListDir(ws + "/.git/hooks");
  ASSERT_TRUE(hooks.ok());
  EXPECT_TRUE(hooks->empty()) << Join(*hooks, ",");
  bool listed = false;
  for (const auto& p : a["protected"]) {
    if (p["path"] == ws + "/.git/hooks") listed = p["kind"] == "read-only" && p["exists"] == true;
  }
  EXPECT_TRUE(listed) << a["protected"].dump();
  auto before = SnapshotRepoControlFiles(ws);
  ASSERT_TRUE(before.ok());

  // The agent works on its branch...
  Send("coder", "git status --short --branch | head -1 && echo 'int add(int a,int b){return a+b;}' > add.c && "
                "git add add.c && git commit -q -m 'add add()' && echo committed-$((6*7))");
  ASSERT_TRUE(WaitFor("coder", "\ncommitted-42")) << Peek("coder");
  EXPECT_NE(Peek("coder").find("## cloudcoop/coder"), std::string::npos) << Peek("coder");
  // ...and cannot touch what the operator's side trusts.
  std::string probe = InstallProbe("coder");
  auto denied = [](const std::string& r) { return r == "EACCES" || r == "EPERM" || r == "EROFS" || r == "EBUSY"; };
  std::string r1 = Probe("coder", probe, "append", "git-config", {ws + "/.git/config"});
  EXPECT_TRUE(denied(r1)) << r1;
  std::string r2 = Probe("coder", probe, "write", "git-hook", {ws + "/.git/hooks/pre-commit"});
  EXPECT_TRUE(denied(r2)) << r2;
  std::string r3 = Probe("coder", probe, "rename", "hooks-rename", {ws + "/.git/hooks", ws + "/.git/hooks-old"});
  EXPECT_TRUE(denied(r3)) << r3;
  std::string r4 = Probe("coder", probe, "rename", "config-rename", {ws + "/.git/config", ws + "/.git/config-old"});
  EXPECT_TRUE(denied(r4)) << r4;
  std::string r5 = Probe("coder", probe, "link", "config-hardlink", {ws + "/.git/config", ws + "/config-link"});
  EXPECT_TRUE(denied(r5) || r5 == "EXDEV") << r5;
  Send("coder", "git config core.hooksPath /tmp/evil; echo config-rc-$((100+$?))");
  ASSERT_TRUE(WaitFor("coder", "\nconfig-rc-1"));
  EXPECT_EQ(Peek("coder").find("config-rc-100"), std::string::npos);
  auto after = SnapshotRepoControlFiles(ws);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before) << "the agent changed its repository's config or hooks";

  // The operator reads the agent's files and gets its commits as a branch, without sudo.
  EXPECT_TRUE(op.Run({"cat", ws + "/add.c"}).success());
  auto fetch = Cc({"agent", "fetch", "coder", "--json"});
  ASSERT_EQ(fetch.rc, 0) << fetch.err;
  EXPECT_TRUE(json::parse(fetch.out)[0]["changed"]);
  auto log = git({"log", "-1", "--format=%s %an", "cloudcoop/coder"});
  ASSERT_TRUE(log.success()) << log.err;
  EXPECT_EQ(std::string(Trim(log.out)), "add add() coder (cloudcoop agent)");
  EXPECT_EQ(std::string(Trim(git({"rev-parse", "--abbrev-ref", "HEAD"}).out)), "main");
  EXPECT_EQ(std::string(Trim(git({"rev-parse", "main"}).out)), base);
  // Objects the agent's uid owns never entered the operator's repository.
  auto foreign = op.Run({"find", repo + "/.git", "-not", "-user", std::to_string(op.uid())});
  EXPECT_TRUE(Trim(foreign.out).empty()) << foreign.out;

  // When the agent ends (here: killed), its supervisor hands the branch over by itself.
  Send("coder", "echo two > two.txt && git add two.txt && git commit -q -m second && echo second-$((6*7))");
  ASSERT_TRUE(WaitFor("coder", "\nsecond-42"));
  ASSERT_EQ(Cc({"agent", "kill", "coder", "--grace", "0"}).rc, 0);
  ASSERT_TRUE(WaitFor("coder", "its branch is in " + repo + " as cloudcoop/coder")) << Peek("coder");
  EXPECT_EQ(std::string(Trim(git({"log", "-1", "--format=%s", "cloudcoop/coder"}).out)), "second");

  // rm --purge hands over first, then deletes the clone.
  auto rm = Cc({"agent", "rm", "coder", "--purge"});
  ASSERT_EQ(rm.rc, 0) << rm.err;
  EXPECT_FALSE(PathExists(ws));
  EXPECT_EQ(std::string(Trim(git({"log", "-1", "--format=%s", "cloudcoop/coder"}).out)), "second");
}

TEST_F(AgentsTest, RepoWithAnExistingBranch) {
  std::string repo = tmp_.Sub("r2");
  ProcessSpec init;
  init.argv = {"sh", "-c", "git init -q -b main " + repo + " && cd " + repo +
                                " && git -c user.name=o -c user.email=o@x commit -q --allow-empty -m one && git branch feature"
                                " && git -c user.name=o -c user.email=o@x commit -q --allow-empty -m two"};
  ASSERT_TRUE(DefaultProcessRunner().Run(init)->success());
  AddOk("feat", {"--repo", repo, "--branch", "feature"});
  Send("feat", "git log --format=%s | head -3; git rev-parse --abbrev-ref HEAD");
  ASSERT_TRUE(WaitFor("feat", "\nfeature\n")) << Peek("feat");
  EXPECT_EQ(Peek("feat").find("\ntwo\n"), std::string::npos) << "the branch should start at feature, not main";
  auto bad = Add("feat2", {"--repo", repo, "--branch", "bad..name"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("must not contain \"..\""), std::string::npos);
  auto empty_repo = tmp_.Sub("empty");
  ProcessSpec e;
  e.argv = {"git", "init", "-q", empty_repo};
  ASSERT_TRUE(DefaultProcessRunner().Run(e)->success());
  auto none = Add("void", {"--repo", empty_repo});
  EXPECT_EQ(none.rc, 1);
  EXPECT_NE(none.err.find("has no commits yet"), std::string::npos) << none.err;
  EXPECT_TRUE(Agent("void").is_null());
  EXPECT_FALSE(PathExists(state_ + "/workspaces/void"));
  auto staging = ListDir(state_ + "/workspaces");
  ASSERT_TRUE(staging.ok());
  EXPECT_EQ(Join(*staging, ","), "feat");
}

}  // namespace
}  // namespace cloudcoop::node
