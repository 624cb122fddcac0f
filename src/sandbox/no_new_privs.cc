#include "sandbox/no_new_privs.h"

#include <sys/prctl.h>

#include <cerrno>

#include "sandbox/layers.h"

namespace cloudcoop::sandbox::no_new_privs {

Status ApplyInChild() {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return LayerErrno(Layer::kNoNewPrivs, "prctl(PR_SET_NO_NEW_PRIVS)", "", errno,
                      "boot a kernel of 3.5 or later");
  }
  return OkStatus();
}

Status VerifyInChild() {
  int v = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  if (v != 1) {
    return LayerVerifyError(Layer::kNoNewPrivs, "PR_GET_NO_NEW_PRIVS returned " + std::to_string(v),
                            "report this");
  }
  return OkStatus();
}

}  // namespace cloudcoop::sandbox::no_new_privs
