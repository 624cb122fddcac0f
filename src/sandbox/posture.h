// The outside posture audit of a running sandbox (containment-tests.md section 3): for every
// process in its cgroup (every thread), read /proc while holding a pidfd, so a pid reused meanwhile
// is never audited by mistake, and compare with what the sandbox must be: NoNewPrivs 1, Seccomp 2,
// no capabilities, its own uid/gid (never 0), namespaces other than the host's, the planned rlimits, its own
// cgroup with the planned limits.
#ifndef CLOUDCOOP_SANDBOX_POSTURE_H_
#define CLOUDCOOP_SANDBOX_POSTURE_H_

#include <string>
#include <vector>

#include "core/status.h"
#include "sandbox/state.h"

namespace cloudcoop::sandbox {

struct PostureReport {
  std::string name;
  int processes = 0;
  int threads = 0;
  std::vector<std::string> problems;  // each a failed expectation: "pid 123: CapEff 0000...1"
  std::vector<std::string> warnings;  // by design but worth knowing: host network, degraded layers
};

// Audits one live sandbox. An error means it could not be read at all (never a pass).
StatusOr<PostureReport> AuditSandbox(const state::RunningRecord& record);

}  // namespace cloudcoop::sandbox

#endif  // CLOUDCOOP_SANDBOX_POSTURE_H_
