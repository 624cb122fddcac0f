#include "sandbox/rlimits.h"

#include <sys/resource.h>

#include <cerrno>

#include "sandbox/layers.h"

namespace cloudcoop::sandbox::rlimits {

Status ApplyInChild(const std::vector<RlimitSpec>& limits) {
  for (const auto& r : limits) {
    struct rlimit lim {
      r.soft, r.hard
    };
    if (setrlimit(static_cast<__rlimit_resource>(r.resource), &lim) != 0) {
      struct rlimit now {};
      getrlimit(static_cast<__rlimit_resource>(r.resource), &now);
      return LayerErrno(Layer::kRlimits, "setrlimit",
                        "RLIMIT_" + r.name + " " + std::to_string(r.soft) + "/" + std::to_string(r.hard) +
                            " (current hard limit " + std::to_string(now.rlim_max) + ")",
                        errno,
                        errno == EPERM
                            ? "raising a hard limit needs CAP_SYS_RESOURCE: ask for at most the current "
                              "hard limit (ulimit -H)"
                            : "ask for a soft limit at or below the hard limit");
    }
  }
  return OkStatus();
}

Status VerifyInChild(const std::vector<RlimitSpec>& limits) {
  for (const auto& r : limits) {
    struct rlimit lim {};
    if (getrlimit(static_cast<__rlimit_resource>(r.resource), &lim) != 0) {
      return LayerErrno(Layer::kRlimits, "getrlimit", "RLIMIT_" + r.name, errno, "report this");
    }
    if (lim.rlim_cur != r.soft || lim.rlim_max != r.hard) {
      return LayerVerifyError(Layer::kRlimits,
                              "RLIMIT_" + r.name + " reads back as " + std::to_string(lim.rlim_cur) + "/" +
                                  std::to_string(lim.rlim_max),
                              "report this");
    }
  }
  return OkStatus();
}

}  // namespace cloudcoop::sandbox::rlimits
