// Network namespace, per mode:
//   none    a new network namespace with only loopback, up (set with an ioctl, no `ip`)
//   host    the host's network namespace (allowed only when asked for explicitly; reported by check)
//   egress  a new namespace with filtered outbound internet: a veth to the host, prohibit routes,
//           the host's firewall table and a DNS relay on the sandbox's loopback (net_egress.h,
//           docs/adr/0011); the relay is served from the supervisor's poll loop
//
// Creating a network namespace costs 0.7-1 ms of kernel time, so it is on nobody's path: for none
// and egress a helper process makes it (Pending) from the supervisor's first step on, in parallel
// with the supervisor's other steps and the init's mount tree. The supervisor collects it
// (PrepareInParent), for egress moves a veth into it (ConfigureFromParent), and hands it to the
// init with kGo; the init joins with setns() (ApplyInChild). CleanupInParent runs after the
// sandbox exits.
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

// A new network namespace with loopback up, made by a helper process that shares the caller's
// memory and descriptor table (no copy of its page tables) and runs in parallel with it. Start
// returns at once; Take waits for the helper (by then usually long done) and returns the
// namespace, read back as not the caller's. The destructor waits for a helper that was not taken:
// no helper outlives its owner, and a namespace nobody took is gone with the descriptor.
class Pending {
 public:
  static StatusOr<std::unique_ptr<Pending>> Start();
  StatusOr<UniqueFd> Take();
  ~Pending();
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;

  struct Shared;  // written by the helper, read after it exited

 private:
  Pending() = default;
  void Wait();
  pid_t pid_ = -1;
  int wait_status_ = 0;
  void* stack_ = nullptr;
  Shared* shared_ = nullptr;  // inside stack_'s mapping
};

// Whether a mode needs a new network namespace (none and egress).
bool NeedsNamespace(NetMode mode);
// Collects the namespace for none and egress from `pending` (started by the caller); nothing for
// host. Fails closed for a mode this build cannot provide.
StatusOr<Setup> PrepareInParent(NetMode mode, bool host_explicit, Pending* pending);
// Per-mode work after the namespace exists, while the init builds its root (egress: veth,
// addresses, routes, DNS relay, all read back); a no-op for none and host. Egress never prepares
// the host: an unprepared one fails closed, naming `cloudcoop sandbox prepare-host` and --net none.
Status ConfigureFromParent(Setup& setup, const SandboxPlan& plan);
// The supervisor's poll loop serves the egress DNS relay: its descriptors, then the results.
void AddPollFds(const Setup& setup, std::vector<pollfd>* fds);
void ProcessPollFds(Setup& setup, const std::vector<pollfd>& fds);
int PollTimeoutMs(const Setup& setup);  // -1: none needed
// Child: setns() into the prepared namespace (no-op for host).
Status ApplyInChild(NetMode mode, int netns_fd);
// Child: none has exactly one interface, lo, and it is up; egress has lo and eth0 up and no other
// interface up.
Status VerifyInChild(NetMode mode);
void CleanupInParent(Setup& setup);

// The inode of a namespace of a process ("net", "mnt", ...), 0 if unreadable.
uint64_t NamespaceInode(const std::string& proc_pid, const char* ns);

}  // namespace cloudcoop::sandbox::netns

#endif  // CLOUDCOOP_SANDBOX_NETNS_H_
