// Workspaces, homes and git for agents (ADR 0014).
//
// - A workspace is a directory owned by the agent's uid with the operator's group, setgid, so
//   everything the agent creates (with the umask 027 its supervisor sets) is readable by the
//   operator's group and by no other agent.
// - `--repo PATH`: the agent gets its own full clone (not a worktree) of the operator's
//   repository, on its own branch; the operator's repository is never visible to the sandbox.
//   The clone's .git/config and .git/hooks are root-owned and read-only inside the sandbox.
// - Handoff: the agent's branch is bundled (git bundle, run as the agent's uid with repository
//   and global configuration neutralised) and fetched by the operator's uid into the operator's
//   repository as refs/heads/cloudcoop/NAME. Only pack data crosses; nothing the agent wrote is
//   executed on the operator's side.
#ifndef CLOUDCOOP_NODE_WORKSPACE_H_
#define CLOUDCOOP_NODE_WORKSPACE_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/process.h"
#include "core/status.h"
#include "node/registry.h"
#include "node/state.h"

namespace cloudcoop::node {

struct Identity {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// The operator: the owner of --repo when given; else the sudo caller (SUDO_UID/SUDO_GID); else the
// owner of an existing --workspace; else the current user.
Identity OperatorIdentity(const std::optional<std::string>& repo, const std::optional<std::string>& workspace);

// Runs argv as uid/gid (through setpriv, with no_new_privs and no supplementary groups unless
// `init_groups`), or directly when uid is ours.
StatusOr<ProcessResult> RunAs(ProcessRunner& runner, const Identity& who, ProcessSpec spec, bool init_groups);

// Recursively sets owner uid:gid and modes: directories 02750, files keep their user bits, get
// group read (and execute where the user has it), nothing for others. Never follows symlinks
// (lchown; symlinks keep their mode). Refuses "/" and the system directories (/etc, /usr, ...)
// whatever the caller checked before.
Status ShareTreeWithGroup(const std::string& path, const Identity& owner);

// The agent's home: created 0700, owned by the agent, with cloudcoop's root-owned start-up files
// (.profile, .bashrc with a prompt naming the agent, .gitconfig with the agent's git identity).
Status PrepareHome(const std::string& home, const std::string& agent_name, const Identity& agent);

// The owner, group and mode of every entry of a tree, to put back exactly what was there.
struct TreeOwnership {
  struct Entry {
    std::string path;
    uint32_t uid, gid;
    mode_t mode;
    bool symlink;
  };
  std::vector<Entry> entries;
};
StatusOr<TreeOwnership> SnapshotOwnership(const std::string& path);
Status RestoreOwnership(const TreeOwnership& snapshot);

// --workspace DIR, checked without changing anything: an absolute path that is no symlink, not a
// system directory, not the operator's home, not inside or above the state directory, and either
// an existing directory or a new one whose parent exists. Returns the real path.
StatusOr<std::string> CheckWorkspaceDir(const std::string& dir, const StateLayout& layout, const Identity& op);

// Hands a checked --workspace directory to the agent: creates it if needed (`created`), records
// the tree's ownership (`before`, for a rollback), then ShareTreeWithGroup and LockGitDir.
Status PrepareWorkspaceDir(const std::string& real, const Identity& agent, const Identity& op, bool* created,
                           TreeOwnership* before);

// Makes a repository's .git root-owned with the sticky bit and write access for the agent's own
// group only, and its config and hooks root-owned (see ADR 0014).
Status LockGitDir(const std::string& gitdir, const Identity& agent);
// Verifies LockGitDir's ownership and modes are intact before cloudcoop runs git there.
Status CheckGitDirLocked(const std::string& gitdir, const Identity& agent);

struct CloneRequest {
  std::string name;
  std::string repo;                   // as given by the user
  std::optional<std::string> branch;  // default: cloudcoop/NAME
  std::string workspace;              // the destination (must not exist)
  Identity agent;
  Identity op;
};

// Clones the operator's repository (as the operator's uid) into a staging directory in the
// state dir, checks out the branch (existing, or new from HEAD), sets the clone's identity,
// removes sample hooks and the origin remote, hands the tree to the agent, makes .git/config and
// .git/hooks root-owned, and renames it into place. On failure nothing is left behind.
StatusOr<RepoInfo> CloneRepoWorkspace(ProcessRunner& runner, const StateLayout& layout, const CloneRequest& req);

// A path the sandbox must keep read-only (or, for kPin, writable but not renameable or removable:
// a mount point) inside the agent's view. `exists` false: the sandbox covers it so that it cannot
// be created either.
struct ProtectedPath {
  enum class Kind { kReadOnly, kPin };
  std::string path;       // absolute host path
  bool directory = false;
  bool exists = false;
  bool symlink = false;  // the path itself is a symlink: cover the link, never follow it
  Kind kind = Kind::kReadOnly;
  std::string why;
};

// The repository's hooks and config (the clone's .git, or for a worktree workspace the resolved
// gitdir and its common dir when those are inside the workspace), the profile's configuration
// files in the workspace and the home, and cloudcoop's start-up files in the home. A protected path
// that is a symlink is reported as existing with its own path (the sandbox covers the link, never
// its target).
std::vector<ProtectedPath> ComputeProtectedPaths(const AgentRecord& record);

struct HandoffResult {
  std::string ref;     // refs/heads/cloudcoop/NAME
  std::string commit;  // what it points at now
  bool changed = false;
};

// Brings the agent's branch into the operator's repository as refs/heads/cloudcoop/NAME.
StatusOr<HandoffResult> HandoffBranch(ProcessRunner& runner, const StateLayout& layout, const AgentRecord& record);

// The names, modes and contents of the repository files the agent must not change (.git/config,
// .git/hooks/*), for the host-side check that it changed none of them.
StatusOr<std::string> SnapshotRepoControlFiles(const std::string& workspace);

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_WORKSPACE_H_
