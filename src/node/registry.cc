#include "node/registry.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/logging.h"
#include "core/strings.h"
#include "node/names.h"

namespace cloudcoop::node {

using nlohmann::json;

std::string_view AdminStateName(AdminState s) {
  switch (s) {
    case AdminState::kCreating: return "creating";
    case AdminState::kRunning: return "running";
    case AdminState::kKilled: return "killed";
  }
  return "unknown";
}

namespace {

std::optional<AdminState> ParseAdminState(const std::string& s) {
  if (s == "creating") return AdminState::kCreating;
  if (s == "running") return AdminState::kRunning;
  if (s == "killed") return AdminState::kKilled;
  return std::nullopt;
}

std::string Time(SystemTime t) { return FormatRfc3339(t); }

SystemTime ParseTime(const json& j, const char* key) {
  SystemTime t{};
  if (j.contains(key) && j[key].is_string()) ParseRfc3339(j[key].get<std::string>(), &t);
  return t;
}

}  // namespace

std::string RecordToJson(const AgentRecord& r) {
  json j = {
      {"version", r.version},
      {"name", r.name},
      {"profile", r.profile},
      {"argv", r.argv},
      {"resume_argv", r.resume_argv},
      {"env", r.env},
      {"workspace", r.workspace},
      {"workspace_created", r.workspace_created},
      {"home", r.home},
      {"uid", r.uid},
      {"gid", r.gid},
      {"operator_uid", r.operator_uid},
      {"operator_gid", r.operator_gid},
      {"limits", {{"cpus", r.limits.cpus}, {"memory_bytes", r.limits.memory_bytes}, {"pids", r.limits.pids}}},
      {"network", r.network},
      {"unsandboxed", r.unsandboxed},
      {"state", AdminStateName(r.state)},
      {"generation", r.generation},
      {"resume", r.resume},
      {"created_at", Time(r.created_at)},
      {"started_at", Time(r.started_at)},
      {"creator_pid", r.creator_pid},
      {"supervisor_binary", r.supervisor_binary},
      {"state_dir", r.state_dir},
  };
  if (r.repo) {
    j["repo"] = {{"path", r.repo->path},
                 {"branch", r.repo->branch},
                 {"handoff_ref", r.repo->handoff_ref},
                 {"base_commit", r.repo->base_commit}};
  }
  if (r.killed_at) {
    j["killed_at"] = Time(*r.killed_at);
    j["killed_by"] = r.killed_by;
  }
  return j.dump(2) + "\n";
}

StatusOr<AgentRecord> RecordFromJson(const std::string& text, const std::string& origin, const UidRange& range) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto corrupt = [&](const std::string& why) {
    return DataLossError("agent record " + origin + " is corrupt: " + why)
        .WithFix("remove the agent with `cloudcoop agent rm NAME`, or restore the file from a backup");
  };
  if (j.is_discarded() || !j.is_object()) return corrupt("not a JSON object");
  try {
    AgentRecord r;
    r.version = j.at("version").get<int>();
    if (r.version != 1) return corrupt("unknown version " + std::to_string(r.version));
    r.name = j.at("name").get<std::string>();
    if (!ValidateAgentName(r.name).ok()) return corrupt("bad agent name");
    r.profile = j.at("profile").get<std::string>();
    r.argv = j.at("argv").get<std::vector<std::string>>();
    r.resume_argv = j.at("resume_argv").get<std::vector<std::string>>();
    r.env = j.at("env").get<std::map<std::string, std::string>>();
    r.workspace = j.at("workspace").get<std::string>();
    r.workspace_created = j.value("workspace_created", false);
    r.home = j.at("home").get<std::string>();
    r.uid = j.at("uid").get<uint32_t>();
    r.gid = j.at("gid").get<uint32_t>();
    r.operator_uid = j.at("operator_uid").get<uint32_t>();
    r.operator_gid = j.at("operator_gid").get<uint32_t>();
    const json& l = j.at("limits");
    r.limits.cpus = l.at("cpus").get<double>();
    r.limits.memory_bytes = l.at("memory_bytes").get<uint64_t>();
    r.limits.pids = l.at("pids").get<int64_t>();
    r.network = j.at("network").get<std::string>();
    r.unsandboxed = j.value("unsandboxed", false);
    auto state = ParseAdminState(j.at("state").get<std::string>());
    if (!state) return corrupt("unknown state");
    r.state = *state;
    r.generation = j.at("generation").get<int64_t>();
    r.resume = j.value("resume", false);
    r.created_at = ParseTime(j, "created_at");
    r.started_at = ParseTime(j, "started_at");
    r.creator_pid = j.value("creator_pid", 0);
    r.supervisor_binary = j.value("supervisor_binary", "");
    r.state_dir = j.value("state_dir", "");
    if (j.contains("repo")) {
      const json& g = j["repo"];
      r.repo = RepoInfo{g.at("path").get<std::string>(), g.at("branch").get<std::string>(),
                        g.at("handoff_ref").get<std::string>(), g.at("base_commit").get<std::string>()};
    }
    if (j.contains("killed_at")) {
      r.killed_at = ParseTime(j, "killed_at");
      r.killed_by = j.value("killed_by", "");
    }
    if (r.argv.empty()) return corrupt("empty argv");
    if (!range.Contains(r.uid) || !range.Contains(r.gid)) return corrupt("uid outside this host's agent range");
    return r;
  } catch (const json::exception& e) {
    return corrupt(e.what());
  }
}

std::string StatusToJson(const AgentStatus& s) {
  json j = {{"generation", s.generation},
            {"supervisor_pid", s.supervisor_pid},
            {"agent_pid", s.agent_pid},
            {"started_at", Time(s.started_at)}};
  if (s.exited_at) j["exited_at"] = Time(*s.exited_at);
  if (s.exit_code) j["exit_code"] = *s.exit_code;
  if (s.signal) j["signal"] = *s.signal;
  if (!s.error.empty()) j["error"] = s.error;
  return j.dump() + "\n";
}

StatusOr<AgentStatus> StatusFromJson(const std::string& text, const std::string& origin) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return DataLossError("status file " + origin + " is corrupt");
  try {
    AgentStatus s;
    s.generation = j.at("generation").get<int64_t>();
    s.supervisor_pid = j.value("supervisor_pid", 0);
    s.agent_pid = j.value("agent_pid", 0);
    s.started_at = ParseTime(j, "started_at");
    if (j.contains("exited_at")) s.exited_at = ParseTime(j, "exited_at");
    if (j.contains("exit_code")) s.exit_code = j["exit_code"].get<int>();
    if (j.contains("signal")) s.signal = j["signal"].get<int>();
    s.error = j.value("error", "");
    return s;
  } catch (const json::exception& e) {
    return DataLossError("status file " + origin + " is corrupt: " + e.what());
  }
}

Status ReplaceFile(const std::string& path, std::string_view data, mode_t mode) {
  static thread_local uint64_t counter = 0;
  std::string tmp = Dirname(path) + "/." + Basename(path) + ".tmp." + std::to_string(getpid()) + "." + std::to_string(++counter);
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return ErrnoError(errno, "create temporary file " + tmp);
  Status st;
  if (fchmod(fd.get(), mode) != 0) st = ErrnoError(errno, "chmod " + tmp);
  if (st.ok()) st = WriteAll(fd.get(), data, tmp);
  if (st.ok() && close(fd.Release()) != 0) st = ErrnoError(errno, "close " + tmp);
  if (st.ok() && rename(tmp.c_str(), path.c_str()) != 0) st = ErrnoError(errno, "rename " + tmp + " to " + path);
  if (!st.ok()) unlink(tmp.c_str());
  return st;
}

StatusOr<RegistryLock> Registry::Lock() const {
  UniqueFd fd(open(layout_.lock_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) {
    return ErrnoError(errno, "open the registry lock " + layout_.lock_file())
        .WithFix("check that the state directory " + layout_.root() + " is writable");
  }
  while (flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return ErrnoError(errno, "lock the registry " + layout_.lock_file());
  }
  return RegistryLock(std::move(fd));
}

StatusOr<std::optional<RegistryLock>> Registry::TryLockFor(Duration wait) const {
  UniqueFd fd(open(layout_.lock_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return ErrnoError(errno, "open the registry lock " + layout_.lock_file());
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return std::optional<RegistryLock>(RegistryLock(std::move(fd)));
    if (errno != EWOULDBLOCK && errno != EINTR) return ErrnoError(errno, "lock the registry " + layout_.lock_file());
    if (std::chrono::steady_clock::now() >= deadline) return std::optional<RegistryLock>();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool Registry::Exists(const std::string& name) const { return PathExists(layout_.record_file(name)); }

StatusOr<AgentRecord> Registry::Get(const std::string& name) const {
  CC_RETURN_IF_ERROR(ValidateAgentName(name));
  auto text = ReadFile(layout_.record_file(name));
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return NotFoundError("there is no agent named \"" + name + "\" on this host")
          .WithFix("run `cloudcoop agent list` to see the agents");
    }
    return text.status();
  }
  return RecordFromJson(*text, layout_.record_file(name), uids_);
}

std::vector<AgentRecord> Registry::List(std::vector<Status>* problems) const {
  std::vector<AgentRecord> out;
  auto names = ListDir(layout_.agents_dir());
  if (!names.ok()) {
    if (names.status().code() != StatusCode::kNotFound && problems) problems->push_back(names.status());
    return out;
  }
  for (const auto& name : *names) {
    if (!ValidateAgentName(name).ok()) continue;  // temp files, strays
    auto text = ReadFile(layout_.record_file(name));
    if (!text.ok()) {
      if (text.status().code() != StatusCode::kNotFound && problems) problems->push_back(text.status());
      continue;
    }
    auto rec = RecordFromJson(*text, layout_.record_file(name), uids_);
    if (!rec.ok()) {
      if (problems) problems->push_back(rec.status());
      continue;
    }
    out.push_back(std::move(*rec));
  }
  return out;
}

Status Registry::Put(const AgentRecord& record) const {
  CC_RETURN_IF_ERROR(ValidateAgentName(record.name));
  std::string dir = layout_.agent_dir(record.name);
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError(errno, "create " + dir);
  return ReplaceFile(layout_.record_file(record.name), RecordToJson(record), 0600);
}

Status Registry::Delete(const std::string& name) const {
  CC_RETURN_IF_ERROR(ValidateAgentName(name));
  return RemoveTree(layout_.agent_dir(name));
}

std::optional<AgentStatus> Registry::GetStatus(const std::string& name) const {
  auto text = ReadFile(layout_.status_file(name));
  if (!text.ok()) return std::nullopt;
  auto s = StatusFromJson(*text, layout_.status_file(name));
  if (!s.ok()) return std::nullopt;
  return *s;
}

Status Registry::PutStatus(const std::string& name, const AgentStatus& status) const {
  return ReplaceFile(layout_.status_file(name), StatusToJson(status), 0600);
}

Status Registry::ClearStatus(const std::string& name) const {
  if (unlink(layout_.status_file(name).c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "remove " + layout_.status_file(name));
  }
  return OkStatus();
}

Registry::Registry(StateLayout layout) : layout_(std::move(layout)) {
  auto r = LoadUidRange(layout_, false);
  if (r.ok()) uids_ = *r;
}

StatusOr<UidRange> LoadUidRange(const StateLayout& layout, bool create) {
  UidRange range;
  auto text = ReadFile(layout.uid_range_file());
  if (text.ok()) {
    auto parts = Split(Trim(*text), ' ', true);
    std::optional<int64_t> b = parts.size() == 2 ? ParseInt64(parts[0]) : std::nullopt;
    std::optional<int64_t> c = parts.size() == 2 ? ParseInt64(parts[1]) : std::nullopt;
    if (!b || !c || *b < 65536 || *c < 1 || *b + *c > 2147483647LL) {
      return DataLossError(layout.uid_range_file() + " is corrupt (want \"BASE COUNT\")")
          .WithFix("write the range the agents of this host use, e.g. \"1900000000 100000000\"");
    }
    range.base = static_cast<uint32_t>(*b);
    range.count = static_cast<uint32_t>(*c);
    return range;
  }
  if (!create) return range;
  if (const char* env = std::getenv("CLOUDCOOP_AGENT_UID_BASE"); env != nullptr && *env != '\0') {
    auto b = ParseInt64(env);
    if (!b || *b < 65536 || *b + kCustomAgentUidCount > 2147483647LL) {
      return InvalidArgumentError(std::string("CLOUDCOOP_AGENT_UID_BASE=") + env + " is not an uid between 65536 and " +
                                  std::to_string(2147483647LL - kCustomAgentUidCount))
          .WithFix("unset it (the default range is 1900000000 + 100000000)");
    }
    range.base = static_cast<uint32_t>(*b);
    range.count = kCustomAgentUidCount;
    if (const char* c = std::getenv("CLOUDCOOP_AGENT_UID_COUNT"); c != nullptr && *c != '\0') {
      auto n = ParseInt64(c);
      if (!n || *n < 1 || *n > kCustomAgentUidCount) {
        return InvalidArgumentError(std::string("CLOUDCOOP_AGENT_UID_COUNT=") + c + " is not between 1 and " +
                                    std::to_string(kCustomAgentUidCount))
            .WithFix("unset it");
      }
      range.count = static_cast<uint32_t>(*n);
    }
  }
  CC_RETURN_IF_ERROR(WriteFileAtomic(layout.uid_range_file(),
                                     std::to_string(range.base) + " " + std::to_string(range.count) + "\n", 0600));
  return range;
}

StatusOr<uint32_t> Registry::AllocateUid() const {
  // Called under the registry lock. The counter file is the authority: uids are handed out in
  // order and never again. Only when it is missing or unreadable (a new state directory, or damage)
  // are the homes and workspaces scanned for agent uids in use (one lstat per agent: with 100
  // agents that scan was a third of `agent add`'s reservation), so a lost counter never hands
  // out a uid twice.
  uint64_t next = uids_.base;
  const uint64_t end = uint64_t{uids_.base} + uids_.count;
  bool trusted = false;
  if (auto text = ReadFile(layout_.next_uid_file()); text.ok()) {
    auto v = ParseInt64(Trim(*text));
    if (v && *v >= uids_.base && *v <= static_cast<int64_t>(end)) {
      next = static_cast<uint64_t>(*v);
      trusted = true;
    } else {
      CC_LOG_WARN("%s does not hold a uid of the agent range; recounting from the homes and workspaces",
                  layout_.next_uid_file().c_str());
    }
  }
  if (!trusted) {
    for (const std::string& dir : {layout_.homes_dir(), layout_.workspaces_dir()}) {
      auto names = ListDir(dir);
      if (!names.ok()) continue;
      for (const auto& n : *names) {
        struct stat st;
        if (lstat((dir + "/" + n).c_str(), &st) == 0 && uids_.Contains(st.st_uid) && st.st_uid >= next) {
          next = st.st_uid + 1ULL;
        }
      }
    }
  }
  // Skip uids that belong to real accounts.
  while (next < end && getpwuid(static_cast<uid_t>(next)) != nullptr) ++next;
  if (next >= end) {
    return ResourceExhaustedError("no agent uids left in the range " + std::to_string(uids_.base) + "+" +
                                  std::to_string(uids_.count))
        .WithFix("remove old agents' workspaces and start a new state directory");
  }
  // Rewritten in place, not replaced by a rename: on ext4 a rename over an existing file starts
  // writeback of the new one (auto_da_alloc), up to a millisecond here. A write torn by a crash
  // leaves a counter that does not parse, which the scan above recovers from.
  std::string text = std::to_string(next + 1) + "\n";
  UniqueFd fd(open(layout_.next_uid_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return ErrnoError(errno, "open " + layout_.next_uid_file());
  Status w = RewriteInPlace(fd.get(), text, layout_.next_uid_file());
  if (!w.ok()) return std::move(w).WithFix("check free space in " + layout_.root());
  return static_cast<uint32_t>(next);
}

void Registry::Sync() const {
  UniqueFd fd(open(layout_.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) syncfs(fd.get());
}

std::optional<Lockout> Registry::GetLockout() const {
  auto text = ReadFile(layout_.lockout_file());
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return std::nullopt;
    // Unreadable lock-out: fail closed, treat it as locked.
    return Lockout{SystemTime{}, "the lock-out file exists but cannot be read: " + text.status().message(), {}};
  }
  Lockout l;
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    l.reason = "the lock-out file is present (unparseable)";
    return l;
  }
  l.at = ParseTime(j, "at");
  l.reason = j.value("reason", "");
  if (j.contains("agents") && j["agents"].is_array()) {
    for (const auto& a : j["agents"]) {
      if (a.is_string()) l.agents.push_back(a.get<std::string>());
    }
  }
  return l;
}

Status Registry::PutLockout(const Lockout& lockout) const {
  json j = {{"at", Time(lockout.at)}, {"reason", lockout.reason}, {"agents", lockout.agents}};
  return WriteFileAtomic(layout_.lockout_file(), j.dump(2) + "\n", 0600);
}

Status Registry::ClearLockout() const {
  if (unlink(layout_.lockout_file().c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "remove the lock-out " + layout_.lockout_file());
  }
  return OkStatus();
}

}  // namespace cloudcoop::node
