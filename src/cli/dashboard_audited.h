// The dashboard's changes (add, kill, restart, panic) as audited control actions, like the CLI's:
// a "start" record (synced) before the change, the outcome after. Fail closed: a change whose start
// cannot be recorded is not made and the dashboard says why; only panic acts anyway (an emergency
// stop never waits for a broken log) and says that it was not recorded. The add form's explicit
// sandbox switch is recorded as --unsandboxed in the record's arguments.
#ifndef CLOUDCOOP_CLI_DASHBOARD_AUDITED_H_
#define CLOUDCOOP_CLI_DASHBOARD_AUDITED_H_

#include <memory>
#include <string>
#include <vector>

#include "audit/control.h"
#include "tui/source.h"

namespace cloudcoop::cli {

// The arguments recorded for an add from the form (the `agent add` flags it stands for).
std::vector<std::string> AddFormAuditArgs(const tui::AddForm& form);

std::unique_ptr<tui::HostSource> WithAuditedActions(std::unique_ptr<tui::HostSource> inner, audit::AuditTarget target);

}  // namespace cloudcoop::cli

#endif  // CLOUDCOOP_CLI_DASHBOARD_AUDITED_H_
