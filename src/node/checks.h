// The agent host's checks for `cloudcoop check`: the state directory's ownership and modes, that
// every running agent is inside its sandbox, that no process runs under an agent uid without a
// registered agent, and whether a panic lock-out is in force.
#ifndef CLOUDCOOP_NODE_CHECKS_H_
#define CLOUDCOOP_NODE_CHECKS_H_

#include "policy/checks.h"

namespace cloudcoop::node {

void RegisterNodeChecks(policy::CheckRegistry& registry);

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_CHECKS_H_
