#include "sandbox/utsns.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>

#include "sandbox/layers.h"

namespace cloudcoop::sandbox::utsns {

Status ApplyInChild(const std::string& hostname) {
  if (sethostname(hostname.data(), hostname.size()) != 0) {
    return LayerErrno(Layer::kUtsns, "sethostname", hostname, errno,
                      "use a hostname of at most 63 characters");
  }
  if (setdomainname("(none)", 6) != 0) {
    return LayerErrno(Layer::kUtsns, "setdomainname", "(none)", errno, "report this");
  }
  return OkStatus();
}

Status VerifyInChild(const std::string& hostname) {
  struct utsname u;
  if (uname(&u) != 0) return LayerErrno(Layer::kUtsns, "uname", "(read-back)", errno, "report this");
  if (hostname != u.nodename) {
    return LayerVerifyError(Layer::kUtsns, std::string("hostname reads back as ") + u.nodename,
                            "report this");
  }
  return OkStatus();
}

}  // namespace cloudcoop::sandbox::utsns
