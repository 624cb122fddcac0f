// Unit tests of the agent host's pure parts: names, the word splitter, profiles, limits, the
// registry's files and locks, tmux argument escaping, and the service logic over a fake tmux.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "core/files.h"
#include "core/strings.h"
#include "node/control_log.h"
#include "node/names.h"
#include "node/profiles.h"
#include "node/registry.h"
#include "node/service.h"
#include "node/state.h"
#include "node/tmux.h"
#include "node/words.h"
#include "testing/test_util.h"

namespace cloudcoop::node {
namespace {

using ::cloudcoop::testing::TempDir;

TEST(AgentNameTest, AcceptsValidNames) {
  for (const char* n : {"a", "agent1", "my-agent", "a-b-c-9", "abcdefghijklmnopqrstuvwxyz012345"}) {
    EXPECT_TRUE(ValidateAgentName(n).ok()) << n;
  }
}

TEST(AgentNameTest, RefusesEverythingElseWithAReason) {
  struct Case {
    std::string name, why;
  } cases[] = {
      {"", "it is empty"},
      {"Agent", "must start with a lowercase letter, not 'A'"},
      {"1agent", "must start with a lowercase letter, not '1'"},
      {"-x", "must start with a lowercase letter"},
      {"a_b", "character '_' at position 2 is not allowed"},
      {"a.b", "character '.' at position 2"},
      {"a:b", "character ':' at position 2"},
      {"a;rm", "character ';' at position 2"},
      {"a b", "character 0x20 at position 2"},
      {"a/b", "character '/' at position 2"},
      {"a--b", "two hyphens in a row at position 2"},
      {"ab-", "must not end with a hyphen"},
      {"abcdefghijklmnopqrstuvwxyz0123456", "33 characters, more than 32"},
      {std::string("a\nb"), "character 0x0a"},
      {"=a", "not '='"},
  };
  for (const auto& c : cases) {
    Status st = ValidateAgentName(c.name);
    ASSERT_FALSE(st.ok()) << c.name;
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find(c.why), std::string::npos) << c.name << ": " << st.message();
    EXPECT_NE(st.fix().find("lowercase letters, digits and single hyphens"), std::string::npos);
  }
  EXPECT_NE(ValidateAgentName("My_Agent").fix().find("\"my-agent\""), std::string::npos);
}

TEST(BranchNameTest, Validates) {
  for (const char* b : {"main", "feature/x", "cloudcoop/a1", "v1.2_rc-3"}) EXPECT_TRUE(ValidateBranchName(b).ok()) << b;
  for (const char* b : {"", "-x", ".x", "/x", "x/", "a..b", "a//b", "a/.b", "x.lock", "a b", "a~1", "a^", "a:b", "HEAD", "a\\b"}) {
    EXPECT_FALSE(ValidateBranchName(b).ok()) << b;
  }
}

TEST(WordsTest, SplitsLikeAShellWithoutExpansion) {
  auto w = SplitCommandWords("claude --dangerously-skip-permissions");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"claude", "--dangerously-skip-permissions"}));
  w = SplitCommandWords("  my-agent   --prompt 'fix the \"parser\"'\t x");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"my-agent", "--prompt", "fix the \"parser\"", "x"}));
  w = SplitCommandWords(R"(tool "a \"q\" \\ \$HOME \x" back\ slash '' "" a'b'"c")");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"tool", "a \"q\" \\ $HOME \\x", "back slash", "", "", "abc"}));
  w = SplitCommandWords("a#b x~y 'a;b|c' \"$(x)\"");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"a#b", "x~y", "a;b|c", "$(x)"}));
}

TEST(WordsTest, RefusesWhatAShellWouldInterpret) {
  struct Case {
    const char* text;
    const char* why;
  } cases[] = {
      {"a | b", "shell operator '|' at column 3"},
      {"a && b", "shell operator '&'"},
      {"a; b", "shell operator ';'"},
      {"a > f", "shell operator '>'"},
      {"a < f", "shell operator '<'"},
      {"(a)", "shell operator '('"},
      {"echo $HOME", "'$' would be an expansion"},
      {"echo `id`", "'`' would be an expansion"},
      {"ls *.c", "glob character '*'"},
      {"ls a?", "glob character '?'"},
      {"ls [ab]", "glob character '['"},
      {"a # c", "would start a comment"},
      {"cd ~/x", "home directory"},
      {"'open", "unterminated single quote"},
      {"\"open", "unterminated double quote"},
      {"a\\", "a backslash at the end"},
      {"", "is empty"},
      {"   ", "is empty"},
      {"a\x01", "a control character"},
  };
  for (const auto& c : cases) {
    auto w = SplitCommandWords(c.text);
    ASSERT_FALSE(w.ok()) << c.text;
    EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(w.status().message().find(c.why), std::string::npos) << c.text << ": " << w.status().message();
    EXPECT_FALSE(w.status().fix().empty()) << c.text;
  }
}

TEST(WordsTest, JoinRoundTrips) {
  std::vector<std::string> words = {"a", "b c", "it's", "$x", ""};
  auto back = SplitCommandWords(JoinCommandWords(words));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, words);
}

AgentSettings TestSettings() {
  AgentSettings s;
  s.default_profile = "shell";
  s.network = "egress";
  s.profiles["shell"] = {"shell", "bash -l", "bash -l", {}};
  s.profiles["claude"] = {"claude", "claude --dangerously-skip-permissions",
                          "claude --dangerously-skip-permissions --continue", {{"MODE", "x"}}};
  s.profiles["broken"] = {"broken", "a | b", "", {}};
  return s;
}

TEST(ProfilesTest, ResolvesCommandResumeAndEnv) {
  auto c = ResolveAgentCommand(TestSettings(), std::string("claude"), std::nullopt, {"EXTRA=1", "MODE=y"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->argv, (std::vector<std::string>{"claude", "--dangerously-skip-permissions"}));
  EXPECT_EQ(c->resume_argv, (std::vector<std::string>{"claude", "--dangerously-skip-permissions", "--continue"}));
  EXPECT_EQ(c->env, (std::map<std::string, std::string>{{"EXTRA", "1"}, {"MODE", "y"}}));
  auto d = ResolveAgentCommand(TestSettings(), std::nullopt, std::string("python3 -m http.server 'a b'"), {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->profile, "shell");
  EXPECT_EQ(d->argv, (std::vector<std::string>{"python3", "-m", "http.server", "a b"}));
  EXPECT_EQ(d->resume_argv, d->argv);
}

TEST(ProfilesTest, ErrorsNameTheProblem) {
  auto c = ResolveAgentCommand(TestSettings(), std::string("clade"), std::nullopt, {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "unknown agent profile \"clade\"");
  EXPECT_NE(c.status().fix().find("did you mean \"claude\"?"), std::string::npos);
  c = ResolveAgentCommand(TestSettings(), std::string("broken"), std::nullopt, {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("agents.profiles.broken.command"), std::string::npos);
  c = ResolveAgentCommand(TestSettings(), std::nullopt, std::string("x $Y"), {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("--cmd"), std::string::npos);
  c = ResolveAgentCommand(TestSettings(), std::nullopt, std::nullopt, {"NOEQUALS"});
  EXPECT_NE(c.status().message().find("has no '='"), std::string::npos);
  c = ResolveAgentCommand(TestSettings(), std::nullopt, std::nullopt, {"1X=2"});
  EXPECT_NE(c.status().message().find("environment variable name"), std::string::npos);
  c = ResolveAgentCommand(TestSettings(), std::nullopt, std::nullopt, {"PATH=/evil"});
  EXPECT_NE(c.status().message().find("PATH is set by cloudcoop"), std::string::npos);
}

TEST(ProfilesTest, ProtectedFilesPerProfile) {
  auto claude = ProtectedProfileFiles("claude");
  auto has = [](const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); };
  EXPECT_TRUE(has(claude.workspace_files, ".claude/settings.json"));
  EXPECT_TRUE(has(claude.workspace_files, ".mcp.json"));
  EXPECT_TRUE(has(claude.workspace_dirs, ".claude/commands"));
  EXPECT_TRUE(has(claude.workspace_dirs, ".vscode"));
  EXPECT_TRUE(has(claude.home_files, ".claude/settings.json"));
  EXPECT_TRUE(has(ProtectedProfileFiles("codex").workspace_dirs, ".codex"));
  EXPECT_TRUE(has(ProtectedProfileFiles("shell").home_files, ".bashrc"));
  EXPECT_FALSE(has(ProtectedProfileFiles("shell").workspace_files, ".mcp.json"));
}

TEST(LimitsTest, FlagsOverDefaultsWithinTheHost) {
  AgentSettings s = TestSettings();
  HostFacts host{4, 8ULL << 30, 10000};
  AddRequest r;
  auto l = ResolveLimits(r, s, host);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->pids, 1024);
  r.cpus = "1.5";
  r.memory = "2G";
  r.pids = "64";
  l = ResolveLimits(r, s, host);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_DOUBLE_EQ(l->cpus, 1.5);
  EXPECT_EQ(l->memory_bytes, 2ULL << 30);
  EXPECT_EQ(l->pids, 64);
  struct Case {
    std::optional<std::string> cpus, memory, pids;
    std::string want;
  } cases[] = {
      {"8", {}, {}, "--cpus 8 is more than this host's 4 CPUs"},
      {"abc", {}, {}, "--cpus abc is not a number"},
      {"0", {}, {}, "between 0.01 and 4096"},
      {{}, "16G", {}, "--memory 16G is more than this host's 8.0G"},
      {{}, "1M", {}, "below the minimum of 16M"},
      {{}, "lots", {}, "--memory"},
      {{}, {}, "20000", "--pids 20000 is more than this host's pid_max 10000"},
      {{}, {}, "2", "between 8 and 4194304"},
  };
  for (const auto& c : cases) {
    AddRequest bad;
    bad.cpus = c.cpus;
    bad.memory = c.memory;
    bad.pids = c.pids;
    auto res = ResolveLimits(bad, s, host);
    ASSERT_FALSE(res.ok()) << c.want;
    EXPECT_EQ(res.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(res.status().message().find(c.want), std::string::npos) << res.status().message();
  }
}

TEST(TmuxArgTest, TrailingSemicolonIsEscaped) {
  EXPECT_EQ(TmuxArg("plain"), "plain");
  EXPECT_EQ(TmuxArg("a;"), "a\\;");
  EXPECT_EQ(TmuxArg("a\\;"), "a\\\\;");
  EXPECT_EQ(TmuxArg(";"), "\\;");
  EXPECT_EQ(TmuxArg("a;b"), "a;b");
}

AgentRecord SampleRecord(const std::string& name, uint32_t uid) {
  AgentRecord r;
  r.name = name;
  r.profile = "shell";
  r.argv = {"bash", "-l"};
  r.resume_argv = {"bash", "-l"};
  r.env = {{"A", "1"}};
  r.workspace = "/w/" + name;
  r.home = "/h/" + name;
  r.uid = r.gid = uid;
  r.network = "none";
  r.state = AdminState::kRunning;
  r.generation = 2;
  r.repo = RepoInfo{"/repo", "cloudcoop/" + name, "refs/heads/cloudcoop/" + name, "abc"};
  r.killed_at = SystemTime{} + std::chrono::seconds(1700000000);
  r.killed_by = "kill";
  return r;
}

TEST(RegistryTest, RecordRoundTripsAndRejectsCorruption) {
  UidRange range;
  AgentRecord r = SampleRecord("a1", range.base + 5);
  auto back = RecordFromJson(RecordToJson(r), "x", range);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(RecordToJson(*back), RecordToJson(r));
  EXPECT_EQ(RecordFromJson("{", "f.json", range).status().code(), StatusCode::kDataLoss);
  EXPECT_NE(RecordFromJson("{}", "f.json", range).status().message().find("agent record f.json is corrupt"),
            std::string::npos);
  AgentRecord outside = SampleRecord("a1", 1000);
  EXPECT_NE(RecordFromJson(RecordToJson(outside), "x", range).status().message().find("uid outside"), std::string::npos);
  AgentRecord badname = SampleRecord("a1", range.base);
  badname.name = "../etc";
  EXPECT_NE(RecordFromJson(RecordToJson(badname), "x", range).status().message().find("bad agent name"), std::string::npos);
}

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = OpenStateDir(tmp_.Sub("state"));
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    layout_ = std::make_unique<StateLayout>(*l);
  }
  TempDir tmp_;
  std::unique_ptr<StateLayout> layout_;
};

TEST_F(StateTest, CreatesTheTreeWithExactModes) {
  struct Want {
    std::string path;
    mode_t mode;
  } wants[] = {{layout_->root(), 0711},          {layout_->agents_dir(), 0700}, {layout_->homes_dir(), 0711},
               {layout_->workspaces_dir(), 0711}, {layout_->run_dir(), 0700},    {layout_->handoff_dir(), 0711}};
  for (const auto& w : wants) {
    struct stat st;
    ASSERT_EQ(stat(w.path.c_str(), &st), 0) << w.path;
    EXPECT_EQ(st.st_mode & 07777, w.mode) << w.path;
  }
  EXPECT_TRUE(PathExists(layout_->uid_range_file()));
}

TEST_F(StateTest, RefusesRelativeFileAndTooLongPaths) {
  EXPECT_EQ(OpenStateDir("relative/dir").status().code(), StatusCode::kInvalidArgument);
  std::string file = tmp_.Write("afile", "x");
  auto st = OpenStateDir(file);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("exists but is not a directory"), std::string::npos);
  auto nested = OpenStateDir(file + "/below");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().fix().find("CLOUDCOOP_STATE_DIR"), std::string::npos) << nested.status().ToString();
  auto longdir = OpenStateDir(tmp_.Sub(std::string(90, 'x')));
  ASSERT_FALSE(longdir.ok());
  EXPECT_NE(longdir.status().message().find("too long for a Unix socket path"), std::string::npos);
}

TEST_F(StateTest, UidRangeFromEnvironmentAndAllocationNeverReuses) {
  ::cloudcoop::testing::ScopedEnv env("CLOUDCOOP_AGENT_UID_BASE", "300000000");
  auto l = OpenStateDir(tmp_.Sub("other"));
  ASSERT_TRUE(l.ok());
  Registry reg(*l);
  EXPECT_EQ(reg.uids().base, 300000000u);
  EXPECT_EQ(reg.uids().count, kCustomAgentUidCount);
  auto a = reg.AllocateUid();
  auto b = reg.AllocateUid();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, 300000000u);
  EXPECT_EQ(*b, 300000001u);
  // The default range for the state dir made without the variable.
  EXPECT_EQ(Registry(*layout_).uids().base, kDefaultAgentUidBase);
  ::cloudcoop::testing::ScopedEnv bad("CLOUDCOOP_AGENT_UID_BASE", "12");
  auto l2 = OpenStateDir(tmp_.Sub("third"));
  ASSERT_FALSE(l2.ok());
  EXPECT_NE(l2.status().message().find("CLOUDCOOP_AGENT_UID_BASE=12"), std::string::npos);
}

// The counter is the authority; when it is lost or damaged, the uids owning homes and workspaces
// are counted again, so no uid is handed out twice.
TEST_F(StateTest, ALostOrDamagedUidCounterIsRecountedFromHomesAndWorkspaces) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give directories to agent uids";
  Registry reg(*layout_);
  auto first = reg.AllocateUid();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // Agents whose files are owned by later uids (as after many adds and removals of their records).
  ASSERT_TRUE(MakeDirs(layout_->homes_dir() + "/x").ok());
  ASSERT_TRUE(MakeDirs(layout_->workspaces_dir() + "/y").ok());
  ASSERT_EQ(lchown((layout_->homes_dir() + "/x").c_str(), *first + 5, *first + 5), 0);
  ASSERT_EQ(lchown((layout_->workspaces_dir() + "/y").c_str(), *first + 9, *first + 9), 0);

  ASSERT_EQ(unlink(layout_->next_uid_file().c_str()), 0);
  auto after_loss = reg.AllocateUid();
  ASSERT_TRUE(after_loss.ok()) << after_loss.status().ToString();
  EXPECT_EQ(*after_loss, *first + 10) << "a uid in use was handed out again";

  ASSERT_TRUE(WriteFileAtomic(layout_->next_uid_file(), "12\n", 0600).ok());  // outside the range
  auto after_damage = reg.AllocateUid();
  ASSERT_TRUE(after_damage.ok()) << after_damage.status().ToString();
  EXPECT_EQ(*after_damage, *first + 10) << "recounted: the homes and workspaces, not the lost counter";
  auto next = reg.AllocateUid();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, *first + 11) << "the counter was written again";
  EXPECT_EQ(Trim(*ReadFile(layout_->next_uid_file())), std::to_string(*first + 12));
}

TEST_F(StateTest, PutGetListDeleteAndStatus) {
  Registry reg(*layout_);
  EXPECT_EQ(reg.Get("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg.Get("nope").status().message(), "there is no agent named \"nope\" on this host");
  EXPECT_EQ(reg.Get("Bad!").status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(reg.Put(SampleRecord("b", reg.uids().base + 1)).ok());
  ASSERT_TRUE(reg.Put(SampleRecord("a", reg.uids().base)).ok());
  ASSERT_TRUE(WriteFileAtomic(layout_->agents_dir() + "/c/agent.json", "garbage", 0600).ok() ||
              (MakeDirs(layout_->agents_dir() + "/c").ok() &&
               WriteFileAtomic(layout_->agents_dir() + "/c/agent.json", "garbage", 0600).ok()));
  std::vector<Status> problems;
  auto all = reg.List(&problems);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "a");
  EXPECT_EQ(all[1].name, "b");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].code(), StatusCode::kDataLoss);
  struct stat st;
  ASSERT_EQ(stat(layout_->record_file("a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  AgentStatus s;
  s.generation = 2;
  s.exit_code = 3;
  ASSERT_TRUE(reg.PutStatus("a", s).ok());
  auto got = reg.GetStatus("a");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->exit_code, 3);
  ASSERT_TRUE(reg.Delete("a").ok());
  EXPECT_FALSE(reg.Exists("a"));
  EXPECT_FALSE(reg.GetStatus("a").has_value());
}

TEST_F(StateTest, LockoutIsReadFailClosed) {
  Registry reg(*layout_);
  EXPECT_FALSE(reg.GetLockout().has_value());
  ASSERT_TRUE(reg.PutLockout(Lockout{SystemTime{}, "why", {"a"}}).ok());
  auto l = reg.GetLockout();
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->reason, "why");
  EXPECT_EQ(l->agents, std::vector<std::string>{"a"});
  ASSERT_TRUE(WriteFileAtomic(layout_->lockout_file(), "not json", 0600).ok());
  EXPECT_TRUE(reg.GetLockout().has_value());  // unparseable still locks
  ASSERT_TRUE(reg.ClearLockout().ok());
  EXPECT_FALSE(reg.GetLockout().has_value());
}

TEST_F(StateTest, LockSerialisesProcesses) {
  Registry reg(*layout_);
  auto held = reg.Lock();
  ASSERT_TRUE(held.ok());
  pid_t child = fork();
  if (child == 0) {
    Registry r2(*layout_);
    auto t = r2.TryLockFor(std::chrono::milliseconds(50));
    _exit(t.ok() && !t->has_value() ? 0 : 1);
  }
  int ws = 0;
  waitpid(child, &ws, 0);
  EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0) << "a second process got the lock while it was held";
  { auto released = std::move(*held); }
  auto again = reg.TryLockFor(std::chrono::milliseconds(50));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->has_value());
}

// The service over a fake tmux: state derivation for `agent list`.
TEST_F(StateTest, ListDerivesStatesFromRecordPaneAndStatus) {
  FakeTmuxClient tmux;
  MemoryControlLog log;
  FakeClock clock;
  UnavailableSandbox sandbox;
  AgentHost host(*layout_, tmux, DefaultProcessRunner(), clock, sandbox, log, HostOptions{"/bin/true"});
  Registry reg(*layout_);
  uint32_t base = reg.uids().base;
  auto put = [&](const std::string& name, AdminState state, int64_t gen) {
    AgentRecord r = SampleRecord(name, base + static_cast<uint32_t>(name[0]));
    r.repo.reset();
    r.killed_at.reset();
    r.state = state;
    r.generation = gen;
    r.started_at = clock.Now();
    if (state == AdminState::kKilled) {
      r.killed_at = clock.Now();
      r.killed_by = "panic";
    }
    if (state == AdminState::kCreating) r.creator_pid = 999999999;
    ASSERT_TRUE(reg.Put(r).ok());
  };
  put("running", AdminState::kRunning, 1);
  put("exited", AdminState::kRunning, 3);
  put("killed", AdminState::kKilled, 1);
  put("lost", AdminState::kRunning, 1);
  put("failed", AdminState::kCreating, 0);
  put("stale", AdminState::kRunning, 2);
  for (const char* n : {"running", "exited", "killed", "stale"}) ASSERT_TRUE(tmux.NewSession({n, {"x", "y"}}).ok());
  tmux.sessions()["running"].screen = "line one\n$ make test\nok 12 tests\n\n\n";
  tmux.sessions()["running"].clients = 2;
  AgentStatus ex;
  ex.generation = 3;
  ex.exited_at = clock.Now();
  ex.exit_code = 4;
  ASSERT_TRUE(reg.PutStatus("exited", ex).ok());
  AgentStatus old;  // from generation 1: ignored for generation 2
  old.generation = 1;
  old.exited_at = clock.Now();
  old.exit_code = 9;
  ASSERT_TRUE(reg.PutStatus("stale", old).ok());
  clock.Advance(std::chrono::seconds(125));
  auto views = host.List(true);
  ASSERT_TRUE(views.ok()) << views.status().ToString();
  std::map<std::string, AgentView> by;
  for (auto& v : *views) by[v.record.name] = v;
  EXPECT_EQ(by["running"].state, "running");
  EXPECT_EQ(by["running"].last_line, "ok 12 tests");
  EXPECT_EQ(by["running"].clients, 2);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(by["running"].uptime).count(), 125);
  EXPECT_EQ(by["exited"].state, "exited");
  EXPECT_EQ(by["exited"].state_detail, "status 4");
  EXPECT_EQ(by["killed"].state, "killed");
  EXPECT_EQ(by["killed"].state_detail, "by panic");
  EXPECT_EQ(by["lost"].state, "lost");
  EXPECT_EQ(by["failed"].state, "failed");
  EXPECT_EQ(by["stale"].state, "running");
}

TEST_F(StateTest, SendPeekAndAttachGoThroughTmuxWithExactNames) {
  FakeTmuxClient tmux;
  MemoryControlLog log;
  UnavailableSandbox sandbox;
  AgentHost host(*layout_, tmux, DefaultProcessRunner(), DefaultClock(), sandbox, log, HostOptions{"/bin/true"});
  Registry reg(*layout_);
  AgentRecord r = SampleRecord("a1", reg.uids().base);
  ASSERT_TRUE(reg.Put(r).ok());
  ASSERT_TRUE(tmux.NewSession({"a1", {"x", "y"}}).ok());
  ASSERT_TRUE(host.Send("a1", "echo hi;", true).ok());
  EXPECT_EQ(tmux.sessions()["a1"].sent, (std::vector<std::string>{"echo hi;", "<Enter>"}));
  EXPECT_EQ(host.Send("zz", "x", true).code(), StatusCode::kNotFound);
  tmux.sessions()["a1"].screen = "1\n2\n3\n4\n\n\n";
  auto p = host.Peek("a1", 2);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, "3\n4\n");
  EXPECT_EQ(host.Peek("a1", 0).status().code(), StatusCode::kInvalidArgument);
  auto argv = host.AttachArgv("a1", true);
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(*argv, (std::vector<std::string>{"tmux", "attach-session", "-r", "-t", "=a1"}));
  tmux.sessions().clear();
  EXPECT_NE(host.AttachArgv("a1", false).status().fix().find("agent restart a1"), std::string::npos);
}

TEST_F(StateTest, AttachNextSkipsWatchedAndClaimedAgents) {
  FakeTmuxClient tmux;
  MemoryControlLog log;
  UnavailableSandbox sandbox;
  AgentHost host(*layout_, tmux, DefaultProcessRunner(), DefaultClock(), sandbox, log, HostOptions{"/bin/true"});
  Registry reg(*layout_);
  for (uint32_t i = 0; i < 3; ++i) {
    std::string n = std::string("a") + static_cast<char>('1' + i);
    ASSERT_TRUE(reg.Put(SampleRecord(n, reg.uids().base + i)).ok());
    ASSERT_TRUE(tmux.NewSession({n, {"x", "y"}}).ok());
  }
  tmux.sessions()["a1"].clients = 1;
  auto first = host.ClaimNextUnwatched();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "a2");
  auto second = host.ClaimNextUnwatched();  // a2 is claimed for a few seconds
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, "a3");
  auto none = host.ClaimNextUnwatched();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "every running agent already has a terminal attached");
}

TEST(TranscriptSecretsTest, EncodeDecodeRoundTripsAndRejectsJunk) {
  std::vector<std::pair<std::string, std::string>> in = {{"A_KEY", "va,lue:with\nodd'chars\""}, {"B", ""}};
  std::string enc = EncodeTranscriptSecrets(in);
  EXPECT_EQ(enc.find_first_not_of("0123456789abcdef:,"), std::string::npos) << enc;
  auto out = DecodeTranscriptSecrets(enc);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, in);
  EXPECT_TRUE(DecodeTranscriptSecrets("")->empty());
  EXPECT_FALSE(DecodeTranscriptSecrets("zz:00").ok());
  EXPECT_FALSE(DecodeTranscriptSecrets("4142").ok());
  EXPECT_FALSE(DecodeTranscriptSecrets("414:00").ok());
}

}  // namespace
}  // namespace cloudcoop::node
