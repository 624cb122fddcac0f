// ControlLog on the audit log (src/audit): each control action's outcome and details (processes
// killed, the panic report, ...) becomes one synced control record, next to the start/end pair
// the command itself writes around the action (cli/audit_action.h).
#ifndef CLOUDCOOP_NODE_AUDIT_CONTROL_LOG_H_
#define CLOUDCOOP_NODE_AUDIT_CONTROL_LOG_H_

#include "audit/control.h"
#include "node/control_log.h"

namespace cloudcoop::node {

class AuditControlLog : public ControlLog {
 public:
  explicit AuditControlLog(audit::AuditTarget target) : target_(std::move(target)) {}
  Status Record(const ControlEvent& event) override;

 private:
  audit::AuditTarget target_;
};

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_AUDIT_CONTROL_LOG_H_
