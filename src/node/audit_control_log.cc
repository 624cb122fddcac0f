#include "node/audit_control_log.h"

namespace cloudcoop::node {

Status AuditControlLog::Record(const ControlEvent& event) {
  if (!target_.settings.enabled) return OkStatus();
  audit::Fields details;
  for (const auto& [k, v] : event.details) details[k] = v;
  audit::Fields fields = {{"action", event.action}, {"outcome", event.outcome}, {"details", details}};
  CC_ASSIGN_OR_RETURN(auto logger, audit::Logger::Open(target_.Options()));
  return logger
      ->Append({audit::RecordType::kControl, event.agent, audit::OperatorActor(audit::CurrentOperator()), fields},
               audit::Durability::kSync)
      .status();
}

}  // namespace cloudcoop::node
