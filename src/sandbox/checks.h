// The sandbox's items of `cloudcoop check`: kernel features, the TIOCSTI filter, and the posture of
// every running sandbox.
#ifndef CLOUDCOOP_SANDBOX_CHECKS_H_
#define CLOUDCOOP_SANDBOX_CHECKS_H_

#include "policy/checks.h"

namespace cloudcoop::sandbox {

void RegisterSandboxChecks(policy::CheckRegistry& registry);

// Applies the sandbox's seccomp filter in a child process and tries TIOCSTI (plain and with the
// high bits set) on a private pty. Empty when blocked; else what got through.
std::string TiocstiProbe();

}  // namespace cloudcoop::sandbox

#endif  // CLOUDCOOP_SANDBOX_CHECKS_H_
