// Where cloudcoop keeps its state on the agent host.
#ifndef CLOUDCOOP_CORE_PATHS_H_
#define CLOUDCOOP_CORE_PATHS_H_

#include <string>

namespace cloudcoop {

// $CLOUDCOOP_STATE_DIR when set and not empty, else /var/lib/cloudcoop.
std::string StateDirFromEnv();

}  // namespace cloudcoop

#endif  // CLOUDCOOP_CORE_PATHS_H_
