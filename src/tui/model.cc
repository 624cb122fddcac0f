#include "tui/model.h"

#include <algorithm>

#include "core/strings.h"
#include "tui/view.h"

namespace cloudcoop::tui {
namespace {

constexpr auto kMessageFade = std::chrono::seconds(6);
constexpr size_t kMaxFieldLength = 256;
constexpr size_t kMaxFilterLength = 64;
constexpr int kTranscriptLines = 2000;

int StateRank(const std::string& state) {
  static const char* order[] = {"running", "creating", "exited", "failed", "lost", "killed"};
  for (int i = 0; i < 6; ++i) {
    if (state == order[i]) return i;
  }
  return 6;
}

bool Matches(const AgentRow& a, const std::string& filter) {
  if (filter.empty()) return true;
  std::string f = ToLower(filter);
  for (const std::string* s : {&a.name, &a.profile, &a.state, &a.network}) {
    if (ToLower(*s).find(f) != std::string::npos) return true;
  }
  return false;
}

void SetMessage(Model& m, Severity sev, std::string text, std::string fix = {}) {
  m.message = Message{std::move(text), std::move(fix), sev, m.now};
}

void Refuse(Model& m, int key, const Availability& a) {
  SetMessage(m, Severity::kWarn, KeyName(key) + ": " + a.why);
}

std::string Busy(const Operation& op) {
  return "busy " + std::string(OpVerb(op.kind)) + (op.agent.empty() ? "" : " " + op.agent) +
         "; wait for it to finish";
}

std::string& FieldRef(AddForm& f, Field field) {
  switch (field) {
    case Field::kName: return f.name;
    case Field::kProfile: return f.profile;
    case Field::kRepo: return f.repo;
    case Field::kBranch: return f.branch;
    case Field::kWorkspace: return f.workspace;
    case Field::kCpus: return f.cpus;
    case Field::kMemory: return f.memory;
    case Field::kPids: return f.pids;
    case Field::kNetwork:
    case Field::kSandbox:
    case Field::kCount: break;
  }
  return f.network;
}

// Left/right on a field with known choices cycles through them ("" = the default).
void CycleChoice(Model& m, int dir) {
  std::vector<std::string> choices;
  if (m.form.focus == Field::kProfile) choices = m.defaults.profiles;
  if (m.form.focus == Field::kNetwork) choices = {"none", "egress", "host"};
  if (choices.empty()) return;
  choices.insert(choices.begin(), "");
  std::string& v = FieldRef(m.form.values, m.form.focus);
  auto it = std::find(choices.begin(), choices.end(), v);
  int i = it == choices.end() ? 0 : static_cast<int>(it - choices.begin());
  int n = static_cast<int>(choices.size());
  v = choices[static_cast<size_t>(((i + dir) % n + n) % n)];
}

// Keeps the selection on an existing row and visible.
void Normalize(Model& m) {
  std::vector<ShownRow> rows = VisibleRows(m);
  if (rows.empty()) {
    m.scroll = 0;
    return;
  }
  int idx = SelectedIndex(m, rows);
  if (idx < 0) {
    idx = 0;
    m.selected = rows[0].agent->name;
  }
  int cap = std::max(TableCapacity(m), 1);
  if (idx < m.scroll) m.scroll = idx;
  if (idx >= m.scroll + cap) m.scroll = idx - cap + 1;
  int n = static_cast<int>(rows.size());
  m.scroll = std::clamp(m.scroll, 0, std::max(0, n - cap));
}

void MoveSelection(Model& m, int delta, bool absolute = false) {
  std::vector<ShownRow> rows = VisibleRows(m);
  if (rows.empty()) {
    SetMessage(m, Severity::kWarn, "no agents to select" + std::string(m.filter.empty() ? " (a adds one)" : " (the filter hides them; Esc clears it)"));
    return;
  }
  int idx = std::max(SelectedIndex(m, rows), 0);
  int n = static_cast<int>(rows.size());
  idx = absolute ? delta : idx + delta;
  idx = std::clamp(idx, 0, n - 1);
  m.selected = rows[static_cast<size_t>(idx)].agent->name;
}

int DetailPage(const Model& m) { return std::max(m.height - 4, 1); }

int DetailCount(const Model& m) {
  return m.mode == Mode::kAudit ? static_cast<int>(m.detail_records.size()) : static_cast<int>(m.detail_lines.size());
}

void ClampDetail(Model& m) {
  int max_scroll = std::max(0, DetailCount(m) - DetailPage(m));
  if (m.follow) m.detail_scroll = max_scroll;
  m.detail_scroll = std::clamp(m.detail_scroll, 0, max_scroll);
}

std::vector<Effect> StartOp(Model& m, OpRequest req) {
  if (req.kind == OpKind::kPanic) {
    m.panic_op = Operation{req.kind, req.agent, m.now};
  } else if (req.kind == OpKind::kAttach) {
    m.attach = Operation{req.kind, req.agent, m.now};
  } else {
    m.op = Operation{req.kind, req.agent, m.now};
  }
  Effect e{Effect::Kind::kStartOp, std::move(req), {}, {}};
  return {e};
}

std::vector<Effect> HandleTableKey(Model& m, int key) {
  const AgentRow* sel = SelectedAgent(m);
  auto act = [&](Action a) {
    Availability av = Available(m, a);
    if (!av.ok) Refuse(m, key, av);
    return av.ok;
  };
  if (IsConnectKey(key)) {
    if (!act(Action::kConnect)) return {};
    return StartOp(m, OpRequest{OpKind::kAttach, sel->name, {}, {}});
  }
  switch (key) {
    case kKeyUp: MoveSelection(m, -1); return {};
    case 'j':
    case kKeyDown: MoveSelection(m, 1); return {};
    case kKeyPageUp: MoveSelection(m, -std::max(TableCapacity(m) - 1, 1)); return {};
    case kKeyPageDown: MoveSelection(m, std::max(TableCapacity(m) - 1, 1)); return {};
    case kKeyHome:
    case 'g': MoveSelection(m, 0, true); return {};
    case kKeyEnd:
    case 'G': MoveSelection(m, 1 << 30, true); return {};
    case 'a':
      if (!act(Action::kAdd)) return {};
      m.mode = Mode::kForm;
      if (m.failed_form) {
        m.form = *m.failed_form;
      } else {
        m.form = FormState{};
      }
      return {};
    case 'k':  // kill, as the key list says; ↑ moves up (the dashboard ADR explains why)
      if (!act(Action::kKill)) return {};
      m.mode = Mode::kConfirmKill;
      m.confirm_agent = sel->name;
      return {};
    case 'r':
      if (!act(Action::kRestart)) return {};
      if (sel->state == "running") {
        m.mode = Mode::kConfirmRestart;
        m.confirm_agent = sel->name;
        return {};
      }
      return StartOp(m, OpRequest{OpKind::kRestart, sel->name, {}, {}});
    case 'l':
      if (!act(Action::kTranscript)) return {};
      m.mode = Mode::kTranscript;
      m.detail_agent = sel->name;
      m.detail_lines.clear();
      m.detail_loaded = false;
      m.detail_error = OkStatus();
      m.follow = true;
      m.detail_scroll = 0;
      return {Effect{Effect::Kind::kLoadTranscript, {}, sel->name, {}}};
    case 'e':
      if (!act(Action::kAudit)) return {};
      m.mode = Mode::kAudit;
      m.detail_agent = sel->name;
      m.detail_records.clear();
      m.detail_loaded = false;
      m.detail_error = OkStatus();
      m.follow = true;
      m.detail_scroll = 0;
      return {Effect{Effect::Kind::kLoadAudit, {}, sel->name, {}}};
    case '/':
      m.mode = Mode::kFilter;
      return {};
    case 's': {
      int next = (static_cast<int>(m.sort) + 1) % 5;
      m.sort = static_cast<SortKey>(next);
      m.sort_desc = m.sort == SortKey::kCpu || m.sort == SortKey::kMemory || m.sort == SortKey::kUptime;
      SetMessage(m, Severity::kInfo, "sorted by " + std::string(SortKeyName(m.sort)) + (m.sort_desc ? ", largest first" : "") + " (S reverses)");
      return {};
    }
    case 'S':
      m.sort_desc = !m.sort_desc;
      SetMessage(m, Severity::kInfo, "sorted by " + std::string(SortKeyName(m.sort)) + (m.sort_desc ? ", descending" : ", ascending"));
      return {};
    case '!':
      if (!act(Action::kPanic)) return {};
      m.mode = Mode::kConfirmPanic;
      m.confirm_typed.clear();
      return {};
    case '?':
      m.mode = Mode::kHelp;
      return {};
    case 'q':
    case kKeyCtrlC:
      if (m.op || m.panic_op) {
        m.quit_pending = true;
        SetMessage(m, Severity::kWarn, "quitting when " + std::string(OpVerb((m.panic_op ? *m.panic_op : *m.op).kind)) +
                                           " finishes (stopping it halfway could leave it half-done)");
        return {};
      }
      m.quit = true;
      return {Effect{Effect::Kind::kQuit, {}, {}, {}}};
    case kKeyCtrlL:
      return {Effect{Effect::Kind::kRefreshNow, {}, {}, {}}, Effect{Effect::Kind::kRedraw, {}, {}, {}}};
    case kKeyEscape:
      if (!m.filter.empty()) {
        m.filter.clear();
        SetMessage(m, Severity::kInfo, "filter cleared");
        return {};
      }
      SetMessage(m, Severity::kInfo, "Esc: nothing to close here (q quits, ? shows the keys)");
      return {};
    default:
      break;
  }
  if (key >= '1' && key <= '9') {
    std::vector<ShownRow> rows = VisibleRows(m);
    int n = key - '0';
    if (n > static_cast<int>(rows.size())) {
      SetMessage(m, Severity::kWarn, KeyName(key) + ": there is no agent " + std::to_string(n) + " (" +
                                         std::to_string(rows.size()) + " shown)");
      return {};
    }
    m.selected = rows[static_cast<size_t>(n - 1)].agent->name;
    return {};
  }
  SetMessage(m, Severity::kWarn, KeyName(key) + " does nothing here; ? lists the keys");
  return {};
}

std::vector<Effect> HandleFormKey(Model& m, int key) {
  FormState& f = m.form;
  int focus = static_cast<int>(f.focus);
  int count = static_cast<int>(Field::kCount);
  // The sandbox switch is not a text field.
  if (f.focus == Field::kSandbox && (key == kKeyLeft || key == kKeyRight || key == ' ')) {
    f.values.unsandboxed = !f.values.unsandboxed;
    return {};
  }
  if (f.focus == Field::kSandbox && ((key >= 0x20 && key < 0x110000 && key != 0x7f) || key == kKeyBackspace ||
                                     key == kKeyDelete || key == kKeyCtrlU)) {
    f.error = "Left/Right or Space switch the sandbox on or off";
    return {};
  }
  switch (key) {
    case kKeyEscape:
      m.mode = Mode::kTable;
      m.failed_form.reset();
      SetMessage(m, Severity::kInfo, "add cancelled: nothing was started");
      return {};
    case kKeyTab:
    case kKeyDown: f.focus = static_cast<Field>((focus + 1) % count); return {};
    case kKeyBackTab:
    case kKeyUp: f.focus = static_cast<Field>((focus + count - 1) % count); return {};
    case kKeyLeft: CycleChoice(m, -1); return {};
    case kKeyRight: CycleChoice(m, 1); return {};
    case kKeyBackspace:
    case kKeyDelete: {
      std::u32string v = DecodeUtf8(FieldRef(f.values, f.focus));
      if (!v.empty()) v.pop_back();
      FieldRef(f.values, f.focus) = EncodeUtf8(v);
      return {};
    }
    case kKeyCtrlU: FieldRef(f.values, f.focus).clear(); return {};
    case kKeyEnter: {
      std::string name(Trim(f.values.name));
      if (name.empty()) {
        f.focus = Field::kName;
        f.error = "the agent needs a name";
        f.fix = "type 1-32 lowercase letters, digits and hyphens, e.g. fix-login";
        return {};
      }
      Availability av = Available(m, Action::kAdd);
      if (!av.ok) {
        f.error = av.why;
        f.fix.clear();
        return {};
      }
      f.values.name = name;
      f.error.clear();
      f.fix.clear();
      m.mode = Mode::kTable;
      m.failed_form.reset();
      OpRequest req{OpKind::kAdd, name, f.values, {}};
      return StartOp(m, std::move(req));
    }
    case kKeyCtrlC:
      m.mode = Mode::kTable;
      SetMessage(m, Severity::kInfo, "add cancelled: nothing was started");
      return {};
    default: break;
  }
  if (key >= 0x20 && key < 0x110000 && key != 0x7f) {
    std::string& v = FieldRef(f.values, f.focus);
    if (v.size() >= kMaxFieldLength) {
      f.error = "this field is full (" + std::to_string(kMaxFieldLength) + " characters)";
      return {};
    }
    v += EncodeUtf8(std::u32string(1, static_cast<char32_t>(key)));
    return {};
  }
  f.error = KeyName(key) + " does nothing in the form: Tab moves, Enter starts the agent, Esc cancels";
  return {};
}

std::vector<Effect> HandleConfirmKey(Model& m, int key) {
  bool kill = m.mode == Mode::kConfirmKill;
  std::string verb = kill ? "kill" : "restart";
  if (key == 'y' || key == 'Y') {
    m.mode = Mode::kTable;
    Availability av = Available(m, kill ? Action::kKill : Action::kRestart);
    if (!av.ok) {
      SetMessage(m, Severity::kWarn, verb + " " + m.confirm_agent + ": " + av.why);
      return {};
    }
    return StartOp(m, OpRequest{kill ? OpKind::kKill : OpKind::kRestart, m.confirm_agent, {}, {}});
  }
  if (key == 'n' || key == 'N' || key == kKeyEscape || key == 'q' || key == kKeyCtrlC) {
    m.mode = Mode::kTable;
    SetMessage(m, Severity::kInfo, verb + " cancelled: " + m.confirm_agent + " was not touched");
    return {};
  }
  SetMessage(m, Severity::kWarn, KeyName(key) + ": press y to " + verb + " " + m.confirm_agent + ", or n to cancel");
  return {};
}

std::vector<Effect> HandlePanicKey(Model& m, int key) {
  if (key == kKeyEscape || key == kKeyCtrlC) {
    m.mode = Mode::kTable;
    SetMessage(m, Severity::kInfo, "panic cancelled: nothing was done");
    return {};
  }
  if (key == kKeyBackspace || key == kKeyDelete) {
    if (!m.confirm_typed.empty()) m.confirm_typed.pop_back();
    return {};
  }
  if (key == kKeyEnter) {
    if (m.confirm_typed == "panic") {
      m.mode = Mode::kTable;
      return StartOp(m, OpRequest{OpKind::kPanic, {}, {}, "panic from the dashboard"});
    }
    SetMessage(m, Severity::kWarn, "type the word panic, then Enter (Esc cancels); you typed \"" + m.confirm_typed + "\"");
    return {};
  }
  if (key >= 0x20 && key < 0x7f) {
    if (m.confirm_typed.size() < 16) m.confirm_typed.push_back(static_cast<char>(key));
    return {};
  }
  SetMessage(m, Severity::kWarn, KeyName(key) + ": type the word panic, then Enter; Esc cancels");
  return {};
}

std::vector<Effect> HandleDetailKey(Model& m, int key) {
  int page = DetailPage(m);
  switch (key) {
    case kKeyEscape:
    case 'q':
    case kKeyCtrlC:
      m.mode = Mode::kTable;
      return {};
    case 'l':
      if (m.mode == Mode::kTranscript) {
        m.mode = Mode::kTable;
        return {};
      }
      break;
    case 'e':
      if (m.mode == Mode::kAudit) {
        m.mode = Mode::kTable;
        return {};
      }
      break;
    case kKeyUp:
    case 'k': m.follow = false; m.detail_scroll -= 1; break;
    case kKeyDown:
    case 'j': m.detail_scroll += 1; break;
    case kKeyPageUp:
    case 'b': m.follow = false; m.detail_scroll -= page; break;
    case kKeyPageDown:
    case ' ': m.detail_scroll += page; break;
    case kKeyHome:
    case 'g': m.follow = false; m.detail_scroll = 0; break;
    case kKeyEnd:
    case 'G':
    case 'f': m.follow = true; break;
    case kKeyCtrlL:
      return {Effect{m.mode == Mode::kAudit ? Effect::Kind::kLoadAudit : Effect::Kind::kLoadTranscript, {}, m.detail_agent, {}},
              Effect{Effect::Kind::kRedraw, {}, {}, {}}};
    default:
      SetMessage(m, Severity::kWarn, KeyName(key) + " does nothing here: ↑↓ PgUp PgDn scroll, End follows, Esc goes back");
      return {};
  }
  // Scrolling to the bottom turns following back on.
  int max_scroll = std::max(0, DetailCount(m) - page);
  if (m.detail_scroll >= max_scroll) m.follow = true;
  ClampDetail(m);
  return {};
}

std::vector<Effect> HandleKey(Model& m, int key) {
  // A key press acknowledges the last message; handling may set a new one.
  if (m.message.severity != Severity::kError || m.mode == Mode::kTable) m.message = Message{};
  switch (m.mode) {
    case Mode::kTable: return HandleTableKey(m, key);
    case Mode::kFilter:
      if (key == kKeyEnter) {
        m.mode = Mode::kTable;
        return {};
      }
      if (key == kKeyEscape || key == kKeyCtrlC) {
        m.filter.clear();
        m.mode = Mode::kTable;
        return {};
      }
      if (key == kKeyBackspace || key == kKeyDelete) {
        std::u32string v = DecodeUtf8(m.filter);
        if (!v.empty()) v.pop_back();
        m.filter = EncodeUtf8(v);
        return {};
      }
      if (key == kKeyCtrlU) {
        m.filter.clear();
        return {};
      }
      if (key == kKeyUp || key == kKeyDown) {
        MoveSelection(m, key == kKeyUp ? -1 : 1);
        return {};
      }
      if (key >= 0x20 && key < 0x110000 && key != 0x7f) {
        if (m.filter.size() < kMaxFilterLength) m.filter += EncodeUtf8(std::u32string(1, static_cast<char32_t>(key)));
        return {};
      }
      SetMessage(m, Severity::kWarn, KeyName(key) + ": type to filter, Enter keeps the filter, Esc clears it");
      return {};
    case Mode::kHelp:
      if (key == kKeyEscape || key == '?' || key == 'q' || key == kKeyEnter || key == kKeyCtrlC) {
        m.mode = Mode::kTable;
        return {};
      }
      SetMessage(m, Severity::kWarn, KeyName(key) + ": the help is open; Esc or ? closes it");
      return {};
    case Mode::kForm: return HandleFormKey(m, key);
    case Mode::kConfirmKill:
    case Mode::kConfirmRestart: return HandleConfirmKey(m, key);
    case Mode::kConfirmPanic: return HandlePanicKey(m, key);
    case Mode::kTranscript:
    case Mode::kAudit: return HandleDetailKey(m, key);
  }
  return {};
}

void ApplySnapshot(Model& m, const Snapshot& s) {
  std::map<std::string, double> percent;
  std::map<std::string, std::pair<double, Duration>> samples;
  for (const AgentRow& a : s.agents) {
    if (!a.cpu_seconds) continue;
    samples[a.name] = {*a.cpu_seconds, s.taken_mono};
    auto prev = m.cpu_sample.find(a.name);
    if (prev == m.cpu_sample.end()) continue;
    double dt = std::chrono::duration<double>(s.taken_mono - prev->second.second).count();
    double dc = *a.cpu_seconds - prev->second.first;
    if (dt > 0 && dc >= 0) percent[a.name] = 100.0 * dc / dt;
    else if (dt > 0 && m.cpu_percent.count(a.name)) percent[a.name] = 0;  // counter reset (restart)
    // dt == 0 (two samples at once): keep the last known value.
    if (dt <= 0 && m.cpu_percent.count(a.name)) percent[a.name] = m.cpu_percent[a.name];
  }
  m.cpu_percent = std::move(percent);
  m.cpu_sample = std::move(samples);
  m.snapshot = s;
  m.refresh_error = OkStatus();
  if (!m.select_when_seen.empty()) {
    for (const AgentRow& a : s.agents) {
      if (a.name == m.select_when_seen) {
        m.selected = a.name;
        m.select_when_seen.clear();
        break;
      }
    }
  }
  ++m.refreshes;
}

}  // namespace

bool IsConnectKey(int key) { return key == kKeyEnter || key == 'c'; }

std::string KeyName(int key) {
  switch (key) {
    case kKeyUp: return "Up";
    case kKeyDown: return "Down";
    case kKeyLeft: return "Left";
    case kKeyRight: return "Right";
    case kKeyPageUp: return "PgUp";
    case kKeyPageDown: return "PgDn";
    case kKeyHome: return "Home";
    case kKeyEnd: return "End";
    case kKeyEnter: return "Enter";
    case kKeyEscape: return "Esc";
    case kKeyBackspace: return "Backspace";
    case kKeyDelete: return "Delete";
    case kKeyTab: return "Tab";
    case kKeyBackTab: return "Shift-Tab";
    case kKeyCtrlC: return "Ctrl-C";
    case kKeyCtrlL: return "Ctrl-L";
    case kKeyCtrlU: return "Ctrl-U";
    case kKeyOther: return "that key";
    default: break;
  }
  if (key == ' ') return "Space";
  if (key > 0x20 && key < 0x110000 && key != 0x7f) return EncodeUtf8(std::u32string(1, static_cast<char32_t>(key)));
  if (key >= 1 && key < 0x20) return std::string("Ctrl-") + static_cast<char>('A' + key - 1);
  return "key " + std::to_string(key);
}

std::string_view SortKeyName(SortKey k) {
  switch (k) {
    case SortKey::kName: return "name";
    case SortKey::kState: return "state";
    case SortKey::kCpu: return "cpu";
    case SortKey::kMemory: return "memory";
    case SortKey::kUptime: return "uptime";
  }
  return "name";
}

std::string_view OpVerb(OpKind k) {
  switch (k) {
    case OpKind::kAdd: return "adding";
    case OpKind::kKill: return "killing";
    case OpKind::kRestart: return "restarting";
    case OpKind::kPanic: return "PANIC: stopping every agent";
    case OpKind::kAttach: return "connecting to";
  }
  return "working on";
}

Event Event::KeyPress(int key, Duration now) {
  Event e;
  e.kind = Kind::kKey;
  e.key = key;
  e.now = now;
  return e;
}

Event Event::Resize(int w, int h, Duration now) {
  Event e;
  e.kind = Kind::kResize;
  e.width = w;
  e.height = h;
  e.now = now;
  return e;
}

Event Event::SnapshotArrived(StatusOr<Snapshot> s, Duration now) {
  Event e;
  e.kind = Kind::kSnapshot;
  e.snapshot = std::move(s);
  e.now = now;
  return e;
}

Event Event::OpDone(OpKind kind, std::string agent, Status status, std::string report, Duration now, AddForm form) {
  Event e;
  e.kind = Kind::kOpDone;
  e.op_kind = kind;
  e.agent = std::move(agent);
  e.status = std::move(status);
  e.report = std::move(report);
  e.now = now;
  e.form = std::move(form);
  return e;
}

Event Event::Tick(Duration now) {
  Event e;
  e.kind = Kind::kTick;
  e.now = now;
  return e;
}

Model NewModel(int width, int height, Capabilities caps, FormDefaults defaults) {
  Model m;
  m.width = width;
  m.height = height;
  m.caps = std::move(caps);
  m.defaults = std::move(defaults);
  return m;
}

std::vector<ShownRow> VisibleRows(const Model& m) {
  std::vector<ShownRow> rows;
  if (!m.snapshot) return rows;
  for (const AgentRow& a : m.snapshot->agents) {
    if (!Matches(a, m.filter)) continue;
    auto it = m.cpu_percent.find(a.name);
    rows.push_back(ShownRow{&a, it == m.cpu_percent.end() ? std::nullopt : std::optional<double>(it->second)});
  }
  auto key_less = [&](const ShownRow& x, const ShownRow& y) -> int {
    // <0: x first, >0: y first, 0: tie.
    switch (m.sort) {
      case SortKey::kName: return 0;
      case SortKey::kState: return StateRank(x.agent->state) - StateRank(y.agent->state);
      case SortKey::kCpu: {
        double a = x.cpu_percent.value_or(-1), b = y.cpu_percent.value_or(-1);
        return a < b ? -1 : a > b ? 1 : 0;
      }
      case SortKey::kMemory: {
        uint64_t a = x.agent->memory_bytes.value_or(0), b = y.agent->memory_bytes.value_or(0);
        return a < b ? -1 : a > b ? 1 : 0;
      }
      case SortKey::kUptime: {
        auto a = x.agent->uptime, b = y.agent->uptime;
        return a < b ? -1 : a > b ? 1 : 0;
      }
    }
    return 0;
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const ShownRow& x, const ShownRow& y) {
    int c = key_less(x, y);
    if (c == 0) c = x.agent->name.compare(y.agent->name);
    return m.sort_desc ? c > 0 : c < 0;
  });
  return rows;
}

int SelectedIndex(const Model& m, const std::vector<ShownRow>& rows) {
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].agent->name == m.selected) return static_cast<int>(i);
  }
  return -1;
}

const AgentRow* SelectedAgent(const Model& m) {
  if (!m.snapshot) return nullptr;
  std::vector<ShownRow> rows = VisibleRows(m);
  int idx = SelectedIndex(m, rows);
  if (idx < 0) return rows.empty() ? nullptr : rows[0].agent;
  return rows[static_cast<size_t>(idx)].agent;
}

Availability Available(const Model& m, Action a) {
  const AgentRow* sel = SelectedAgent(m);
  bool locked = m.snapshot && m.snapshot->host.lockout;
  auto refuse = [](std::string why) { return Availability{false, std::move(why)}; };
  auto need_agent = [&]() -> std::optional<Availability> {
    if (!m.snapshot) return refuse("the agent list is still loading");
    if (sel != nullptr) return std::nullopt;
    if (m.snapshot->agents.empty()) return refuse("there are no agents yet (a adds one)");
    return refuse("no agent matches the filter (Esc clears it)");
  };
  const char* kLocked = "the host is locked after a panic: rotate the agents' credentials, then run `cloudcoop unlock --rotated`";
  switch (a) {
    case Action::kAdd:
      if (!m.snapshot) return refuse("the agent list is still loading");
      if (locked) return refuse(kLocked);
      if (m.op) return refuse(Busy(*m.op));
      if (m.panic_op) return refuse("a panic is running");
      return {};
    case Action::kKill:
      if (auto r = need_agent()) return *r;
      if (sel->state == "killed") return refuse("agent " + sel->name + " is already killed (r restarts it)");
      if (m.op) return refuse(Busy(*m.op));
      if (m.panic_op) return refuse("a panic is running");
      return {};
    case Action::kRestart:
      if (auto r = need_agent()) return *r;
      if (locked) return refuse(kLocked);
      if (sel->state == "creating") return refuse("agent " + sel->name + " is still starting");
      if (m.op) return refuse(Busy(*m.op));
      if (m.panic_op) return refuse("a panic is running");
      return {};
    case Action::kConnect:
      if (auto r = need_agent()) return *r;
      if (sel->state != "running") {
        return refuse("agent " + sel->name + " is " + sel->state + "; only a running agent can be connected to (l shows its output)");
      }
      if (m.attach) return refuse("already connecting to " + m.attach->agent);
      return {};
    case Action::kTranscript:
      if (auto r = need_agent()) return *r;
      if (!m.caps.transcript) return refuse("this host cannot show agent output");
      return {};
    case Action::kAudit:
      if (auto r = need_agent()) return *r;
      if (!m.caps.audit) return refuse(m.caps.audit_missing_why.empty() ? "this host has no audit log" : m.caps.audit_missing_why);
      return {};
    case Action::kPanic:
      if (m.panic_op) return refuse("a panic is already running");
      return {};
    case Action::kFilter:
    case Action::kSort:
    case Action::kHelp:
    case Action::kQuit: return {};
  }
  return {};
}

std::vector<Effect> Update(Model& m, const Event& e) {
  if (e.now > m.now) m.now = e.now;
  std::vector<Effect> effects;
  switch (e.kind) {
    case Event::Kind::kKey: effects = HandleKey(m, e.key); break;
    case Event::Kind::kResize:
      m.width = std::max(e.width, 1);
      m.height = std::max(e.height, 1);
      if (m.mode == Mode::kTranscript || m.mode == Mode::kAudit) ClampDetail(m);
      break;
    case Event::Kind::kSnapshot:
      if (e.snapshot->ok()) {
        ApplySnapshot(m, **e.snapshot);
      } else {
        m.refresh_error = e.snapshot->status();
      }
      if (m.mode == Mode::kTranscript && m.follow) effects.push_back(Effect{Effect::Kind::kLoadTranscript, {}, m.detail_agent, {}});
      if (m.mode == Mode::kAudit && m.follow) effects.push_back(Effect{Effect::Kind::kLoadAudit, {}, m.detail_agent, {}});
      break;
    case Event::Kind::kOpDone: {
      if (e.op_kind == OpKind::kPanic) {
        m.panic_op.reset();
      } else if (e.op_kind == OpKind::kAttach) {
        m.attach.reset();
      } else {
        m.op.reset();
      }
      std::string what = e.op_kind == OpKind::kPanic ? "panic" : std::string(OpVerb(e.op_kind)) + " " + e.agent;
      if (e.status.ok()) {
        if (e.op_kind == OpKind::kAdd) m.select_when_seen = e.agent;  // the new agent
        if (!e.report.empty()) SetMessage(m, e.op_kind == OpKind::kPanic ? Severity::kWarn : Severity::kOk, e.report);
      } else if (e.op_kind == OpKind::kAdd) {
        FormState f;
        f.values = e.form;
        f.error = e.status.message();
        f.fix = e.status.fix();
        m.failed_form = f;
        if (m.mode == Mode::kTable) {
          m.mode = Mode::kForm;
          m.form = f;
        } else {
          SetMessage(m, Severity::kError, "adding " + e.agent + " failed: " + e.status.message(), "press a to correct the form (your values are kept)");
        }
      } else {
        // Attach errors already say "connect to NAME: ...".
        std::string prefix = e.op_kind == OpKind::kPanic  ? "PANIC FAILED: "
                             : e.op_kind == OpKind::kAttach ? ""
                                                            : what + " failed: ";
        SetMessage(m, Severity::kError, prefix + e.status.message(), e.status.fix());
      }
      if (e.op_kind != OpKind::kAttach || e.status.ok()) effects.push_back(Effect{Effect::Kind::kRefreshNow, {}, {}, {}});
      if (m.quit_pending && !m.op && !m.panic_op) {
        m.quit = true;
        effects.push_back(Effect{Effect::Kind::kQuit, {}, {}, {}});
      }
      break;
    }
    case Event::Kind::kAttachReady: {
      Effect run{Effect::Kind::kRunAttach, {}, e.agent, e.lines};
      effects.push_back(run);
      break;
    }
    case Event::Kind::kTranscript:
      if ((m.mode == Mode::kTranscript) && e.agent == m.detail_agent) {
        m.detail_loaded = true;
        m.detail_error = e.status;
        if (e.status.ok()) {
          m.detail_lines = e.lines;
          if (static_cast<int>(m.detail_lines.size()) > kTranscriptLines) {
            m.detail_lines.erase(m.detail_lines.begin(), m.detail_lines.end() - kTranscriptLines);
          }
        }
        ClampDetail(m);
      }
      break;
    case Event::Kind::kAudit:
      if (m.mode == Mode::kAudit && e.agent == m.detail_agent) {
        m.detail_loaded = true;
        m.detail_error = e.status;
        if (e.status.ok()) m.detail_records = e.records;
        ClampDetail(m);
      }
      break;
    case Event::Kind::kTick: break;
  }
  // Info and success messages fade; warnings and errors stay until the next key.
  if ((m.message.severity == Severity::kInfo || m.message.severity == Severity::kOk) && !m.message.text.empty() &&
      m.now - m.message.at > kMessageFade) {
    m.message = Message{};
  }
  Normalize(m);
  return effects;
}

}  // namespace cloudcoop::tui
