// PID namespace: the sandbox's init is pid 1 of a new pid namespace, so the sandbox sees only its
// own processes, orphans are re-parented to (and reaped by) its init, and when that init dies the
// kernel kills everything left in the namespace. The init dies with its supervisor: it arms
// PR_SET_PDEATHSIG(SIGKILL) first thing, and again after every credential change (the kernel
// clears it then), each time checking the supervisor is still there.
#ifndef CLOUDCOOP_SANDBOX_PIDNS_H_
#define CLOUDCOOP_SANDBOX_PIDNS_H_

#include "core/status.h"

namespace cloudcoop::sandbox::pidns {

// Arms SIGKILL-on-parent-death and fails if the supervisor (the peer of `channel_fd`) is gone.
Status ArmDeathSignalInChild(int channel_fd);
// pid 1 in its namespace, and the death signal armed.
Status VerifyInChild();

}  // namespace cloudcoop::sandbox::pidns

#endif  // CLOUDCOOP_SANDBOX_PIDNS_H_
