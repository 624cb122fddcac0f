#include "core/paths.h"

#include <cstdlib>

namespace cloudcoop {

std::string StateDirFromEnv() {
  const char* dir = std::getenv("CLOUDCOOP_STATE_DIR");
  return dir != nullptr && *dir != '\0' ? dir : "/var/lib/cloudcoop";
}

}  // namespace cloudcoop
