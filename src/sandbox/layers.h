// The confinement layers a sandbox is built from, and the one error shape every layer uses.
//
// Every failure to apply a layer names the layer, the system call, errno and the fix, so that
// "sandbox layer seccomp: seccomp_load failed: Invalid argument (errno EINVAL)" can be acted on and
// grepped. A layer may be skipped only when the plan lists it in allow_degraded (--allow-degraded),
// and LayerMayDegrade() says which layers can be degraded at all.
#ifndef CLOUDCOOP_SANDBOX_LAYERS_H_
#define CLOUDCOOP_SANDBOX_LAYERS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cloudcoop::sandbox {

enum class Layer {
  kPlan,        // the plan itself (validation)
  kState,       // records under the state directory
  kIds,         // uid/gid allocation
  kCgroup,      // cpu, memory, pids limits
  kNetns,       // network namespace
  kPidns,       // pid namespace, die-with-parent
  kMountns,     // mount namespace and the new root
  kUtsns,       // hostname
  kIpcns,       // System V IPC and POSIX message queues
  kUserns,      // user namespace and the uid/gid switch
  kRlimits,     // resource limits
  kCaps,        // capabilities
  kNoNewPrivs,  // no_new_privs
  kLandlock,    // Landlock filesystem and scope rules
  kSeccomp,     // the system call filter
  kExec,        // starting the command
  kSupervisor,  // the parent: waiting, signals, cleanup
  kAudit,       // the audit log and exec capture (exec_audit.h)
};

std::string_view LayerName(Layer layer);
std::optional<Layer> ParseLayer(std::string_view name);
// The layers --allow-degraded may name: features a host can lack (Landlock on old kernels, cgroup
// controllers, unprivileged user namespaces). Identity, capabilities, no_new_privs, seccomp and the
// mount/pid namespaces are never optional.
bool LayerMayDegrade(Layer layer);
std::vector<std::string> DegradableLayerNames();

// "sandbox layer <layer>: <syscall> <object> failed: <strerror> (errno NAME)", with the fix.
Status LayerErrno(Layer layer, std::string_view syscall, std::string_view object, int err, std::string fix,
                  SourceLocation where = SourceLocation::current());
// A failed read-back: "sandbox layer <layer>: verification failed: <what>" (kCheckFailed).
Status LayerVerifyError(Layer layer, std::string what, std::string fix,
                        SourceLocation where = SourceLocation::current());
// Any other layer error with a chosen code.
Status LayerError(Layer layer, StatusCode code, std::string what, std::string fix,
                  SourceLocation where = SourceLocation::current());

// The layer named in a message made by the functions above, if any ("" otherwise).
std::string LayerOfMessage(std::string_view message);

}  // namespace cloudcoop::sandbox

#endif  // CLOUDCOOP_SANDBOX_LAYERS_H_
