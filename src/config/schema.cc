#include "config/schema.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/strings.h"

namespace cloudcoop {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kString: return "string";
    case ValueType::kInt: return "integer";
    case ValueType::kNumber: return "number";
    case ValueType::kBool: return "boolean";
    case ValueType::kEnum: return "enum";
    case ValueType::kByteSize: return "size";
    case ValueType::kStringList: return "list of strings";
    case ValueType::kStringMap: return "table of strings";
  }
  return "?";
}

// clang-format off
const std::vector<KeySpec>& Schema() {
  using T = ValueType;
  static const std::vector<KeySpec> schema = {
    // cloud
    {"cloud.provider", T::kEnum, "local", "where agents run: this machine (local) or a hardened GCE VM (gcp)", true, {}, {}, {"local", "gcp"}},
    {"cloud.gcp.project", T::kString, "", "GCP project id that holds the agent host VM"},
    {"cloud.gcp.zone", T::kString, "us-central1-a", "Compute Engine zone of the VM"},
    {"cloud.gcp.service_account", T::kString, "", "dedicated least-privilege service account the VM runs as (never the default compute SA)", true},
    {"cloud.gcp.network", T::kString, "cloudcoop-vpc", "VPC network of the VM (the `default` network is refused by check)", true},
    {"cloud.gcp.subnet", T::kString, "cloudcoop-subnet", "subnetwork of the VM", true},
    {"cloud.gcp.allowed_roles", T::kStringList, "roles/logging.logWriter,roles/monitoring.metricWriter", "project roles the VM service account may hold (only logWriter, metricWriter, artifactregistry.reader, secretmanager.secretAccessor)", true},
    {"cloud.gcp.allow_key_files", T::kBool, "false", "accept service-account key files as credentials (discouraged; `check` fails this item)", true},
    {"cloud.gcp.access_token_file", T::kString, "", "file holding an OAuth access token to use instead of ADC (like CLOUDSDK_AUTH_ACCESS_TOKEN_FILE)", true},
    {"cloud.gcp.firewall_rule", T::kString, "cloudcoop-allow-iap-ssh", "name of the firewall rule that lets SSH in only from IAP (35.235.240.0/20) to the VM's service account", true},
    // vm
    {"vm.name", T::kString, "cloudcoop-agents", "name of the agent host VM"},
    {"vm.size", T::kEnum, "small", "size preset used when vm.machine_type is empty", false, {}, {}, {"small", "medium", "large", "xlarge"}},
    {"vm.machine_type", T::kString, "", "explicit machine type; overrides vm.size"},
    {"vm.sizes.small", T::kString, "c4a-highcpu-4", "machine type of the small preset"},
    {"vm.sizes.medium", T::kString, "c4a-highcpu-8", "machine type of the medium preset"},
    {"vm.sizes.large", T::kString, "c4a-highcpu-16", "machine type of the large preset"},
    {"vm.sizes.xlarge", T::kString, "c4a-highcpu-32", "machine type of the xlarge preset"},
    {"vm.disk_size_gb", T::kInt, "50", "boot disk size in GB", false, 10, 65536},
    {"vm.image", T::kString, "projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-arm64", "boot image or image family"},
    {"vm.spot", T::kBool, "false", "use a Spot VM (stopped, not deleted, on preemption)"},
    {"vm.max_uptime_minutes", T::kInt, "0", "stop the VM after this many minutes of uptime (0: never)", false, 0, 525600},
    {"vm.tags", T::kStringList, "cloudcoop-agent-host", "network tags of the VM (the firewall rule targets them)", true},
    // ssh
    {"ssh.user", T::kString, "", "SSH user on the VM (empty: the OS Login user)"},
    {"ssh.port", T::kInt, "22", "SSH port on the VM", false, 1, 65535},
    {"ssh.access", T::kEnum, "iap", "how SSH reaches the VM: through IAP (no external IP) or directly", true, {}, {}, {"iap", "direct"}},
    {"ssh.source_ranges", T::kStringList, "", "CIDR ranges allowed to reach SSH when ssh.access = direct (never 0.0.0.0/0 or ::/0)", true},
    // agents
    {"agents.default_profile", T::kString, "shell", "profile used by `agent add` without --profile"},
    {"agents.cpus", T::kNumber, "2", "default CPU limit per agent, in CPUs", true, 0.01, 4096},
    {"agents.memory", T::kByteSize, "6G", "default memory limit per agent (no swap beyond it)", true, 16.0 * 1024 * 1024, 1e15},
    {"agents.pids", T::kInt, "1024", "default limit on processes and threads per agent", true, 8, 4194304},
    {"agents.network", T::kEnum, "egress", "default network mode: none (loopback only), egress (internet, no metadata server, host or private ranges) or host (shares the host network)", true, {}, {}, {"none", "egress", "host"}},
    {"agents.profiles.*.command", T::kString, "", "command the profile starts (split into words like a shell would, without expansion)"},
    {"agents.profiles.*.resume_command", T::kString, "", "command `agent restart` uses to resume the agent's previous session"},
    {"agents.profiles.*.env", T::kStringMap, "", "environment variables the profile sets inside the sandbox"},
    // secrets
    {"secrets.secret_manager", T::kStringList, "", "Secret Manager secret ids whose values agents may receive (never in instance metadata)", true},
    {"secrets.redact_env", T::kStringList, "ANTHROPIC_API_KEY,OPENAI_API_KEY,GEMINI_API_KEY,GOOGLE_API_KEY,GITHUB_TOKEN", "environment variables whose values are masked in transcripts and audit records", true},
    // audit
    {"audit.enabled", T::kBool, "true", "keep the tamper-evident audit log", true},
    {"audit.exec_capture", T::kBool, "true", "record every program an agent executes", true},
    {"audit.segment_max_bytes", T::kByteSize, "16M", "rotate an audit segment when it reaches this size", false, 4096, 1e12},
    {"audit.retention_segments", T::kInt, "0", "number of audit segments to keep (0: keep all)", true, 0, 1000000},
    {"audit.transcript_max_bytes", T::kByteSize, "32M", "cap of each agent's terminal transcript before rotation", false, 4096, 1e12},
    // tui
    {"tui.refresh_interval_sec", T::kInt, "1", "dashboard refresh interval in seconds", false, 1, 300},
    {"tui.color", T::kBool, "true", "use colour in the dashboard (NO_COLOR also turns it off)"},
  };
  return schema;
}

const std::vector<BuiltinProfile>& BuiltinProfiles() {
  static const std::vector<BuiltinProfile> profiles = {
    {"shell", "bash -l", "bash -l", "an interactive login shell"},
    {"claude", "claude --dangerously-skip-permissions", "claude --dangerously-skip-permissions --continue", "Claude Code without permission prompts (the sandbox is the boundary)"},
    {"codex", "codex --dangerously-bypass-approvals-and-sandbox", "codex resume --last --dangerously-bypass-approvals-and-sandbox", "OpenAI Codex CLI (its own sandbox is off: ours is the boundary)"},
    {"aider", "aider --yes-always", "aider --yes-always --restore-chat-history", "Aider, answering yes to every prompt"},
    {"gemini", "gemini --yolo", "gemini --yolo --resume latest", "Gemini CLI in yolo mode"},
  };
  return profiles;
}
// clang-format on

std::string Value::ToText() const {
  struct Visitor {
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      std::ostringstream os;
      os << d;
      return os.str();
    }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(const std::vector<std::string>& l) const { return Join(l, ","); }
    std::string operator()(const std::map<std::string, std::string>& m) const {
      std::vector<std::string> parts;
      for (const auto& [k, v] : m) parts.push_back(k + "=" + v);
      return Join(parts, ",");
    }
  };
  return std::visit(Visitor{}, v);
}

namespace {
// Segment-wise match without allocating: FindKeySpec runs for every key of every layer.
bool KeyMatches(std::string_view pattern, std::string_view key) {
  while (true) {
    size_t pd = pattern.find('.');
    size_t kd = key.find('.');
    std::string_view p = pattern.substr(0, pd);
    std::string_view k = key.substr(0, kd);
    if (k.empty() || (p != "*" && p != k)) return false;
    if (pd == std::string_view::npos || kd == std::string_view::npos) {
      return pd == std::string_view::npos && kd == std::string_view::npos;
    }
    pattern.remove_prefix(pd + 1);
    key.remove_prefix(kd + 1);
  }
}
}  // namespace

const KeySpec* FindKeySpec(std::string_view key) {
  for (const auto& spec : Schema()) {
    if (KeyMatches(spec.key, key)) return &spec;
  }
  return nullptr;
}

std::vector<std::string> ConcreteKeys() {
  std::vector<std::string> keys;
  for (const auto& spec : Schema()) {
    if (spec.key.find('*') == std::string_view::npos) keys.emplace_back(spec.key);
  }
  return keys;
}

std::string EnvVarForKey(std::string_view key) {
  std::string out = "CLOUDCOOP_";
  for (char c : key) out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

Status CheckBounds(const KeySpec& spec, std::string_view key, const Value& value) {
  auto out_of_range = [&](const std::string& shown) {
    std::ostringstream range;
    range << spec.min << " to " << spec.max;
    if (spec.type == ValueType::kByteSize) {
      range.str("");
      range << FormatBytes(static_cast<uint64_t>(spec.min)) << " to " << FormatBytes(static_cast<uint64_t>(std::min(spec.max, 1.8e19)));
    }
    return InvalidArgumentError(std::string(key) + " = " + shown + " is out of range")
        .WithFix("use a value from " + range.str());
  };
  switch (spec.type) {
    case ValueType::kInt: {
      double v = static_cast<double>(value.integer());
      if (v < spec.min || v > spec.max) return out_of_range(value.ToText());
      break;
    }
    case ValueType::kNumber: {
      double v = value.number();
      if (v < spec.min || v > spec.max) return out_of_range(value.ToText());
      break;
    }
    case ValueType::kByteSize: {
      CC_ASSIGN_OR_RETURN(uint64_t bytes, ParseByteSize(value.str()));
      double v = static_cast<double>(bytes);
      if (v < spec.min || v > spec.max) return out_of_range(value.str());
      break;
    }
    case ValueType::kEnum: {
      if (std::find(spec.choices.begin(), spec.choices.end(), value.str()) == spec.choices.end()) {
        std::vector<std::string> choices(spec.choices.begin(), spec.choices.end());
        std::string suggestion = ClosestMatch(value.str(), choices);
        Status st = InvalidArgumentError(std::string(key) + " = \"" + value.str() + "\" is not one of " +
                                         Join(choices, ", "));
        return std::move(st).WithFix(suggestion.empty() ? "use one of " + Join(choices, ", ")
                                                        : "did you mean \"" + suggestion + "\"?");
      }
      break;
    }
    default: break;
  }
  return OkStatus();
}

StatusOr<Value> ParseValueText(const KeySpec& spec, std::string_view key, std::string_view raw) {
  std::string_view text = Trim(raw);
  auto bad = [&](std::string_view expected) {
    return InvalidArgumentError(std::string(key) + " = \"" + std::string(raw) + "\" is not " +
                                std::string(expected))
        .WithFix("see `cloudcoop config show` for the key's type and default");
  };
  Value value;
  switch (spec.type) {
    case ValueType::kString:
      value.v = std::string(text);
      break;
    case ValueType::kEnum:
      value.v = std::string(text);
      break;
    case ValueType::kInt: {
      auto v = ParseInt64(text);
      if (!v) return bad("an integer");
      value.v = *v;
      break;
    }
    case ValueType::kNumber: {
      auto v = ParseDouble(text);
      if (!v) return bad("a number");
      value.v = *v;
      break;
    }
    case ValueType::kBool: {
      std::string lower = ToLower(text);
      if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") {
        value.v = true;
      } else if (lower == "false" || lower == "0" || lower == "no" || lower == "off") {
        value.v = false;
      } else {
        return bad("a boolean (true or false)");
      }
      break;
    }
    case ValueType::kByteSize: {
      auto bytes = ParseByteSize(text);
      if (!bytes.ok()) return bad("a size such as 512M or 6G");
      value.v = std::string(text);
      break;
    }
    case ValueType::kStringList: {
      std::vector<std::string> items;
      for (const auto& part : Split(text, ',', true)) items.emplace_back(Trim(part));
      value.v = items;
      break;
    }
    case ValueType::kStringMap: {
      std::map<std::string, std::string> items;
      for (const auto& part : Split(text, ',', true)) {
        size_t eq = part.find('=');
        if (eq == std::string::npos || eq == 0) return bad("a list of KEY=VALUE pairs");
        items[std::string(Trim(part.substr(0, eq)))] = std::string(Trim(part.substr(eq + 1)));
      }
      value.v = items;
      break;
    }
  }
  CC_RETURN_IF_ERROR(CheckBounds(spec, key, value));
  return value;
}

}  // namespace cloudcoop
