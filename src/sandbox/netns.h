// Network namespace, per mode:
//   none    a new network namespace with only loopback, up (set with an ioctl, no `ip`)
//   host    the host's network namespace (allowed only when asked for explicitly; reported by check)
//   egress  a new namespace with filtered outbound internet: a veth to the host, prohibit routes,
//           the host's firewall table and a DNS relay on the sandbox's loopback (net_egress.h,
//           docs/adr/0011); the relay is served from the supervisor's poll loop
//
// Creating a network namespace costs about 1 ms of kernel time, so it is never on the supervisor's
// path alone: for none the init creates its own (CreateInChild, before it builds its mounts) while
// the supervisor makes the cgroup, user namespace and records; for egress the supervisor makes it
// (PrepareInParent) while the init builds its mounts, because it must move a veth into it
// (ConfigureFromParent) before the init gets kGo, and the init joins with setns() (ApplyInChild).
// CleanupInParent runs after the sandbox exits.
#ifndef CLOUDCOOP_SANDBOX_NETNS_H_
#define CLOUDCOOP_SANDBOX_NETNS_H_

#include <poll.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/files.h"
#include "core/status.h"
#include "sandbox/net_egress.h"
#include "sandbox/plan.h"

namespace cloudcoop::sandbox::netns {

struct Setup {
  NetMode mode = NetMode::kNone;
  UniqueFd netns;                         // the sandbox's namespace; invalid for host
  std::unique_ptr<EgressSandbox> egress;  // egress: the veth, routes, slot and DNS relay
};

// Creates the namespace for egress (loopback up); nothing for none (the init's) and host. Fails
// closed for a mode this build cannot provide.
StatusOr<Setup> PrepareInParent(NetMode mode, bool host_explicit);
// Per-mode work after the namespace exists, while the init builds its root (egress: veth,
// addresses, routes, DNS relay, all read back); a no-op for none and host. Egress never prepares
// the host: an unprepared one fails closed, naming `cloudcoop sandbox prepare-host` and --net none.
Status ConfigureFromParent(Setup& setup, const SandboxPlan& plan);
// The supervisor's poll loop serves the egress DNS relay: its descriptors, then the results.
void AddPollFds(const Setup& setup, std::vector<pollfd>* fds);
void ProcessPollFds(Setup& setup, const std::vector<pollfd>& fds);
int PollTimeoutMs(const Setup& setup);  // -1: none needed
// Child, before the go: none unshares a new network namespace and brings loopback up (no-op for
// the other modes).
Status CreateInChild(NetMode mode);
// Child: setns() into the prepared namespace (no-op for none and host).
Status ApplyInChild(int netns_fd);
// Child: none has exactly one interface, lo, and it is up; egress has lo and eth0 up and no other
// interface up.
Status VerifyInChild(NetMode mode);
void CleanupInParent(Setup& setup);

// The inode of a namespace of a process ("net", "mnt", ...), 0 if unreadable.
uint64_t NamespaceInode(const std::string& proc_pid, const char* ns);

}  // namespace cloudcoop::sandbox::netns

#endif  // CLOUDCOOP_SANDBOX_NETNS_H_
