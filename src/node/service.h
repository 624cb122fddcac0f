// The agent host: every agent operation, the same whether called in-process (local) or through
// `cloudcoop node ...` over SSH (later). Commands in src/cli are thin wrappers around this.
#ifndef CLOUDCOOP_NODE_SERVICE_H_
#define CLOUDCOOP_NODE_SERVICE_H_

#include <optional>
#include <string>
#include <vector>

#include "config/settings.h"
#include "core/clock.h"
#include "core/process.h"
#include "core/status.h"
#include "node/agent_sandbox.h"
#include "node/control_log.h"
#include "node/registry.h"
#include "node/tmux.h"
#include "node/workspace.h"

namespace cloudcoop::node {

struct AddRequest {
  std::string name;
  std::optional<std::string> profile;
  std::optional<std::string> cmd;
  std::optional<std::string> workspace;
  std::optional<std::string> repo;
  std::optional<std::string> branch;
  std::optional<std::string> cpus;    // as typed: "1.5"
  std::optional<std::string> memory;  // "2G"
  std::optional<std::string> pids;    // "256"
  std::optional<std::string> network; // none | egress | host
  std::vector<std::string> env;       // K=V
  bool unsandboxed = false;
};

// What `agent list` shows for one agent.
struct AgentView {
  AgentRecord record;
  std::string state;  // running | exited | killed | creating | failed | lost
  std::string state_detail;  // "status 3", "signal 9 (SIGKILL)", "by panic", "pane gone", ...
  std::optional<AgentStatus> status;
  Duration uptime{0};
  std::optional<ResourceUsage> usage;
  int processes = 0;  // live processes with the agent's uid
  std::string last_line;
  int clients = 0;
};

struct KillReport {
  std::string name;
  bool was_running = false;
  int terminated = 0;  // processes that ended after SIGTERM
  int killed = 0;      // processes that needed SIGKILL
  Duration took{0};
};

struct PanicReport {
  std::vector<std::string> agents;  // registered agents marked killed
  int frozen = 0;
  int killed = 0;
  bool tmux_server_killed = false;
  bool registry_locked = false;  // false: a command held the lock; records were updated anyway
  std::vector<pid_t> survivors;  // processes still alive afterwards (the panic failed)
  Duration took{0};
  std::vector<std::string> notes;
};

struct HostOptions {
  std::string supervisor_binary;  // absolute path of the cloudcoop binary the panes run
  Duration start_timeout = std::chrono::seconds(15);
  // Transcripts (audit/transcript.h): tmux pipes each pane into `node transcript`, which masks the
  // values of these variables (read from this process's environment when the session is made) and
  // the agent's own secret-named variables, and rotates at this size.
  std::vector<std::string> redact_env;
  uint64_t transcript_max_bytes = 32ULL << 20;
  bool transcripts = true;
  // audit.*: handed to each pane's supervisor (`node supervise --set audit.…`), which opens the
  // sandbox's audit log with them.
  AuditSettings audit;
};

// The environment variable that carries the redact_env values to `node transcript` (hex encoded,
// through tmux's session environment; see NewSessionSpec::pipe_env).
inline constexpr const char* kTranscriptSecretsEnv = "CLOUDCOOP_TRANSCRIPT_SECRETS";
// "HEXNAME:HEXVALUE,..." and back.
std::string EncodeTranscriptSecrets(const std::vector<std::pair<std::string, std::string>>& secrets);
StatusOr<std::vector<std::pair<std::string, std::string>>> DecodeTranscriptSecrets(std::string_view text);

class AgentHost {
 public:
  AgentHost(StateLayout layout, TmuxClient& tmux, ProcessRunner& runner, Clock& clock, AgentSandbox& sandbox,
            ControlLog& log, HostOptions options);

  // Returns when the agent runs (the supervisor reported its start) or fails leaving nothing.
  StatusOr<AgentRecord> Add(const AddRequest& request, const AgentSettings& settings, const HostFacts& host);
  // Every agent. `tails` adds the last output line (one extra tmux call for all agents).
  StatusOr<std::vector<AgentView>> List(bool tails);
  Status Send(const std::string& name, const std::string& text, bool enter);
  StatusOr<std::string> Peek(const std::string& name, int lines);
  StatusOr<KillReport> Kill(const std::string& name, Duration grace, const std::string& by = "kill");
  StatusOr<AgentRecord> Restart(const std::string& name, Duration grace);
  // Returns what was kept (the workspace path) or removed, for the message.
  StatusOr<std::vector<std::string>> Remove(const std::string& name, bool purge, Duration grace);
  StatusOr<PanicReport> Panic(const std::string& reason);
  Status Unlock();
  StatusOr<HandoffResult> Handoff(const std::string& name);
  // The lowest-named running agent that no terminal watches and no other `attach --next` just
  // claimed; claims it for a few seconds.
  StatusOr<std::string> ClaimNextUnwatched();
  // The argv that attaches a terminal to the agent's session.
  StatusOr<std::vector<std::string>> AttachArgv(const std::string& name, bool read_only);

  const Registry& registry() const { return registry_; }

 private:
  StatusOr<AgentRecord> StartAndWait(AgentRecord record, bool respawn);
  Status WaitStarted(const AgentRecord& record);
  // Undoes a failed add: the agent's processes and session, its home, the workspace it made, or
  // (for an existing --workspace) exactly the owners and modes recorded before the handover.
  void Rollback(const AgentRecord& record, bool workspace_created_here, bool home_created_here,
                const TreeOwnership* handed_over);
  std::vector<std::string> SupervisorArgv(const std::string& name) const;
  // The session of an agent: its supervisor, and its pane piped into `node transcript`.
  NewSessionSpec SessionSpec(const std::string& name) const;
  Status CheckLockout() const;
  void Log(const std::string& action, const std::string& agent, const Status& outcome,
           std::map<std::string, std::string> details = {});

  StateLayout layout_;
  Registry registry_;
  TmuxClient& tmux_;
  ProcessRunner& runner_;
  Clock& clock_;
  AgentSandbox& sandbox_;
  ControlLog& log_;
  HostOptions options_;
};

// The limits an agent gets: flags over config defaults, each checked against its bounds and what
// this host has (usage errors name the flag, the host's amount and the fix).
StatusOr<AgentLimits> ResolveLimits(const AddRequest& request, const AgentSettings& settings, const HostFacts& host);

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_SERVICE_H_
