#include "sandbox/landlock.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/files.h"
#include "sandbox/landlock_abi.h"
#include "sandbox/layers.h"

namespace cloudcoop::sandbox::landlock {
namespace {

using namespace landlock_abi;  // NOLINT

constexpr uint64_t kReadRights = kFsExecute | kFsReadFile | kFsReadDir;
// Rights that make sense on a regular file (a rule on a file may only carry these).
constexpr uint64_t kFileRights = kFsExecute | kFsWriteFile | kFsReadFile | kFsTruncate | kFsIoctlDev;

Status AddRule(int ruleset, const std::string& path, uint64_t rights, uint64_t handled) {
  UniqueFd fd(open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd.valid()) {
    return LayerErrno(Layer::kLandlock, "open(O_PATH)", path, errno,
                      "make sure every writable path exists inside the sandbox");
  }
  struct stat st;
  if (fstat(fd.get(), &st) == 0 && !S_ISDIR(st.st_mode)) rights &= kFileRights;
  PathBeneathAttr attr{rights & handled, fd.get()};
  if (syscall(kSysAddRule, ruleset, kRulePathBeneath, &attr, 0) != 0) {
    return LayerErrno(Layer::kLandlock, "landlock_add_rule", path, errno,
                      "report this: the rule's rights do not fit the kernel's ABI");
  }
  return OkStatus();
}

}  // namespace

int QueryAbi() {
  long abi = syscall(kSysCreateRuleset, nullptr, 0, kCreateRulesetVersion);
  return abi < 0 ? -errno : static_cast<int>(abi);
}

Status ApplyInChild(const Rules& rules) {
  int abi = QueryAbi();
  if (abi < 0) {
    return LayerErrno(Layer::kLandlock, "landlock_create_ruleset", "(version query)", -abi,
                      "boot a kernel with CONFIG_SECURITY_LANDLOCK=y and landlock in lsm=, or pass "
                      "--allow-degraded landlock");
  }
  RulesetAttr attr{};
  attr.handled_access_fs = FsRightsForAbi(abi);
  unsigned long size = kRulesetAttrSizeV1;
  if (abi >= 6) {
    // Abstract Unix sockets and signals may not leave the sandbox's Landlock domain: in host network
    // mode the abstract socket namespace is the host's.
    attr.scoped = kScopeAbstractUnixSocket | kScopeSignal;
    size = kRulesetAttrSizeV6;
  }
  // Network rights stay unhandled: the network namespace is the network boundary, and handling
  // them without rules would break loopback servers the agent runs for its own tests.
  UniqueFd ruleset(static_cast<int>(syscall(kSysCreateRuleset, &attr, size, 0)));
  if (!ruleset.valid()) {
    return LayerErrno(Layer::kLandlock, "landlock_create_ruleset", "ABI " + std::to_string(abi), errno,
                      "report this kernel version: it rejected rights it claims to support");
  }
  uint64_t handled = attr.handled_access_fs;
  CC_RETURN_IF_ERROR(AddRule(ruleset.get(), "/", kReadRights, handled));
  for (const auto& path : rules.writable) CC_RETURN_IF_ERROR(AddRule(ruleset.get(), path, handled, handled));
  for (const auto& path : rules.devices) {
    CC_RETURN_IF_ERROR(
        AddRule(ruleset.get(), path, kReadRights | kFsWriteFile | kFsTruncate | kFsIoctlDev, handled));
  }
  // landlock_restrict_self needs no_new_privs (or CAP_SYS_ADMIN); the launcher sets it first.
  if (syscall(kSysRestrictSelf, ruleset.get(), 0) != 0) {
    return LayerErrno(Layer::kLandlock, "landlock_restrict_self", "", errno,
                      "no_new_privs must be set before Landlock (launcher ordering bug)");
  }
  return OkStatus();
}

Status VerifyInChild() {
  int fd = open("/proc/self/comm", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    return LayerVerifyError(Layer::kLandlock,
                            "a write-open of /proc/self/comm succeeded, so no Landlock domain "
                            "restricts this process",
                            "check that the kernel enforces Landlock (cat /sys/kernel/security/lsm)");
  }
  if (errno != EACCES) {
    return LayerErrno(Layer::kLandlock, "open(O_WRONLY)", "/proc/self/comm (read-back)", errno,
                      "make sure /proc is mounted in the sandbox");
  }
  return OkStatus();
}

}  // namespace cloudcoop::sandbox::landlock
