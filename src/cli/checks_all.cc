#include "cli/checks_all.h"

#include <cstdlib>

namespace cloudcoop::cli {

void RegisterAllChecks(policy::CheckRegistry& registry) {
  policy::RegisterConfigChecks(registry);
}

std::string StateDirFromEnv() {
  const char* dir = std::getenv("CLOUDCOOP_STATE_DIR");
  return dir != nullptr && *dir != '\0' ? dir : "/var/lib/cloudcoop";
}

}  // namespace cloudcoop::cli
