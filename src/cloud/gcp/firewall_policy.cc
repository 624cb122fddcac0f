#include "cloud/gcp/firewall_policy.h"

#include <algorithm>

#include "core/strings.h"
#include "policy/rules.h"

namespace cloudcoop::gcp {
namespace {

std::string Last(const std::string& url) {
  size_t slash = url.rfind('/');
  return slash == std::string::npos ? url : url.substr(slash + 1);
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool Intersects(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (const auto& x : a) {
    if (Contains(b, x)) return true;
  }
  return false;
}

bool IsTcp(const std::string& protocol) { return protocol == "tcp" || protocol == "6"; }

bool PortSpecCovers(const std::string& spec, int port) {
  size_t dash = spec.find('-');
  if (dash == std::string::npos) {
    auto p = ParseInt64(Trim(spec));
    return p && *p == port;
  }
  auto lo = ParseInt64(Trim(std::string_view(spec).substr(0, dash)));
  auto hi = ParseInt64(Trim(std::string_view(spec).substr(dash + 1)));
  return lo && hi && *lo <= port && port <= *hi;
}

bool IsIpv6(const std::string& cidr) { return cidr.find(':') != std::string::npos; }

std::string PortsText(const std::vector<FirewallPorts>& list) {
  std::vector<std::string> parts;
  for (const auto& p : list) {
    if (p.ports.empty()) parts.push_back(p.protocol == "all" ? "all" : p.protocol + ":all");
    else parts.push_back(p.protocol + ":" + Join(p.ports, ","));
  }
  return parts.empty() ? "nothing" : Join(parts, " ");
}

}  // namespace

VmTargets TargetsFromSettings(const Settings& s) {
  return {s.gcp.network, s.vm.tags, s.gcp.service_account.empty() ? std::vector<std::string>{}
                                                                  : std::vector<std::string>{s.gcp.service_account}};
}

bool RuleAppliesTo(const Firewall& rule, const VmTargets& vm) {
  if (Last(rule.network) != vm.network) return false;
  if (rule.target_tags.empty() && rule.target_service_accounts.empty()) return true;  // every instance
  return Intersects(rule.target_tags, vm.tags) || Intersects(rule.target_service_accounts, vm.service_accounts);
}

bool CoversTcpPort(const std::vector<FirewallPorts>& list, int port) {
  for (const auto& p : list) {
    if (p.protocol == "all") return true;
    if (!IsTcp(p.protocol)) continue;
    if (p.ports.empty()) return true;
    for (const auto& spec : p.ports) {
      if (PortSpecCovers(spec, port)) return true;
    }
  }
  return false;
}

std::vector<std::string> WorldSources(const Firewall& rule) {
  std::vector<std::string> out;
  for (const auto& r : rule.source_ranges) {
    if (policy::IsWorldCidr(r)) out.push_back(r);
  }
  return out;
}

std::string DescribeRule(const Firewall& rule) {
  std::string from = rule.source_ranges.empty() ? "(tags/service accounts only)" : Join(rule.source_ranges, ",");
  std::string to;
  if (!rule.target_service_accounts.empty()) to = "service account " + Join(rule.target_service_accounts, ",");
  else if (!rule.target_tags.empty()) to = "tag " + Join(rule.target_tags, ",");
  else to = "every instance in network " + Last(rule.network);
  std::string action = rule.allowed.empty() ? "deny " + PortsText(rule.denied) : PortsText(rule.allowed);
  return action + " from " + from + " to " + to + " (priority " + std::to_string(rule.priority) +
         (rule.log_enabled ? ", logged" : ", not logged") + (rule.disabled ? ", disabled" : "") + ")";
}

Firewall DesiredIapRule(const Settings& s) {
  Firewall f;
  f.name = s.gcp.firewall_rule;
  f.network = "projects/" + s.gcp.project + "/global/networks/" + s.gcp.network;
  f.direction = "INGRESS";
  f.priority = 1000;
  f.source_ranges = {kIapSourceRange};
  f.allowed = {{"tcp", {"22"}}};
  f.target_service_accounts = {s.gcp.service_account};
  f.log_enabled = true;
  return f;
}

std::vector<std::string> IapRuleProblems(const Firewall& a, const Firewall& d, const VmTargets& vm) {
  std::vector<std::string> p;
  if (Last(a.network) != Last(d.network)) p.push_back("it is on network " + Last(a.network) + ", not " + Last(d.network));
  if (a.direction != "INGRESS") p.push_back("its direction is " + a.direction);
  if (a.disabled) p.push_back("it is disabled");
  if (a.source_ranges != d.source_ranges) {
    p.push_back("its sources are " + (a.source_ranges.empty() ? std::string("not ranges") : Join(a.source_ranges, ",")) +
                ", not only " + kIapSourceRange);
  }
  bool exact_ssh = a.allowed.size() == 1 && IsTcp(a.allowed[0].protocol) && a.allowed[0].ports.size() == 1 &&
                   a.allowed[0].ports[0] == "22";
  if (!exact_ssh) p.push_back("it allows " + PortsText(a.allowed) + ", not only tcp:22");
  if (!a.denied.empty()) p.push_back("it is a deny rule");
  bool targets_vm = Intersects(a.target_service_accounts, vm.service_accounts) || Intersects(a.target_tags, vm.tags);
  if (!targets_vm) p.push_back("it does not target the VM's service account or tags");
  if (!a.target_tags.empty() && !a.target_service_accounts.empty()) p.push_back("it mixes target tags and accounts");
  if (!a.log_enabled) p.push_back("logging is off");
  return p;
}

int FirewallReport::open_count() const {
  return static_cast<int>(std::count_if(world_open.begin(), world_open.end(), [](const RuleFinding& f) { return !f.shadowed; }));
}

FirewallReport EvaluateFirewalls(const std::vector<Firewall>& rules, const VmTargets& vm, const Firewall& desired) {
  FirewallReport report;
  for (const auto& r : rules) {
    if (r.name == desired.name) {
      report.iap_rule = r;
      report.iap_problems = IapRuleProblems(r, desired, vm);
    }
  }
  for (const auto& r : rules) {
    if (r.disabled || r.direction != "INGRESS" || r.allowed.empty() || !RuleAppliesTo(r, vm)) continue;
    if (report.iap_rule && r.name == desired.name && report.iap_problems.empty()) continue;
    auto world = WorldSources(r);
    if (!world.empty() && CoversTcpPort(r.allowed, 22)) {
      RuleFinding f{r, "opens SSH to the internet: " + DescribeRule(r), false};
      // Shadowed when an enabled deny rule of equal or higher precedence blocks port 22 from the
      // internet for the VM, for every address family the allow rule opens.
      bool v4 = std::any_of(world.begin(), world.end(), [](const std::string& c) { return !IsIpv6(c); });
      bool v6 = std::any_of(world.begin(), world.end(), IsIpv6);
      bool deny4 = false, deny6 = false;
      for (const auto& d : rules) {
        if (d.disabled || d.direction != "INGRESS" || d.denied.empty() || d.priority > r.priority ||
            !RuleAppliesTo(d, vm) || !CoversTcpPort(d.denied, 22)) {
          continue;
        }
        for (const auto& c : WorldSources(d)) (IsIpv6(c) ? deny6 : deny4) = true;
      }
      f.shadowed = (!v4 || deny4) && (!v6 || deny6);
      if (f.shadowed) f.detail += " (blocked by a deny rule of higher precedence)";
      report.world_open.push_back(std::move(f));
      continue;
    }
    report.other_ingress.push_back({r, "also lets traffic in: " + DescribeRule(r), false});
  }
  return report;
}

}  // namespace cloudcoop::gcp
