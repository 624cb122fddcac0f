// The real dashboard on the real local agent host: the cloudcoop binary in a tmux pane (private
// socket), agents on a state directory and agent uid range of the test's own, real tmux, real uids.
// Every test ends with `cloudcoop panic` on its state directory, which stops its agents and its
// tmux server even when the test failed. Needs root, like the agent host's own tests.
//
// Agents run in their real sandboxes with network mode none (egress needs `sandbox prepare-host`,
// which a test does not do to the machine). kUnsandboxed switches every test to the explicit
// unsandboxed mode (`--unsandboxed` for the CLI, the form's sandbox switch for the dashboard).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/files.h"
#include "core/strings.h"
#include "testing/test_util.h"
#include "tui/test_pane.h"

namespace cloudcoop::tui {
namespace {

using ::cloudcoop::testing::CliResult;
using ::cloudcoop::testing::RunBinary;
using ::cloudcoop::testing::TempDir;
using nlohmann::json;

constexpr bool kUnsandboxed = false;

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class DashboardHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "the agent host needs root (per-agent uids)";
    ASSERT_EQ(chmod(tmp_.path().c_str(), 0711), 0);
    state_ = tmp_.Sub("s");
    base_ = 70000000u + static_cast<uint32_t>(getpid() % 4000000) * 1000u;
    env_ = {{"CLOUDCOOP_STATE_DIR", state_},
            {"CLOUDCOOP_AGENT_UID_BASE", std::to_string(base_)},
            {"CLOUDCOOP_AGENT_UID_COUNT", "1000"},
            {"HOME", tmp_.path()},
            {"XDG_CONFIG_HOME", tmp_.Sub("xdg")},
            {"CLOUDCOOP_AGENTS_NETWORK", "none"}};
  }
  void TearDown() override {
    pane_.reset();
    if (PathExists(state_)) Cc({"panic", "--yes", "--reason", "test teardown"});
  }

  CliResult Cc(const std::vector<std::string>& args) { return RunBinary(args, env_); }
  void AddOk(const std::string& name) {
    std::vector<std::string> args = {"agent", "add", name};
    if (kUnsandboxed) args.push_back("--unsandboxed");
    CliResult r = Cc(args);
    ASSERT_EQ(r.rc, 0) << r.err << r.out;
  }
  json Agent(const std::string& name) {
    CliResult r = Cc({"agent", "list", "--json"});
    EXPECT_EQ(r.rc, 0) << r.err;
    json list = json::parse(r.out, nullptr, false);
    if (list.is_discarded()) return json();
    for (auto& a : list) {
      if (a["name"] == name) return a;
    }
    return json();
  }
  Pane& Open(int w = 100, int h = 30) {
    std::vector<std::string> cmd = {"/usr/bin/env", "TZ=UTC", "LANG=C.UTF-8", "LC_ALL=", "NO_COLOR="};
    for (const auto& [k, v] : env_) cmd.push_back(k + "=" + v);
    cmd.push_back(testing::BinaryPath());
    pane_ = std::make_unique<Pane>(w, h, cmd);
    return *pane_;
  }

  TempDir tmp_;
  std::string state_;
  uint32_t base_ = 0;
  std::map<std::string, std::string> env_;
  std::unique_ptr<Pane> pane_;
};

TEST_F(DashboardHostTest, AddViaTheForm) {
  Pane& p = Open();
  p.WaitFor("No agents on this host yet");
  p.Keys({"a"});
  p.WaitFor("add an agent");
  p.Type("form-agent");
  if (kUnsandboxed) {
    p.Keys({"Up", "Right"});  // the last field: the sandbox switch
    p.WaitFor("OFF: UNSANDBOXED");
  }
  p.Keys({"Enter"});
  p.WaitFor("agent form-agent started (profile shell");
  std::string screen = p.WaitFor("form-agent");
  p.WaitUntil([](const std::string& s) { return Has(s, "1 agent: 1 running"); });
  json a = Agent("form-agent");
  EXPECT_EQ(a["state"], "running") << a.dump();
  EXPECT_EQ(a["profile"], "shell");
  EXPECT_EQ(a["unsandboxed"], kUnsandboxed);
  // A bad name comes back from the host into the form, nothing is created.
  p.Keys({"a", "C-u"});
  p.Type("Bad_Name");
  p.Keys({"Enter"});
  p.WaitFor("agent name Bad_Name is not valid");
  p.Keys({"Escape"});
  EXPECT_TRUE(Agent("Bad_Name").is_null());
}

TEST_F(DashboardHostTest, KillWithConfirm) {
  AddOk("victim");
  Pane& p = Open();
  p.WaitFor("victim");
  p.WaitUntil([](const std::string& s) { return Has(s, "1 agent: 1 running"); });
  p.Keys({"k"});
  p.WaitFor("kill agent victim?");
  p.Keys({"n"});
  p.WaitFor("kill cancelled: victim was not touched");
  EXPECT_EQ(Agent("victim")["state"], "running");
  p.Keys({"k"});
  p.WaitFor("kill agent victim?");
  p.Keys({"y"});
  p.WaitFor("killed victim");
  p.WaitUntil([](const std::string& s) { return Has(s, "1 agent: 1 killed"); });
  EXPECT_EQ(Agent("victim")["state"], "killed");
}

TEST_F(DashboardHostTest, ConnectAndComeBack) {
  AddOk("talker");
  Pane& p = Open();
  p.WaitUntil([](const std::string& s) { return Has(s, "1 agent: 1 running"); });
  p.Keys({"Enter"});
  // The agent session's status line is drawn once its client is attached and reads the keys; until
  // then typed keys could still reach the dashboard (its screen may be between two frames).
  p.WaitFor("[cloudcoop talker]");
  // Inside the agent's own tmux session: a shell running as the agent's uid.
  p.Type("echo marker-$((6*7)) uid=$(id -u)");
  p.Keys({"Enter"});
  std::string inside = p.WaitFor("marker-42 uid=");
  uint32_t uid = Agent("talker").value("uid", 0u);
  EXPECT_TRUE(Has(inside, "marker-42 uid=" + std::to_string(uid))) << inside;
  p.Keys({"C-b", "d"});
  std::string back = p.WaitFor("back from talker (detached)");
  EXPECT_TRUE(Has(back, "talker")) << back;
  EXPECT_EQ(Agent("talker")["state"], "running");
  // The agent's output is readable from the dashboard: its transcript file, escape sequences
  // stripped, so also what the screen itself overwrote (text before a carriage return; the pane's
  // scroll-back shows only what the screen ended with).
  p.Keys({"Enter"});
  p.WaitFor("[cloudcoop talker]");
  p.Type("printf 'overwritten-%s\\r%s\\n' $((6*7)) SHOWN-ON-SCREEN-ONLY-THIS-LINE");
  p.Keys({"Enter"});
  p.WaitFor("SHOWN-ON-SCREEN-ONLY-THIS-LINE");
  p.Keys({"C-b", "d"});
  p.WaitFor("back from talker (detached)");
  p.Keys({"l"});
  p.WaitFor("transcript of talker");
  p.WaitFor("marker-42 uid=" + std::to_string(uid));
  p.WaitFor("overwritten-42SHOWN-ON-SCREEN-ONLY-THIS-LINE");
}

TEST_F(DashboardHostTest, PanicCancelAndConfirm) {
  AddOk("one");
  AddOk("two");
  Pane& p = Open();
  p.WaitUntil([](const std::string& s) { return Has(s, "2 agents: 2 running"); });
  p.Keys({"!"});
  p.WaitFor("Type panic and press Enter");
  p.Type("pani");
  p.Keys({"Escape"});
  p.WaitFor("panic cancelled: nothing was done");
  EXPECT_EQ(Agent("one")["state"], "running");
  EXPECT_EQ(Agent("two")["state"], "running");
  p.Keys({"!"});
  p.WaitFor("Type panic and press Enter");
  p.Type("panic");
  p.Keys({"Enter"});
  p.WaitFor("PANIC: stopped 2 agent(s)");
  p.WaitFor("LOCKED after a panic");
  p.WaitUntil([](const std::string& s) { return Has(s, "2 agents: 2 killed"); });
  EXPECT_EQ(Agent("one")["state"], "killed");
  EXPECT_EQ(Agent("two")["state"], "killed");
  // Locked out: the dashboard refuses to add, with the reason.
  p.Keys({"a"});
  p.WaitFor("a: the host is locked after a panic");
}

}  // namespace
}  // namespace cloudcoop::tui
