#include "tui/view.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "core/strings.h"

namespace cloudcoop::tui {

std::string RefreshErrorText(const Model& m);

namespace {

constexpr int kMinWidth = 40;
constexpr int kMinHeight = 10;
constexpr int kDetailMinHeight = 30;
constexpr int kDetailHeight = 6;

struct Glyphs {
  std::string_view ellipsis, up, down, dot, enter, h, v, tl, tr, bl, br, mark, cursor;
  std::vector<std::string_view> spinner;
};

const Glyphs& G(const Model& m) {
  static const Glyphs uni{"…", "↑", "↓", "·", "⏎", "─", "│", "┌", "┐", "└", "┘", "›", "▏",
                          {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}};
  static const Glyphs ascii{"~", "^", "v", "|", "Enter", "-", "|", "+", "+", "+", "+", ">", "_", {"|", "/", "-", "\\"}};
  return m.unicode ? uni : ascii;
}

std::string Clock(SystemTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string Seconds(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", std::chrono::duration<double>(d).count());
  return buf;
}

std::string FormatCpus(double cpus) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", cpus);
  return buf;
}

Style StateStyle(const std::string& state) {
  if (state == "running") return Style::kRunning;
  if (state == "creating") return Style::kCreating;
  if (state == "exited") return Style::kWarn;
  return Style::kBad;
}

// Word-wraps text to `width` columns (hard-cuts words longer than a line).
std::vector<std::string> Wrap(const std::string& text, int width) {
  std::vector<std::string> lines;
  if (width <= 0) return lines;
  std::string line;
  for (const std::string& word : Split(text, ' ', true)) {
    std::string w = word;
    while (TextWidth(w) > width) {
      if (!line.empty()) lines.push_back(line), line.clear();
      std::string head = FitText(w, width, "");
      lines.push_back(head);
      w = w.substr(head.size());
    }
    if (line.empty()) line = w;
    else if (TextWidth(line) + 1 + TextWidth(w) <= width) line += " " + w;
    else lines.push_back(line), line = w;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

void DrawBox(Screen& s, const Model& m, int x, int y, int w, int h, const std::string& title, Style border) {
  const Glyphs& g = G(m);
  for (int row = y; row < y + h; ++row) s.Fill(x, row, w, U' ', Style::kNormal);
  std::string hline;
  for (int i = 0; i < w - 2; ++i) hline += g.h;
  s.Put(x, y, std::string(g.tl) + hline + std::string(g.tr), border);
  s.Put(x, y + h - 1, std::string(g.bl) + hline + std::string(g.br), border);
  for (int row = y + 1; row < y + h - 1; ++row) {
    s.Put(x, row, g.v, border);
    s.Put(x + w - 1, row, g.v, border);
  }
  if (!title.empty()) s.Put(x + 2, y, " " + title + " ", border == Style::kDanger ? Style::kDanger : Style::kBold, w - 4);
}

// ---- table columns ---------------------------------------------------------------------------

enum Col { kMark, kName, kProfile, kState, kUptime, kCpu, kMem, kPids, kNet, kLast, kNumCols };

struct Columns {
  int width[kNumCols] = {};
  bool shown[kNumCols] = {};
  int x[kNumCols] = {};
};

Columns ComputeColumns(int total) {
  Columns c;
  int base[kNumCols] = {4, 12, 7, 8, 6, 5, 6, 4, 6, 0};
  for (int i = 0; i < kNumCols; ++i) c.width[i] = base[i], c.shown[i] = true;
  int extra = total - 80;
  if (extra > 0) {
    auto take = [&](int col, int want) {
      int t = std::min(want, extra);
      c.width[col] += t;
      extra -= t;
    };
    take(kName, 8);
    take(kState, 12);
    take(kProfile, 3);
    take(kUptime, 1);
    take(kCpu, 1);
    take(kMem, 1);
    take(kPids, 2);
    take(kNet, 1);
  }
  // Narrow terminals drop the least important columns first.
  const Col drop_order[] = {kNet, kPids, kProfile, kUptime, kMem};
  auto used = [&]() {
    int u = 0;
    for (int i = 0; i < kLast; ++i) {
      if (c.shown[i]) u += c.width[i] + 1;
    }
    return u;
  };
  for (Col d : drop_order) {
    if (total - used() >= 10) break;
    c.shown[d] = false;
  }
  int x = 0;
  for (int i = 0; i < kNumCols; ++i) {
    if (!c.shown[i]) continue;
    c.x[i] = x;
    if (i == kLast) c.width[i] = std::max(total - x, 0);
    x += c.width[i] + 1;
  }
  return c;
}

void PutCol(Screen& s, const Columns& c, int col, int y, const std::string& text, Style style, const Model& m,
            bool right = false) {
  if (!c.shown[col] || c.width[col] <= 0) return;
  s.Put(c.x[col], y, PadText(text, c.width[col], right, G(m).ellipsis), style, c.width[col]);
}

std::string CpuText(const ShownRow& r) {
  if (!r.cpu_percent) return "-";
  char buf[16];
  double v = *r.cpu_percent;
  std::snprintf(buf, sizeof buf, v >= 9.95 ? "%.0f" : "%.1f", v);
  return buf;
}

std::string StateText(const AgentRow& a, int width) {
  std::string t = a.state;
  if (a.unsandboxed && a.state == "running") t += " !sbx";
  if (!a.state_detail.empty() && width >= 16) t += " (" + a.state_detail + ")";
  return t;
}

// ---- parts of the table screen ---------------------------------------------------------------

std::string HostText(const Model& m) {
  if (!m.snapshot) return m.hostname_hint.empty() ? std::string("connecting to the agent host") : m.hostname_hint;
  const HostHeader& h = m.snapshot->host;
  std::string dot = " " + std::string(G(m).dot) + " ";
  std::string vm;
  if (h.vm) {
    vm = "VM " + h.vm->name + " " + h.vm->state;
    if (!h.vm->zone.empty()) vm += dot + h.vm->zone;
    if (!h.vm->machine_type.empty()) vm += dot + h.vm->machine_type;
    if (h.vm->cost_per_hour) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "~$%.3f/h", *h.vm->cost_per_hour);
      vm += dot + buf;
    }
  }
  // Agents on the VM itself: the VM is the host. Agents here while a VM is configured: both.
  if (h.kind == "gcp" && h.vm) return "gcp " + vm;
  return h.kind + " host " + h.name + (vm.empty() ? "" : dot + vm);
}

void RenderTitle(Screen& s, const Model& m, const Layout& L) {
  s.Fill(0, L.title_y, s.width(), U' ', Style::kTitle);
  std::string right;
  if (m.snapshot) {
    right = "refreshed " + Clock(m.snapshot->taken_at) + (m.refresh_error.ok() ? "" : " (stale)") + " " +
            std::string(G(m).dot) + " every " + std::to_string(m.refresh_interval_sec) + "s ";
  } else if (!m.refresh_error.ok()) {
    right = "no data ";
  } else {
    right = "loading" + std::string(G(m).ellipsis) + " ";
  }
  int rw = TextWidth(right);
  std::string left = " cloudcoop  " + HostText(m);
  s.Put(0, L.title_y, FitText(left, std::max(s.width() - rw - 1, 0), G(m).ellipsis), Style::kTitle);
  if (rw < s.width()) s.Put(s.width() - rw, L.title_y, right, Style::kTitle);
}

void RenderSummary(Screen& s, const Model& m, const Layout& L, const std::vector<ShownRow>& rows) {
  int y = L.summary_y;
  int x = 1;
  std::string dot = " " + std::string(G(m).dot) + " ";
  if (!m.snapshot) {
    s.Put(x, y, m.refresh_error.ok() ? "reading the agents" + std::string(G(m).ellipsis) : "cannot read the agents", Style::kDim);
    return;
  }
  const auto& agents = m.snapshot->agents;
  x += s.Put(x, y, std::to_string(agents.size()) + (agents.size() == 1 ? " agent" : " agents"), Style::kBold);
  static const char* states[] = {"running", "creating", "exited", "failed", "lost", "killed"};
  bool first = true;
  for (const char* st : states) {
    int n = static_cast<int>(std::count_if(agents.begin(), agents.end(), [&](const AgentRow& a) { return a.state == st; }));
    if (n == 0) continue;
    x += s.Put(x, y, first ? ": " : dot, Style::kNormal);
    first = false;
    x += s.Put(x, y, std::to_string(n) + " " + st, StateStyle(st));
  }
  int unsandboxed = static_cast<int>(std::count_if(agents.begin(), agents.end(), [](const AgentRow& a) {
    return a.unsandboxed && a.state == "running";
  }));
  if (unsandboxed > 0) {
    x += s.Put(x, y, dot, Style::kNormal);
    x += s.Put(x, y, std::to_string(unsandboxed) + " UNSANDBOXED", Style::kDanger);
  }
  // Right side, most important first: the filter, which rows are on screen, the sort order. What
  // does not fit is left out.
  std::vector<std::string> parts;
  if (!m.filter.empty() || m.mode == Mode::kFilter) {
    parts.push_back("filter \"" + m.filter + "\" " + std::to_string(rows.size()) + "/" + std::to_string(agents.size()));
  }
  int n = static_cast<int>(rows.size());
  if (n > L.rows_h && L.rows_h > 0) {
    parts.push_back("rows " + std::to_string(m.scroll + 1) + "-" + std::to_string(std::min(m.scroll + L.rows_h, n)) + "/" +
                    std::to_string(n));
  }
  parts.push_back("sort " + std::string(SortKeyName(m.sort)) + " " + std::string(m.sort_desc ? G(m).down : G(m).up));
  std::string right;
  for (const std::string& p : parts) {
    std::string next = right.empty() ? p : right + dot + p;
    if (x + 2 + TextWidth(next) + 1 > s.width()) break;
    right = next;
  }
  if (!right.empty()) s.Put(s.width() - TextWidth(right) - 1, y, right, Style::kDim);
}

void RenderBanner(Screen& s, const Model& m, const Layout& L) {
  if (L.banner_y < 0) return;
  const Lockout& lo = *m.snapshot->host.lockout;
  s.Fill(0, L.banner_y, s.width(), U' ', Style::kDanger);
  std::string text = " LOCKED after a panic at " + Clock(lo.at) + (lo.reason.empty() ? "" : " (" + lo.reason + ")") +
                     ": agents cannot start. Rotate credentials, then `cloudcoop unlock --rotated`";
  s.Put(0, L.banner_y, FitText(text, s.width(), G(m).ellipsis), Style::kDanger);
}

void RenderTable(Screen& s, const Model& m, const Layout& L, const std::vector<ShownRow>& rows) {
  Columns c = ComputeColumns(s.width());
  int hy = L.heading_y;
  PutCol(s, c, kMark, hy, "   #", Style::kHeading, m);
  PutCol(s, c, kName, hy, "NAME", Style::kHeading, m);
  PutCol(s, c, kProfile, hy, "PROFILE", Style::kHeading, m);
  PutCol(s, c, kState, hy, "STATE", Style::kHeading, m);
  PutCol(s, c, kUptime, hy, "UPTIME", Style::kHeading, m, true);
  PutCol(s, c, kCpu, hy, "CPU%", Style::kHeading, m, true);
  PutCol(s, c, kMem, hy, "MEM", Style::kHeading, m, true);
  PutCol(s, c, kPids, hy, "PIDS", Style::kHeading, m, true);
  PutCol(s, c, kNet, hy, "NET", Style::kHeading, m);
  PutCol(s, c, kLast, hy, "LAST OUTPUT", Style::kHeading, m);
  s.SetStyle(0, hy, s.width(), Style::kHeading);

  if (!m.snapshot) return;
  if (rows.empty()) {
    std::string empty = m.snapshot->agents.empty()
                            ? "No agents on this host yet. Press a to add one (or run `cloudcoop agent add NAME`)."
                            : "No agent matches the filter \"" + m.filter + "\". Esc clears it.";
    int row = L.rows_y + 1;
    for (const std::string& line : Wrap(empty, s.width() - 4)) {
      if (row >= L.rows_y + L.rows_h) break;
      s.Put(2, row++, line, Style::kDim);
    }
    return;
  }
  int sel = SelectedIndex(m, rows);
  for (int i = 0; i < L.rows_h; ++i) {
    int idx = m.scroll + i;
    if (idx >= static_cast<int>(rows.size())) break;
    const ShownRow& r = rows[static_cast<size_t>(idx)];
    const AgentRow& a = *r.agent;
    int y = L.rows_y + i;
    bool selected = idx == sel;
    char num[16];
    std::snprintf(num, sizeof num, "%3d", idx + 1);
    std::string mark = selected ? std::string(G(m).mark) : " ";
    PutCol(s, c, kMark, y, mark + num, Style::kDim, m);
    PutCol(s, c, kName, y, a.name, Style::kBold, m);
    PutCol(s, c, kProfile, y, a.profile, Style::kNormal, m);
    PutCol(s, c, kState, y, StateText(a, c.width[kState]),
           a.unsandboxed && a.state == "running" ? Style::kDanger : StateStyle(a.state), m);
    PutCol(s, c, kUptime, y, a.state == "running" ? FormatShortDuration(a.uptime) : "-", Style::kNormal, m, true);
    PutCol(s, c, kCpu, y, CpuText(r), Style::kNormal, m, true);
    PutCol(s, c, kMem, y, a.memory_bytes ? FormatBytes(*a.memory_bytes) : "-", Style::kNormal, m, true);
    PutCol(s, c, kPids, y, a.pids ? std::to_string(*a.pids) : "-", Style::kNormal, m, true);
    PutCol(s, c, kNet, y, a.network, Style::kNormal, m);
    PutCol(s, c, kLast, y, a.last_line, Style::kDim, m);
    if (selected) s.SetStyle(0, y, s.width(), Style::kSelected);
  }
}

void RenderDetail(Screen& s, const Model& m, const Layout& L) {
  if (L.detail_y < 0) return;
  const AgentRow* a = SelectedAgent(m);
  if (a == nullptr) return;
  const Glyphs& g = G(m);
  int y = L.detail_y;
  std::string rule;
  for (int i = 0; i < s.width(); ++i) rule += g.h;
  s.Put(0, y, rule, Style::kDim);
  std::string title = " " + a->name + " " + std::string(g.dot) + " " + a->state + (a->state_detail.empty() ? "" : " (" + a->state_detail + ")") + " ";
  s.Put(2, y, title, StateStyle(a->state));
  std::string dot = " " + std::string(g.dot) + " ";
  auto line = [&](int row, const std::string& label, const std::string& value, Style style = Style::kNormal) {
    s.Put(1, y + row, PadText(label, 10), Style::kDim);
    s.Put(11, y + row, FitText(value, s.width() - 12, g.ellipsis), style);
  };
  line(1, "command", a->command.empty() ? "-" : a->command);
  line(2, "workspace", (a->workspace.empty() ? "-" : a->workspace) + (a->branch.empty() ? "" : dot + "branch " + a->branch));
  std::string limits = (a->cpu_limit > 0 ? FormatCpus(a->cpu_limit) + " CPUs" : "no CPU limit") + dot +
                       (a->memory_limit > 0 ? FormatBytes(a->memory_limit) + " memory" : "no memory limit") + dot +
                       (a->pids_limit > 0 ? std::to_string(a->pids_limit) + " pids" : "no pids limit") + dot + "network " +
                       (a->network.empty() ? "-" : a->network);
  if (a->unsandboxed) {
    line(3, "limits", "UNSANDBOXED: own uid and no_new_privs only (no namespaces, cgroup limits, seccomp, Landlock)", Style::kDanger);
  } else {
    line(3, "limits", limits);
  }
  std::string up = a->state == "running" ? "up " + FormatShortDuration(a->uptime) + dot : "";
  line(4, "terminals", up + std::to_string(a->clients) + (a->clients == 1 ? " terminal attached" : " terminals attached"));
  line(5, "last", a->last_line.empty() ? "-" : a->last_line, Style::kDim);
}

void RenderProgress(Screen& s, const Model& m, const Layout& L) {
  if (L.progress_y < 0) return;
  const Glyphs& g = G(m);
  int x = 1;
  for (const std::optional<Operation>* op : {&m.panic_op, &m.op, &m.attach}) {
    if (!*op) continue;
    const Operation& o = **op;
    Duration elapsed = m.now - o.started;
    size_t frame = static_cast<size_t>(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() / 100)) %
                   g.spinner.size();
    std::string text = std::string(g.spinner[frame]) + " " + std::string(OpVerb(o.kind)) + (o.agent.empty() ? "" : " " + o.agent) +
                       std::string(g.ellipsis) + " " + Seconds(elapsed);
    x += s.Put(x, L.progress_y, text, o.kind == OpKind::kPanic ? Style::kDanger : Style::kWarn) + 3;
  }
}

struct FooterKey {
  std::string_view key;
  std::string_view label;
  std::string_view short_label;
  Action action;
  bool optional;  // dropped first on narrow terminals
};

void RenderKeys(Screen& s, const Model& m, int y, const std::vector<FooterKey>& keys) {
  // Long labels when they fit, else short ones, else without the optional keys.
  for (int pass = 0; pass < 3; ++pass) {
    int total = 1;
    for (const auto& k : keys) {
      if (pass == 2 && k.optional) continue;
      std::string_view label = pass == 0 ? k.label : k.short_label;
      total += TextWidth(k.key) + 1 + TextWidth(label) + (pass == 0 ? 2 : 1);
    }
    if (total > s.width() && pass < 2) continue;
    int x = 1;
    for (const auto& k : keys) {
      if (pass == 2 && k.optional) continue;
      std::string_view label = pass == 0 ? k.label : k.short_label;
      bool ok = Available(m, k.action).ok;
      x += s.Put(x, y, k.key, ok ? Style::kKey : Style::kKeyDisabled);
      x += s.Put(x, y, " ", Style::kNormal);
      x += s.Put(x, y, label, ok ? Style::kNormal : Style::kKeyDisabled);
      x += s.Put(x, y, pass == 0 ? "  " : " ", Style::kNormal);
    }
    return;
  }
}

void RenderFooter(Screen& s, const Model& m, const Layout& L) {
  int y = L.footer_y;
  const Glyphs& g = G(m);
  switch (m.mode) {
    case Mode::kFilter: {
      int x = 1;
      x += s.Put(x, y, "/", Style::kKey);
      x += s.Put(x, y, m.filter, Style::kInput);
      x += s.Put(x, y, g.cursor, Style::kKey);
      s.Put(x + 2, y, "type to filter by name, profile, state, network " + std::string(g.dot) + " Enter keeps " + std::string(g.dot) +
                          " Esc clears", Style::kDim);
      return;
    }
    case Mode::kTable: {
      std::vector<FooterKey> keys = {
          {"a", "add", "add", Action::kAdd, false},
          {"k", "kill", "kill", Action::kKill, false},
          {"r", "restart", "restart", Action::kRestart, false},
          {m.unicode ? "⏎" : "c", "connect", "connect", Action::kConnect, false},
          {"l", "output", "log", Action::kTranscript, false},
          {"e", "exec log", "exec", Action::kAudit, false},
          {"/", "filter", "filter", Action::kFilter, true},
          {"s", "sort", "sort", Action::kSort, true},
          {"!", "PANIC", "panic", Action::kPanic, false},
          {"?", "help", "help", Action::kHelp, false},
          {"q", "quit", "quit", Action::kQuit, false},
      };
      RenderKeys(s, m, y, keys);
      return;
    }
    case Mode::kHelp: s.Put(1, y, "Esc or ? closes the help", Style::kDim); return;
    case Mode::kForm:
      s.Put(1, y, "Tab/" + std::string(g.down) + " next field " + std::string(g.dot) + " " + std::string(g.up) + " previous " +
                      std::string(g.dot) + " Left/Right choose " + std::string(g.dot) + " Enter starts " + std::string(g.dot) +
                      " Esc cancels",
            Style::kDim);
      return;
    case Mode::kConfirmKill:
    case Mode::kConfirmRestart: s.Put(1, y, "y confirms " + std::string(g.dot) + " n or Esc cancels", Style::kDim); return;
    case Mode::kConfirmPanic: s.Put(1, y, "type panic, then Enter " + std::string(g.dot) + " Esc cancels", Style::kDim); return;
    case Mode::kTranscript:
    case Mode::kAudit:
      s.Put(1, y, std::string(g.up) + std::string(g.down) + " PgUp PgDn scroll " + std::string(g.dot) + " Home top " + std::string(g.dot) +
                      " End follows " + std::string(g.dot) + " Esc back",
            Style::kDim);
      return;
  }
}

void RenderMessages(Screen& s, const Model& m, const Layout& L) {
  if (L.message_y < 0) return;
  std::vector<std::string> lines = MessageLines(m);
  Style style = Style::kNormal;
  switch (m.message.severity) {
    case Severity::kInfo: style = Style::kNormal; break;
    case Severity::kOk: style = Style::kOk; break;
    case Severity::kWarn: style = Style::kWarn; break;
    case Severity::kError: style = Style::kBad; break;
  }
  // The refresh error (if any) comes first and is always an error.
  int first_message_line = 0;
  if (!m.refresh_error.ok()) first_message_line = static_cast<int>(Wrap(RefreshErrorText(m), s.width() - 2).size());
  for (int i = 0; i < L.message_h && i < static_cast<int>(lines.size()); ++i) {
    s.Put(1, L.message_y + i, lines[static_cast<size_t>(i)], i < first_message_line ? Style::kBad : style);
  }
}

// ---- overlays --------------------------------------------------------------------------------

void RenderHelp(Screen& s, const Model& m) {
  struct Row {
    std::string keys;
    std::string what;
    std::optional<Action> action;
    std::string brief;  // shown with the reason when the key does not apply now
  };
  const Glyphs& g = G(m);
  std::vector<Row> rows = {
      {std::string(g.up) + " " + std::string(g.down) + " j", "move the selection (k is kill)", std::nullopt},
      {"1-9", "select agent 1-9", std::nullopt},
      {"PgUp PgDn g G", "page, first, last", std::nullopt},
      {"a", "add an agent (a form)", Action::kAdd, "add"},
      {"k", "kill the selected agent (asks first)", Action::kKill, "kill"},
      {"r", "restart the selected agent", Action::kRestart, "restart"},
      {"Enter c", "connect: attach to its tmux session; detach (prefix d) returns here", Action::kConnect, "connect"},
      {"l", "its transcript (secrets masked), scrollable, follows", Action::kTranscript, "output"},
      {"e", "its exec and denial records (audit log)", Action::kAudit, "exec log"},
      {"/", "filter by name, profile, state, network", Action::kFilter},
      {"s S", "sort by the next column / reverse the order", Action::kSort},
      {"!", "PANIC: stop every agent and lock the host (type panic)", Action::kPanic, "panic"},
      {"Ctrl-L", "refresh now and redraw", std::nullopt},
      {"Esc", "close, cancel, clear the filter", std::nullopt},
      {"?", "this help", Action::kHelp},
      {"q", "quit (waits for a running operation)", Action::kQuit},
  };
  int w = std::min(s.width(), 96);
  int h = std::min(s.height() - 2, static_cast<int>(rows.size()) + 4);
  int x = (s.width() - w) / 2;
  int y = std::max((s.height() - h) / 2, 0);
  DrawBox(s, m, x, y, w, h, "keys", Style::kBold);
  int keyw = 14;
  for (int i = 0; i < static_cast<int>(rows.size()) && y + 2 + i < y + h - 1; ++i) {
    const Row& r = rows[static_cast<size_t>(i)];
    int ry = y + 2 + i;
    Availability av = r.action ? Available(m, *r.action) : Availability{};
    s.Put(x + 2, ry, PadText(r.keys, keyw), av.ok ? Style::kKey : Style::kKeyDisabled);
    std::string what = av.ok ? r.what : (r.brief.empty() ? r.what : r.brief) + " " + std::string(g.dot) + " not now: " + av.why;
    s.Put(x + 2 + keyw + 1, ry, FitText(what, w - keyw - 5, g.ellipsis), av.ok ? Style::kNormal : Style::kKeyDisabled);
  }
}

std::string FieldLabel(Field f) {
  switch (f) {
    case Field::kName: return "name";
    case Field::kProfile: return "profile";
    case Field::kRepo: return "repository";
    case Field::kBranch: return "branch";
    case Field::kWorkspace: return "workspace";
    case Field::kCpus: return "CPUs";
    case Field::kMemory: return "memory";
    case Field::kPids: return "pids";
    case Field::kNetwork: return "network";
    case Field::kSandbox: return "sandbox";
    case Field::kCount: break;
  }
  return "";
}

const std::string& FieldValue(const AddForm& f, Field field) {
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

std::string FieldPlaceholder(const Model& m, Field f) {
  const FormDefaults& d = m.defaults;
  auto dflt = [](const std::string& v) { return v.empty() ? std::string() : "default " + v; };
  switch (f) {
    case Field::kName: return "lowercase letters, digits, hyphens";
    case Field::kProfile: return dflt(d.profile);
    case Field::kRepo: return "a git repository: the agent gets its own clone";
    case Field::kBranch: return "with a repository: default cloudcoop/NAME";
    case Field::kWorkspace: return "or a directory (instead of a repository)";
    case Field::kCpus: return dflt(d.cpus);
    case Field::kMemory: return dflt(d.memory);
    case Field::kPids: return dflt(d.pids);
    case Field::kNetwork: return dflt(d.network);
    case Field::kSandbox:
    case Field::kCount: break;
  }
  return "";
}

void RenderForm(Screen& s, const Model& m) {
  const Glyphs& g = G(m);
  const FormState& f = m.form;
  int w = std::min(s.width(), 76);
  int inner = w - 4;
  std::vector<std::string> err;
  if (!f.error.empty()) err = Wrap(f.error + (f.fix.empty() ? "" : " " + std::string(g.dot) + " fix: " + f.fix), inner);
  if (err.size() > 4) err.resize(4);
  int fields = static_cast<int>(Field::kCount);
  int h = std::min(s.height() - 2, 2 + 1 + fields + 1 + 1 + static_cast<int>(err.size()) + (err.empty() ? 0 : 1));
  int x = (s.width() - w) / 2;
  int y = std::max((s.height() - h) / 2 - 1, 0);
  DrawBox(s, m, x, y, w, h, "add an agent", Style::kBold);
  int labelw = 11;
  int inputw = inner - labelw - 2;
  int row = y + 2;
  for (int i = 0; i < fields && row < y + h - 1; ++i, ++row) {
    Field field = static_cast<Field>(i);
    bool focus = f.focus == field;
    s.Put(x + 2, row, focus ? std::string(g.mark) : " ", Style::kKey);
    s.Put(x + 3, row, PadText(FieldLabel(field), labelw), focus ? Style::kBold : Style::kNormal);
    int ix = x + 3 + labelw + 1;
    if (field == Field::kSandbox) {
      bool off = f.values.unsandboxed;
      std::string text = off ? "OFF: UNSANDBOXED, own uid + no_new_privs only (logged)"
                             : "on: namespaces, cgroup limits, seccomp, Landlock";
      int used = s.Put(ix, row, FitText(text, inputw - 1, g.ellipsis), off ? Style::kDanger : Style::kNormal);
      if (focus) s.Put(ix + used, row, g.cursor, Style::kKey);
      continue;
    }
    const std::string& value = FieldValue(f.values, field);
    s.Fill(ix, row, inputw, U' ', Style::kInput);
    if (value.empty()) {
      // The placeholder (dim) after the cursor, so it is never mistaken for a typed value.
      int cx = ix;
      if (focus) cx += s.Put(ix, row, g.cursor, Style::kKey);
      s.Put(cx, row, FitText(FieldPlaceholder(m, field), inputw - 2, g.ellipsis), Style::kDim);
    } else {
      // Long values show their end (where the typing happens).
      std::string shown = value;
      while (TextWidth(shown) > inputw - 1) shown = EncodeUtf8(DecodeUtf8(shown).substr(1));
      int used = s.Put(ix, row, shown, Style::kInput);
      if (focus) s.Put(ix + used, row, g.cursor, Style::kKey);
    }
  }
  // Choices for the focused field.
  std::string hint;
  if (f.focus == Field::kProfile && !m.defaults.profiles.empty()) hint = "Left/Right: " + Join(m.defaults.profiles, ", ");
  if (f.focus == Field::kNetwork) hint = "Left/Right: none, egress, host";
  if (f.focus == Field::kSandbox) hint = "Left/Right: off only for agents you would run on this host without cloudcoop";
  if (f.focus == Field::kMemory) hint = "e.g. 2G, 512M";
  if (f.focus == Field::kRepo) hint = "empty: a new empty workspace";
  ++row;
  if (row < y + h - 1) s.Put(x + 3, row, FitText(hint, inner - 1, g.ellipsis), Style::kDim);
  ++row;
  for (size_t i = 0; i < err.size() && row < y + h - 1; ++i, ++row) s.Put(x + 2, row, err[i], Style::kBad);
}

void RenderConfirm(Screen& s, const Model& m) {
  bool kill = m.mode == Mode::kConfirmKill;
  std::vector<std::string> text =
      kill ? std::vector<std::string>{"Its processes get SIGTERM, then SIGKILL after the grace period.",
                                      "Its workspace and records are kept (r restarts it)."}
           : std::vector<std::string>{"It is stopped (SIGTERM, then SIGKILL) and started again",
                                      "with its profile's resume command, in the same workspace."};
  int w = std::min(s.width(), 70);
  int h = 7;
  int x = (s.width() - w) / 2;
  int y = std::max((s.height() - h) / 2, 0);
  DrawBox(s, m, x, y, w, h, (kill ? "kill agent " : "restart agent ") + m.confirm_agent + "?", kill ? Style::kBad : Style::kWarn);
  for (size_t i = 0; i < text.size(); ++i) s.Put(x + 2, y + 2 + static_cast<int>(i), FitText(text[i], w - 4, G(m).ellipsis), Style::kNormal);
  int bx = x + 2;
  bx += s.Put(bx, y + 5, "y", Style::kKey);
  bx += s.Put(bx, y + 5, kill ? " kill    " : " restart    ", Style::kNormal);
  bx += s.Put(bx, y + 5, "n", Style::kKey);
  s.Put(bx, y + 5, " cancel", Style::kNormal);
}

void RenderPanic(Screen& s, const Model& m) {
  int w = std::min(s.width(), 72);
  int h = 9;
  int x = (s.width() - w) / 2;
  int y = std::max((s.height() - h) / 2, 0);
  DrawBox(s, m, x, y, w, h, "PANIC", Style::kDanger);
  std::vector<std::string> text = {"This stops EVERY agent on this host now: freeze, kill, verify,",
                                   "then locks the host until `cloudcoop unlock --rotated`.",
                                   "Rotate every credential the agents could reach afterwards."};
  for (size_t i = 0; i < text.size(); ++i) s.Put(x + 2, y + 2 + static_cast<int>(i), FitText(text[i], w - 4, G(m).ellipsis), Style::kNormal);
  int px = x + 2;
  px += s.Put(px, y + 6, "Type panic and press Enter: ", Style::kBold);
  s.Fill(px, y + 6, 8, U' ', Style::kInput);
  int used = s.Put(px, y + 6, m.confirm_typed, Style::kInput, 7);
  s.Put(px + used, y + 6, G(m).cursor, Style::kKey);
  s.Put(px + 10, y + 6, "Esc cancels", Style::kDim);
}

// ---- transcript and audit screens --------------------------------------------------------------

void RenderDetailScreen(Screen& s, const Model& m, const Layout& L) {
  bool audit = m.mode == Mode::kAudit;
  const Glyphs& g = G(m);
  int count = audit ? static_cast<int>(m.detail_records.size()) : static_cast<int>(m.detail_lines.size());
  std::string what = audit ? "exec and denial records of " + m.detail_agent : m.caps.transcript_title + " of " + m.detail_agent;
  std::string where = m.follow ? "following" : "line " + std::to_string(m.detail_scroll + 1) + " of " + std::to_string(count);
  s.Fill(0, 1, s.width(), U' ', Style::kHeading);
  s.Put(1, 1, FitText(what + " " + std::string(g.dot) + " " + std::to_string(count) + (audit ? " records " : " lines ") +
                          std::string(g.dot) + " " + where,
                      s.width() - 2, g.ellipsis),
        Style::kHeading);
  int top = 2;
  int bottom = L.message_y >= 0 ? L.message_y : L.footer_y;
  int page = bottom - top;
  if (!m.detail_loaded) {
    s.Put(1, top, "loading" + std::string(g.ellipsis), Style::kDim);
    return;
  }
  if (!m.detail_error.ok()) {
    int row = top;
    for (const std::string& line : Wrap(m.detail_error.message() + (m.detail_error.fix().empty() ? "" : " (fix: " + m.detail_error.fix() + ")"), s.width() - 2)) {
      s.Put(1, row++, line, Style::kBad);
    }
    return;
  }
  if (count == 0) {
    s.Put(1, top, audit ? "no exec or denial records for this agent yet" : "no output yet", Style::kDim);
    return;
  }
  int first = std::clamp(m.detail_scroll, 0, std::max(0, count - page));
  if (m.follow) first = std::max(0, count - page);
  for (int i = 0; i < page && first + i < count; ++i) {
    int y = top + i;
    if (audit) {
      const AuditRecord& r = m.detail_records[static_cast<size_t>(first + i)];
      int x = 1;
      x += s.Put(x, y, Clock(r.at) + " ", Style::kDim);
      x += s.Put(x, y, PadText(r.kind, 6), r.kind == "exec" ? Style::kNormal : Style::kBad);
      s.Put(x + 1, y, FitText(r.detail, s.width() - x - 2, g.ellipsis), Style::kNormal);
    } else {
      s.Put(0, y, FitText(m.detail_lines[static_cast<size_t>(first + i)], s.width(), g.ellipsis), Style::kNormal);
    }
  }
}

}  // namespace

std::vector<std::string> MessageLines(const Model& m) {
  std::vector<std::string> lines;
  int w = std::max(m.width - 2, 1);
  if (!m.refresh_error.ok()) {
    for (auto& l : Wrap(RefreshErrorText(m), w)) lines.push_back(l);
  }
  if (!m.message.text.empty()) {
    std::string text = m.message.text + (m.message.fix.empty() ? "" : " (fix: " + m.message.fix + ")");
    for (auto& l : Wrap(text, w)) lines.push_back(l);
  } else if (m.snapshot && !m.snapshot->problems.empty() && m.mode == Mode::kTable) {
    size_t n = m.snapshot->problems.size();
    std::string text = (n == 1 ? std::string("problem: ") : std::to_string(n) + " problems, the first: ") + m.snapshot->problems[0];
    for (auto& l : Wrap(text, w)) lines.push_back(l);
  }
  if (lines.size() > 3) {
    lines.resize(3);
    lines[2] = FitText(lines[2] + " " + std::string(G(m).ellipsis), w, G(m).ellipsis);
  }
  return lines;
}

std::string RefreshErrorText(const Model& m) {
  std::string t = "refresh failed: " + m.refresh_error.message();
  if (!m.refresh_error.fix().empty()) t += " (fix: " + m.refresh_error.fix() + ")";
  if (m.snapshot) t += "; showing the agents as of " + Clock(m.snapshot->taken_at);
  return t;
}

Layout ComputeLayout(const Model& m) {
  Layout L;
  L.footer_y = m.height - 1;
  int y = 2;
  if (m.snapshot && m.snapshot->host.lockout) L.banner_y = y++;
  L.heading_y = y;
  L.rows_y = y + 1;
  int bottom = L.footer_y;
  std::vector<std::string> msg = MessageLines(m);
  if (!msg.empty()) {
    L.message_h = static_cast<int>(msg.size());
    L.message_y = bottom - L.message_h;
    bottom = L.message_y;
  }
  if (m.op || m.panic_op || m.attach) {
    L.progress_y = bottom - 1;
    bottom = L.progress_y;
  }
  if (m.height >= kDetailMinHeight && m.mode != Mode::kTranscript && m.mode != Mode::kAudit && SelectedAgent(m) != nullptr) {
    L.detail_y = bottom - kDetailHeight;
    L.detail_h = kDetailHeight;
    bottom = L.detail_y;
  }
  L.rows_h = std::max(0, bottom - L.rows_y);
  return L;
}

int TableCapacity(const Model& m) { return ComputeLayout(m).rows_h; }

Screen Render(const Model& m) {
  Screen s(m.width, m.height);
  s.set_ascii_only(!m.unicode);
  if (m.width < kMinWidth || m.height < kMinHeight) {
    std::string text = "The terminal is " + std::to_string(m.width) + "x" + std::to_string(m.height) +
                       "; the dashboard needs at least " + std::to_string(kMinWidth) + "x" + std::to_string(kMinHeight) +
                       ". Enlarge it, or press q to quit.";
    int row = 0;
    for (const std::string& line : Wrap(text, m.width)) s.Put(0, row++, line, Style::kWarn);
    return s;
  }
  Layout L = ComputeLayout(m);
  RenderTitle(s, m, L);
  if (m.mode == Mode::kTranscript || m.mode == Mode::kAudit) {
    RenderDetailScreen(s, m, L);
  } else {
    std::vector<ShownRow> rows = VisibleRows(m);
    RenderSummary(s, m, L, rows);
    RenderBanner(s, m, L);
    RenderTable(s, m, L, rows);
    RenderDetail(s, m, L);
  }
  RenderProgress(s, m, L);
  RenderMessages(s, m, L);
  RenderFooter(s, m, L);
  switch (m.mode) {
    case Mode::kHelp: RenderHelp(s, m); break;
    case Mode::kForm: RenderForm(s, m); break;
    case Mode::kConfirmKill:
    case Mode::kConfirmRestart: RenderConfirm(s, m); break;
    case Mode::kConfirmPanic: RenderPanic(s, m); break;
    default: break;
  }
  return s;
}

}  // namespace cloudcoop::tui
