// UTS and IPC namespaces: the sandbox's own hostname (the agent's name) and its own System V IPC
// objects and POSIX message queues. Both namespaces come from clone(); only the hostname needs a
// step.
#ifndef CLOUDCOOP_SANDBOX_UTSNS_H_
#define CLOUDCOOP_SANDBOX_UTSNS_H_

#include <string>

#include "core/status.h"

namespace cloudcoop::sandbox::utsns {

Status ApplyInChild(const std::string& hostname);
Status VerifyInChild(const std::string& hostname);

}  // namespace cloudcoop::sandbox::utsns

#endif  // CLOUDCOOP_SANDBOX_UTSNS_H_
