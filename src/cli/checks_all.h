// Every module's checks, registered in one place (explicitly: self-registration would be dropped
// by the linker from a static library).
#ifndef CLOUDCOOP_CLI_CHECKS_ALL_H_
#define CLOUDCOOP_CLI_CHECKS_ALL_H_

#include <string>

#include "policy/checks.h"

namespace cloudcoop::cli {

void RegisterAllChecks(policy::CheckRegistry& registry);
// CLOUDCOOP_STATE_DIR, else /var/lib/cloudcoop (kept for callers; see core/paths.h).
std::string StateDirFromEnv();

}  // namespace cloudcoop::cli

#endif  // CLOUDCOOP_CLI_CHECKS_ALL_H_
