// Landlock: the second filesystem layer. Read and execute everywhere in the new root; write only
// under the sandbox's writable paths; abstract Unix sockets and signals scoped to the sandbox. The
// mount layer already makes everything else read-only; Landlock holds even if a mount is wrong.
#ifndef CLOUDCOOP_SANDBOX_LANDLOCK_H_
#define CLOUDCOOP_SANDBOX_LANDLOCK_H_

#include <string>
#include <vector>

#include "core/status.h"

namespace cloudcoop::sandbox::landlock {

// The ABI version the running kernel offers, or -errno (-ENOSYS: not built in, -EOPNOTSUPP:
// disabled at boot).
int QueryAbi();

struct Rules {
  std::vector<std::string> writable;  // directories (inside the new root) the command may write
  std::vector<std::string> devices;   // directories holding device nodes (write + ioctl only)
};

// Restricts the calling process and its future children (after pivot_root, before exec). The
// error names the path and the syscall that failed.
Status ApplyInChild(const Rules& rules);
// Reads the restriction back: a write-open of /proc/self/comm, which file permissions allow and only
// Landlock denies, must fail with EACCES.
Status VerifyInChild();

}  // namespace cloudcoop::sandbox::landlock

#endif  // CLOUDCOOP_SANDBOX_LANDLOCK_H_
