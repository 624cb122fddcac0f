// Checks on the configuration itself: what will be enforced before any VM or agent exists.
#include "config/loader.h"
#include "core/strings.h"
#include "policy/checks.h"
#include "policy/rules.h"

namespace cloudcoop::policy {
namespace {

// Runs `fn` on the settings, or fails the check when the configuration did not load.
std::function<CheckOutcome(const CheckContext&)> OnSettings(std::function<CheckOutcome(const Settings&)> fn) {
  return [fn](const CheckContext& ctx) {
    if (ctx.config == nullptr) {
      return Fail("cannot evaluate: the configuration did not load", "run `cloudcoop config validate` and fix what it reports");
    }
    return fn(ctx.config->settings());
  };
}

CheckOutcome ConfigValid(const CheckContext& ctx) {
  if (ctx.config == nullptr) return Fail(ctx.config_status.message(), ctx.config_status.fix());
  std::string files = ctx.config->files_read().empty() ? "built-in defaults only" : Join(ctx.config->files_read(), ", ");
  return Pass("loaded and validated (" + files + ")");
}

CheckOutcome ServiceAccountDedicated(const Settings& s) {
  if (s.provider != "gcp") return NotApplicable("cloud.provider = local: no VM service account");
  if (s.gcp.service_account.empty()) {
    return Fail("cloud.gcp.service_account is not set", "set it to a dedicated NAME@PROJECT.iam.gserviceaccount.com");
  }
  if (IsDefaultServiceAccount(s.gcp.service_account)) {
    return Fail(s.gcp.service_account + " is a default service account", "create and configure a dedicated service account");
  }
  return Pass("the VM will run as " + s.gcp.service_account);
}

CheckOutcome ServiceAccountRoles(const Settings& s) {
  if (s.provider != "gcp") return NotApplicable("cloud.provider = local");
  std::vector<std::string> refused;
  for (const auto& role : s.gcp.allowed_roles) {
    if (!ClassifyRole(role).allowed) refused.push_back(role);
  }
  if (!refused.empty()) {
    return Fail("roles outside the allow-list: " + Join(refused, ", "), "remove them from cloud.gcp.allowed_roles");
  }
  return Pass("roles limited to " + (s.gcp.allowed_roles.empty() ? std::string("none") : Join(s.gcp.allowed_roles, ", ")));
}

CheckOutcome SshViaIap(const Settings& s) {
  if (s.provider != "gcp") return NotApplicable("cloud.provider = local: no SSH ingress");
  if (s.ssh.access == "iap") return Pass("SSH only through IAP (35.235.240.0/20); the VM has no external IP");
  for (const auto& range : s.ssh.source_ranges) {
    if (IsWorldCidr(range)) return Fail("SSH is open to " + range, "set ssh.access = iap");
  }
  return Warn("SSH is reached directly from " + Join(s.ssh.source_ranges, ", ") + " (the VM needs an external IP)",
              "set ssh.access = iap so the VM needs no external IP");
}

CheckOutcome AgentLimitsSet(const Settings& s) {
  const auto& l = s.agents.limits;
  if (l.cpus <= 0 || l.memory_bytes == 0 || l.pids <= 0) {
    return Fail("an agent limit is zero", "set agents.cpus, agents.memory and agents.pids to positive values");
  }
  return Pass("each agent: " + Value{l.cpus}.ToText() + " CPUs, " + FormatBytes(l.memory_bytes) + " memory, " +
              std::to_string(l.pids) + " processes");
}

CheckOutcome AgentNetwork(const Settings& s) {
  if (s.agents.network == "host") {
    return Fail("agents.network = host: agents share the host's network, loopback services and the metadata server",
                "set agents.network = egress (internet without the metadata server or private ranges) or none");
  }
  return Pass("agents get their own network namespace (" + s.agents.network + ")");
}

CheckOutcome KeyFilesRefused(const Settings& s) {
  if (s.gcp.allow_key_files) {
    return Fail("cloud.gcp.allow_key_files = true accepts long-lived service-account key files",
                "use gcloud ADC (authorized_user), impersonation or workload identity federation and set it to false");
  }
  return Pass("service-account key files are refused as credentials");
}

CheckOutcome AuditEnabled(const Settings& s) {
  if (!s.audit.enabled) return Fail("audit.enabled = false: agent actions are not recorded", "set audit.enabled = true");
  if (!s.audit.exec_capture) {
    return Fail("audit.exec_capture = false: programs agents run are not recorded", "set audit.exec_capture = true");
  }
  return Pass("the audit log and exec capture are on");
}

CheckOutcome DefaultNetworkUnused(const Settings& s) {
  if (s.provider != "gcp") return NotApplicable("cloud.provider = local");
  if (s.gcp.network == "default") {
    return Fail("cloud.gcp.network = default: the default network has permissive firewall rules",
                "create a dedicated VPC (custom subnets) and set cloud.gcp.network");
  }
  return Pass("the VM uses network " + s.gcp.network);
}

CheckOutcome NoSecretsInProfiles(const Settings& s) {
  std::vector<std::string> found;
  for (const auto& [name, profile] : s.agents.profiles) {
    for (const auto& [k, v] : profile.env) {
      if ((LooksLikeSecretName(k) && !v.empty()) || LooksLikeSecretValue(v)) found.push_back(name + "." + k);
    }
  }
  if (!found.empty()) {
    return Fail("secret-looking values in profile environments: " + Join(found, ", "),
                "store them in Secret Manager (secrets.secret_manager) instead of config files");
  }
  return Pass("no secret values in agent profile environments");
}

}  // namespace

void RegisterConfigChecks(CheckRegistry& registry) {
  registry.Add({"config.valid", "configuration loads and passes validation", "foundation", "", Severity::kHigh, ConfigValid});
  registry.Add({"config.sa-dedicated", "VM uses a dedicated service account, not a default one", "SA-1",
                "cis_4.0:4.1", Severity::kHigh, OnSettings(ServiceAccountDedicated)});
  registry.Add({"config.sa-roles", "VM service account roles come only from the allow-list", "SA-3",
                "cis_4.0:1.5", Severity::kHigh, OnSettings(ServiceAccountRoles)});
  registry.Add({"config.ssh-iap", "SSH only through IAP, never open to the internet", "IAP-1",
                "cis_4.0:3.10", Severity::kHigh, OnSettings(SshViaIap)});
  registry.Add({"config.network-not-default", "VM is not on the default network", "NET-3", "cis_4.0:3.1",
                Severity::kMedium, OnSettings(DefaultNetworkUnused)});
  registry.Add({"config.key-files", "service-account key files are not accepted as credentials", "ROT-6",
                "cis_4.0:1.4", Severity::kHigh, OnSettings(KeyFilesRefused)});
  registry.Add({"config.agent-limits", "every agent has CPU, memory and pids limits", "IMG-5", "",
                Severity::kHigh, OnSettings(AgentLimitsSet)});
  registry.Add({"config.agent-network", "agents do not share the host network", "containment 7", "",
                Severity::kHigh, OnSettings(AgentNetwork)});
  registry.Add({"config.audit", "audit log and exec capture are enabled", "audit", "", Severity::kHigh,
                OnSettings(AuditEnabled)});
  registry.Add({"config.no-secrets", "no secret values in configuration files", "SEC-1", "cis_4.0:1.17",
                Severity::kHigh, OnSettings(NoSecretsInProfiles)});
}

}  // namespace cloudcoop::policy
