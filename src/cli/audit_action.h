// Recording a command's control action in the audit log (audit/control.h) from an Invocation:
// the operator's identity, the command's arguments (secret-looking values masked, then redacted),
// and the audit settings of the merged configuration (built-in defaults when it does not load,
// so a broken configuration never turns recording off).
#ifndef CLOUDCOOP_CLI_AUDIT_ACTION_H_
#define CLOUDCOOP_CLI_AUDIT_ACTION_H_

#include <string>
#include <vector>

#include "audit/control.h"
#include "cli/command.h"

namespace cloudcoop::cli {

audit::AuditTarget AuditTargetFor(Invocation& inv);

// The command's positional arguments followed by its flags as --name or --name=value (values of
// --set KEY=VALUE masked when KEY looks secret).
std::vector<std::string> InvocationArgsForAudit(Invocation& inv);

// "[REDACTED:config-value]" when the key (or, for KEY=VALUE map entries, the entry's key) looks like
// it holds a secret; the value unchanged otherwise.
std::string MaskConfigValue(const std::string& key, const std::string& value);

// Begins the action named after the command ("config set") with InvocationArgsForAudit, or with
// `args` when given.
StatusOr<audit::ControlAction> BeginAuditedAction(Invocation& inv, std::vector<std::string> args = {});

}  // namespace cloudcoop::cli

#endif  // CLOUDCOOP_CLI_AUDIT_ACTION_H_
