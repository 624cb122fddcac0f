// The supervisor <-> sandbox init protocol: one SOCK_SEQPACKET socketpair, one datagram per
// message, optionally carrying a file descriptor (SCM_RIGHTS): the network namespace today, the
// exec capture's seccomp notification listener (kAuditFd, exec_audit.h).
//
//   supervisor                          sandbox init (pid 1)
//   clone() ----------------------------> builds the new root (mountns)
//   netns, userns (mapped), cgroup,
//   record, seccomp BPF (in parallel)
//   kGo [+ fds, BPF] -------------------> joins netns and (itself) its cgroup, hostname, cgroup ns,
//                                         enters the userns, switches ids, rlimits, caps, nnp,
//                                         Landlock, seccomp, starts the command
//                      <----------------- kDegraded* (layers skipped under --allow-degraded)
//                      <----------------- kAuditFd (the exec capture listener; execs wait on it)
//                      <----------------- kRunning (exec succeeded) | kError (layer failed)
//                      <----------------- kExit (the command's wait status)
#ifndef CLOUDCOOP_SANDBOX_CHANNEL_H_
#define CLOUDCOOP_SANDBOX_CHANNEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace cloudcoop::sandbox::channel {

enum class Type : uint8_t {
  kGo = 1,
  kDegraded = 4,
  kRunning = 5,
  kError = 6,
  kExit = 7,
  kAuditFd = 8,  // the exec-capture filter's listener fd (exec_audit.h), before the command starts
};

struct Message {
  Type type = Type::kGo;
  int32_t value = 0;     // kRunning: the command's pid in the sandbox; kExit: wait status
  Status status;         // kError
  std::string text;      // kDegraded: "<layer>: <reason>"
  std::vector<int> fds;  // received fds (owned by the receiver), or fds to send
};

Status Send(int sock, const Message& msg);
// Blocks for the next message; a closed peer is kUnavailable ("sandbox init exited").
StatusOr<Message> Recv(int sock);

}  // namespace cloudcoop::sandbox::channel

#endif  // CLOUDCOOP_SANDBOX_CHANNEL_H_
