// Printing a SandboxPlan (`sandbox run --plan`) and its JSON form (running records, tests).
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/strings.h"
#include "policy/rules.h"
#include "sandbox/launcher.h"
#include "sandbox/plan.h"
#include "sandbox/seccomp.h"

namespace cloudcoop::sandbox {
namespace {

using nlohmann::json;

std::string EnvValueForDisplay(const std::string& name, const std::string& value, bool redact) {
  if (redact && !value.empty() &&
      (policy::LooksLikeSecretName(name) || policy::LooksLikeSecretValue(value))) {
    return "<redacted>";
  }
  return value;
}

std::string FormatCpus(double cpus) {
  std::ostringstream os;
  os << cpus;
  return os.str();
}

std::string FormatLimit(uint64_t v) { return v == ~0ULL ? "unlimited" : std::to_string(v); }

}  // namespace

std::string FormatPlanText(const SandboxPlan& plan) {
  std::ostringstream os;
  os << "sandbox plan \"" << plan.name << "\"\n";
  std::vector<std::string> words;
  for (const auto& a : plan.argv) words.push_back(ShellQuoteForDisplay(a));
  os << "  command    " << Join(words, " ") << "\n";
  os << "  cwd        " << plan.cwd << "\n";
  os << "  identity   user " << plan.user_name << ", ";
  if (plan.uid.has_value()) {
    os << "uid " << *plan.uid;
  } else {
    os << "uid allocated at start from " << plan.uid_base << "-" << (plan.uid_base + plan.uid_count - 1);
  }
  os << " (gid = uid, never 0), own user namespace mapping only that uid\n";
  os << "  home       " << plan.home
     << (plan.home_source.empty() ? " (private tmpfs)" : " <- " + plan.home_source) << "\n";
  os << "  hostname   " << plan.hostname << "\n";
  os << "  namespaces user, mount, pid, ipc, uts, cgroup" << (plan.net == NetMode::kHost ? "" : ", net")
     << "\n";
  os << "  network    " << NetModeName(plan.net);
  switch (plan.net) {
    case NetMode::kNone: os << " (own network namespace, loopback only)"; break;
    case NetMode::kEgress: os << " (own network namespace, filtered outbound internet)"; break;
    case NetMode::kHost: os << " (SHARES THE HOST'S NETWORK; asked for explicitly)"; break;
  }
  os << "\n";
  os << "  limits     cpus " << FormatCpus(plan.cpus) << ", memory " << FormatBytes(plan.memory_bytes)
     << " (memory+swap the same), pids " << plan.pids << "; cgroup " << plan.cgroup_parent << "/" << plan.name
     << (plan.cgroup_root.empty() ? "" : " under " + plan.cgroup_root) << "\n";
  os << "  rlimits   ";
  for (const auto& r : plan.rlimits)
    os << " " << r.name << " " << FormatLimit(r.soft) << "/" << FormatLimit(r.hard);
  os << "\n";
  os << "  mounts     new tmpfs root, read-only once built\n";
  for (const auto& b : plan.binds) {
    os << "    " << (b.writable ? "rw  " : "ro  ") << b.target;
    if (b.source != b.target) os << " <- " << b.source;
    os << (b.writable ? " (nosuid, nodev)" : "") << "\n";
  }
  if (!plan.home_source.empty())
    os << "    rw   " << plan.home << " <- " << plan.home_source << " (nosuid, nodev)\n";
  os << "    tmpfs /tmp and /dev/shm (" << FormatBytes(plan.tmp_size_bytes)
     << ", private), proc /proc (own pid "
     << "namespace), /dev: null zero full random urandom tty ptmx pts shm\n";
  for (const auto& s : plan.symlinks) os << "    link " << s.path << " -> " << s.target << "\n";
  for (const auto& m : plan.masked) os << "    mask " << m << " (empty, read-only)\n";
  os << "    gen  /etc/passwd /etc/group /etc/hostname /etc/hosts\n";
  for (const auto& p : plan.protected_paths) {
    os << "    protect " << p.path << " (" << PathKindName(p.kind) << ", read-only, ancestors pinned)\n";
  }
  os << "  landlock   read and execute everywhere, write only under " << Join(plan.WritablePaths(), ", ")
     << "; abstract unix sockets and signals scoped (highest ABI the kernel offers)\n";
  os << "  seccomp    allow by default, EPERM for: " << Join(DeniedSyscallSummary(), ", ")
     << "; clone3 -> ENOSYS; foreign or x32 ABI -> killed\n";
  os << "  caps       none (effective, permitted, inheritable, ambient, bounding); no_new_privs\n";
  os << "  environment\n";
  for (const auto& [k, v] : plan.env) os << "    " << k << "=" << EnvValueForDisplay(k, v, true) << "\n";
  os << "  degraded   ";
  if (plan.allow_degraded.empty()) {
    os << "none allowed: every layer must apply\n";
  } else {
    std::vector<std::string> names;
    for (Layer l : plan.allow_degraded) names.emplace_back(LayerName(l));
    os << "ALLOWED TO BE MISSING: " << Join(names, ", ") << " (--allow-degraded; printed and recorded)\n";
  }
  if (!plan.exit_status_file.empty()) os << "  exit file  " << plan.exit_status_file << "\n";
  if (!plan.audit_enabled) {
    os << "  audit      AUDIT LOG OFF (" << ExecCaptureOffReason(plan)
       << "): no lifecycle or exec records; printed as degraded, `check` fails\n";
  } else {
    os << "  audit      lifecycle records to " << plan.AuditDir() << " (segments of "
       << FormatBytes(plan.audit_segment_max_bytes) << ", "
       << (plan.audit_retention_segments > 0 ? "keep " + std::to_string(plan.audit_retention_segments)
                                             : std::string("keep all"))
       << "); "
       << (plan.exec_capture ? "every execve/execveat captured by the supervisor (seccomp user notification)"
                             : "EXEC CAPTURE OFF (" + ExecCaptureOffReason(plan) + "; recorded as degraded)")
       << "\n";
  }
  os << "  checklist  (in this order; every step fails closed and is read back)\n";
  int n = 1;
  for (const auto& step : Checklist()) {
    os << "    " << (n < 10 ? " " : "") << n << ". [" << step.where << "] " << LayerName(step.layer) << ": "
       << step.what << "\n";
    ++n;
  }
  return os.str();
}

std::string PlanToJson(const SandboxPlan& plan, bool redact) {
  json j;
  j["name"] = plan.name;
  j["hostname"] = plan.hostname;
  j["user_name"] = plan.user_name;
  if (plan.uid.has_value()) j["uid"] = *plan.uid;
  j["uid_base"] = plan.uid_base;
  j["uid_count"] = plan.uid_count;
  j["home"] = plan.home;
  j["home_source"] = plan.home_source;
  j["shell"] = plan.shell;
  j["argv"] = plan.argv;
  json env = json::object();
  for (const auto& [k, v] : plan.env) env[k] = EnvValueForDisplay(k, v, redact);
  j["env"] = env;
  j["cwd"] = plan.cwd;
  j["binds"] = json::array();
  for (const auto& b : plan.binds)
    j["binds"].push_back({{"source", b.source}, {"target", b.target}, {"writable", b.writable}});
  j["symlinks"] = json::array();
  for (const auto& s : plan.symlinks) j["symlinks"].push_back({{"path", s.path}, {"target", s.target}});
  j["masked"] = plan.masked;
  j["protected_paths"] = json::array();
  for (const auto& p : plan.protected_paths) {
    j["protected_paths"].push_back({{"path", p.path}, {"kind", PathKindName(p.kind)}});
  }
  j["tmp_size_bytes"] = plan.tmp_size_bytes;
  j["umask"] = plan.umask;
  j["net"] = NetModeName(plan.net);
  j["host_net_explicit"] = plan.host_net_explicit;
  j["cpus"] = plan.cpus;
  j["memory_bytes"] = plan.memory_bytes;
  j["pids"] = plan.pids;
  j["cgroup_parent"] = plan.cgroup_parent;
  j["cgroup_root"] = plan.cgroup_root;
  j["rlimits"] = json::array();
  for (const auto& r : plan.rlimits) {
    j["rlimits"].push_back({{"name", r.name}, {"resource", r.resource}, {"soft", r.soft}, {"hard", r.hard}});
  }
  j["allow_degraded"] = json::array();
  for (Layer l : plan.allow_degraded) j["allow_degraded"].push_back(LayerName(l));
  j["state_dir"] = plan.state_dir;
  j["exit_status_file"] = plan.exit_status_file;
  j["audit_dir"] = plan.AuditDir();
  j["exec_capture"] = plan.exec_capture;
  j["audit_enabled"] = plan.audit_enabled;
  j["audit_segment_max_bytes"] = plan.audit_segment_max_bytes;
  j["audit_retention_segments"] = plan.audit_retention_segments;
  j["writable_paths"] = plan.WritablePaths();
  j["checklist"] = json::array();
  for (const auto& step : Checklist()) {
    j["checklist"].push_back({{"where", step.where}, {"layer", LayerName(step.layer)}, {"what", step.what}});
  }
  return j.dump(2);
}

StatusOr<SandboxPlan> PlanFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return DataLossError("sandbox plan JSON does not parse").WithFix("remove the damaged record");
  }
  SandboxPlan plan;
  auto str = [&](const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
  };
  plan.name = str("name");
  plan.hostname = str("hostname");
  plan.user_name = str("user_name");
  if (j.contains("uid") && j["uid"].is_number_unsigned()) plan.uid = j["uid"].get<uint32_t>();
  plan.uid_base = j.value("uid_base", kDefaultUidBase);
  plan.uid_count = j.value("uid_count", kDefaultUidCount);
  plan.home = str("home");
  plan.home_source = str("home_source");
  plan.shell = str("shell");
  if (j.contains("argv") && j["argv"].is_array()) {
    for (const auto& a : j["argv"]) {
      if (a.is_string()) plan.argv.push_back(a.get<std::string>());
    }
  }
  if (j.contains("env") && j["env"].is_object()) {
    for (const auto& [k, v] : j["env"].items()) {
      if (v.is_string()) plan.env.emplace_back(k, v.get<std::string>());
    }
  }
  plan.cwd = str("cwd");
  if (j.contains("binds") && j["binds"].is_array()) {
    for (const auto& b : j["binds"]) {
      plan.binds.push_back({b.value("source", ""), b.value("target", ""), b.value("writable", false)});
    }
  }
  if (j.contains("symlinks") && j["symlinks"].is_array()) {
    for (const auto& s : j["symlinks"]) plan.symlinks.push_back({s.value("path", ""), s.value("target", "")});
  }
  if (j.contains("masked") && j["masked"].is_array()) {
    for (const auto& m : j["masked"]) {
      if (m.is_string()) plan.masked.push_back(m.get<std::string>());
    }
  }
  if (j.contains("protected_paths") && j["protected_paths"].is_array()) {
    for (const auto& p : j["protected_paths"]) {
      plan.protected_paths.push_back(
          {p.value("path", ""), p.value("kind", "file") == "dir" ? PathKind::kDir : PathKind::kFile});
    }
  }
  plan.tmp_size_bytes = j.value("tmp_size_bytes", uint64_t{0});
  plan.umask = j.value("umask", uint32_t{077});
  auto net = ParseNetMode(str("net"));
  if (!net.ok())
    return DataLossError("sandbox plan JSON has no valid network mode").WithFix("remove the damaged record");
  plan.net = *net;
  plan.host_net_explicit = j.value("host_net_explicit", false);
  plan.cpus = j.value("cpus", 0.0);
  plan.memory_bytes = j.value("memory_bytes", uint64_t{0});
  plan.pids = j.value("pids", int64_t{0});
  plan.cgroup_parent = str("cgroup_parent");
  plan.cgroup_root = str("cgroup_root");
  if (j.contains("rlimits") && j["rlimits"].is_array()) {
    for (const auto& r : j["rlimits"]) {
      plan.rlimits.push_back({r.value("name", ""), r.value("resource", 0), r.value("soft", uint64_t{0}),
                              r.value("hard", uint64_t{0})});
    }
  }
  if (j.contains("allow_degraded") && j["allow_degraded"].is_array()) {
    for (const auto& l : j["allow_degraded"]) {
      auto layer = l.is_string() ? ParseLayer(l.get<std::string>()) : std::nullopt;
      if (layer.has_value()) plan.allow_degraded.push_back(*layer);
    }
  }
  plan.state_dir = str("state_dir");
  plan.exit_status_file = str("exit_status_file");
  plan.audit_dir = str("audit_dir");
  plan.exec_capture = !j.contains("exec_capture") || !j["exec_capture"].is_boolean() || j["exec_capture"].get<bool>();
  // Records written before these fields existed: the defaults (a log was always opened).
  plan.audit_enabled = !j.contains("audit_enabled") || !j["audit_enabled"].is_boolean() || j["audit_enabled"].get<bool>();
  if (j.contains("audit_segment_max_bytes") && j["audit_segment_max_bytes"].is_number_unsigned()) {
    plan.audit_segment_max_bytes = j["audit_segment_max_bytes"].get<uint64_t>();
  }
  if (j.contains("audit_retention_segments") && j["audit_retention_segments"].is_number_integer()) {
    plan.audit_retention_segments = j["audit_retention_segments"].get<int64_t>();
  }
  return plan;
}

}  // namespace cloudcoop::sandbox
