// Resource limits: lowered (never raised: without CAP_SYS_RESOURCE a raise fails) before the uid
// switch, then read back. RLIMIT_NPROC backs up the pids cgroup, RLIMIT_CORE keeps memory out of
// core files.
#ifndef CLOUDCOOP_SANDBOX_RLIMITS_H_
#define CLOUDCOOP_SANDBOX_RLIMITS_H_

#include <vector>

#include "core/status.h"
#include "sandbox/plan.h"

namespace cloudcoop::sandbox::rlimits {

Status ApplyInChild(const std::vector<RlimitSpec>& limits);
Status VerifyInChild(const std::vector<RlimitSpec>& limits);

}  // namespace cloudcoop::sandbox::rlimits

#endif  // CLOUDCOOP_SANDBOX_RLIMITS_H_
