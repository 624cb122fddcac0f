#include "cli/audit_action.h"

#include "config/loader.h"
#include "core/paths.h"
#include "core/strings.h"
#include "policy/rules.h"

namespace cloudcoop::cli {

audit::AuditTarget AuditTargetFor(Invocation& inv) {
  auto config = inv.Config();
  Settings settings = config.ok() ? (*config)->settings() : BuildSettings(DefaultEntries());
  return audit::AuditTarget::For(StateDirFromEnv(), settings.audit, settings.secrets);
}

std::string MaskConfigValue(const std::string& key, const std::string& value) {
  constexpr const char* kMasked = "[REDACTED:config-value]";
  std::string last = key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
  if (policy::LooksLikeSecretName(last) || policy::LooksLikeSecretValue(value)) return kMasked;
  if (value.find('=') == std::string::npos) return value;
  // A string map "K=V,K2=V2": mask the values of secret-looking entries.
  std::vector<std::string> parts = Split(value, ',');
  for (auto& part : parts) {
    size_t eq = part.find('=');
    if (eq != std::string::npos &&
        (policy::LooksLikeSecretName(part.substr(0, eq)) || policy::LooksLikeSecretValue(part.substr(eq + 1)))) {
      part = part.substr(0, eq + 1) + kMasked;
    }
  }
  return Join(parts, ",");
}

namespace {

bool IsBoolFlag(const CommandSpec& spec, const std::string& name) {
  for (const auto* flags : {&spec.flags, &GlobalFlags()}) {
    for (const auto& f : *flags) {
      if (f.name == name) return f.kind == FlagKind::kBool;
    }
  }
  return false;
}

}  // namespace

std::vector<std::string> InvocationArgsForAudit(Invocation& inv) {
  std::vector<std::string> args = inv.args();
  for (const auto& [name, values] : inv.mutable_flags()) {
    if (name == "help") continue;
    if (IsBoolFlag(inv.spec(), name)) {
      args.push_back("--" + name);
      continue;
    }
    for (const auto& v : values) {
      std::string shown = v;
      size_t eq = v.find('=');
      if (name == "set" && eq != std::string::npos) shown = v.substr(0, eq + 1) + MaskConfigValue(v.substr(0, eq), v.substr(eq + 1));
      args.push_back("--" + name + "=" + shown);
    }
  }
  return args;
}

StatusOr<audit::ControlAction> BeginAuditedAction(Invocation& inv, std::vector<std::string> args) {
  if (args.empty()) args = InvocationArgsForAudit(inv);
  return audit::ControlAction::Begin(AuditTargetFor(inv), std::string(inv.spec().name), std::move(args));
}

}  // namespace cloudcoop::cli
