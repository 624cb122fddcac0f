// The real cloudcoop binary's dashboard, driven in a tmux pane on a private socket (send-keys,
// capture-pane), against the fake host loaded from a fixture (CLOUDCOOP_TEST_DASHBOARD_FIXTURE).
// Waits are bounded polls of the pane; nothing here asserts a time.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <thread>

#include "core/files.h"
#include "core/process.h"
#include "core/strings.h"
#include "testing/test_util.h"
#include "tui/test_pane.h"

namespace cloudcoop::tui {
namespace {

using std::chrono::milliseconds;

// A fixture file and an action log in a temporary directory.
class Fixture {
 public:
  explicit Fixture(const std::string& json_body) {
    log_ = dir_.Sub("actions.log");
    std::string json = "{\"action_log\": \"" + log_ + "\"" + (json_body.empty() ? "" : ", " + json_body) + "}";
    path_ = dir_.Write("fixture.json", json);
  }
  const std::string& path() const { return path_; }
  std::vector<std::string> Actions() const {
    auto text = ReadFile(log_);
    if (!text.ok()) return {};
    return Split(*text, '\n', true);
  }
  std::string Sub(const std::string& rel) const { return dir_.Sub(rel); }
  // Waits (bounded) for the dashboard to end; its exit status, or "running".
  std::string WaitExit() const {
    for (int i = 0; i < 600; ++i) {
      auto text = ReadFile(dir_.Sub("exit-status"));
      if (text.ok() && !text->empty() && text->back() == '\n') return std::string(Trim(*text));
      std::this_thread::sleep_for(milliseconds(25));
    }
    return "running";
  }

 private:
  testing::TempDir dir_;
  std::string path_;
  std::string log_;
};

const char* kThree = R"J(
  "host": {"kind": "local", "name": "devbox"},
  "agents": [
    {"name": "alpha", "profile": "claude", "state": "running", "uptime_sec": 3723, "cpu_seconds": 12.5,
     "cpu_rate": 0.25, "memory_bytes": 734003200, "pids": 12, "network": "none",
     "last_line": "Editing src/auth/login.ts: added rate limiting", "command": "claude --dangerously-skip-permissions",
     "workspace": "/var/lib/cloudcoop/workspaces/alpha", "branch": "cloudcoop/alpha", "clients": 1},
    {"name": "beta", "profile": "codex", "state": "exited", "state_detail": "status 1", "network": "egress",
     "last_line": "error: 3 tests failed"},
    {"name": "gamma", "profile": "shell", "state": "running", "uptime_sec": 59, "cpu_seconds": 1, "cpu_rate": 1.5,
     "memory_bytes": 52428800, "pids": 3, "network": "none", "last_line": "$ make test"}],
  "transcript_lines": 60,
  "audit": {"alpha": [{"at_sec": 0, "kind": "exec", "detail": "/usr/bin/git status"},
                      {"at_sec": 1, "kind": "deny", "detail": "connect 169.254.169.254:80 (metadata server)"}]})J";

// The pane runs the dashboard under a constant sh script that records its exit status in a file
// ("$0"): tmux 3.3a sometimes leaves a pane's exited process unreaped (a zombie, no
// #{pane_dead_status}), so the test does not rely on tmux for it.
std::vector<std::string> Dashboard(const Fixture& f, std::vector<std::string> extra_env = {}) {
  std::vector<std::string> cmd = {"/bin/sh", "-c", "\"$@\"; echo $? > \"$0\"", f.Sub("exit-status"), "/usr/bin/env", "TZ=UTC", "LANG=C.UTF-8", "LC_ALL=", "NO_COLOR=",
                                  "CLOUDCOOP_TEST_DASHBOARD_FIXTURE=" + f.path(), "XDG_CONFIG_HOME=" + f.Sub("cfg")};
  cmd.insert(cmd.end(), extra_env.begin(), extra_env.end());
  cmd.push_back(testing::BinaryPath());
  return cmd;
}

// Times and the values that depend on when snapshots were taken are masked.
std::string Mask(const std::string& screen) {
  return std::regex_replace(screen, std::regex("[0-9]{2}:[0-9]{2}:[0-9]{2}"), "HH:MM:SS");
}

void ExpectGolden(const std::string& name, const std::string& screen) {
  std::string path = std::string(CLOUDCOOP_TUI_TESTDATA) + "/" + name + ".txt";
  std::string text = Mask(screen);
  const char* update = std::getenv("CLOUDCOOP_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    ASSERT_TRUE(WriteFileAtomic(path, text, 0644).ok());
    return;
  }
  auto want = ReadFile(path);
  ASSERT_TRUE(want.ok()) << "missing golden file " << path << " (run with CLOUDCOOP_UPDATE_GOLDEN=1)";
  EXPECT_EQ(text, *want) << "pane differs from " << path << "\n--- got:\n" << text;
}

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The screen once CPU % is known (two snapshots taken).
std::string Settled(Pane& p, const std::string& marker) { return p.WaitStable(marker); }

TEST(TuiTmuxTest, NoAgents) {
  Fixture f(R"("host": {"kind": "local", "name": "devbox"})");
  Pane p(80, 24, Dashboard(f));
  ExpectGolden("tmux_empty_80x24", p.WaitStable("No agents on this host yet"));
}

TEST(TuiTmuxTest, ThreeAgents) {
  Fixture f(kThree);
  Pane p(80, 24, Dashboard(f));
  ExpectGolden("tmux_three_80x24", Settled(p, "  150 "));
}

TEST(TuiTmuxTest, HundredAgentsAt80x24And200x60) {
  Fixture f(R"("host": {"kind": "local", "name": "devbox"}, "generate": {"count": 100, "prefix": "agent"})");
  Pane p(80, 24, Dashboard(f));
  ExpectGolden("tmux_hundred_80x24", Settled(p, "   11  37.0M"));
  p.Resize(200, 60);
  std::string wide = p.WaitStable("rows 1-50/100");
  ExpectGolden("tmux_hundred_200x60", wide);
}

TEST(TuiTmuxTest, ResizeTo80x24And200x60) {
  Fixture f(kThree);
  Pane p(120, 40, Dashboard(f));
  p.WaitFor("alpha");
  p.Resize(200, 60);
  std::string wide = p.WaitFor("exited (status 1)");
  EXPECT_TRUE(Has(wide, "── alpha · running")) << "tall terminals show the selected agent's details\n" << wide;
  EXPECT_TRUE(Has(wide, "a add  k kill  r restart")) << wide;
  p.Resize(80, 24);
  std::string small = p.WaitUntil([](const std::string& s) {
    return Has(s, "a add k kill r restart") && !Has(s, "exited (status 1)");
  });
  EXPECT_FALSE(Has(small, "── alpha")) << small;
  p.Resize(30, 8);
  p.WaitFor("needs at least");
  p.Resize(80, 24);
  p.WaitFor("a add k kill");
}

TEST(TuiTmuxTest, AddViaTheForm) {
  Fixture f(std::string(kThree) + R"(, "op_delay_ms": 300)");
  Pane p(80, 24, Dashboard(f));
  p.WaitFor("gamma");
  p.Keys({"a"});
  p.WaitFor("add an agent");
  p.Type("Bad_Name");
  p.Keys({"Enter"});
  p.WaitFor("agent name Bad_Name is not valid");
  p.Keys({"C-u"});
  p.Type("delta");
  p.Keys({"Tab", "Right", "Right", "Tab", "Tab", "Tab", "Tab"});
  p.Type("1.5");
  p.Keys({"Enter"});
  std::string progress = p.WaitFor("adding delta");
  p.WaitFor("agent delta started");
  std::string done = p.WaitFor("›  3 delta        codex   running");  // the new agent is selected
  EXPECT_EQ(f.Actions(), (std::vector<std::string>{
                             "add Bad_Name profile= repo= workspace= cpus= memory= pids= network=",
                             "add delta profile=codex repo= workspace= cpus=1.5 memory= pids= network="}));
}

TEST(TuiTmuxTest, KillWithConfirm) {
  Fixture f(kThree);
  Pane p(80, 24, Dashboard(f));
  p.WaitFor("gamma");
  p.Keys({"k"});
  p.WaitFor("kill agent alpha?");
  p.Keys({"n"});
  p.WaitFor("kill cancelled: alpha was not touched");
  EXPECT_TRUE(f.Actions().empty());
  p.Keys({"k"});
  p.WaitFor("kill agent alpha?");
  p.Keys({"y"});
  std::string screen = p.WaitFor("killed alpha");
  EXPECT_TRUE(Has(p.WaitFor("alpha        claude  killed"), "1 killed"));
  EXPECT_EQ(f.Actions(), (std::vector<std::string>{"kill alpha"}));
}

TEST(TuiTmuxTest, LongOperationDoesNotFreezeTheScreen) {
  Fixture f(std::string(kThree) + R"(, "op_delay_ms": 3000)");
  Pane p(80, 24, Dashboard(f));
  p.WaitFor("gamma");
  p.Keys({"k", "y"});
  std::string busy = p.WaitFor("killing alpha");
  // The spinner's seconds advance and keys still work while the host is busy.
  p.WaitUntil([](const std::string& s) { return std::regex_search(s, std::regex("killing alpha… [1-9]\\.[0-9]s")); });
  p.Keys({"j"});
  std::string moved = p.WaitFor("›  2 beta");
  EXPECT_TRUE(Has(moved, "killing alpha")) << moved;
  p.Keys({"r"});
  p.WaitFor("r: busy killing alpha; wait for it to finish");
  p.WaitFor("killed alpha");
}

TEST(TuiTmuxTest, Filter) {
  Fixture f(kThree);
  Pane p(80, 24, Dashboard(f));
  p.WaitFor("gamma");
  p.Keys({"/"});
  p.Type("gam");
  std::string filtered = p.WaitGone("alpha ");
  EXPECT_TRUE(Has(filtered, "filter \"gam\" 1/3")) << filtered;
  EXPECT_TRUE(Has(filtered, "›  1 gamma")) << filtered;
  p.Keys({"Enter"});
  p.Keys({"Escape"});
  p.WaitFor("alpha ");
}

TEST(TuiTmuxTest, Help) {
  Fixture f(kThree);
  Pane p(80, 24, Dashboard(f));
  p.WaitFor("gamma");
  p.Keys({"?"});
  std::string help = p.WaitFor("─ keys ─");
  EXPECT_TRUE(Has(help, "PANIC: stop every agent and lock the host (type panic)")) << help;
  p.Keys({"Escape"});
  p.WaitGone("─ keys ─");
}

// The "agent" for the connect tests: a session "alpha" running cat on a second private tmux server,
// and a dashboard fixture whose attach command is a real `tmux attach` to it.
struct CatAgent {
  std::string socket = UniqueSocketName("agent");
  CatAgent() {
    ProcessResult r =
        Tmux(socket, {"new-session", "-d", "-s", "alpha", "-x", "80", "-y", "24", "--", "/bin/cat"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  ~CatAgent() {
    Tmux(socket, {"kill-server"});
    RemoveSocketFile(socket);
  }
  std::string FixtureJson() const {
    return std::string(kThree) + R"(, "attach_argv": ["tmux", "-L", ")" + socket +
           R"(", "-f", "/dev/null", "attach", "-t", "={name}"])";
  }
  std::string Screen() { return Tmux(socket, {"capture-pane", "-p", "-t", "alpha"}).out; }
};

TEST(TuiTmuxTest, ConnectAndComeBack) {
  // The "agent" is a session on a second private tmux server; the dashboard attaches to it with a
  // real `tmux attach` and comes back when the client detaches (prefix, then d).
  CatAgent agent;
  Fixture f(agent.FixtureJson());
  Pane p(80, 24, Dashboard(f));
  p.WaitFor("gamma");
  p.Keys({"Enter"});
  p.WaitFor("[alpha]");  // the agent session's status line: its client is attached and reads keys
  p.Type("typed-into-the-agent");
  p.Keys({"Enter"});
  std::string attached = p.WaitFor("typed-into-the-agent\ntyped-into-the-agent");
  EXPECT_TRUE(Has(agent.Screen(), "typed-into-the-agent"));
  p.Keys({"C-b", "d"});
  std::string back = p.WaitFor("back from alpha (detached)");
  EXPECT_TRUE(Has(back, "a add k kill")) << back;
  EXPECT_FALSE(PathExists(f.Sub("exit-status"))) << "the dashboard still runs";
}

// Keys typed right after the connect key (one write, so the dashboard sees them in one read) go to
// the agent's session, as with `tmux attach`; they are not played to the dashboard after detaching.
TEST(TuiTmuxTest, KeysTypedRightAfterConnectGoToTheAgent) {
  CatAgent agent;
  Fixture f(agent.FixtureJson());
  Pane p(80, 24, Dashboard(f));
  p.WaitFor("gamma");
  // "typed-ahead": t, y, p, e (the audit view), d, a (the add form) ... were the dashboard to get them.
  p.Keys({"Enter", "t", "y", "p", "e", "d", "-", "a", "h", "e", "a", "d", "Enter"});
  bool arrived = false;
  for (int i = 0; i < 600 && !arrived; ++i) {
    arrived = Has(agent.Screen(), "typed-ahead");
    if (!arrived) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_TRUE(arrived) << "the keys typed after Enter never reached the agent's session";
  p.WaitFor("[alpha]");
  p.Keys({"C-b", "d"});
  std::string back = p.WaitFor("back from alpha (detached)");
  EXPECT_TRUE(Has(back, "a add k kill")) << "the dashboard left its table: " << back;
  EXPECT_FALSE(Has(back, "does nothing here")) << back;
}

TEST(TuiTmuxTest, ConnectFailureIsShownAndTheDashboardResumes) {
  Fixture f(std::string(kThree) + R"(, "attach_argv": ["/bin/false"])");
  Pane p(80, 24, Dashboard(f));
  p.WaitFor("gamma");
  p.Keys({"c"});
  std::string screen = p.WaitFor("connect to alpha: /bin/false ended with exit status 1 (fix:");
  EXPECT_TRUE(Has(screen, "a add k kill")) << screen;
}

TEST(TuiTmuxTest, PanicCancelAndConfirm) {
  Fixture f(kThree);
  Pane p(80, 24, Dashboard(f));
  p.WaitFor("gamma");
  p.Keys({"!"});
  p.WaitFor("Type panic and press Enter");
  p.Type("pan");
  p.Keys({"Escape"});
  p.WaitFor("panic cancelled: nothing was done");
  EXPECT_TRUE(f.Actions().empty());
  p.Keys({"!"});
  p.WaitFor("Type panic and press Enter");
  p.Type("panic");
  p.Keys({"Enter"});
  std::string locked = p.WaitFor("LOCKED after a panic");
  p.WaitFor("3 agents: 3 killed");
  EXPECT_EQ(f.Actions(), (std::vector<std::string>{"panic panic from the dashboard"}));
  // After the lock-out, adding is refused with the reason.
  p.Keys({"a"});
  p.WaitFor("a: the host is locked after a panic");
}

TEST(TuiTmuxTest, RefusedKeyIsDimmedAndExplained) {
  Fixture f(kThree);
  Pane p(80, 24, Dashboard(f));
  p.WaitFor("gamma");
  p.Keys({"2"});  // beta: exited
  // With colours the footer's connect key is dim (SGR 2), the others bold.
  std::string styled = p.WaitUntil([](const std::string& s) { return Has(s, "\033[2mconnect"); }, true);
  EXPECT_TRUE(Has(styled, "\033[2mconnect")) << styled;
  p.Keys({"Enter"});
  p.WaitFor("Enter: agent beta is exited; only a running agent can be connected to");
  p.Keys({"z"});
  p.WaitFor("z does nothing here; ? lists the keys");
}

TEST(TuiTmuxTest, NoColorMeansNoColourCodes) {
  Fixture f(kThree);
  Pane coloured(80, 24, Dashboard(f));
  std::string with = coloured.WaitUntil([](const std::string& s) { return Has(s, "gamma"); }, true);
  const std::regex colour_code(std::regex("\033\\[([0-9]+;)*(3[0-7]|4[0-7])(;[0-9]+)*m"));
  EXPECT_TRUE(std::regex_search(with, colour_code)) << "colours by default";
  Pane plain(80, 24, Dashboard(f, {"NO_COLOR=1"}));
  std::string without = plain.WaitUntil([](const std::string& s) { return Has(s, "gamma"); }, true);
  EXPECT_FALSE(std::regex_search(without, colour_code)) << without;
  EXPECT_TRUE(std::regex_search(without, std::regex("\033\\[(0;)?7m"))) << "the selection is still shown (reverse video)";
}

TEST(TuiTmuxTest, AsciiWhenTheLocaleIsNotUtf8) {
  Fixture f(kThree);
  Pane p(80, 24, Dashboard(f, {"LANG=C"}));
  std::string screen = p.WaitFor("gamma");
  EXPECT_TRUE(Has(screen, ">  1 alpha")) << screen;
  EXPECT_TRUE(Has(screen, " | every 1s")) << screen;
}

TEST(TuiTmuxTest, TranscriptAndAuditViews) {
  Fixture f(kThree);
  Pane p(80, 24, Dashboard(f));
  p.WaitFor("gamma");
  p.Keys({"l"});
  // Both views load in the background ("loading…" first): wait for the content, not the title.
  std::string out = p.WaitFor("alpha output line 60");
  EXPECT_TRUE(Has(out, "transcript of alpha · 60 lines · following")) << out;
  p.Keys({"Home"});
  p.WaitFor("alpha output line 1\n");
  // Escape and the next key in one write would read as Alt+key: wait for the list first.
  p.Keys({"Escape"});
  p.WaitFor("a add k kill");
  p.Keys({"e"});
  std::string audit = p.WaitFor("deny   connect 169.254.169.254:80");
  EXPECT_TRUE(Has(audit, "exec and denial records of alpha")) << audit;
  p.Keys({"Escape"});
  p.WaitFor("a add k kill");
}

TEST(TuiTmuxTest, QuitEndsWithStatusZero) {
  Fixture f(kThree);
  Pane p(80, 24, Dashboard(f));
  p.WaitFor("gamma");
  p.Keys({"q"});
  EXPECT_EQ(f.WaitExit(), "0") << p.Capture();
}

TEST(TuiTmuxTest, SigtermGivesTheTerminalBackAndLetsTheOperationFinish) {
  Fixture f(std::string(kThree) + R"(, "op_delay_ms": 1500)");
  Pane p(80, 24, Dashboard(f));
  p.WaitFor("gamma");
  p.Keys({"k", "y"});
  p.WaitFor("killing alpha");
  // The pane runs sh, whose child is the dashboard.
  std::string sh = p.Format("#{pane_pid}");
  auto children = ReadFile("/proc/" + sh + "/task/" + sh + "/children");
  ASSERT_TRUE(children.ok());
  int dashboard = std::atoi(std::string(Trim(*children)).c_str());
  ASSERT_GT(dashboard, 0);
  ASSERT_EQ(kill(dashboard, SIGTERM), 0);
  EXPECT_EQ(f.WaitExit(), "0") << p.Capture();
  EXPECT_FALSE(Has(p.Capture(), "a add k kill")) << "the alternate screen is gone:\n" << p.Capture();
  EXPECT_EQ(f.Actions(), (std::vector<std::string>{"kill alpha"})) << "the kill was not cut off";
}

TEST(TuiTmuxTest, BadFixtureIsAClearError) {
  Fixture f(R"("agents": 3)");
  Pane p(80, 24, Dashboard(f));
  EXPECT_EQ(f.WaitExit(), "2") << p.Capture();
  EXPECT_TRUE(Has(p.Capture(), "the fixture's \"agents\" is not a list")) << p.Capture();
}

}  // namespace
}  // namespace cloudcoop::tui
