// The agent registry: one record per agent (agents/NAME/agent.json), written atomically, plus the
// status file the agent's supervisor writes (agents/NAME/status.json), the panic lock-out and the
// agent uid counter. Changes go through Registry::Lock() (flock on the state dir's lock file) so
// concurrent cloudcoop commands see each other's writes; readers never need the lock because every
// file is replaced atomically (ADR 0012).
#ifndef CLOUDCOOP_NODE_REGISTRY_H_
#define CLOUDCOOP_NODE_REGISTRY_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/status.h"
#include "node/state.h"

namespace cloudcoop::node {

// Agent uids (and gids: each agent's group has the same number) come from the state directory's
// range, one per agent, never reused: a kept workspace stays owned by an uid nobody else gets.
// Ranges stay below 2^31 (what the sandbox accepts). The range is fixed when the state
// directory is created (file uid-range): the default
// 1900000000 + 100000000, or CLOUDCOOP_AGENT_UID_BASE + 100000 (tests give every state directory
// its own range, so agent hosts that share a machine never share an uid and a panic stops only
// its own host's agents).
inline constexpr uint32_t kDefaultAgentUidBase = 1900000000;
inline constexpr uint32_t kDefaultAgentUidCount = 100000000;
inline constexpr uint32_t kCustomAgentUidCount = 100000;

struct UidRange {
  uint32_t base = kDefaultAgentUidBase;
  uint32_t count = kDefaultAgentUidCount;
  bool Contains(uint32_t uid) const { return uid >= base && uint64_t{uid} < uint64_t{base} + count; }
  std::function<bool(uint32_t)> Matcher() const {
    UidRange r = *this;
    return [r](uint32_t uid) { return r.Contains(uid); };
  }
};

// What the registry says the agent should be doing. The state shown to users combines this with
// the tmux pane and the supervisor's status file (see service.h).
enum class AdminState { kCreating, kRunning, kKilled };
std::string_view AdminStateName(AdminState s);

struct RepoInfo {
  std::string path;         // the operator's repository (top level)
  std::string branch;       // the agent's branch inside its own clone
  std::string handoff_ref;  // refs/heads/cloudcoop/NAME in the operator's repository
  std::string base_commit;  // what the clone started from (a prerequisite the operator has)
};

struct AgentRecord {
  int version = 1;
  std::string name;
  std::string profile;                   // profile name, or "custom" for --cmd
  std::vector<std::string> argv;         // the agent command
  std::vector<std::string> resume_argv;  // what `agent restart` runs
  std::map<std::string, std::string> env;
  std::string workspace;
  bool workspace_created = false;  // cloudcoop made it (so `rm --purge` may delete it)
  std::string home;
  std::optional<RepoInfo> repo;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t operator_uid = 0;
  uint32_t operator_gid = 0;
  AgentLimits limits;
  std::string network;  // none | egress | host
  bool unsandboxed = false;  // the explicit degraded mode (--unsandboxed), printed and logged
  AdminState state = AdminState::kCreating;
  int64_t generation = 0;  // +1 at every (re)start; the supervisor stamps it in its status
  bool resume = false;     // the current generation runs resume_argv
  SystemTime created_at{};
  SystemTime started_at{};
  std::optional<SystemTime> killed_at;
  std::string killed_by;  // "kill", "panic", "restart", "rm"
  int creator_pid = 0;    // while kCreating: the `agent add` process
  std::string supervisor_binary;  // absolute path of the cloudcoop binary the pane runs
  std::string state_dir;          // where this record lives (passed to the supervisor)
};

// Written by the supervisor (node supervise) as the agent starts and ends.
struct AgentStatus {
  int64_t generation = 0;
  int supervisor_pid = 0;
  int agent_pid = 0;
  SystemTime started_at{};
  std::optional<SystemTime> exited_at;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string error;  // the supervisor could not start the agent: why
};

struct Lockout {
  SystemTime at{};
  std::string reason;
  std::vector<std::string> agents;  // stopped by the panic
};

// Replaces `path` atomically (temp file + rename) without fsync: readers see the old or the new
// content; after a power loss either may be there. Registry files use this; the few that must be
// durable (the panic lock-out) are fsynced by their writer (ADR 0012).
Status ReplaceFile(const std::string& path, std::string_view data, mode_t mode);

std::string RecordToJson(const AgentRecord& r);
StatusOr<AgentRecord> RecordFromJson(const std::string& text, const std::string& origin, const UidRange& range);
std::string StatusToJson(const AgentStatus& s);
StatusOr<AgentStatus> StatusFromJson(const std::string& text, const std::string& origin);

// An exclusive flock(2) on the state directory's lock file, released on destruction.
class RegistryLock {
 public:
  RegistryLock(RegistryLock&&) = default;
  RegistryLock& operator=(RegistryLock&&) = default;

 private:
  friend class Registry;
  explicit RegistryLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

class Registry {
 public:
  explicit Registry(StateLayout layout);
  const StateLayout& layout() const { return layout_; }
  // This state directory's agent uid range (see UidRange).
  const UidRange& uids() const { return uids_; }

  // The registry lock; hold it across read-check-write sequences.
  StatusOr<RegistryLock> Lock() const;
  // Like Lock() but gives up after `wait` and returns nothing (panic must not hang behind a stuck
  // command).
  StatusOr<std::optional<RegistryLock>> TryLockFor(Duration wait) const;

  bool Exists(const std::string& name) const;
  // NotFound (with the fix "cloudcoop agent list") when there is no such agent.
  StatusOr<AgentRecord> Get(const std::string& name) const;
  // Every record, sorted by name. Unreadable records are returned as errors in `problems`.
  std::vector<AgentRecord> List(std::vector<Status>* problems = nullptr) const;
  Status Put(const AgentRecord& record) const;
  // Removes the agent's registry directory (record, status).
  Status Delete(const std::string& name) const;

  std::optional<AgentStatus> GetStatus(const std::string& name) const;
  Status PutStatus(const std::string& name, const AgentStatus& status) const;
  Status ClearStatus(const std::string& name) const;

  // Hands out the next agent uid (caller holds the lock): above the counter and above every uid
  // that owns a home or workspace in the state directory (so a counter lost in a crash cannot hand
  // out an uid that still owns files). Skips uids that exist in /etc/passwd.
  StatusOr<uint32_t> AllocateUid() const;

  // Flushes the state directory's file system (syncfs): one flush after many ReplaceFile writes.
  void Sync() const;

  std::optional<Lockout> GetLockout() const;
  Status PutLockout(const Lockout& lockout) const;
  Status ClearLockout() const;

 private:
  StateLayout layout_;
  UidRange uids_;
};

// Reads (or, with `create`, decides and writes) the state directory's uid range.
StatusOr<UidRange> LoadUidRange(const StateLayout& layout, bool create);

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_REGISTRY_H_
