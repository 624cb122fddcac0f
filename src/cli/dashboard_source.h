// The dashboard's HostSource over the local agent host: the same node::AgentHost (opened as
// OpenLocalHost opens it) the `agent` commands use, so the dashboard and the CLI always agree.
// Its actions are not audited here: cmd_dashboard.cc wraps every source in WithAuditedActions.
#ifndef CLOUDCOOP_CLI_DASHBOARD_SOURCE_H_
#define CLOUDCOOP_CLI_DASHBOARD_SOURCE_H_

#include <memory>

#include "audit/control.h"
#include "config/settings.h"
#include "tui/source.h"

namespace cloudcoop::cli {

// `settings`: the validated configuration (agent defaults for the add form); `audit`: the audit log
// the host's own detail records go to (resolved once, on the calling thread).
std::unique_ptr<tui::HostSource> NewLocalDashboardSource(const Settings& settings, audit::AuditTarget audit);

}  // namespace cloudcoop::cli

#endif  // CLOUDCOOP_CLI_DASHBOARD_SOURCE_H_
