// User namespace and identity switch. The sandbox's init builds its mounts and network as root in
// the host's user namespace, then enters a user namespace of its own (made and mapped by the
// supervisor meanwhile) whose only mapping is the sandbox uid and gid onto themselves, and switches
// to them. No namespace the sandbox lives in
// (mount, pid, net, ipc, uts) is owned by that user namespace, so even a capability regained
// inside it would grant nothing over them. See docs/adr/0016-sandbox-launcher.md.
#ifndef CLOUDCOOP_SANDBOX_USERNS_H_
#define CLOUDCOOP_SANDBOX_USERNS_H_

#include <sys/types.h>

#include <cstdint>

#include "core/files.h"
#include "core/status.h"

namespace cloudcoop::sandbox::userns {

// Parent: creates the sandbox's user namespace, already mapped ("<uid> <uid> 1", "<gid> <gid> 1"),
// with a short-lived helper process, while the init builds its mounts; returns a handle on it.
// The helper is killed but not waited for: *holder is its pid, for ReapHolder (-1 after an error).
StatusOr<UniqueFd> PrepareInParent(uint32_t uid, uint32_t gid, pid_t* holder);
// Waits for the killed helper (no-op when *holder <= 0) and sets *holder to -1.
void ReapHolder(pid_t* holder);
// Child: setns() into it (after the mounts: they need the host's root).
Status ApplyInChild(int userns_fd);
// "<uid> <uid> 1" into uid_map and "<gid> <gid> 1" into gid_map of a process in a new user namespace.
Status WriteMapsFromParent(pid_t pid, uint32_t uid, uint32_t gid);
// Child: setgroups({gid}), setresgid, setresuid (which clears every capability).
Status SwitchIdsInChild(uint32_t uid, uint32_t gid);
// Child: all of real, effective, saved and filesystem ids are the sandbox's, no other group, and
// (when in_userns) the uid map is exactly the one line.
Status VerifyInChild(uint32_t uid, uint32_t gid, bool in_userns);

}  // namespace cloudcoop::sandbox::userns

#endif  // CLOUDCOOP_SANDBOX_USERNS_H_
