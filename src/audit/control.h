// The API other modules and commands use to record what they do. Cheap to call: one lock, one
// write and (for control actions) one fdatasync per record.
//
//   audit::AuditTarget target = audit::AuditTarget::For(StateDirFromEnv(), settings.audit, settings.secrets);
//   CC_ASSIGN_OR_RETURN(auto action, audit::ControlAction::Begin(target, "agent kill", {"web"}, "web"));
//   Status outcome = KillAgent(...);                 // the change itself
//   CC_RETURN_IF_ERROR(action.End(outcome));        // the outcome, synced before we report
//
// Begin writes a "start" record (synced) before the change: a command whose start cannot be
// recorded must not act (fail closed). End writes the matching "end" record with the result. A
// start without an end in the log means the command died or could not record its outcome.
// With audit.enabled = false nothing is written and both calls succeed.
#ifndef CLOUDCOOP_AUDIT_CONTROL_H_
#define CLOUDCOOP_AUDIT_CONTROL_H_

#include <memory>
#include <string>
#include <vector>

#include "audit/logger.h"
#include "audit/redact.h"
#include "config/settings.h"
#include "core/status.h"

namespace cloudcoop::audit {

// Where and how to record: the audit directory, its settings and the redactor.
struct AuditTarget {
  std::string dir;  // <state dir>/audit
  AuditSettings settings;
  std::shared_ptr<const Redactor> redactor;
  // secrets.redact_env: the names whose values (in this process's environment) are secrets.
  std::vector<std::string> redact_env;
  // Builds the redactor from secrets.redact_env (values read from this process's environment).
  static AuditTarget For(const std::string& state_dir, const AuditSettings& audit, const SecretSettings& secrets);
  LoggerOptions Options() const;
};

std::string AuditDirFor(const std::string& state_dir);  // <state dir>/audit

// The person running this process: uid and user name, the claimed sudo caller (SUDO_USER,
// SUDO_UID: set by sudo, not proof), and the pid.
struct OperatorIdentity {
  int64_t uid = -1;
  std::string user;
  std::string sudo_user;
  int64_t sudo_uid = -1;
  int64_t pid = 0;
};
OperatorIdentity CurrentOperator();
// {"kind":"operator","uid":0,"user":"root","sudo_user":"alice","sudo_uid":1000,"pid":123}
Fields OperatorActor(const OperatorIdentity& op);

class ControlAction {
 public:
  static StatusOr<ControlAction> Begin(const AuditTarget& target, std::string action, std::vector<std::string> args,
                                       std::string agent = "", Fields actor = OperatorActor(CurrentOperator()));
  ControlAction(ControlAction&&) = default;
  ControlAction& operator=(ControlAction&&) = default;
  // Records the outcome; call once.
  Status End(const Status& outcome);
  uint64_t start_seq() const { return start_seq_; }

 private:
  ControlAction() = default;
  std::unique_ptr<Logger> logger_;  // null when audit is disabled
  std::string action_;
  std::string agent_;
  Fields actor_;
  uint64_t start_seq_ = 0;
};

// One complete control record (no start/end pair), synced before it returns.
Status RecordControl(const AuditTarget& target, const Fields& actor, std::string action, std::vector<std::string> args,
                     Fields extra = {});

}  // namespace cloudcoop::audit

#endif  // CLOUDCOOP_AUDIT_CONTROL_H_
