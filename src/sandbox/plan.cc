#include "sandbox/plan.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>

#include "core/files.h"
#include "core/strings.h"

namespace cloudcoop::sandbox {
namespace {

constexpr uint64_t kMinMemory = 16ULL << 20;
constexpr int64_t kMinPids = 8;
constexpr uint64_t kMaxNofile = 1ULL << 20;
constexpr uint64_t kMaxMemlock = 64ULL << 20;

// Files and directories under the read-only system roots that hold host secrets: password hashes,
// SSH host private keys, TLS private keys, VPN and Kerberos keys, cloud credentials.
const std::vector<std::string>& SecretCandidates() {
  static const std::vector<std::string> paths = {
      "/etc/shadow",          "/etc/shadow-",          "/etc/gshadow",
      "/etc/gshadow-",        "/etc/security/opasswd", "/etc/ssl/private",
      "/etc/krb5.keytab",     "/etc/ipsec.secrets",    "/etc/ppp/chap-secrets",
      "/etc/ppp/pap-secrets", "/etc/wireguard",        "/etc/NetworkManager/system-connections",
      "/etc/docker/key.json", "/etc/boto.cfg",         "/etc/gcloud",
      "/etc/cloudcoop",       "/etc/sudoers",          "/etc/sudoers.d",
  };
  return paths;
}

bool IsUnder(std::string_view path, std::string_view dir) {
  if (dir == "/") return StartsWith(path, "/");
  return path == dir || (StartsWith(path, dir) && path.size() > dir.size() && path[dir.size()] == '/');
}

// Lexical normalisation of an absolute path: collapses "//", "." and trailing slashes. ".." is
// refused by the caller rather than resolved.
std::string CleanPath(std::string_view path) {
  std::vector<std::string> parts = Split(path, '/', /*skip_empty=*/true);
  std::vector<std::string> kept;
  for (auto& p : parts) {
    if (p != ".") kept.push_back(std::move(p));
  }
  return "/" + Join(kept, "/");
}

Status CheckAbsolute(const std::string& path, std::string_view what) {
  if (path.empty() || path[0] != '/') {
    return InvalidArgumentError(std::string(what) + " \"" + path + "\" is not an absolute path")
        .WithFix("give " + std::string(what) + " as an absolute path, e.g. /srv/work");
  }
  for (const auto& part : Split(path, '/', true)) {
    if (part == "..") {
      return InvalidArgumentError(std::string(what) + " \"" + path + "\" contains \"..\"")
          .WithFix("give " + std::string(what) + " without \"..\" components");
    }
  }
  if (path.find('\0') != std::string::npos || path.find('\n') != std::string::npos) {
    return InvalidArgumentError(std::string(what) + " contains a NUL or newline character")
        .WithFix("rename the directory");
  }
  return OkStatus();
}

StatusOr<std::string> ExistingDir(const std::string& path, std::string_view what) {
  CC_RETURN_IF_ERROR(CheckAbsolute(path, what));
  std::string clean = CleanPath(path);
  struct stat st;
  if (lstat(clean.c_str(), &st) != 0) {
    return ErrnoError(errno, std::string(what) + " " + clean)
        .WithFix("create the directory first, or pass an existing one");
  }
  if (S_ISLNK(st.st_mode)) {
    return InvalidArgumentError(std::string(what) + " " + clean + " is a symbolic link")
        .WithFix("pass the directory the link points to");
  }
  if (!S_ISDIR(st.st_mode)) {
    return InvalidArgumentError(std::string(what) + " " + clean + " is not a directory")
        .WithFix("pass a directory");
  }
  if (clean == "/") {
    return InvalidArgumentError(std::string(what) + " must not be the host's root directory")
        .WithFix("pass a project directory");
  }
  return clean;
}

bool ValidEnvName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

void SetEnv(std::vector<std::pair<std::string, std::string>>& env, const std::string& key,
            std::string value) {
  for (auto& [k, v] : env) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  env.emplace_back(key, std::move(value));
}

std::pair<uint64_t, uint64_t> HostRlimit(const HostLayout& host, int resource) {
  auto it = host.rlimits.find(resource);
  if (it != host.rlimits.end()) return it->second;
  return {RLIM_INFINITY, RLIM_INFINITY};
}

std::vector<RlimitSpec> DefaultRlimits(const HostLayout& host, int64_t pids) {
  std::vector<RlimitSpec> out;
  // Never above the current hard limit: raising it needs CAP_SYS_RESOURCE, which a host may lack.
  uint64_t nofile = std::min(HostRlimit(host, RLIMIT_NOFILE).second, kMaxNofile);
  out.push_back({"NOFILE", RLIMIT_NOFILE, nofile, nofile});
  // A backstop behind the pids cgroup (which stays the limit that trips first, so its events
  // count): twice the pids limit.
  uint64_t nproc = std::min<uint64_t>(HostRlimit(host, RLIMIT_NPROC).second, 2 * static_cast<uint64_t>(pids));
  out.push_back({"NPROC", RLIMIT_NPROC, nproc, nproc});
  uint64_t memlock = std::min(HostRlimit(host, RLIMIT_MEMLOCK).second, kMaxMemlock);
  out.push_back({"MEMLOCK", RLIMIT_MEMLOCK, memlock, memlock});
  out.push_back({"CORE", RLIMIT_CORE, 0, 0});
  return out;
}

// Parents before children, so every mount point exists when its bind is attached.
void SortBinds(std::vector<Bind>& binds) {
  std::stable_sort(binds.begin(), binds.end(), [](const Bind& a, const Bind& b) {
    size_t da = std::count(a.target.begin(), a.target.end(), '/');
    size_t db = std::count(b.target.begin(), b.target.end(), '/');
    if (da != db) return da < db;
    return a.target < b.target;
  });
}

}  // namespace

std::string_view NetModeName(NetMode mode) {
  switch (mode) {
    case NetMode::kNone: return "none";
    case NetMode::kEgress: return "egress";
    case NetMode::kHost: return "host";
  }
  return "?";
}

StatusOr<NetMode> ParseNetMode(std::string_view text) {
  if (text == "none") return NetMode::kNone;
  if (text == "egress") return NetMode::kEgress;
  if (text == "host") return NetMode::kHost;
  return InvalidArgumentError("unknown network mode \"" + std::string(text) + "\"")
      .WithFix("use one of none, egress, host");
}

std::string_view PathKindName(PathKind kind) { return kind == PathKind::kDir ? "dir" : "file"; }

std::string SandboxPlan::AuditDir() const {
  return audit_dir.empty() ? state_dir + "/audit" : audit_dir;
}

bool SandboxPlan::MayDegrade(Layer layer) const {
  return std::find(allow_degraded.begin(), allow_degraded.end(), layer) != allow_degraded.end();
}

std::vector<std::string> SandboxPlan::WritablePaths() const {
  std::vector<std::string> out = {"/tmp", "/dev/shm", home};
  for (const auto& b : binds) {
    if (b.writable && std::find(out.begin(), out.end(), b.target) == out.end()) out.push_back(b.target);
  }
  return out;
}

HostLayout HostLayout::Read() {
  HostLayout host;
  struct stat st;
  for (const char* dir : {"/usr", "/etc", "/opt"}) {
    if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode)) host.system_dirs.emplace_back(dir);
  }
  for (const char* name : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    if (lstat(name, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char buf[PATH_MAX];
      ssize_t n = readlink(name, buf, sizeof buf - 1);
      if (n > 0) host.root_symlinks.push_back({name, std::string(buf, static_cast<size_t>(n))});
    } else if (S_ISDIR(st.st_mode)) {
      host.system_dirs.emplace_back(name);
    }
  }
  for (const auto& path : SecretCandidates()) {
    if (lstat(path.c_str(), &st) == 0) host.secrets.push_back(path);
  }
  auto keys = ListDir("/etc/ssh");
  if (keys.ok()) {
    for (const auto& name : *keys) {
      if (StartsWith(name, "ssh_host_") && EndsWith(name, "_key")) host.secrets.push_back("/etc/ssh/" + name);
    }
  }
  for (int r : {RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_MEMLOCK, RLIMIT_CORE}) {
    struct rlimit lim;
    if (getrlimit(r, &lim) == 0) host.rlimits[r] = {lim.rlim_cur, lim.rlim_max};
  }
  if (access("/bin/bash", X_OK) == 0) host.shell = "/bin/bash";
  return host;
}

const std::vector<std::string>& PassthroughEnv() {
  static const std::vector<std::string> names = {"TERM",     "COLORTERM",   "LANG", "LANGUAGE", "LC_ALL",
                                                 "LC_CTYPE", "LC_MESSAGES", "TZ",   "NO_COLOR"};
  return names;
}

std::vector<ProtectedPath> DefaultProtectedPaths(const std::string& workspace) {
  std::vector<ProtectedPath> out;
  std::string git = JoinPath(workspace, ".git");
  struct stat st;
  if (lstat(git.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    out.push_back({git + "/hooks", PathKind::kDir});
    out.push_back({git + "/config", PathKind::kFile});
  } else if (lstat(git.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    // A worktree: ".git" is "gitdir: <common>/worktrees/<name>"; hooks and config live in the
    // common directory ("commondir" inside the worktree's gitdir, relative to it).
    auto text = ReadFile(git);
    if (text.ok() && StartsWith(*text, "gitdir: ")) {
      std::string gitdir(Trim(std::string_view(*text).substr(8)));
      if (!gitdir.empty() && gitdir[0] != '/') gitdir = JoinPath(workspace, gitdir);
      gitdir = CleanPath(gitdir);
      std::string common = gitdir;
      auto rel = ReadFile(JoinPath(gitdir, "commondir"));
      if (rel.ok()) {
        std::string c(Trim(*rel));
        common = c.empty() || c[0] == '/' ? c : JoinPath(gitdir, c);
        // Resolve "<gitdir>/../.." lexically.
        std::vector<std::string> kept;
        for (auto& part : Split(common, '/', true)) {
          if (part == "..") {
            if (!kept.empty()) kept.pop_back();
          } else if (part != ".") {
            kept.push_back(part);
          }
        }
        common = "/" + Join(kept, "/");
      }
      out.push_back({common + "/hooks", PathKind::kDir});
      out.push_back({common + "/config", PathKind::kFile});
      out.push_back({gitdir + "/config.worktree", PathKind::kFile});
    }
  }
  for (const auto& [rel, kind] : std::vector<std::pair<std::string, PathKind>>{
           {".claude/settings.json", PathKind::kFile},
           {".claude/commands", PathKind::kDir},
           {".mcp.json", PathKind::kFile},
           {".codex", PathKind::kDir},
           {".vscode", PathKind::kDir},
           {".bashrc", PathKind::kFile},
           {".gitconfig", PathKind::kFile},
       }) {
    out.push_back({JoinPath(workspace, rel), kind});
  }
  return out;
}

Status CheckSandboxName(std::string_view name, std::string_view what) {
  bool ok = !name.empty() && name.size() <= 63 && name.front() != '-' && name.back() != '-';
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) ok = false;
  }
  if (!ok) {
    return InvalidArgumentError(std::string(what) + " \"" + std::string(name) +
                                "\" is not a valid name (lower-case letters, digits and '-', at most 63 "
                                "characters, not starting or ending with '-')")
        .WithFix("choose a name like agent-1");
  }
  return OkStatus();
}

StatusOr<SandboxPlan> BuildPlan(const AgentSettings& defaults, const PlanRequest& req,
                                const HostLayout& host) {
  SandboxPlan plan;
  plan.name = req.name.empty() ? "sandbox-" + std::to_string(getpid()) : req.name;
  plan.hostname = req.hostname.empty() ? plan.name : req.hostname;
  plan.user_name = req.user_name.empty() ? "agent" : req.user_name;
  plan.uid = req.uid;
  plan.home = "/home/" + plan.user_name;
  plan.shell = host.shell;
  plan.argv = req.argv;
  if (req.umask.has_value()) plan.umask = *req.umask;
  plan.state_dir = req.state_dir;
  plan.exit_status_file = req.exit_status_file;
  plan.audit_dir = req.audit_dir;
  plan.audit_enabled = req.audit.enabled;
  plan.exec_capture = req.exec_capture && req.audit.exec_capture && req.audit.enabled;
  plan.audit_segment_max_bytes = req.audit.segment_max_bytes;
  plan.audit_retention_segments = req.audit.retention_segments;
  plan.cgroup_root = req.cgroup_root;
  if (!req.cgroup_parent.empty()) plan.cgroup_parent = req.cgroup_parent;

  // Network: the configured default unless asked; `host` only when asked for explicitly.
  if (req.net.has_value()) {
    plan.net = *req.net;
  } else {
    CC_ASSIGN_OR_RETURN(plan.net, ParseNetMode(defaults.network.empty() ? "egress" : defaults.network));
  }
  plan.host_net_explicit = plan.net == NetMode::kHost && req.net.has_value() && req.net_explicit;

  plan.cpus = req.cpus.value_or(defaults.limits.cpus);
  plan.memory_bytes = req.memory_bytes.value_or(defaults.limits.memory_bytes);
  plan.pids = req.pids.value_or(defaults.limits.pids);
  plan.tmp_size_bytes = plan.memory_bytes;

  // Filesystem: the host's system directories read-only, then the workspace and home.
  for (const auto& dir : host.system_dirs) plan.binds.push_back({dir, dir, false});
  plan.symlinks = host.root_symlinks;
  std::string workspace_target;
  if (!req.workspace.empty()) {
    CC_ASSIGN_OR_RETURN(std::string ws, ExistingDir(req.workspace, "workspace"));
    workspace_target = req.workspace_target.empty() ? ws : CleanPath(req.workspace_target);
    CC_RETURN_IF_ERROR(CheckAbsolute(workspace_target, "workspace target"));
    plan.binds.push_back({ws, workspace_target, true});
  }
  if (!req.home.empty()) {
    CC_ASSIGN_OR_RETURN(plan.home_source, ExistingDir(req.home, "home"));
  }
  for (const auto& b : req.extra_binds) {
    CC_ASSIGN_OR_RETURN(std::string src,
                        ExistingDir(b.source, b.writable ? "read-write bind" : "read-only bind"));
    CC_RETURN_IF_ERROR(CheckAbsolute(b.target, "bind target"));
    plan.binds.push_back({src, CleanPath(b.target), b.writable});
  }
  SortBinds(plan.binds);
  plan.cwd = workspace_target.empty() ? plan.home : workspace_target;

  // Secrets under a bound system directory are hidden; so is the state directory if a bind
  // would expose it.
  for (const auto& secret : host.secrets) {
    for (const auto& b : plan.binds) {
      if (!b.writable && b.source == b.target && IsUnder(secret, b.source)) {
        plan.masked.push_back(secret);
        break;
      }
    }
  }
  if (!plan.state_dir.empty()) {
    std::string state = CleanPath(plan.state_dir);
    for (const auto& b : plan.binds) {
      if (state == b.source || IsUnder(b.source, state)) continue;  // an agent's own dir under it
      if (IsUnder(state, b.source)) {
        plan.masked.push_back(b.target + state.substr(b.source.size()));
      }
    }
  }

  // Protected paths: only those under a writable bind (anything else is read-only or invisible).
  std::vector<ProtectedPath> wanted = req.protected_paths;
  if (req.protect_default_paths && !workspace_target.empty()) {
    for (auto& p : DefaultProtectedPaths(req.workspace)) wanted.push_back(std::move(p));
  }
  for (auto& p : wanted) {
    CC_RETURN_IF_ERROR(CheckAbsolute(p.path, "protected path"));
    p.path = CleanPath(p.path);
    bool under_writable = false;
    for (const auto& b : plan.binds) {
      if (b.writable && IsUnder(p.path, b.target) && p.path != b.target) under_writable = true;
    }
    bool seen = std::any_of(plan.protected_paths.begin(), plan.protected_paths.end(),
                            [&](const ProtectedPath& q) { return q.path == p.path; });
    if (under_writable && !seen) plan.protected_paths.push_back(p);
  }
  std::sort(plan.protected_paths.begin(), plan.protected_paths.end(),
            [](const ProtectedPath& a, const ProtectedPath& b) { return a.path < b.path; });

  // Environment: a fresh one. Nothing of the caller's leaks in except the terminal and locale.
  SetEnv(plan.env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  SetEnv(plan.env, "HOME", plan.home);
  SetEnv(plan.env, "USER", plan.user_name);
  SetEnv(plan.env, "LOGNAME", plan.user_name);
  SetEnv(plan.env, "SHELL", plan.shell);
  for (const auto& name : PassthroughEnv()) {
    auto it = req.caller_env.find(name);
    if (it != req.caller_env.end()) SetEnv(plan.env, name, it->second);
  }
  for (const auto& kv : req.env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || !ValidEnvName(kv.substr(0, eq))) {
      return InvalidArgumentError("--env \"" + kv + "\" is not NAME=VALUE with a valid variable name")
          .WithFix("write it as --env NAME=value, e.g. --env DEBUG=1");
    }
    SetEnv(plan.env, kv.substr(0, eq), kv.substr(eq + 1));
  }
  std::sort(plan.env.begin(), plan.env.end());

  plan.rlimits = DefaultRlimits(host, plan.pids);
  for (const auto& name : req.allow_degraded) {
    auto layer = ParseLayer(name);
    if (!layer.has_value() || !LayerMayDegrade(*layer)) {
      return InvalidArgumentError("--allow-degraded " + name + ": not a layer that may be degraded")
          .WithFix("use one of: " + Join(DegradableLayerNames(), ", ") +
                   " (identity, capabilities, no_new_privs, seccomp and the namespaces are never optional)");
    }
    if (!plan.MayDegrade(*layer)) plan.allow_degraded.push_back(*layer);
  }
  CC_RETURN_IF_ERROR(ValidatePlan(plan));
  return plan;
}

std::string ExecCaptureOffReason(const SandboxPlan& plan) {
  if (!plan.audit_enabled) return "audit.enabled = false";
  if (!plan.exec_capture) return "--no-exec-capture or audit.exec_capture = false";
  return "";
}

namespace {
constexpr uint64_t kMinAuditSegment = 4096;
constexpr uint64_t kMaxAuditSegment = 1000000000000ULL;
constexpr int64_t kMaxAuditRetention = 1000000;
}  // namespace

Status ValidatePlan(const SandboxPlan& plan) {
  CC_RETURN_IF_ERROR(CheckSandboxName(plan.name, "sandbox name"));
  CC_RETURN_IF_ERROR(CheckSandboxName(plan.hostname, "hostname"));
  CC_RETURN_IF_ERROR(CheckSandboxName(plan.user_name, "user name"));
  CC_RETURN_IF_ERROR(CheckSandboxName(plan.cgroup_parent, "cgroup parent"));
  if (plan.argv.empty() || plan.argv[0].empty()) {
    return InvalidArgumentError("no command to run in the sandbox")
        .WithFix("put the command after --: -- CMD ARGS...");
  }
  if (plan.uid.has_value() && (*plan.uid < 1000 || *plan.uid == 65534 || *plan.uid == UINT32_MAX)) {
    return InvalidArgumentError("uid " + std::to_string(*plan.uid) + " may not be a sandbox's identity")
        .WithFix("use an unprivileged uid of 1000 or more (not 65534), or let the sandbox allocate one");
  }
  if (plan.uid_count == 0 || plan.uid_base < 1000 ||
      static_cast<uint64_t>(plan.uid_base) + plan.uid_count > 0x7fffffffULL) {
    return InvalidArgumentError("the sandbox uid range is invalid")
        .WithFix("use a range of unprivileged uids below 2^31");
  }
  if (!(plan.cpus > 0) || plan.cpus > 4096 || !std::isfinite(plan.cpus)) {
    return InvalidArgumentError("cpu limit " + std::to_string(plan.cpus) + " is out of range")
        .WithFix("pass --cpus between 0.01 and the number of CPUs, e.g. --cpus 1.5");
  }
  if (plan.memory_bytes < kMinMemory) {
    return InvalidArgumentError("memory limit " + FormatBytes(plan.memory_bytes) +
                                " is below the minimum of 16M")
        .WithFix("pass --memory 16M or more, e.g. --memory 2G");
  }
  if (plan.pids < kMinPids) {
    return InvalidArgumentError("pids limit " + std::to_string(plan.pids) + " is below the minimum of 8")
        .WithFix("pass --pids 8 or more, e.g. --pids 512");
  }
  if (plan.net == NetMode::kHost && !plan.host_net_explicit) {
    return InvalidArgumentError(
               "network mode host (from the configuration) shares the host's network and is "
               "allowed only when asked for explicitly")
        .WithFix("pass --net host on the command line, or use --net none");
  }
  for (const auto& b : plan.binds) {
    CC_RETURN_IF_ERROR(CheckAbsolute(b.source, "bind source"));
    CC_RETURN_IF_ERROR(CheckAbsolute(b.target, "bind target"));
    if (b.target == "/" || b.target == "/tmp" || IsUnder(b.target, "/proc") || IsUnder(b.target, "/dev")) {
      return InvalidArgumentError("bind target " + b.target + " would cover the root, /tmp, /proc or /dev")
          .WithFix("choose another target (a directory under /tmp is fine)");
    }
  }
  CC_RETURN_IF_ERROR(CheckAbsolute(plan.home, "home"));
  CC_RETURN_IF_ERROR(CheckAbsolute(plan.cwd, "working directory"));
  if ((plan.umask & ~0777u) != 0 || (plan.umask & 007u) != 007u) {
    return InvalidArgumentError("umask " + std::to_string(plan.umask) +
                                " would let others read or write the sandbox's files")
        .WithFix("use a umask that masks every permission of others (077 or 027)");
  }
  for (const auto& p : plan.protected_paths) CC_RETURN_IF_ERROR(CheckAbsolute(p.path, "protected path"));
  for (const auto& [k, v] : plan.env) {
    if (!ValidEnvName(k) || v.find('\0') != std::string::npos) {
      return InvalidArgumentError("environment variable \"" + k + "\" is not valid")
          .WithFix("use NAME=value");
    }
  }
  if (plan.state_dir.empty()) {
    return InvalidArgumentError("the sandbox has no state directory").WithFix("set CLOUDCOOP_STATE_DIR");
  }
  for (const auto& r : plan.rlimits) {
    if (r.soft > r.hard) {
      return InvalidArgumentError("rlimit " + r.name + " soft limit is above its hard limit")
          .WithFix("lower the soft limit");
    }
  }
  // The audit log's settings: the same bounds as the configuration's schema (config/schema.cc).
  if (plan.audit_segment_max_bytes < kMinAuditSegment || plan.audit_segment_max_bytes > kMaxAuditSegment) {
    return InvalidArgumentError("audit segment size " + std::to_string(plan.audit_segment_max_bytes) +
                                " bytes is out of range (4K to 1T)")
        .WithFix("set audit.segment_max_bytes between 4K and 1T, e.g. cloudcoop config set audit.segment_max_bytes 16M");
  }
  if (plan.audit_retention_segments < 0 || plan.audit_retention_segments > kMaxAuditRetention) {
    return InvalidArgumentError("audit retention of " + std::to_string(plan.audit_retention_segments) +
                                " segments is out of range (0 to 1000000)")
        .WithFix("set audit.retention_segments between 0 (keep all) and 1000000");
  }
  if (plan.exec_capture && !plan.audit_enabled) {
    return InvalidArgumentError("the plan captures execs but has no audit log to record them in (audit disabled)")
        .WithFix("set audit.enabled = true, or run with --no-exec-capture");
  }
  return OkStatus();
}

}  // namespace cloudcoop::sandbox
