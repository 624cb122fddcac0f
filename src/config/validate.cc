// Cross-key and security rules on a merged configuration. Each message names every key involved;
// a configuration that fails here never reaches cloud or sandbox code.
#include <algorithm>
#include <cmath>
#include <string_view>

#include "config/loader.h"
#include "core/strings.h"
#include "policy/rules.h"

namespace cloudcoop {
namespace {

// Character-class checks rather than std::regex: compiling one regex costs more than the rest of
// loading the configuration, and every command (a sandbox start too) loads it.
bool Lower(char c) { return c >= 'a' && c <= 'z'; }
bool Digit(char c) { return c >= '0' && c <= '9'; }
bool LowerOrDigit(char c) { return Lower(c) || Digit(c); }
bool AllOf(std::string_view s, bool (*ok)(char)) {
  for (char c : s)
    if (!ok(c)) return false;
  return true;
}
// [a-z][a-z0-9-]{4,28}[a-z0-9]
bool IsProjectId(std::string_view s) {
  return s.size() >= 6 && s.size() <= 30 && Lower(s.front()) && LowerOrDigit(s.back()) &&
         AllOf(s.substr(1, s.size() - 2), [](char c) { return LowerOrDigit(c) || c == '-'; });
}
// [a-z]+-[a-z]+[0-9]+-[a-z]
bool IsZone(std::string_view s) {
  size_t i = 0;
  auto run = [&](bool (*ok)(char)) {
    size_t start = i;
    while (i < s.size() && ok(s[i])) ++i;
    return i > start;
  };
  auto dash = [&] { return i < s.size() && s[i++] == '-'; };
  return run(Lower) && dash() && run(Lower) && run(Digit) && dash() && i + 1 == s.size() && Lower(s[i]);
}
// [a-z]([-a-z0-9]{0,61}[a-z0-9])?
bool IsFirewallRuleName(std::string_view s) {
  return !s.empty() && s.size() <= 63 && Lower(s.front()) && LowerOrDigit(s.back()) &&
         AllOf(s.substr(1), [](char c) { return LowerOrDigit(c) || c == '-'; });
}
// [a-z][a-z0-9_-]{0,31}
bool IsProfileName(std::string_view s) {
  return !s.empty() && s.size() <= 32 && Lower(s.front()) &&
         AllOf(s.substr(1), [](char c) { return LowerOrDigit(c) || c == '-' || c == '_'; });
}
// [A-Za-z_][A-Za-z0-9_]*
bool IsEnvName(std::string_view s) {
  auto word = [](char c) { return LowerOrDigit(c) || (c >= 'A' && c <= 'Z') || c == '_'; };
  return !s.empty() && !Digit(s.front()) && AllOf(s, word);
}

const Value* Get(const EntryMap& entries, const std::string& key) {
  auto it = entries.find(key);
  return it == entries.end() ? nullptr : &it->second.value;
}

std::string Str(const EntryMap& e, const std::string& key) {
  const Value* v = Get(e, key);
  return v != nullptr ? v->str() : std::string();
}

std::vector<std::string> List(const EntryMap& e, const std::string& key) {
  const Value* v = Get(e, key);
  return v != nullptr ? v->list() : std::vector<std::string>();
}

std::string Origin(const EntryMap& e, const std::string& key) {
  auto it = e.find(key);
  if (it == e.end()) return "";
  return " (from " + it->second.origin + ")";
}

// The profile names that exist (built-in or configured).
std::vector<std::string> ProfileNames(const EntryMap& entries) {
  std::vector<std::string> names;
  for (const auto& [key, entry] : entries) {
    if (!StartsWith(key, "agents.profiles.")) continue;
    auto parts = Split(key, '.');
    if (parts.size() == 4 && (names.empty() || names.back() != parts[2])) names.push_back(parts[2]);
  }
  return names;
}

void ValidateGcp(const EntryMap& e, std::vector<Status>* problems) {
  if (Str(e, "cloud.provider") != "gcp") return;
  std::string sa = Str(e, "cloud.gcp.service_account");
  if (sa.empty()) {
    problems->push_back(
        InvalidArgumentError("cloud.provider = gcp requires cloud.gcp.service_account, a dedicated "
                             "least-privilege service account for the VM")
            .WithFix("cloudcoop config set cloud.gcp.service_account NAME@PROJECT.iam.gserviceaccount.com"));
  } else {
    Status st = policy::CheckServiceAccountEmail(sa);
    if (!st.ok()) {
      problems->push_back(InvalidArgumentError("cloud.provider = gcp: " + st.message() +
                                               Origin(e, "cloud.gcp.service_account"))
                              .WithFix(st.fix()));
    }
  }
  if (Str(e, "cloud.gcp.project").empty()) {
    problems->push_back(InvalidArgumentError("cloud.provider = gcp requires cloud.gcp.project")
                            .WithFix("cloudcoop config set cloud.gcp.project PROJECT_ID"));
  } else {
    if (!IsProjectId(Str(e, "cloud.gcp.project"))) {
      problems->push_back(InvalidArgumentError("cloud.gcp.project = \"" + Str(e, "cloud.gcp.project") +
                                               "\" is not a project id" + Origin(e, "cloud.gcp.project"))
                              .WithFix("use the project id (6-30 lowercase letters, digits, hyphens), not its name or number"));
    }
  }
  if (!IsZone(Str(e, "cloud.gcp.zone"))) {
    problems->push_back(InvalidArgumentError("cloud.gcp.zone = \"" + Str(e, "cloud.gcp.zone") +
                                             "\" is not a zone" + Origin(e, "cloud.gcp.zone"))
                            .WithFix("use a zone such as us-central1-a or europe-north2-b"));
  }
  if (!IsFirewallRuleName(Str(e, "cloud.gcp.firewall_rule"))) {
    problems->push_back(InvalidArgumentError("cloud.gcp.firewall_rule = \"" + Str(e, "cloud.gcp.firewall_rule") +
                                             "\" is not a firewall rule name" + Origin(e, "cloud.gcp.firewall_rule"))
                            .WithFix("use lowercase letters, digits and -, starting with a letter (at most 63)"));
  }
  std::string sa_suffix = sa.empty() ? "" : " (the roles of " + sa + ")";
  for (const auto& role : List(e, "cloud.gcp.allowed_roles")) {
    auto verdict = policy::ClassifyRole(role);
    if (!verdict.allowed) {
      problems->push_back(InvalidArgumentError("cloud.gcp.allowed_roles" + sa_suffix + " refuses " + role + ": " +
                                               verdict.reason + Origin(e, "cloud.gcp.allowed_roles"))
                              .WithFix("keep only " + Join(policy::AllowedServiceAccountRoles(), ", ")));
    }
  }
}

void ValidateSsh(const EntryMap& e, std::vector<Status>* problems) {
  auto ranges = List(e, "ssh.source_ranges");
  for (const auto& range : ranges) {
    Status st = policy::CheckCidr(range);
    if (!st.ok()) {
      problems->push_back(InvalidArgumentError("ssh.source_ranges: " + st.message() + Origin(e, "ssh.source_ranges"))
                              .WithFix(st.fix()));
    }
  }
  if (Str(e, "ssh.access") != "direct") return;
  for (const auto& range : ranges) {
    if (policy::IsWorldCidr(range)) {
      problems->push_back(InvalidArgumentError("ssh.access = direct with ssh.source_ranges containing " + range +
                                               " opens SSH to the whole internet" + Origin(e, "ssh.source_ranges"))
                              .WithFix("use ssh.access = iap, or list only your own addresses (e.g. 203.0.113.4/32)"));
    }
  }
  if (ranges.empty()) {
    problems->push_back(InvalidArgumentError("ssh.access = direct requires ssh.source_ranges (the addresses allowed to connect)")
                            .WithFix("cloudcoop config set ssh.source_ranges YOUR.IP.ADDR.ESS/32, or keep ssh.access = iap"));
  }
}

void ValidateAgents(const EntryMap& e, const HostFacts& host, std::vector<Status>* problems) {
  const Value* cpus = Get(e, "agents.cpus");
  if (cpus != nullptr && host.cpus > 0 && cpus->number() > host.cpus) {
    problems->push_back(InvalidArgumentError("agents.cpus = " + cpus->ToText() + " is more than this host's " +
                                             Value{host.cpus}.ToText() + " CPUs" + Origin(e, "agents.cpus"))
                            .WithFix("set agents.cpus to at most " + Value{host.cpus}.ToText()));
  }
  const Value* memory = Get(e, "agents.memory");
  if (memory != nullptr && host.memory_bytes > 0) {
    auto bytes = ParseByteSize(memory->str());
    if (bytes.ok() && *bytes > host.memory_bytes) {
      problems->push_back(InvalidArgumentError("agents.memory = " + memory->str() + " is more than this host's " +
                                               FormatBytes(host.memory_bytes) + " of memory" + Origin(e, "agents.memory"))
                              .WithFix("set agents.memory to at most " + FormatBytes(host.memory_bytes)));
    }
  }
  const Value* pids = Get(e, "agents.pids");
  if (pids != nullptr && host.pid_max > 0 && pids->integer() > host.pid_max) {
    problems->push_back(InvalidArgumentError("agents.pids = " + pids->ToText() + " is more than this host's pid_max " +
                                             std::to_string(host.pid_max) + Origin(e, "agents.pids"))
                            .WithFix("set agents.pids to at most " + std::to_string(host.pid_max)));
  }
  auto names = ProfileNames(e);
  std::string def = Str(e, "agents.default_profile");
  if (std::find(names.begin(), names.end(), def) == names.end()) {
    std::string suggestion = ClosestMatch(def, names);
    problems->push_back(InvalidArgumentError("agents.default_profile = \"" + def +
                                             "\" names no profile in agents.profiles" + Origin(e, "agents.default_profile"))
                            .WithFix(suggestion.empty() ? "use one of " + Join(names, ", ")
                                                        : "did you mean \"" + suggestion + "\"?"));
  }
  for (const auto& name : names) {
    std::string prefix = "agents.profiles." + name + ".";
    if (!IsProfileName(name)) {
      problems->push_back(InvalidArgumentError("agents.profiles." + name + ": profile names are lowercase letters, digits, - and _ (at most 32)")
                              .WithFix("rename the profile table"));
    }
    if (Str(e, prefix + "command").empty()) {
      problems->push_back(InvalidArgumentError("agents.profiles." + name + " has no command" + Origin(e, prefix + "resume_command"))
                              .WithFix("set agents.profiles." + name + ".command"));
    }
    if (const Value* env = Get(e, prefix + "env")) {
      for (const auto& [k, v] : env->map()) {
        if (!IsEnvName(k)) {
          problems->push_back(InvalidArgumentError(prefix + "env: \"" + k + "\" is not an environment variable name")
                                  .WithFix("use letters, digits and _ only"));
        }
      }
    }
  }
}

}  // namespace

std::vector<Status> ValidateEntries(const EntryMap& entries, const HostFacts& host) {
  std::vector<Status> problems;
  for (const auto& [key, entry] : entries) {
    const KeySpec* spec = FindKeySpec(key);
    if (spec == nullptr) {
      problems.push_back(InvalidArgumentError("unknown config key \"" + key + "\" (from " + entry.origin + ")"));
      continue;
    }
    Status st = CheckBounds(*spec, key, entry.value);
    if (!st.ok()) problems.push_back(st.Annotate(entry.origin));
  }
  ValidateGcp(entries, &problems);
  ValidateSsh(entries, &problems);
  ValidateAgents(entries, host, &problems);
  return problems;
}

Settings BuildSettings(const EntryMap& e) {
  Settings s;
  auto integer = [&](const char* key) { return Get(e, key)->integer(); };
  auto boolean = [&](const char* key) { return Get(e, key)->boolean(); };
  auto bytes = [&](const char* key) {
    auto v = ParseByteSize(Str(e, key));
    return v.ok() ? *v : 0;
  };
  s.provider = Str(e, "cloud.provider");
  s.gcp.project = Str(e, "cloud.gcp.project");
  s.gcp.zone = Str(e, "cloud.gcp.zone");
  s.gcp.service_account = Str(e, "cloud.gcp.service_account");
  s.gcp.network = Str(e, "cloud.gcp.network");
  s.gcp.subnet = Str(e, "cloud.gcp.subnet");
  s.gcp.allowed_roles = List(e, "cloud.gcp.allowed_roles");
  s.gcp.allow_key_files = boolean("cloud.gcp.allow_key_files");
  s.gcp.access_token_file = Str(e, "cloud.gcp.access_token_file");
  s.gcp.firewall_rule = Str(e, "cloud.gcp.firewall_rule");
  s.vm.name = Str(e, "vm.name");
  s.vm.size = Str(e, "vm.size");
  for (const char* size : {"small", "medium", "large", "xlarge"}) s.vm.sizes[size] = Str(e, std::string("vm.sizes.") + size);
  s.vm.machine_type = Str(e, "vm.machine_type");
  if (s.vm.machine_type.empty()) s.vm.machine_type = s.vm.sizes[s.vm.size];
  s.vm.disk_size_gb = integer("vm.disk_size_gb");
  s.vm.image = Str(e, "vm.image");
  s.vm.spot = boolean("vm.spot");
  s.vm.max_uptime_minutes = integer("vm.max_uptime_minutes");
  s.vm.tags = List(e, "vm.tags");
  s.ssh.user = Str(e, "ssh.user");
  s.ssh.port = integer("ssh.port");
  s.ssh.access = Str(e, "ssh.access");
  s.ssh.source_ranges = List(e, "ssh.source_ranges");
  s.agents.default_profile = Str(e, "agents.default_profile");
  s.agents.limits.cpus = Get(e, "agents.cpus")->number();
  s.agents.limits.memory_bytes = bytes("agents.memory");
  s.agents.limits.pids = integer("agents.pids");
  s.agents.network = Str(e, "agents.network");
  for (const auto& name : ProfileNames(e)) {
    std::string prefix = "agents.profiles." + name + ".";
    ProfileSettings p;
    p.name = name;
    p.command = Str(e, prefix + "command");
    p.resume_command = Str(e, prefix + "resume_command");
    if (p.resume_command.empty()) p.resume_command = p.command;
    if (const Value* env = Get(e, prefix + "env")) p.env = env->map();
    s.agents.profiles[name] = p;
  }
  s.secrets.secret_manager = List(e, "secrets.secret_manager");
  s.secrets.redact_env = List(e, "secrets.redact_env");
  s.audit.enabled = boolean("audit.enabled");
  s.audit.exec_capture = boolean("audit.exec_capture");
  s.audit.segment_max_bytes = bytes("audit.segment_max_bytes");
  s.audit.retention_segments = integer("audit.retention_segments");
  s.audit.transcript_max_bytes = bytes("audit.transcript_max_bytes");
  s.tui.refresh_interval_sec = integer("tui.refresh_interval_sec");
  s.tui.color = boolean("tui.color");
  return s;
}

}  // namespace cloudcoop
