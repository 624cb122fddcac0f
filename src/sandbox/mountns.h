// Mount namespace: a fresh tmpfs root holding read-only binds of the host's system directories,
// the workspace and home read-write, private /tmp and /dev/shm, a new /proc, a minimal /dev,
// generated /etc/passwd, /etc/group, /etc/hostname and /etc/hosts, host secrets masked, protected
// paths re-bound read-only with their ancestors pinned; then the root itself is made read-only and
// pivoted into. Nothing else of the host is reachable: not other agents, not the state directory,
// not the operator's home, not /run (docker, containerd, D-Bus sockets), not the host's /tmp (tmux
// sockets).
//
// Built with the new mount API (open_tree, fsopen/fsmount, mount_setattr, move_mount) on file
// descriptors: every source is opened before anything is covered, recursive read-only is one call,
// and paths inside writable (agent-controlled) trees are resolved with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS), so a planted symlink cannot redirect a bind (bubblewrap's
// GHSA-pxhw-h44j-8pfx class). See docs/adr/0009-sandbox-mounts.md.
#ifndef CLOUDCOOP_SANDBOX_MOUNTNS_H_
#define CLOUDCOOP_SANDBOX_MOUNTNS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "sandbox/plan.h"

namespace cloudcoop::sandbox::mountns {

struct Placeholder {
  std::string host_path;
  bool dir = false;
  bool agent_owned = false;  // a missing ancestor, created as the sandbox user
};

struct Prepared {
  std::vector<Placeholder> created;  // in creation order
};

// Parent: creates every missing protected path as an empty root-owned placeholder (file 0444,
// directory 0555) and missing ancestors as directories of the sandbox user, so each can be a mount
// point. Refuses symlinks on the way.
StatusOr<Prepared> PrepareInParent(const SandboxPlan& plan, uint32_t uid, uint32_t gid);
// Parent, after exit: removes the placeholders that are still empty.
void CleanupInParent(const Prepared& prepared);

struct GeneratedFiles {
  std::string passwd;
  std::string group;
  std::string hostname;
  std::string hosts;
  std::string resolv_conf;  // egress: replaces /etc/resolv.conf (or its symlink's target); empty: keep
};

// Child (root in the host user namespace, in its new mount namespace): builds the root and
// pivots into it. The working directory is "/" afterwards.
Status ApplyInChild(const SandboxPlan& plan, const GeneratedFiles& files, uint32_t uid, uint32_t gid);
// Child: root read-only, each bind with its mode, masks empty, protected paths read-only.
Status VerifyInChild(const SandboxPlan& plan);

}  // namespace cloudcoop::sandbox::mountns

#endif  // CLOUDCOOP_SANDBOX_MOUNTNS_H_
