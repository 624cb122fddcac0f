// The dashboard's only view of the world: a narrow interface to the agent host.
//
// The dashboard never talks to tmux, the registry, the audit log or a cloud API itself. It asks a
// HostSource for a Snapshot (header facts + one row per agent) and for actions (add, kill, restart,
// panic, attach argv, transcript, audit records). The real implementation wraps the same
// node::AgentHost the CLI uses (local today, a VM over SSH later, with no dashboard change); the
// fake one (fake_source.h) serves unit tests and the tests that drive the real binary in tmux.
//
// Threading contract: the dashboard calls Snapshot/Transcript/AuditRecords from its refresh thread
// and the actions from operation threads, so a call from each group (and a Panic) may run at the same
// time. Implementations must allow that. No call is ever made from the input loop.
#ifndef CLOUDCOOP_TUI_SOURCE_H_
#define CLOUDCOOP_TUI_SOURCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace cloudcoop::tui {

// One agent, as the table shows it.
struct AgentRow {
  std::string name;
  std::string profile;
  std::string state;         // running | exited | killed | creating | failed | lost
  std::string state_detail;  // "status 3", "by panic", ...
  Duration uptime{0};
  std::optional<double> cpu_seconds;  // cumulative; the dashboard turns deltas into CPU %
  std::optional<uint64_t> memory_bytes;
  std::optional<int64_t> pids;
  std::string network;  // none | egress | host
  std::string last_line;
  // Details for the selected agent.
  std::string command;
  std::string workspace;
  std::string branch;
  double cpu_limit = 0;
  uint64_t memory_limit = 0;
  int64_t pids_limit = 0;
  int clients = 0;  // terminals attached
  bool unsandboxed = false;
};

// The VM behind a gcp host (empty for local).
struct VmInfo {
  std::string name;
  std::string state;  // RUNNING, STOPPED, ...
  std::string zone;
  std::string machine_type;
  std::optional<double> cost_per_hour;  // USD
};

struct Lockout {
  SystemTime at{};
  std::string reason;
};

struct HostHeader {
  std::string kind;  // "local" | "gcp"
  std::string name;  // hostname, or the VM name
  std::optional<VmInfo> vm;
  std::optional<Lockout> lockout;  // set after a panic until `cloudcoop unlock --rotated`
};

struct Snapshot {
  HostHeader host;
  std::vector<AgentRow> agents;
  std::vector<std::string> problems;  // unreadable records etc., shown, never hidden
  SystemTime taken_at{};
  Duration taken_mono{0};  // monotonic time of the sample (for CPU %)
};

// What the add form sends. Empty fields mean "the configured default".
struct AddForm {
  std::string name;
  std::string profile;
  std::string repo;
  std::string branch;
  std::string workspace;
  std::string cpus;
  std::string memory;
  std::string pids;
  std::string network;
  // The explicit degraded mode (`agent add --unsandboxed`): own uid and no_new_privs only. Off
  // unless the user switches it in the form; shown in red there and in the table.
  bool unsandboxed = false;
};

// Shown as placeholders in the add form.
struct FormDefaults {
  std::vector<std::string> profiles;
  std::string profile;
  std::string cpus;
  std::string memory;
  std::string pids;
  std::string network;
};

struct AuditRecord {
  SystemTime at{};
  std::string kind;    // exec | deny | ...
  std::string detail;  // the command line, or what was denied and why
};

// What this source can do; keys that need a missing capability are refused with `why`.
struct Capabilities {
  bool transcript = true;
  std::string transcript_title = "output";  // the real host: "transcript" (its transcript file)
  bool audit = true;
  std::string audit_missing_why;  // shown when audit is false
};

class HostSource {
 public:
  virtual ~HostSource() = default;

  virtual Capabilities capabilities() const = 0;
  virtual FormDefaults form_defaults() const = 0;

  virtual StatusOr<Snapshot> GetSnapshot() = 0;
  // The agent's output, oldest line first, at most `max_lines`.
  virtual StatusOr<std::vector<std::string>> Transcript(const std::string& agent, int max_lines) = 0;
  virtual StatusOr<std::vector<AuditRecord>> AuditRecords(const std::string& agent, int max_records) = 0;

  // Each returns a one-line report for the message line on success.
  virtual StatusOr<std::string> Add(const AddForm& form) = 0;
  virtual StatusOr<std::string> Kill(const std::string& agent) = 0;
  virtual StatusOr<std::string> Restart(const std::string& agent) = 0;
  virtual StatusOr<std::string> Panic(const std::string& reason) = 0;
  // The argv that attaches this terminal to the agent (run with the dashboard suspended).
  virtual StatusOr<std::vector<std::string>> AttachArgv(const std::string& agent) = 0;
};

}  // namespace cloudcoop::tui

#endif  // CLOUDCOOP_TUI_SOURCE_H_
