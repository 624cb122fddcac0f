#include "audit/control.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "core/files.h"
#include "core/strings.h"

namespace cloudcoop::audit {

std::string AuditDirFor(const std::string& state_dir) { return JoinPath(state_dir, "audit"); }

AuditTarget AuditTarget::For(const std::string& state_dir, const AuditSettings& audit, const SecretSettings& secrets) {
  auto redactor = std::make_shared<Redactor>();
  redactor->AddEnvSecrets(secrets.redact_env, [](const char* name) { return std::getenv(name); });
  return AuditTarget{AuditDirFor(state_dir), audit, std::move(redactor), secrets.redact_env};
}

LoggerOptions AuditTarget::Options() const {
  LoggerOptions o;
  o.dir = dir;
  o.segment_max_bytes = settings.segment_max_bytes;
  o.retention_segments = settings.retention_segments;
  o.redactor = redactor;
  return o;
}

OperatorIdentity CurrentOperator() {
  OperatorIdentity op;
  op.uid = static_cast<int64_t>(getuid());
  op.pid = static_cast<int64_t>(getpid());
  struct passwd pw;
  struct passwd* result = nullptr;
  char buf[4096];
  if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &result) == 0 && result != nullptr) op.user = pw.pw_name;
  if (const char* s = std::getenv("SUDO_USER"); s != nullptr && *s != '\0') op.sudo_user = s;
  if (const char* s = std::getenv("SUDO_UID"); s != nullptr) {
    if (auto v = ParseInt64(s)) op.sudo_uid = *v;
  }
  return op;
}

Fields OperatorActor(const OperatorIdentity& op) {
  Fields f = {{"kind", "operator"}, {"uid", static_cast<long long>(op.uid)}, {"pid", static_cast<long long>(op.pid)}};
  if (!op.user.empty()) f["user"] = op.user;
  if (!op.sudo_user.empty()) f["sudo_user"] = op.sudo_user;
  if (op.sudo_uid >= 0) f["sudo_uid"] = static_cast<long long>(op.sudo_uid);
  return f;
}

StatusOr<ControlAction> ControlAction::Begin(const AuditTarget& target, std::string action,
                                             std::vector<std::string> args, std::string agent, Fields actor) {
  ControlAction a;
  a.action_ = std::move(action);
  a.agent_ = std::move(agent);
  a.actor_ = std::move(actor);
  if (!target.settings.enabled) return a;
  auto fail = [&](const Status& st) {
    return Status(st.code(), "audit: cannot record `" + a.action_ + "` before it runs, so it was not run: " + st.message())
        .WithFix(st.fix().empty() ? "make " + target.dir + " writable (set CLOUDCOOP_STATE_DIR for another state directory)"
                                  : st.fix());
  };
  auto logger = Logger::Open(target.Options());
  if (!logger.ok()) return fail(logger.status());
  a.logger_ = std::move(*logger);
  Event e{RecordType::kControl, a.agent_, a.actor_,
          {{"action", a.action_}, {"args", FieldValue(std::move(args))}, {"phase", "start"}}};
  auto appended = a.logger_->Append(e, Durability::kSync);
  if (!appended.ok()) return fail(appended.status());
  a.start_seq_ = appended->seq;
  return a;
}

Status ControlAction::End(const Status& outcome) {
  if (!logger_) return OkStatus();
  Fields fields = {{"action", action_},
                   {"phase", "end"},
                   {"start_seq", static_cast<long long>(start_seq_)},
                   {"result", outcome.ok() ? "ok" : "error"}};
  if (!outcome.ok()) fields["error"] = outcome.message();
  auto appended = logger_->Append({RecordType::kControl, agent_, actor_, std::move(fields)}, Durability::kSync);
  logger_.reset();
  if (!appended.ok()) {
    return Status(appended.status().code(),
                  "audit: `" + action_ + "` ran but its outcome could not be recorded: " + appended.status().message())
        .WithFix(appended.status().fix().empty() ? "run `cloudcoop audit verify`" : appended.status().fix());
  }
  return OkStatus();
}

Status RecordControl(const AuditTarget& target, const Fields& actor, std::string action, std::vector<std::string> args,
                     Fields extra) {
  if (!target.settings.enabled) return OkStatus();
  CC_ASSIGN_OR_RETURN(auto logger, Logger::Open(target.Options()));
  extra["action"] = std::move(action);
  extra["args"] = FieldValue(std::move(args));
  return logger->Append({RecordType::kControl, "", actor, std::move(extra)}, Durability::kSync).status();
}

}  // namespace cloudcoop::audit
