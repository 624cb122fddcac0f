#include "cloud/gcp/gcp_checks.h"

#include <algorithm>

#include "cloud/gcp/firewall_policy.h"
#include "config/loader.h"
#include "core/strings.h"
#include "policy/rules.h"

namespace cloudcoop::gcp {

using policy::CheckContext;
using policy::CheckOutcome;

LiveReader::LiveReader(Factory factory) : factory_(std::move(factory)) {}

LiveReader::Factory LiveReader::DefaultFactory() {
  return [](const Settings& s) { return GcpClients::Create(s, ClientOptions{}); };
}

StatusOr<GcpClients*> LiveReader::Clients(const Settings& s) {
  if (!clients_) clients_ = factory_(s);
  if (!clients_->ok()) return clients_->status();
  return clients_->value().get();
}

namespace {
template <typename T, typename Fn>
const StatusOr<T>& Memo(std::optional<StatusOr<T>>& slot, LiveReader& r, const Settings& s, Fn fn) {
  if (!slot) {
    auto c = r.Clients(s);
    if (!c.ok()) slot.emplace(c.status());
    else slot.emplace(fn(**c));
  }
  return *slot;
}
}  // namespace

const StatusOr<std::optional<Instance>>& LiveReader::VmInstance(const Settings& s) {
  return Memo(instance_, *this, s, [&](GcpClients& c) { return c.compute().GetInstance(s.gcp.zone, s.vm.name); });
}
const StatusOr<ProjectInfo>& LiveReader::Project(const Settings& s) {
  return Memo(project_, *this, s, [](GcpClients& c) { return c.compute().GetProject(); });
}
const StatusOr<std::vector<Firewall>>& LiveReader::Firewalls(const Settings& s) {
  return Memo(firewalls_, *this, s, [](GcpClients& c) { return c.compute().ListFirewalls(); });
}
const StatusOr<std::vector<Network>>& LiveReader::Networks(const Settings& s) {
  return Memo(networks_, *this, s, [](GcpClients& c) { return c.compute().ListNetworks(); });
}
const StatusOr<IamPolicy>& LiveReader::ProjectPolicy(const Settings& s) {
  return Memo(policy_, *this, s, [](GcpClients& c) { return c.iam().GetProjectIamPolicy(); });
}
const StatusOr<std::vector<ServiceAccountKey>>& LiveReader::UserManagedKeys(const Settings& s) {
  return Memo(keys_, *this, s,
              [&](GcpClients& c) { return c.iam().ListServiceAccountKeys(s.gcp.service_account, true); });
}

bool MetadataTrue(const std::string& value) {
  std::string v = ToLower(Trim(value));
  return v == "true" || v == "1" || v == "yes" || v == "y" || v == "on";
}

namespace {

CheckOutcome CannotRead(const std::string& what, const Status& st) {
  return policy::Fail("cannot read " + what + ": " + st.message(),
                      st.fix().empty() ? "check the credentials and that the API is reachable" : st.fix());
}

// Runs `fn` with the settings and the reader when the provider is gcp; else not applicable.
std::function<CheckOutcome(const CheckContext&)> Live(
    std::function<CheckOutcome(const Settings&, LiveReader&)> fn) {
  return [fn](const CheckContext& ctx) {
    if (ctx.config == nullptr) {
      return policy::Fail("cannot evaluate: the configuration did not load",
                          "run `cloudcoop config validate` and fix what it reports");
    }
    const Settings& s = ctx.config->settings();
    if (s.provider != "gcp") return policy::NotApplicable("cloud.provider = local: no GCP agent host");
    if (ctx.gcp == nullptr) {
      return policy::Fail("cannot evaluate: no access to the GCP API in this run", "run the checks through `cloudcoop check`");
    }
    return fn(s, *ctx.gcp);
  };
}

// Runs `fn` on the VM; not applicable when it does not exist yet.
std::function<CheckOutcome(const CheckContext&)> OnInstance(
    std::function<CheckOutcome(const Settings&, const Instance&, LiveReader&)> fn) {
  return Live([fn](const Settings& s, LiveReader& r) {
    const auto& in = r.VmInstance(s);
    if (!in.ok()) return CannotRead("VM " + s.vm.name, in.status());
    if (!in->has_value()) {
      return policy::NotApplicable("VM " + s.vm.name + " does not exist in " + s.gcp.zone + " (cloudcoop create)");
    }
    return fn(s, **in, r);
  });
}

CheckOutcome SaDedicated(const Settings& s, const Instance& in, LiveReader&) {
  if (in.service_accounts.empty()) {
    return policy::Fail("VM " + in.name + " runs without a service account",
                        "recreate it with cloudcoop create (it attaches " + s.gcp.service_account + ")");
  }
  std::vector<std::string> emails;
  for (const auto& sa : in.service_accounts) {
    emails.push_back(sa.email);
    if (policy::IsDefaultServiceAccount(sa.email)) {
      return policy::Fail("VM " + in.name + " runs as the default service account " + sa.email,
                          "recreate it with the dedicated account " + s.gcp.service_account);
    }
  }
  if (in.service_accounts.size() != 1 || in.service_accounts[0].email != s.gcp.service_account) {
    return policy::Fail("VM " + in.name + " runs as " + Join(emails, ", ") + ", not only " + s.gcp.service_account,
                        "stop it and set the service account to " + s.gcp.service_account + ", or recreate it");
  }
  return policy::Pass("VM " + in.name + " runs only as " + s.gcp.service_account);
}

CheckOutcome NoExternalIp(const Settings&, const Instance& in, LiveReader&) {
  std::vector<std::string> found;
  for (const auto& nic : in.nics) {
    for (const auto& ip : nic.external_ips) found.push_back(ip.empty() ? "an ephemeral IPv4 address" : ip);
    for (int i = 0; i < nic.ipv6_access_configs; ++i) found.push_back("an external IPv6 address");
  }
  if (!found.empty()) {
    return policy::Fail("VM " + in.name + " has external addresses: " + Join(found, ", "),
                        "remove its access configs (gcloud compute instances delete-access-config) and use IAP");
  }
  return policy::Pass("VM " + in.name + " has no external IP (reached through IAP only)");
}

CheckOutcome ShieldedVm(const Settings&, const Instance& in, LiveReader&) {
  std::vector<std::string> off;
  if (!in.secure_boot) off.push_back("secure boot");
  if (!in.vtpm) off.push_back("vTPM");
  if (!in.integrity_monitoring) off.push_back("integrity monitoring");
  if (!off.empty()) {
    return policy::Fail("VM " + in.name + " lacks Shielded VM " + Join(off, ", "),
                        "stop it and enable them (gcloud compute instances update --shielded-secure-boot "
                        "--shielded-vtpm --shielded-integrity-monitoring)");
  }
  return policy::Pass("secure boot, vTPM and integrity monitoring are on");
}

// The effective value of a boolean metadata key: the effective value the API computed, else the
// instance's item, else (when `project_level`) the project's common metadata.
struct Effective {
  std::optional<bool> value;
  std::string source;
  Status error;
};

Effective Resolve(const Settings& s, const Instance& in, LiveReader& r, std::optional<bool> effective,
                  const std::string& key, bool project_level) {
  if (effective) return {effective, "effective instance metadata", OkStatus()};
  if (const std::string* v = in.MetadataValue(key)) return {MetadataTrue(*v), "instance metadata " + key + "=" + *v, OkStatus()};
  if (!project_level) return {std::nullopt, "", OkStatus()};
  const auto& project = r.Project(s);
  if (!project.ok()) return {std::nullopt, "", project.status()};
  if (const std::string* v = project->MetadataValue(key)) {
    return {MetadataTrue(*v), "project metadata " + key + "=" + *v, OkStatus()};
  }
  return {std::nullopt, "", OkStatus()};
}

CheckOutcome OsLogin(const Settings& s, const Instance& in, LiveReader& r) {
  Effective e = Resolve(s, in, r, in.effective_oslogin, "enable-oslogin", true);
  if (!e.error.ok()) return CannotRead("the project metadata", e.error);
  if (!e.value) {
    return policy::Fail("enable-oslogin is set neither on VM " + in.name + " nor on the project",
                        "set metadata enable-oslogin=TRUE on the VM (cloudcoop create sets it)");
  }
  if (!*e.value) return policy::Fail("OS Login is off (" + e.source + ")", "set metadata enable-oslogin=TRUE");
  return policy::Pass("OS Login is on (" + e.source + ")");
}

CheckOutcome ProjectKeysBlocked(const Settings& s, const Instance& in, LiveReader& r) {
  Effective e = Resolve(s, in, r, in.effective_block_project_ssh_keys, "block-project-ssh-keys", false);
  if (!e.value) {
    return policy::Fail("block-project-ssh-keys is not set on VM " + in.name + ": project-wide SSH keys work on it",
                        "set metadata block-project-ssh-keys=TRUE on the VM");
  }
  if (!*e.value) return policy::Fail("project-wide SSH keys are accepted (" + e.source + ")", "set block-project-ssh-keys=TRUE");
  return policy::Pass("project-wide SSH keys are blocked (" + e.source + ")");
}

CheckOutcome SerialPortOff(const Settings& s, const Instance& in, LiveReader& r) {
  Effective e = Resolve(s, in, r, in.effective_serial_port, "serial-port-enable", true);
  if (!e.error.ok()) return CannotRead("the project metadata", e.error);
  if (e.value && *e.value) {
    return policy::Fail("the interactive serial console is enabled (" + e.source + ")",
                        "set metadata serial-port-enable=FALSE on the VM and the project");
  }
  return policy::Pass(e.value ? "the serial console is off (" + e.source + ")" : "the serial console is off (not enabled anywhere)");
}

CheckOutcome IpForwardingOff(const Settings&, const Instance& in, LiveReader&) {
  if (in.can_ip_forward) return policy::Fail("VM " + in.name + " may forward IP packets (canIpForward)", "recreate it without IP forwarding");
  return policy::Pass("IP forwarding is off");
}

VmTargets LiveTargets(const Settings& s, LiveReader& r) {
  VmTargets t = TargetsFromSettings(s);
  const auto& in = r.VmInstance(s);
  if (in.ok() && in->has_value()) {
    for (const auto& tag : (*in)->tags) {
      if (std::find(t.tags.begin(), t.tags.end(), tag) == t.tags.end()) t.tags.push_back(tag);
    }
    for (const auto& sa : (*in)->service_accounts) {
      if (std::find(t.service_accounts.begin(), t.service_accounts.end(), sa.email) == t.service_accounts.end()) {
        t.service_accounts.push_back(sa.email);
      }
    }
  }
  return t;
}

CheckOutcome FirewallIap(const Settings& s, LiveReader& r) {
  const auto& rules = r.Firewalls(s);
  if (!rules.ok()) return CannotRead("the firewall rules", rules.status());
  FirewallReport report = EvaluateFirewalls(*rules, LiveTargets(s, r), DesiredIapRule(s));
  if (!report.iap_rule) {
    return policy::Fail("firewall rule " + s.gcp.firewall_rule + " (SSH from IAP only) does not exist",
                        "cloudcoop firewall ensure");
  }
  if (!report.iap_problems.empty()) {
    return policy::Fail("firewall rule " + s.gcp.firewall_rule + ": " + Join(report.iap_problems, "; "),
                        "cloudcoop firewall ensure");
  }
  return policy::Pass("SSH enters only from IAP " + std::string(kIapSourceRange) + " to " + s.gcp.service_account +
                      ", logged (" + s.gcp.firewall_rule + ")");
}

CheckOutcome FirewallNoOpenIngress(const Settings& s, LiveReader& r) {
  const auto& rules = r.Firewalls(s);
  if (!rules.ok()) return CannotRead("the firewall rules", rules.status());
  FirewallReport report = EvaluateFirewalls(*rules, LiveTargets(s, r), DesiredIapRule(s));
  std::vector<std::string> open, shadowed, other;
  for (const auto& f : report.world_open) (f.shadowed ? shadowed : open).push_back(f.rule.name);
  for (const auto& f : report.other_ingress) other.push_back(f.rule.name + " (" + DescribeRule(f.rule) + ")");
  if (!open.empty()) {
    return policy::Fail("SSH is open to the internet for the VM through " + Join(open, ", "),
                        "cloudcoop firewall ensure --fix (removes them after confirmation)");
  }
  if (!other.empty()) {
    return policy::Fail("other ingress rules apply to the VM: " + Join(other, "; "),
                        "remove them or narrow their targets; only the IAP rule should let traffic in");
  }
  if (!shadowed.empty()) {
    return policy::Warn("world-open SSH rules exist but a deny rule blocks them: " + Join(shadowed, ", "),
                        "delete them (cloudcoop firewall ensure --fix) so a later change cannot expose SSH");
  }
  return policy::Pass("no ingress rule other than the IAP rule applies to the VM");
}

CheckOutcome SaNoUserKeys(const Settings& s, LiveReader& r) {
  const auto& keys = r.UserManagedKeys(s);
  if (!keys.ok()) return CannotRead("the keys of " + s.gcp.service_account, keys.status());
  std::vector<std::string> ids;
  for (const auto& k : *keys) {
    if (k.key_type == "USER_MANAGED" || k.key_type.empty()) ids.push_back(k.name.substr(k.name.rfind('/') + 1));
  }
  if (!ids.empty()) {
    return policy::Fail(s.gcp.service_account + " has user-managed keys: " + Join(ids, ", "),
                        "delete them (gcloud iam service-accounts keys delete KEY_ID --iam-account " +
                            s.gcp.service_account + "); the VM needs none");
  }
  return policy::Pass(s.gcp.service_account + " has no user-managed keys (identity only through the metadata server)");
}

CheckOutcome SaRoles(const Settings& s, LiveReader& r) {
  const auto& policy = r.ProjectPolicy(s);
  if (!policy.ok()) return CannotRead("the project IAM policy", policy.status());
  std::string member = "serviceAccount:" + s.gcp.service_account;
  std::vector<std::string> held, bad;
  for (const auto& b : policy->bindings) {
    if (std::find(b.members.begin(), b.members.end(), member) == b.members.end()) continue;
    std::string shown = b.role + (b.conditional() ? " (conditional: " + b.condition_title + ")" : "");
    held.push_back(shown);
    auto verdict = policy::ClassifyRole(b.role);
    bool configured = std::find(s.gcp.allowed_roles.begin(), s.gcp.allowed_roles.end(), b.role) != s.gcp.allowed_roles.end();
    if (!verdict.allowed) {
      bad.push_back(verdict.reason);
    } else if (b.role == "roles/secretmanager.secretAccessor") {
      bad.push_back(b.role + " at project level reads every secret; grant it on the specific secrets only");
    } else if (!configured) {
      bad.push_back(b.role + " is not in cloud.gcp.allowed_roles");
    }
  }
  if (!bad.empty()) {
    return policy::Fail(s.gcp.service_account + " holds roles it must not: " + Join(bad, "; "),
                        "remove them: gcloud projects remove-iam-policy-binding " + s.gcp.project + " --member " +
                            member + " --role ROLE");
  }
  return policy::Pass(held.empty() ? s.gcp.service_account + " holds no project roles"
                                   : s.gcp.service_account + " holds only " + Join(held, ", "));
}

CheckOutcome DefaultNetwork(const Settings& s, LiveReader& r) {
  const auto& networks = r.Networks(s);
  if (!networks.ok()) return CannotRead("the VPC networks", networks.status());
  bool has_default = false;
  const Network* ours = nullptr;
  for (const auto& n : *networks) {
    if (n.name == "default") has_default = true;
    if (n.name == s.gcp.network) ours = &n;
  }
  if (has_default) {
    return policy::Fail("the project still has the default network (permissive default firewall rules)",
                        "delete it once nothing uses it: gcloud compute networks delete default");
  }
  if (ours == nullptr) {
    return policy::Fail("network " + s.gcp.network + " does not exist", "create it with custom subnets (autoCreateSubnetworks=false)");
  }
  if (!ours->auto_create_subnetworks.has_value() || *ours->auto_create_subnetworks) {
    return policy::Fail("network " + s.gcp.network + " is an auto-mode or legacy network",
                        "use a custom-mode VPC (autoCreateSubnetworks=false)");
  }
  return policy::Pass("no default network; " + s.gcp.network + " is a custom-mode VPC");
}

}  // namespace

void RegisterGcpChecks(policy::CheckRegistry& registry) {
  using policy::Severity;
  registry.Add({"gcp.sa-dedicated", "VM runs only as the dedicated service account (every slot)", "SA-1",
                "cis_4.0:4.1", Severity::kHigh, OnInstance(SaDedicated)});
  registry.Add({"gcp.no-external-ip", "VM has no external IPv4 or IPv6 address", "NET-1", "cis_4.0:4.9",
                Severity::kHigh, OnInstance(NoExternalIp)});
  registry.Add({"gcp.shielded-vm", "VM is a Shielded VM (secure boot, vTPM, integrity monitoring)", "VM-1",
                "cis_4.0:4.8", Severity::kMedium, OnInstance(ShieldedVm)});
  registry.Add({"gcp.os-login", "OS Login is on for the VM (effective metadata first)", "IAP-3", "cis_4.0:4.4",
                Severity::kHigh, OnInstance(OsLogin)});
  registry.Add({"gcp.project-ssh-keys-blocked", "project-wide SSH keys are blocked on the VM", "IAP-4",
                "cis_4.0:4.3", Severity::kHigh, OnInstance(ProjectKeysBlocked)});
  registry.Add({"gcp.serial-port-off", "interactive serial console is off", "IAP-5", "cis_4.0:4.5",
                Severity::kMedium, OnInstance(SerialPortOff)});
  registry.Add({"gcp.ip-forwarding-off", "VM does not forward IP packets", "NET-6", "cis_4.0:4.6",
                Severity::kMedium, OnInstance(IpForwardingOff)});
  registry.Add({"gcp.firewall-iap", "SSH ingress only from IAP (35.235.240.0/20) to the VM, logged", "IAP-1",
                "cis_4.0:3.10", Severity::kHigh, Live(FirewallIap)});
  registry.Add({"gcp.firewall-no-open-ingress", "no other ingress rule (none open to 0.0.0.0/0 or ::/0) applies to the VM",
                "IAP-2", "cis_4.0:3.6", Severity::kCritical, Live(FirewallNoOpenIngress)});
  registry.Add({"gcp.sa-no-user-keys", "VM service account has no user-managed keys", "ROT-1", "cis_4.0:1.4",
                Severity::kHigh, Live(SaNoUserKeys)});
  registry.Add({"gcp.sa-roles", "VM service account holds only allowed project roles", "SA-3", "cis_4.0:1.5",
                Severity::kHigh, Live(SaRoles)});
  registry.Add({"gcp.default-network", "no default network; the VM's VPC is custom-mode", "NET-3", "cis_4.0:3.1",
                Severity::kMedium, Live(DefaultNetwork)});
}

}  // namespace cloudcoop::gcp
