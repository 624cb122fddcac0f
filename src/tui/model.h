// The dashboard's state and its one update function (the Elm architecture).
//
// Everything the screen shows is in Model; every input (a key, a resize, a snapshot, the end of an
// operation, the passing of time) is an Event; Update(model, event) changes the model and returns
// Effects (start an operation, attach, refresh now, quit) for the runtime (dashboard.cc) to carry out
// off the input loop. Update never blocks and never touches the terminal or the host, so the whole
// dashboard can be driven in a unit test: feed events, render (view.h), compare text.
#ifndef CLOUDCOOP_TUI_MODEL_H_
#define CLOUDCOOP_TUI_MODEL_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "tui/source.h"

namespace cloudcoop::tui {

// Keys: printable characters are their code point; the rest are below.
enum Key : int {
  kKeyUp = 0x110000,
  kKeyDown,
  kKeyLeft,
  kKeyRight,
  kKeyPageUp,
  kKeyPageDown,
  kKeyHome,
  kKeyEnd,
  kKeyEnter,
  kKeyEscape,
  kKeyBackspace,
  kKeyDelete,
  kKeyTab,
  kKeyBackTab,
  kKeyCtrlC,
  kKeyCtrlL,
  kKeyCtrlU,
  kKeyOther,  // a key the terminal reported that has no meaning here
};

// "k", "Enter", "Esc", "↑", ... for messages.
std::string KeyName(int key);
// The keys that connect to the selected agent from the table (Enter, c).
bool IsConnectKey(int key);

enum class Mode {
  kTable,
  kFilter,          // typing the / filter
  kHelp,
  kForm,            // the add form
  kConfirmKill,
  kConfirmRestart,
  kConfirmPanic,    // type the word
  kTranscript,
  kAudit,
};

enum class SortKey { kName, kState, kCpu, kMemory, kUptime };
std::string_view SortKeyName(SortKey k);

enum class OpKind { kAdd, kKill, kRestart, kPanic, kAttach };
std::string_view OpVerb(OpKind k);  // "adding", "killing", ...

// The actions the footer offers; each is available or refused with a reason.
enum class Action { kAdd, kKill, kRestart, kConnect, kTranscript, kAudit, kFilter, kSort, kPanic, kHelp, kQuit };

struct Availability {
  bool ok = true;
  std::string why;  // when refused: why, and what would make it available
};

enum class Severity { kInfo, kOk, kWarn, kError };

struct Message {
  std::string text;
  std::string fix;
  Severity severity = Severity::kInfo;
  Duration at{0};  // monotonic time it was set (info/ok messages fade after a while)
};

// The add form's fields, in tab order.
enum class Field { kName, kProfile, kRepo, kBranch, kWorkspace, kCpus, kMemory, kPids, kNetwork, kSandbox, kCount };

struct FormState {
  AddForm values;
  Field focus = Field::kName;
  std::string error;  // the host's answer to the last attempt
  std::string fix;
};

struct Operation {
  OpKind kind;
  std::string agent;
  Duration started{0};
};

struct OpRequest {
  OpKind kind;
  std::string agent;
  AddForm form;        // kAdd
  std::string reason;  // kPanic
};

struct Effect {
  enum class Kind {
    kRefreshNow,      // take a snapshot now (after an operation, or Ctrl-L)
    kRedraw,          // repaint the whole terminal (Ctrl-L)
    kStartOp,         // run `op` on an operation thread; ends with Event kOpDone (kAttach: kAttachReady)
    kRunAttach,       // suspend the screen, run `argv` on this terminal, resume; ends with kOpDone
    kLoadTranscript,  // fetch `agent`'s output; ends with Event kTranscript
    kLoadAudit,       // fetch `agent`'s audit records; ends with Event kAudit
    kQuit,
  };
  Kind kind;
  OpRequest op;                   // kStartOp
  std::string agent;              // kLoad*, kRunAttach
  std::vector<std::string> argv;  // kRunAttach
};

struct Event {
  enum class Kind { kKey, kResize, kSnapshot, kOpDone, kAttachReady, kTranscript, kAudit, kTick };
  Kind kind = Event::Kind::kTick;
  Duration now{0};  // monotonic time of the event
  int key = 0;
  int width = 0, height = 0;
  std::optional<StatusOr<Snapshot>> snapshot;
  OpKind op_kind = OpKind::kAdd;
  std::string agent;
  Status status;        // kOpDone, kTranscript, kAudit
  std::string report;   // kOpDone success text
  AddForm form;         // kOpDone of kAdd: what was sent (reopened on failure)
  std::vector<std::string> lines;     // kTranscript; kAttachReady: the argv
  std::vector<AuditRecord> records;   // kAudit

  static Event KeyPress(int key, Duration now);
  static Event Resize(int w, int h, Duration now);
  static Event SnapshotArrived(StatusOr<Snapshot> s, Duration now);
  static Event OpDone(OpKind kind, std::string agent, Status status, std::string report, Duration now,
                      AddForm form = {});
  static Event Tick(Duration now);
};

// A row as shown: the agent plus the computed CPU %.
struct ShownRow {
  const AgentRow* agent = nullptr;
  std::optional<double> cpu_percent;
};

struct Model {
  // Terminal.
  int width = 80;
  int height = 24;
  bool color = true;    // NO_COLOR and tui.color=false turn it off
  bool unicode = true;  // false when the locale is not UTF-8: ASCII glyphs only
  int refresh_interval_sec = 1;
  Capabilities caps;
  FormDefaults defaults;
  std::string hostname_hint;  // shown until the first snapshot

  // Data.
  std::optional<Snapshot> snapshot;
  Status refresh_error;      // the last refresh failed (data shown is from before)
  int refreshes = 0;
  std::map<std::string, double> cpu_percent;                      // by agent
  std::map<std::string, std::pair<double, Duration>> cpu_sample;  // last cpu_seconds and its time

  // View state.
  Mode mode = Mode::kTable;
  std::string selected;  // agent name; empty: the first row
  std::string select_when_seen;  // an agent just added: selected once a snapshot has it
  int scroll = 0;        // first table row shown
  SortKey sort = SortKey::kName;
  bool sort_desc = false;
  std::string filter;
  FormState form;
  std::optional<FormState> failed_form;  // the last add that the host refused (reopened by `a`)
  std::string confirm_agent;
  std::string confirm_typed;  // panic: the word typed so far

  // Transcript / audit view.
  std::string detail_agent;
  std::vector<std::string> detail_lines;
  std::vector<AuditRecord> detail_records;
  Status detail_error;
  bool detail_loaded = false;
  int detail_scroll = 0;  // first line shown
  bool follow = true;

  // Work in progress (at most one operation, plus a panic that never waits for anything).
  std::optional<Operation> op;
  std::optional<Operation> panic_op;
  std::optional<Operation> attach;  // fetching the attach argv, or attached
  bool quit_pending = false;  // q pressed while an operation runs: quit when it ends
  Message message;
  Duration now{0};
  bool quit = false;
};

Model NewModel(int width, int height, Capabilities caps, FormDefaults defaults);

std::vector<Effect> Update(Model& m, const Event& e);

// The rows the table shows, filtered and sorted (pointers into m.snapshot).
std::vector<ShownRow> VisibleRows(const Model& m);
// Index of the selected row in VisibleRows, or -1 when there is none.
int SelectedIndex(const Model& m, const std::vector<ShownRow>& rows);
const AgentRow* SelectedAgent(const Model& m);
Availability Available(const Model& m, Action a);
// Rows available to the table at the model's size (view.h lays it out; the model keeps the
// selection visible).
int TableCapacity(const Model& m);

}  // namespace cloudcoop::tui

#endif  // CLOUDCOOP_TUI_MODEL_H_
