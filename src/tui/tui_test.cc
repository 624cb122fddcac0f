// The dashboard without a terminal: the model is driven by events and its effects are carried out
// synchronously against the fake host; the view is compared with golden text (testdata/*.txt).
// Set CLOUDCOOP_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/files.h"
#include "testing/test_util.h"
#include "tui/fake_source.h"
#include "tui/model.h"
#include "tui/screen.h"
#include "tui/view.h"

namespace cloudcoop::tui {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Runs the model like dashboard.cc does, but synchronously and with a fake clock.
class Harness {
 public:
  explicit Harness(int w = 80, int h = 24) : fake_(clock_), tz_("TZ", "UTC") {
    tzset();
    m_ = NewModel(w, h, fake_.capabilities(), fake_.form_defaults());
  }
  ~Harness() { tzset(); }

  FakeHostSource& fake() { return fake_; }
  FakeClock& clock() { return clock_; }
  Model& m() { return m_; }

  void Refresh() { Apply(Event::SnapshotArrived(fake_.GetSnapshot(), clock_.Monotonic())); }
  void Key(int key) { Apply(Event::KeyPress(key, clock_.Monotonic())); }
  void Keys(const std::string& text) {
    for (char c : text) Key(static_cast<unsigned char>(c));
  }
  void Resize(int w, int h) { Apply(Event::Resize(w, h, clock_.Monotonic())); }
  void Advance(Duration d) {
    clock_.Advance(d);
    Apply(Event::Tick(clock_.Monotonic()));
  }
  // Operations started by the last events, not yet run (hold_ops).
  std::vector<OpRequest>& pending() { return pending_; }
  void set_hold_ops(bool v) { hold_ops_ = v; }
  void RunPending() {
    std::vector<OpRequest> ops;
    ops.swap(pending_);
    for (const OpRequest& op : ops) RunOp(op);
  }
  std::string Text() const { return Render(m_).ToText(); }
  Screen Frame() const { return Render(m_); }
  const std::vector<Effect>& last_effects() const { return last_effects_; }
  int quits() const { return quits_; }
  std::vector<std::vector<std::string>> attached;

  void Apply(const Event& e) {
    std::vector<Effect> effects = Update(m_, e);
    last_effects_ = effects;
    for (const Effect& fx : effects) {
      switch (fx.kind) {
        case Effect::Kind::kRefreshNow: Refresh(); break;
        case Effect::Kind::kRedraw: break;
        case Effect::Kind::kQuit: ++quits_; break;
        case Effect::Kind::kStartOp:
          if (hold_ops_) pending_.push_back(fx.op);
          else RunOp(fx.op);
          break;
        case Effect::Kind::kRunAttach:
          attached.push_back(fx.argv);
          Apply(Event::OpDone(OpKind::kAttach, fx.agent, OkStatus(), "back from " + fx.agent + " (detached)", clock_.Monotonic()));
          break;
        case Effect::Kind::kLoadTranscript: {
          Event ev;
          ev.kind = Event::Kind::kTranscript;
          ev.agent = fx.agent;
          auto lines = fake_.Transcript(fx.agent, 2000);
          if (lines.ok()) ev.lines = *lines;
          else ev.status = lines.status();
          Apply(ev);
          break;
        }
        case Effect::Kind::kLoadAudit: {
          Event ev;
          ev.kind = Event::Kind::kAudit;
          ev.agent = fx.agent;
          auto records = fake_.AuditRecords(fx.agent, 2000);
          if (records.ok()) ev.records = *records;
          else ev.status = records.status();
          Apply(ev);
          break;
        }
      }
    }
  }

 private:
  void RunOp(const OpRequest& op) {
    if (op.kind == OpKind::kAttach) {
      auto argv = fake_.AttachArgv(op.agent);
      if (!argv.ok()) {
        Apply(Event::OpDone(OpKind::kAttach, op.agent, argv.status(), {}, clock_.Monotonic()));
        return;
      }
      Event e;
      e.kind = Event::Kind::kAttachReady;
      e.agent = op.agent;
      e.lines = *argv;
      Apply(e);
      return;
    }
    StatusOr<std::string> r = InternalError("unknown");
    switch (op.kind) {
      case OpKind::kAdd: r = fake_.Add(op.form); break;
      case OpKind::kKill: r = fake_.Kill(op.agent); break;
      case OpKind::kRestart: r = fake_.Restart(op.agent); break;
      case OpKind::kPanic: r = fake_.Panic(op.reason); break;
      case OpKind::kAttach: break;
    }
    Apply(Event::OpDone(op.kind, op.agent, r.status(), r.ok() ? *r : "", clock_.Monotonic(), op.form));
  }

  FakeClock clock_;
  FakeHostSource fake_;
  testing::ScopedEnv tz_;
  Model m_;
  std::vector<Effect> last_effects_;
  std::vector<OpRequest> pending_;
  bool hold_ops_ = false;
  int quits_ = 0;
};

void AddThree(FakeHostSource& f) {
  FakeAgent a;
  a.row = AgentRow{};
  a.row.name = "alpha";
  a.row.profile = "claude";
  a.row.state = "running";
  a.row.uptime = seconds(3723);
  a.row.cpu_seconds = 12.5;
  a.row.memory_bytes = 700ULL << 20;
  a.row.pids = 12;
  a.row.network = "none";
  a.row.last_line = "Editing src/auth/login.ts: added rate limiting";
  a.row.command = "claude --dangerously-skip-permissions";
  a.row.workspace = "/var/lib/cloudcoop/workspaces/alpha";
  a.row.branch = "cloudcoop/alpha";
  a.row.cpu_limit = 2;
  a.row.memory_limit = 6ULL << 30;
  a.row.pids_limit = 1024;
  a.row.clients = 1;
  a.cpu_rate = 0.25;
  f.AddAgent(a);
  FakeAgent b;
  b.row.name = "beta";
  b.row.profile = "codex";
  b.row.state = "exited";
  b.row.state_detail = "status 1";
  b.row.network = "egress";
  b.row.last_line = "error: 3 tests failed";
  f.AddAgent(b);
  FakeAgent g;
  g.row.name = "gamma";
  g.row.profile = "shell";
  g.row.state = "running";
  g.row.uptime = seconds(59);
  g.row.cpu_seconds = 1;
  g.row.memory_bytes = 50ULL << 20;
  g.row.pids = 3;
  g.row.network = "none";
  g.row.last_line = "$ make test";
  g.cpu_rate = 1.5;
  f.AddAgent(g);
}

// Two snapshots one second apart, so CPU % is known.
void Settle(Harness& h) {
  h.Refresh();
  h.clock().Advance(seconds(1));
  h.Refresh();
}

void ExpectGolden(const std::string& name, const std::string& text) {
  std::string path = std::string(CLOUDCOOP_TUI_TESTDATA) + "/" + name + ".txt";
  const char* update = std::getenv("CLOUDCOOP_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    ASSERT_TRUE(WriteFileAtomic(path, text, 0644).ok());
    return;
  }
  auto want = ReadFile(path);
  ASSERT_TRUE(want.ok()) << "missing golden file " << path << " (run with CLOUDCOOP_UPDATE_GOLDEN=1)";
  EXPECT_EQ(text, *want) << "screen differs from " << path << "\n--- got:\n" << text;
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

int FindRow(const Screen& s, const std::string& part) {
  for (int y = 0; y < s.height(); ++y) {
    if (Contains(s.Row(y), part)) return y;
  }
  return -1;
}

// The style of the first cell of `part` on the screen.
Style StyleOf(const Screen& s, const std::string& part, int from_row = 0) {
  for (int y = from_row; y < s.height(); ++y) {
    std::string row = s.Row(y);
    size_t pos = row.find(part);
    if (pos == std::string::npos) continue;
    int col = TextWidth(row.substr(0, pos));
    // Map display column to cell (continuation cells count as columns).
    return s.at(col, y).style;
  }
  ADD_FAILURE() << "\"" << part << "\" is not on the screen";
  return Style::kCount;
}

// ---- screen --------------------------------------------------------------------------------------

TEST(TuiScreenTest, WidthsOfAsciiWideAndCombiningText) {
  EXPECT_EQ(TextWidth("abc"), 3);
  EXPECT_EQ(TextWidth("日本"), 4);
  EXPECT_EQ(TextWidth("e\u0301"), 1);
  EXPECT_EQ(TextWidth("…"), 1);
  EXPECT_EQ(FitText("abcdef", 4), "abc…");
  EXPECT_EQ(FitText("日本語", 5), "日本…");
  EXPECT_EQ(PadText("ab", 4, true), "  ab");
  EXPECT_EQ(DecodeUtf8("\xff"), std::u32string(1, 0xfffd));
}

TEST(TuiScreenTest, PutClipsWideCharactersAndReplacesControls) {
  Screen s(6, 2);
  EXPECT_EQ(s.Put(0, 0, "ab日本語", Style::kNormal), 6);
  EXPECT_EQ(s.Row(0), "ab日本");
  s.Put(0, 1, "a\tb\x1b", Style::kNormal);
  EXPECT_EQ(s.Row(1), "a?b?");
  // Overwriting the right half of a wide character blanks its left half.
  s.Put(3, 0, "x", Style::kBold);
  EXPECT_EQ(s.Row(0), "ab x本");
  Screen a(4, 1);
  a.set_ascii_only(true);
  a.Put(0, 0, "é日", Style::kNormal);
  EXPECT_EQ(a.Row(0), "??");
}

// ---- golden screens ------------------------------------------------------------------------------

TEST(TuiViewTest, NoAgents80x24) {
  Harness h(80, 24);
  h.Refresh();
  ExpectGolden("empty_80x24", h.Text());
}

TEST(TuiViewTest, ThreeAgents80x24) {
  Harness h(80, 24);
  AddThree(h.fake());
  Settle(h);
  ExpectGolden("three_80x24", h.Text());
}

TEST(TuiViewTest, ThreeAgents200x60WithDetails) {
  Harness h(200, 60);
  AddThree(h.fake());
  Settle(h);
  std::string text = h.Text();
  ExpectGolden("three_200x60", text);
  EXPECT_TRUE(Contains(text, "claude --dangerously-skip-permissions")) << "the detail panel shows the command";
}

TEST(TuiViewTest, HundredAgents80x24) {
  Harness h(80, 24);
  h.fake().Generate(100, "agent");
  Settle(h);
  ExpectGolden("hundred_80x24", h.Text());
}

TEST(TuiViewTest, HundredAgents200x60) {
  Harness h(200, 60);
  h.fake().Generate(100, "agent");
  Settle(h);
  ExpectGolden("hundred_200x60", h.Text());
}

TEST(TuiViewTest, AsciiOnlyWhenTheLocaleIsNotUtf8) {
  Harness h(80, 24);
  h.m().unicode = false;
  AddThree(h.fake());
  Settle(h);
  std::string text = h.Text();
  ExpectGolden("three_80x24_ascii", text);
  for (unsigned char c : text) ASSERT_LT(c, 0x80) << text;
}

TEST(TuiViewTest, GcpHeaderShowsTheVm) {
  Harness h(120, 24);
  HostHeader host;
  host.kind = "gcp";
  host.name = "cc-dev";
  host.vm = VmInfo{"cc-dev", "RUNNING", "europe-north2-a", "c4a-highcpu-8", 0.06};
  h.fake().SetHost(host);
  h.Refresh();
  EXPECT_TRUE(Contains(h.Frame().Row(0), "gcp VM cc-dev RUNNING · europe-north2-a · c4a-highcpu-8 · ~$0.060/h"))
      << h.Frame().Row(0);
  // Agents on this machine while a VM is configured: both are named.
  host.kind = "local";
  host.name = "laptop";
  host.vm->state = "stopped";
  host.vm->cost_per_hour.reset();
  h.fake().SetHost(host);
  h.Refresh();
  EXPECT_TRUE(Contains(h.Frame().Row(0), "local host laptop · VM cc-dev stopped · europe-north2-a · c4a-highcpu-8"))
      << h.Frame().Row(0);
}

TEST(TuiViewTest, TooSmallTerminalSaysSo) {
  Harness h(100, 8);
  h.Refresh();
  std::string text = h.Text();
  EXPECT_TRUE(Contains(text, "The terminal is 100x8")) << text;
  EXPECT_TRUE(Contains(text, "at least 40x10")) << text;
  h.Key('q');
  EXPECT_EQ(h.quits(), 1);
}

TEST(TuiViewTest, LoadingScreenBeforeTheFirstSnapshot) {
  Harness h(80, 24);
  std::string text = h.Text();
  EXPECT_TRUE(Contains(text, "loading")) << text;
  h.Key('k');
  EXPECT_TRUE(Contains(h.Text(), "k: the agent list is still loading")) << h.Text();
}

// ---- CPU, selection, scrolling --------------------------------------------------------------------

TEST(TuiModelTest, CpuPercentComesFromTwoSamples) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  EXPECT_TRUE(h.m().cpu_percent.empty()) << "one sample: CPU % unknown";
  h.clock().Advance(seconds(2));
  h.Refresh();
  EXPECT_NEAR(h.m().cpu_percent["alpha"], 25.0, 0.01);
  EXPECT_NEAR(h.m().cpu_percent["gamma"], 150.0, 0.01);
  EXPECT_EQ(h.m().cpu_percent.count("beta"), 0u) << "no usage for an exited agent";
}

TEST(TuiModelTest, SelectionMovesWithArrowsJAndNumbers) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  EXPECT_EQ(h.m().selected, "alpha");
  h.Key('j');
  EXPECT_EQ(h.m().selected, "beta");
  h.Key(kKeyDown);
  h.Key(kKeyDown);  // stops at the last row
  EXPECT_EQ(h.m().selected, "gamma");
  h.Key(kKeyUp);
  EXPECT_EQ(h.m().selected, "beta");
  h.Key('1');
  EXPECT_EQ(h.m().selected, "alpha");
  h.Key('3');
  EXPECT_EQ(h.m().selected, "gamma");
  h.Key('7');
  EXPECT_EQ(h.m().selected, "gamma");
  EXPECT_EQ(h.m().message.text, "7: there is no agent 7 (3 shown)");
}

TEST(TuiModelTest, SelectionStaysVisibleWhenScrollingAHundredAgents) {
  Harness h(80, 24);
  h.fake().Generate(100, "agent");
  h.Refresh();
  int cap = TableCapacity(h.m());
  ASSERT_GT(cap, 10);
  h.Key(kKeyEnd);
  EXPECT_EQ(h.m().selected, "agent-100");
  EXPECT_EQ(h.m().scroll, 100 - cap);
  Screen s = h.Frame();
  EXPECT_GE(FindRow(s, "agent-100"), 0) << s.ToText();
  EXPECT_TRUE(Contains(s.ToText(), "rows " + std::to_string(100 - cap + 1) + "-100/100")) << s.ToText();
  h.Key(kKeyPageUp);
  EXPECT_GE(FindRow(h.Frame(), h.m().selected), 0);
  h.Key(kKeyHome);
  EXPECT_EQ(h.m().scroll, 0);
}

TEST(TuiModelTest, ResizeKeepsTheSelectionVisible) {
  Harness h(200, 60);
  h.fake().Generate(100, "agent");
  h.Refresh();
  for (int i = 0; i < 40; ++i) h.Key('j');
  EXPECT_EQ(h.m().selected, "agent-041");
  h.Resize(80, 24);
  EXPECT_GE(FindRow(h.Frame(), "agent-041"), 0) << h.Text();
  h.Resize(200, 60);
  EXPECT_GE(FindRow(h.Frame(), "agent-041"), 0) << h.Text();
  EXPECT_EQ(h.Frame().width(), 200);
}

// ---- filter and sort -----------------------------------------------------------------------------

TEST(TuiModelTest, FilterNarrowsTheTableAndEscClearsIt) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.Key('/');
  EXPECT_EQ(h.m().mode, Mode::kFilter);
  h.Keys("gam");
  std::string text = h.Text();
  EXPECT_TRUE(Contains(text, "gamma")) << text;
  EXPECT_FALSE(Contains(text, "alpha")) << text;
  EXPECT_TRUE(Contains(text, "filter \"gam\" 1/3 · sort name ↑")) << text;
  EXPECT_EQ(h.m().selected, "gamma") << "the selection follows the filter";
  h.Key(kKeyEnter);
  EXPECT_EQ(h.m().mode, Mode::kTable);
  EXPECT_EQ(h.m().filter, "gam");
  h.Key('/');
  h.Key(kKeyBackspace);
  h.Key(kKeyBackspace);
  h.Key(kKeyBackspace);
  h.Keys("xyz");
  h.Key(kKeyEnter);
  EXPECT_TRUE(Contains(h.Text(), "No agent matches the filter \"xyz\". Esc clears it.")) << h.Text();
  h.Key('k');
  EXPECT_EQ(h.m().message.text, "k: no agent matches the filter (Esc clears it)");
  h.Key(kKeyEscape);
  EXPECT_EQ(h.m().filter, "");
  EXPECT_TRUE(Contains(h.Text(), "alpha"));
  // Filter matches state and profile too.
  h.Key('/');
  h.Keys("exited");
  EXPECT_EQ(VisibleRows(h.m()).size(), 1u);
  EXPECT_EQ(VisibleRows(h.m())[0].agent->name, "beta");
}

TEST(TuiModelTest, SortCyclesColumnsAndReverses) {
  Harness h;
  AddThree(h.fake());
  Settle(h);
  auto names = [&]() {
    std::vector<std::string> out;
    for (const auto& r : VisibleRows(h.m())) out.push_back(r.agent->name);
    return out;
  };
  EXPECT_EQ(names(), (std::vector<std::string>{"alpha", "beta", "gamma"}));
  h.Key('s');  // state: running first
  EXPECT_EQ(h.m().sort, SortKey::kState);
  EXPECT_EQ(names(), (std::vector<std::string>{"alpha", "gamma", "beta"}));
  h.Key('s');  // cpu, largest first
  EXPECT_EQ(h.m().sort, SortKey::kCpu);
  EXPECT_EQ(names(), (std::vector<std::string>{"gamma", "alpha", "beta"}));
  EXPECT_TRUE(Contains(h.Text(), "sort cpu ↓")) << h.Text();
  h.Key('s');  // memory, largest first
  EXPECT_EQ(names(), (std::vector<std::string>{"alpha", "gamma", "beta"}));
  h.Key('S');  // reversed
  EXPECT_EQ(names(), (std::vector<std::string>{"beta", "gamma", "alpha"}));
  h.Key('s');  // uptime
  EXPECT_EQ(h.m().sort, SortKey::kUptime);
  EXPECT_EQ(names(), (std::vector<std::string>{"alpha", "gamma", "beta"}));
  h.Key('s');
  EXPECT_EQ(h.m().sort, SortKey::kName);
}

// ---- refused keys ---------------------------------------------------------------------------------

TEST(TuiModelTest, RefusedKeysAreDimmedAndExplained) {
  Harness h;
  h.Refresh();  // no agents
  Screen s = h.Frame();
  int footer = s.height() - 1;
  EXPECT_EQ(StyleOf(s, "k kill", footer), Style::kKeyDisabled);
  EXPECT_EQ(StyleOf(s, "a add", footer), Style::kKey);
  h.Key('k');
  EXPECT_EQ(h.m().message.text, "k: there are no agents yet (a adds one)");
  EXPECT_TRUE(Contains(h.Text(), "k: there are no agents yet (a adds one)"));
  h.Key('c');
  EXPECT_EQ(h.m().message.text, "c: there are no agents yet (a adds one)");
  h.Key('z');
  EXPECT_EQ(h.m().message.text, "z does nothing here; ? lists the keys");
  h.Key(kKeyOther);
  EXPECT_EQ(h.m().message.text, "that key does nothing here; ? lists the keys");
}

TEST(TuiModelTest, ConnectIsRefusedForAnAgentThatDoesNotRun) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.Key('2');  // beta, exited
  Screen s = h.Frame();
  EXPECT_EQ(StyleOf(s, "connect", s.height() - 1), Style::kKeyDisabled);
  h.Key(kKeyEnter);
  EXPECT_EQ(h.m().message.text,
            "Enter: agent beta is exited; only a running agent can be connected to (l shows its output)");
  EXPECT_TRUE(h.fake().actions().empty());
}

TEST(TuiModelTest, AuditKeyIsRefusedWhenTheHostHasNoAuditLog) {
  Harness h;
  Capabilities caps;
  caps.audit = false;
  caps.audit_missing_why = "the audit log is not built into this cloudcoop yet";
  h.fake().SetCapabilities(caps);
  h.m().caps = caps;
  AddThree(h.fake());
  h.Refresh();
  Screen s = h.Frame();
  EXPECT_EQ(StyleOf(s, "e exec", s.height() - 1), Style::kKeyDisabled);
  h.Key('e');
  EXPECT_EQ(h.m().message.text, "e: the audit log is not built into this cloudcoop yet");
  EXPECT_EQ(h.m().mode, Mode::kTable);
}

TEST(TuiModelTest, ActionsAreRefusedWhileAnOperationRuns) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.set_hold_ops(true);
  h.Keys("ky");
  ASSERT_EQ(h.pending().size(), 1u);
  EXPECT_TRUE(Contains(h.Text(), "killing alpha")) << "progress is shown";
  Screen s = h.Frame();
  EXPECT_EQ(StyleOf(s, "r restart", s.height() - 1), Style::kKeyDisabled);
  h.Key('r');
  EXPECT_EQ(h.m().message.text, "r: busy killing alpha; wait for it to finish");
  h.Key('a');
  EXPECT_EQ(h.m().message.text, "a: busy killing alpha; wait for it to finish");
  // Navigation, help and panic still work.
  h.Key('j');
  EXPECT_EQ(h.m().selected, "beta");
  h.Key('!');
  EXPECT_EQ(h.m().mode, Mode::kConfirmPanic);
  h.Key(kKeyEscape);
  h.set_hold_ops(false);
  h.RunPending();
  EXPECT_FALSE(h.m().op.has_value());
  EXPECT_EQ(h.m().message.text, "killed alpha: 2 processes ended after SIGTERM");
}

TEST(TuiModelTest, ProgressAdvancesWithTime) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.set_hold_ops(true);
  h.Key('r');  // alpha runs: asks first
  EXPECT_EQ(h.m().mode, Mode::kConfirmRestart);
  h.Key('y');
  std::string before = h.Text();
  EXPECT_TRUE(Contains(before, "restarting alpha… 0.0s")) << before;
  h.Advance(milliseconds(1300));
  EXPECT_TRUE(Contains(h.Text(), "restarting alpha… 1.3s")) << h.Text();
}

// ---- help ----------------------------------------------------------------------------------------

TEST(TuiModelTest, HelpListsEveryKeyAndWhyOneIsRefused) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.Key('2');
  h.Key('?');
  EXPECT_EQ(h.m().mode, Mode::kHelp);
  std::string text = h.Text();
  ExpectGolden("help_80x24", text);
  for (const char* key : {"a ", "k ", "r ", "Enter c", "l ", "e ", "/ ", "s S", "! ", "? ", "q "}) {
    EXPECT_TRUE(Contains(text, std::string("│ ") + key)) << key << "\n" << text;
  }
  EXPECT_TRUE(Contains(text, "connect · not now: agent beta is exited")) << text;
  h.Key('x');
  EXPECT_EQ(h.m().message.text, "x: the help is open; Esc or ? closes it");
  h.Key('?');
  EXPECT_EQ(h.m().mode, Mode::kTable);
}

// ---- add form ------------------------------------------------------------------------------------

TEST(TuiModelTest, AddFormStartsAnAgentWithTheValuesTyped) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.Key('a');
  ASSERT_EQ(h.m().mode, Mode::kForm);
  ExpectGolden("form_80x24", h.Text());
  h.Keys("delta");
  h.Key(kKeyTab);
  h.Key(kKeyRight);  // profile: claude
  h.Key(kKeyRight);  // codex
  h.Key(kKeyTab);
  h.Keys("/src/app");
  h.Key(kKeyTab);
  h.Keys("fix/login");
  for (int i = 0; i < 2; ++i) h.Key(kKeyTab);
  h.Keys("1.5");
  h.Key(kKeyTab);
  h.Keys("2G");
  h.Key(kKeyTab);
  h.Keys("256");
  h.Key(kKeyTab);
  h.Key(kKeyLeft);  // network: host (wraps around)
  h.Key(kKeyEnter);
  EXPECT_EQ(h.m().mode, Mode::kTable);
  ASSERT_EQ(h.fake().actions().size(), 1u);
  EXPECT_EQ(h.fake().actions()[0], "add delta profile=codex repo=/src/app workspace= cpus=1.5 memory=2G pids=256 network=host");
  EXPECT_EQ(h.m().selected, "delta") << "the new agent is selected";
  EXPECT_TRUE(Contains(h.Text(), "agent delta started")) << h.Text();
}

TEST(TuiModelTest, AddFormSandboxSwitchIsExplicitAndShown) {
  Harness h(120, 30);
  AddThree(h.fake());
  h.Refresh();
  h.Key('a');
  h.Keys("risky");
  h.Key(kKeyUp);  // wraps to the last field: the sandbox switch
  ASSERT_EQ(h.m().form.focus, Field::kSandbox);
  EXPECT_TRUE(Contains(h.Text(), "on: namespaces, cgroup limits, seccomp, Landlock")) << h.Text();
  h.Key('x');
  EXPECT_EQ(h.m().form.error, "Left/Right or Space switch the sandbox on or off");
  h.Key(kKeyRight);
  EXPECT_TRUE(h.m().form.values.unsandboxed);
  EXPECT_EQ(StyleOf(h.Frame(), "OFF: UNSANDBOXED"), Style::kDanger);
  h.Key(kKeyEnter);
  EXPECT_EQ(h.fake().actions(), (std::vector<std::string>{
                                    "add risky profile= repo= workspace= cpus= memory= pids= network= UNSANDBOXED"}));
  std::string text = h.Text();
  EXPECT_TRUE(Contains(text, "1 UNSANDBOXED")) << text;
  EXPECT_TRUE(Contains(text, "running !sbx")) << text;
  EXPECT_TRUE(Contains(text, "UNSANDBOXED: own uid and no_new_privs only")) << "the detail panel says what it means\n" << text;
}

TEST(TuiModelTest, AddFormShowsTheHostsErrorAndKeepsTheValues) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.Key('a');
  h.Key(kKeyEnter);
  EXPECT_EQ(h.m().form.error, "the agent needs a name");
  EXPECT_TRUE(h.fake().actions().empty());
  h.Keys("Bad_Name");
  h.Key(kKeyEnter);
  ASSERT_EQ(h.m().mode, Mode::kForm) << "the form comes back with the host's answer";
  EXPECT_EQ(h.m().form.values.name, "Bad_Name");
  std::string text = h.Text();
  EXPECT_TRUE(Contains(text, "agent name Bad_Name is not valid")) << text;
  EXPECT_TRUE(Contains(text, "fix: use 1-32 lowercase letters")) << text;
  // Duplicate names are refused by the host too.
  h.Key(kKeyCtrlU);
  h.Keys("alpha");
  h.Key(kKeyEnter);
  EXPECT_TRUE(Contains(h.Text(), "an agent named alpha already exists")) << h.Text();
  // Esc cancels: nothing else was started.
  h.Key(kKeyEscape);
  EXPECT_EQ(h.m().mode, Mode::kTable);
  EXPECT_EQ(h.m().message.text, "add cancelled: nothing was started");
  EXPECT_EQ(h.fake().actions().size(), 2u);
}

TEST(TuiModelTest, AddRefusedAfterPanicLockout) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.Key('!');
  h.Keys("panic");
  h.Key(kKeyEnter);
  ASSERT_TRUE(h.m().snapshot->host.lockout.has_value());
  std::string text = h.Text();
  EXPECT_TRUE(Contains(text, "LOCKED after a panic")) << text;
  Screen s = h.Frame();
  EXPECT_EQ(StyleOf(s, "a add", s.height() - 1), Style::kKeyDisabled);
  h.Key('a');
  EXPECT_EQ(h.m().mode, Mode::kTable);
  EXPECT_EQ(h.m().message.text,
            "a: the host is locked after a panic: rotate the agents' credentials, then run `cloudcoop unlock --rotated`");
  h.Key('r');
  EXPECT_TRUE(Contains(h.m().message.text, "r: the host is locked after a panic")) << h.m().message.text;
}

// ---- kill, restart, connect ---------------------------------------------------------------------------

TEST(TuiModelTest, KillAsksFirst) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.Key('k');
  ASSERT_EQ(h.m().mode, Mode::kConfirmKill);
  ExpectGolden("kill_confirm_80x24", h.Text());
  h.Key('x');
  EXPECT_EQ(h.m().message.text, "x: press y to kill alpha, or n to cancel");
  h.Key('n');
  EXPECT_EQ(h.m().mode, Mode::kTable);
  EXPECT_EQ(h.m().message.text, "kill cancelled: alpha was not touched");
  EXPECT_TRUE(h.fake().actions().empty());
  h.Key('k');
  h.Key('y');
  EXPECT_EQ(h.fake().actions(), (std::vector<std::string>{"kill alpha"}));
  EXPECT_EQ(h.m().snapshot->agents[0].state, "killed") << "refreshed after the operation";
  h.Key('k');
  EXPECT_EQ(h.m().message.text, "k: agent alpha is already killed (r restarts it)");
}

TEST(TuiModelTest, FailedKillShowsTheErrorAndFix) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.fake().FailNext("kill", UnavailableError("kill alpha: 1 process survived SIGKILL").WithFix("run `cloudcoop panic`"));
  h.Keys("ky");
  EXPECT_EQ(h.m().message.severity, Severity::kError);
  std::string text = h.Text();
  EXPECT_TRUE(Contains(text, "killing alpha failed: kill alpha: 1 process survived SIGKILL (fix: run")) << text;
}

TEST(TuiModelTest, RestartOfAStoppedAgentNeedsNoConfirmation) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.Key('2');
  h.Key('r');
  EXPECT_EQ(h.fake().actions(), (std::vector<std::string>{"restart beta"}));
  EXPECT_EQ(h.m().message.text, "restarted beta");
}

TEST(TuiModelTest, ConnectRunsTheAttachArgvAndComesBack) {
  Harness h;
  AddThree(h.fake());
  h.fake().SetAttachArgv({"tmux", "-S", "/run/x.sock", "attach", "-t", "={name}"});
  h.Refresh();
  h.Key('3');
  h.Key(kKeyEnter);
  ASSERT_EQ(h.attached.size(), 1u);
  EXPECT_EQ(h.attached[0], (std::vector<std::string>{"tmux", "-S", "/run/x.sock", "attach", "-t", "=gamma"}));
  EXPECT_EQ(h.m().message.text, "back from gamma (detached)");
  EXPECT_FALSE(h.m().attach.has_value());
  h.Key('c');
  EXPECT_EQ(h.attached.size(), 2u);
}

// ---- panic -------------------------------------------------------------------------------------------

TEST(TuiModelTest, PanicNeedsTheWordAndEscCancels) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.Key('!');
  ASSERT_EQ(h.m().mode, Mode::kConfirmPanic);
  ExpectGolden("panic_confirm_80x24", h.Text());
  h.Keys("y");
  h.Key(kKeyEnter);
  EXPECT_EQ(h.m().mode, Mode::kConfirmPanic);
  EXPECT_EQ(h.m().message.text, "type the word panic, then Enter (Esc cancels); you typed \"y\"");
  h.Key(kKeyEscape);
  EXPECT_EQ(h.m().mode, Mode::kTable);
  EXPECT_EQ(h.m().message.text, "panic cancelled: nothing was done");
  EXPECT_TRUE(h.fake().actions().empty());
  h.Key('!');
  h.Keys("panic");
  h.Key(kKeyEnter);
  EXPECT_EQ(h.fake().actions(), (std::vector<std::string>{"panic panic from the dashboard"}));
  std::string text = h.Text();
  EXPECT_TRUE(Contains(text, "3 agents: 3 killed")) << text;
  EXPECT_TRUE(Contains(text, "PANIC: stopped 2 agent(s)")) << text;
}

TEST(TuiModelTest, QuitWaitsForARunningOperation) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.set_hold_ops(true);
  h.Keys("ky");
  h.Key('q');
  EXPECT_EQ(h.quits(), 0);
  EXPECT_TRUE(h.m().quit_pending);
  EXPECT_TRUE(Contains(h.m().message.text, "quitting when killing finishes")) << h.m().message.text;
  h.set_hold_ops(false);
  h.RunPending();
  EXPECT_EQ(h.quits(), 1);
}

// ---- transcript and audit ---------------------------------------------------------------------------

TEST(TuiModelTest, TranscriptScrollsAndFollows) {
  Harness h(80, 24);
  AddThree(h.fake());
  std::vector<std::string> lines;
  for (int i = 1; i <= 100; ++i) lines.push_back("line " + std::to_string(i));
  h.fake().SetTranscript("alpha", lines);
  h.Refresh();
  h.Key('l');
  ASSERT_EQ(h.m().mode, Mode::kTranscript);
  std::string text = h.Text();
  EXPECT_TRUE(Contains(text, "transcript of alpha · 100 lines · following")) << text;
  EXPECT_TRUE(Contains(text, "line 100")) << text;
  h.Key(kKeyPageUp);
  EXPECT_FALSE(h.m().follow);
  text = h.Text();
  EXPECT_FALSE(Contains(text, "line 100")) << text;
  // New output while scrolled back does not move the view.
  lines.push_back("line 101");
  h.fake().SetTranscript("alpha", lines);
  h.Refresh();
  EXPECT_FALSE(Contains(h.Text(), "line 101"));
  h.Key(kKeyEnd);
  EXPECT_TRUE(h.m().follow);
  h.Refresh();  // following: a snapshot reloads the output
  EXPECT_TRUE(Contains(h.Text(), "line 101")) << h.Text();
  h.Key(kKeyHome);
  EXPECT_TRUE(Contains(h.Text(), "line 1\n")) << h.Text();
  h.Key('z');
  EXPECT_TRUE(Contains(h.m().message.text, "z does nothing here")) << h.m().message.text;
  h.Key(kKeyEscape);
  EXPECT_EQ(h.m().mode, Mode::kTable);
}

TEST(TuiModelTest, AuditRecordsOfTheSelectedAgent) {
  Harness h(100, 24);
  AddThree(h.fake());
  SystemTime t = h.clock().Now();
  h.fake().SetAudit("alpha", {{t, "exec", "/usr/bin/git status"},
                              {t + seconds(1), "deny", "connect 169.254.169.254:80 (metadata server)"}});
  h.Refresh();
  h.Key('e');
  ASSERT_EQ(h.m().mode, Mode::kAudit);
  std::string text = h.Text();
  EXPECT_TRUE(Contains(text, "exec and denial records of alpha · 2 records")) << text;
  EXPECT_TRUE(Contains(text, "exec   /usr/bin/git status")) << text;
  EXPECT_TRUE(Contains(text, "deny   connect 169.254.169.254:80")) << text;
  EXPECT_EQ(StyleOf(h.Frame(), "deny"), Style::kBad);
  h.Key('e');
  EXPECT_EQ(h.m().mode, Mode::kTable);
}

// ---- refresh errors, messages ----------------------------------------------------------------------

TEST(TuiModelTest, RefreshErrorKeepsTheLastDataAndSaysSo) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.fake().FailNext("snapshot", UnavailableError("list agents: tmux server did not answer").WithFix("check `cloudcoop check`"));
  h.clock().Advance(seconds(5));
  h.Refresh();
  std::string text = h.Text();
  EXPECT_TRUE(Contains(text, "(stale)")) << text;
  EXPECT_TRUE(Contains(text, "refresh failed: list agents: tmux server did not answer")) << text;
  EXPECT_TRUE(Contains(text, "alpha")) << text;
  h.Refresh();
  EXPECT_FALSE(Contains(h.Text(), "refresh failed")) << h.Text();
}

TEST(TuiModelTest, InfoMessagesFadeButWarningsStayUntilTheNextKey) {
  Harness h;
  AddThree(h.fake());
  h.Refresh();
  h.Key('s');
  EXPECT_FALSE(h.m().message.text.empty());
  h.Advance(seconds(7));
  EXPECT_TRUE(h.m().message.text.empty());
  h.Key('z');
  h.Advance(seconds(60));
  EXPECT_EQ(h.m().message.text, "z does nothing here; ? lists the keys");
  h.Key('j');
  EXPECT_TRUE(h.m().message.text.empty());
}

TEST(TuiFakeSourceTest, FixtureLoadsAndRejectsBadInput) {
  FakeClock clock;
  auto fake = FakeHostSource::FromFixtureText(
      R"({"host": {"kind": "gcp", "name": "vm", "vm": {"name": "vm", "state": "RUNNING", "cost_per_hour": 0.1}},
          "agents": [{"name": "a1", "cpu_seconds": 1, "cpu_rate": 0.5}], "generate": {"count": 5, "prefix": "g"},
          "transcript_lines": 3, "fail": {"kill": "boom"}})",
      clock);
  ASSERT_TRUE(fake.ok()) << fake.status().ToString();
  auto snap = (*fake)->GetSnapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->agents.size(), 6u);
  EXPECT_EQ(snap->host.vm->cost_per_hour, 0.1);
  EXPECT_EQ((*fake)->Transcript("a1", 10)->size(), 3u);
  EXPECT_EQ((*fake)->Kill("a1").status().message(), "boom");
  EXPECT_TRUE((*fake)->Kill("a1").ok());
  auto bad = FakeHostSource::FromFixtureText(R"({"agents": 3})", clock);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "the fixture's \"agents\" is not a list");
  auto wrong = FakeHostSource::FromFixtureText(R"({"profiles": [1, 2]})", clock);
  EXPECT_FALSE(wrong.ok());
  EXPECT_TRUE(Contains(wrong.status().message(), "wrong type")) << wrong.status().message();
  EXPECT_FALSE(FakeHostSource::FromFixtureText("[", clock).ok());
}

// ---- the command without a terminal ------------------------------------------------------------------

TEST(TuiCliTest, WithoutATerminalPrintsAOneLineHintAndTheStatus) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{}, std::vector<std::string>{"dashboard"}}) {
    testing::CliResult r = testing::RunBinary(args);
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    EXPECT_TRUE(Contains(r.err, "cloudcoop: no terminal, so no dashboard; showing ")) << r.err;
    EXPECT_TRUE(Contains(r.err, "(run `cloudcoop` in a terminal for the dashboard)")) << r.err;
    EXPECT_FALSE(r.out.empty()) << "the status (or, without one, the commands) follows";
  }
}

TEST(TuiCliTest, HelpDescribesTheKeys) {
  testing::CliResult r = testing::RunBinary({"help", "dashboard"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(Contains(r.out, "kill (k)")) << r.out;
  EXPECT_TRUE(Contains(r.out, "NO_COLOR")) << r.out;
}

}  // namespace
}  // namespace cloudcoop::tui
