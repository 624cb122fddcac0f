// no_new_privs: execve can never grant privileges again (setuid bits and file capabilities are
// ignored). Required before Landlock and seccomp, which the launcher applies right after.
#ifndef CLOUDCOOP_SANDBOX_NO_NEW_PRIVS_H_
#define CLOUDCOOP_SANDBOX_NO_NEW_PRIVS_H_

#include "core/status.h"

namespace cloudcoop::sandbox::no_new_privs {

Status ApplyInChild();
Status VerifyInChild();

}  // namespace cloudcoop::sandbox::no_new_privs

#endif  // CLOUDCOOP_SANDBOX_NO_NEW_PRIVS_H_
