// Capabilities: none at all for the command. The bounding set and securebits are locked while the
// launcher still holds CAP_SETPCAP (before the uid switch); the uid switch empties the effective
// and permitted sets; then the inheritable and ambient sets are cleared and everything is read back.
#ifndef CLOUDCOOP_SANDBOX_CAPS_H_
#define CLOUDCOOP_SANDBOX_CAPS_H_

#include "core/status.h"

namespace cloudcoop::sandbox::caps {

// Before the uid switch: drop every capability from the bounding set and lock the securebits so
// that no later exec (setuid root, file capabilities) or uid change can regain any.
Status DropBoundingInChild();
// After the uid switch: clear the effective, permitted, inheritable and ambient sets.
Status ClearAllInChild();
// Every set empty, every bounding bit clear, securebits locked.
Status VerifyInChild();

// The highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap).
int LastCap();

}  // namespace cloudcoop::sandbox::caps

#endif  // CLOUDCOOP_SANDBOX_CAPS_H_
