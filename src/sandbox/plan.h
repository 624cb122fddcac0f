// SandboxPlan: everything a sandbox will be, decided before any system call runs.
//
// Parse -> validate -> plan -> apply: configuration and flags (PlanRequest) become an immutable
// SandboxPlan that `cloudcoop sandbox run --plan` prints and unit tests inspect; the launcher applies
// exactly this plan (launcher.h) and records it next to the running sandbox (state.h), where
// `cloudcoop check` compares it with what /proc shows.
#ifndef CLOUDCOOP_SANDBOX_PLAN_H_
#define CLOUDCOOP_SANDBOX_PLAN_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/settings.h"
#include "core/status.h"
#include "sandbox/layers.h"

namespace cloudcoop::sandbox {

enum class NetMode { kNone, kEgress, kHost };
std::string_view NetModeName(NetMode mode);
StatusOr<NetMode> ParseNetMode(std::string_view text);

// A host path made visible inside the sandbox. Read-only binds keep the host's setuid semantics
// (no_new_privs neutralises them); writable binds are always nosuid and nodev.
struct Bind {
  std::string source;  // host path (absolute)
  std::string target;  // path inside the sandbox (absolute)
  bool writable = false;
};

enum class PathKind { kFile, kDir };
std::string_view PathKindName(PathKind kind);

// A path inside a writable bind that the agent must not change: hooks and configuration the host
// or the operator later trusts (.git/hooks, .git/config, .mcp.json, ...). It is re-bound read-only
// over itself; a missing one is first created as an empty root-owned placeholder (and removed again
// after the sandbox exits if still empty), and every directory between the writable bind and it is
// pinned as a mount point so rename/rmdir of an ancestor fails with EBUSY.
struct ProtectedPath {
  std::string path;  // absolute, inside the sandbox, under a writable bind
  PathKind kind = PathKind::kFile;
};

struct Symlink {
  std::string path;    // "/bin"
  std::string target;  // "usr/bin"
};

struct RlimitSpec {
  std::string name;  // "NOFILE"
  int resource = 0;  // RLIMIT_NOFILE
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// The uid range sandboxes get their identity from (docs/adr/0008-sandbox-identity.md).
inline constexpr uint32_t kDefaultUidBase = 1000000000;
inline constexpr uint32_t kDefaultUidCount = 65536;

struct SandboxPlan {
  // Identity and naming.
  std::string name;             // [a-z0-9-]: cgroup name, record id, default hostname
  std::string hostname;         // uts namespace
  std::string user_name;        // the user in the generated /etc/passwd
  std::optional<uint32_t> uid;  // fixed (an agent's own uid); else allocated at start
  uint32_t uid_base = kDefaultUidBase;
  uint32_t uid_count = kDefaultUidCount;
  std::string home;         // inside the sandbox
  std::string home_source;  // host directory bound read-write at `home`; empty: private tmpfs
  std::string shell;

  // The command.
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;  // the exact environment, sorted by name
  std::string cwd;
  // The command's umask. Never lets others read or write (ValidatePlan); agents use 027 so the
  // operator's group can read their workspace.
  uint32_t umask = 077;

  // Filesystem: a fresh tmpfs root holding these, then made read-only.
  std::vector<Bind> binds;  // in mount order; parents before children
  std::vector<Symlink> symlinks;
  std::vector<std::string> masked;  // hidden behind an empty read-only file or directory
  std::vector<ProtectedPath> protected_paths;
  uint64_t tmp_size_bytes = 0;  // private /tmp (and /dev/shm)

  // Network.
  NetMode net = NetMode::kNone;
  bool host_net_explicit = false;  // `host` only with an explicit request

  // Resources (cgroup) and rlimits.
  double cpus = 0;
  uint64_t memory_bytes = 0;  // also the memory+swap limit: no swap escape
  int64_t pids = 0;
  std::string cgroup_parent = "cloudcoop";  // /sys/fs/cgroup/<ctrl>/<parent>/<name>
  std::string cgroup_root;                  // empty: discover cgroupfs; tests point v2 at a fake tree
  std::vector<RlimitSpec> rlimits;

  // Layers allowed to be missing on this host (--allow-degraded); printed and recorded.
  std::vector<Layer> allow_degraded;

  // Bookkeeping.
  std::string state_dir;         // running records and uid allocations live here
  std::string exit_status_file;  // optional: the command's exit written here as JSON

  // Audit (exec_audit.h, docs/adr/0017-exec-capture.md): lifecycle records always; every execve and
  // execveat captured by the supervisor unless exec_capture is false (then recorded as degraded).
  std::string audit_dir;  // empty: <state_dir>/audit
  bool exec_capture = true;
  std::string audit_agent;  // the agent the records name; empty: the sandbox's name
  // The audit log's settings (config audit.*), as the CLI's own writer uses them. audit_enabled
  // false (audit.enabled = false) opens no log at all: no lifecycle records and no exec capture,
  // printed and kept in the running record as a degraded layer, failed by `check` (ADR 0017).
  bool audit_enabled = true;
  uint64_t audit_segment_max_bytes = 16ULL << 20;
  int64_t audit_retention_segments = 0;  // 0: keep every segment
  std::string AuditDir() const;

  bool MayDegrade(Layer layer) const;
  // Paths inside the sandbox the command may write (Landlock's write rules).
  std::vector<std::string> WritablePaths() const;
};

// What plan building reads from the host (which system directories exist, which secrets to hide,
// current rlimits). Read() looks at the real host; tests build one by hand.
struct HostLayout {
  std::vector<std::string> system_dirs;                  // existing read-only roots: /usr, /etc, /opt, ...
  std::vector<Symlink> root_symlinks;                    // /bin -> usr/bin on merged-/usr systems
  std::vector<std::string> secrets;                      // existing files and directories to mask
  std::map<int, std::pair<uint64_t, uint64_t>> rlimits;  // resource -> (soft, hard) now
  std::string shell = "/bin/sh";
  static HostLayout Read();
};

// Flags of `sandbox run` and what the agent service asks for.
struct PlanRequest {
  std::string name;      // empty: "sandbox-<pid>"
  std::string hostname;  // empty: name
  std::vector<std::string> argv;
  std::string workspace;         // host directory, bound read-write
  std::string workspace_target;  // inside; empty: the same path as on the host
  std::string home;              // host directory bound at /home/<user>; empty: private tmpfs
  std::string user_name;         // empty: "agent"
  std::optional<NetMode> net;    // empty: agents.network from the configuration
  bool net_explicit = false;     // the mode was asked for explicitly (flag or API), not defaulted
  std::optional<double> cpus;
  std::optional<uint64_t> memory_bytes;
  std::optional<int64_t> pids;
  std::vector<std::string> env;                   // "K=V", applied last
  std::optional<uint32_t> umask;                  // empty: 077
  std::map<std::string, std::string> caller_env;  // for passing TERM, LANG, ... through
  std::vector<std::string> allow_degraded;        // layer names
  std::vector<Bind> extra_binds;
  std::vector<ProtectedPath> protected_paths;
  bool protect_default_paths = false;  // add DefaultProtectedPaths() of the workspace
  std::optional<uint32_t> uid;
  std::string state_dir;
  std::string exit_status_file;
  std::string audit_dir;      // empty: <state_dir>/audit
  bool exec_capture = true;   // false: --no-exec-capture (recorded as a degraded layer)
  // The configuration's audit.* settings: enabled, exec_capture (false turns capture off like
  // --no-exec-capture), segment_max_bytes, retention_segments.
  AuditSettings audit;
  std::string cgroup_root;
  std::string cgroup_parent;
};

// Environment variables copied from the caller when set (never anything else: the operator's
// credentials stay outside).
const std::vector<std::string>& PassthroughEnv();

// The paths under a workspace that hooks and agent configuration live in (containment-tests.md
// section 6), for a plain repository and for a git worktree (whose hooks and config live in the
// common git directory it points to).
std::vector<ProtectedPath> DefaultProtectedPaths(const std::string& workspace);

StatusOr<SandboxPlan> BuildPlan(const AgentSettings& defaults, const PlanRequest& request,
                                const HostLayout& host);
// Every rule a plan must satisfy; BuildPlan and RunSandbox both call it.
Status ValidatePlan(const SandboxPlan& plan);
// A strict name: [a-z0-9], '-' inside, at most 63 characters.
Status CheckSandboxName(std::string_view name, std::string_view what);

// Why the plan captures no execs (empty when it does): "audit.enabled = false", or
// "--no-exec-capture or audit.exec_capture = false".
std::string ExecCaptureOffReason(const SandboxPlan& plan);

// Printing (plan_format.cc). Values of variables that look like secrets are redacted.
std::string FormatPlanText(const SandboxPlan& plan);
std::string PlanToJson(const SandboxPlan& plan, bool redact = true);
StatusOr<SandboxPlan> PlanFromJson(std::string_view json);

}  // namespace cloudcoop::sandbox

#endif  // CLOUDCOOP_SANDBOX_PLAN_H_
