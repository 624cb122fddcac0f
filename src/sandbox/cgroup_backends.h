// The two cgroup back-ends (internal to the sandbox module; use cgroup::Open).
#ifndef CLOUDCOOP_SANDBOX_CGROUP_BACKENDS_H_
#define CLOUDCOOP_SANDBOX_CGROUP_BACKENDS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "sandbox/cgroup.h"

namespace cloudcoop::sandbox::cgroup {

// controller -> directory of the group in that hierarchy. `adopt`: an existing group (of a running
// or stale sandbox) that CleanupInParent may kill and remove; otherwise only once PrepareInParent
// created it.
std::unique_ptr<Cgroup> NewV1(std::map<std::string, std::string> paths, CgroupFs& fs, bool adopt);
// The group's directory in the unified hierarchy.
std::unique_ptr<Cgroup> NewV2(std::string dir, CgroupFs& fs, bool adopt);

// Whether the host has swap (SwapTotal > 0): without swap accounting a memory limit could then be
// escaped through swap, so the back-ends refuse to start.
bool HostHasSwap();
// Polls `done` up to `limit_ms`, sleeping 1 ms between tries.
bool PollUntil(int limit_ms, const std::function<bool()>& done);

// The outcome of a write to (or read of) a group's file that may race its removal: a sandbox's
// supervisor removes the group as soon as its init is gone, and a group removed meanwhile has no
// members to kill, freeze or list. `failed` stands only while `dir` still exists.
Status UnlessRemoved(CgroupFs& fs, const Status& failed, const std::string& dir);

}  // namespace cloudcoop::sandbox::cgroup

#endif  // CLOUDCOOP_SANDBOX_CGROUP_BACKENDS_H_
