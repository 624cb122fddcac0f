#include "cli/checks_all.h"

#include "audit/checks.h"
#include "cloud/gcp/gcp_checks.h"
#include "core/paths.h"
#include "node/checks.h"
#include "sandbox/checks.h"
#include "sandbox/exec_audit.h"

namespace cloudcoop::cli {

void RegisterAllChecks(policy::CheckRegistry& registry) {
  policy::RegisterConfigChecks(registry);
  audit::RegisterAuditChecks(registry);
  gcp::RegisterGcpChecks(registry);
  sandbox::RegisterSandboxChecks(registry);
  node::RegisterNodeChecks(registry);
  sandbox::exec_audit::RegisterExecAuditChecks(registry);
}

std::string StateDirFromEnv() { return ::cloudcoop::StateDirFromEnv(); }

}  // namespace cloudcoop::cli
