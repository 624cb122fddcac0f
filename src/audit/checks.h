// The audit module's items for `cloudcoop check`: the log can be written (and is private), and the
// chain verifies. Exec capture for every running agent is added with the sandbox supervisor.
#ifndef CLOUDCOOP_AUDIT_CHECKS_H_
#define CLOUDCOOP_AUDIT_CHECKS_H_

#include "policy/checks.h"

namespace cloudcoop::audit {

void RegisterAuditChecks(policy::CheckRegistry& registry);

}  // namespace cloudcoop::audit

#endif  // CLOUDCOOP_AUDIT_CHECKS_H_
