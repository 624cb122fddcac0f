// Network namespace, per mode:
//   none    a new network namespace with only loopback, up (set with an ioctl, no `ip`)
//   host    the host's network namespace (allowed only when asked for explicitly; reported by check)
//   egress  a new namespace with filtered outbound internet (net_egress.{h,cc}, not in this build yet)
//
// The supervisor makes the namespace (PrepareInParent) while the sandbox init builds its mounts, so
// its ~0.7 ms creation overlaps the rest of the start-up; a mode's setup that needs the child (a veth
// moved into its namespace) runs in ConfigureFromParent while the init waits for kGo; the init
// joins with setns() (ApplyInChild); CleanupInParent runs after the sandbox exits.
#ifndef CLOUDCOOP_SANDBOX_NETNS_H_
#define CLOUDCOOP_SANDBOX_NETNS_H_

#include <sys/types.h>

#include <string>

#include "core/files.h"
#include "core/status.h"
#include "sandbox/plan.h"

namespace cloudcoop::sandbox::netns {

struct Setup {
  NetMode mode = NetMode::kNone;
  UniqueFd netns;  // the sandbox's namespace; invalid for host
};

// Creates the namespace for `mode` (none: loopback up). Fails closed for a mode this build cannot
// provide.
StatusOr<Setup> PrepareInParent(NetMode mode, bool host_explicit);
// Per-mode work that needs the child's pid (egress: move the veth peer); a no-op for none and host.
Status ConfigureFromParent(Setup& setup, pid_t child);
// Child: setns() into the prepared namespace (no-op for host).
Status ApplyInChild(int netns_fd);
// Child: none has exactly one interface, lo, and it is up.
Status VerifyInChild(NetMode mode);
void CleanupInParent(Setup& setup);

// The inode of a namespace of a process ("net", "mnt", ...), 0 if unreadable.
uint64_t NamespaceInode(const std::string& proc_pid, const char* ns);

}  // namespace cloudcoop::sandbox::netns

#endif  // CLOUDCOOP_SANDBOX_NETNS_H_
