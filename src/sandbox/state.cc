#include "sandbox/state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <random>

#include "core/files.h"
#include "core/strings.h"
#include "sandbox/layers.h"

namespace cloudcoop::sandbox::state {
namespace {

using nlohmann::json;

}  // namespace

std::string RunningDir(const std::string& state_dir) {
  return JoinPath(JoinPath(state_dir, "sandbox"), "running");
}

std::string RecordPath(const std::string& state_dir, const std::string& name) {
  return JoinPath(RunningDir(state_dir), name + ".json");
}

uint64_t ProcessStartTicks(pid_t pid) {
  auto text = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text.ok()) return 0;
  // The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
  size_t close = text->rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields = Split(std::string_view(*text).substr(close + 2), ' ', true);
  // fields[0] is field 3 (state); field 22 is fields[19].
  if (fields.size() < 20) return 0;
  auto v = ParseInt64(fields[19]);
  return v.has_value() ? static_cast<uint64_t>(*v) : 0;
}

bool SupervisorAlive(const RunningRecord& record) {
  if (record.supervisor_pid <= 0) return false;
  uint64_t start = ProcessStartTicks(record.supervisor_pid);
  return start != 0 && start == record.supervisor_start_ticks;
}

std::string ToJson(const RunningRecord& r) {
  json j;
  j["name"] = r.name;
  j["phase"] = r.phase;
  j["supervisor_pid"] = r.supervisor_pid;
  j["supervisor_start_ticks"] = r.supervisor_start_ticks;
  j["init_pid"] = r.init_pid;
  j["uid"] = r.uid;
  j["gid"] = r.gid;
  j["started_unix"] = r.started_unix;
  j["net"] = r.net;
  j["cgroup_version"] = r.cgroup_version;
  j["cgroup_paths"] = r.cgroup_paths;
  j["degraded"] = r.degraded;
  // The plan is already JSON text (PlanToJson): splice it in rather than parse and dump it again.
  std::string out = j.dump(2);
  out.pop_back();  // the closing brace
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  out += ",\n  \"plan\": " + (r.plan_json.empty() ? std::string("null") : r.plan_json) + "\n}\n";
  return out;
}

StatusOr<RunningRecord> FromJson(const std::string& text, bool with_plan) {
  json j;
  if (with_plan) {
    j = json::parse(text, nullptr, false);
  } else {
    // Without the plan, which is most of the text. ToJson writes it last, after a newline and the
    // two-space indent of a top-level key; a newline cannot occur inside a JSON string and nested
    // keys are indented deeper, so that spot is found exactly and the fields before it end the
    // object. Text of another shape is parsed whole, the plan skipped by the parser (never built).
    const std::string_view marker = ",\n  \"plan\": ";
    size_t at = text.find(marker);
    if (at != std::string::npos) j = json::parse(text.substr(0, at) + "\n}", nullptr, false);
    if (at == std::string::npos || j.is_discarded()) {
      json::parser_callback_t skip_plan = [](int depth, json::parse_event_t event, json& parsed) {
        return !(depth == 1 && event == json::parse_event_t::key && parsed == "plan");
      };
      j = json::parse(text, skip_plan, false);
    }
  }
  if (j.is_discarded() || !j.is_object()) {
    return DataLossError("sandbox record does not parse as JSON").WithFix("remove the damaged record");
  }
  RunningRecord r;
  r.name = j.value("name", "");
  r.phase = j.value("phase", "");
  r.supervisor_pid = j.value("supervisor_pid", 0);
  r.supervisor_start_ticks = j.value("supervisor_start_ticks", uint64_t{0});
  r.init_pid = j.value("init_pid", 0);
  r.uid = j.value("uid", 0u);
  r.gid = j.value("gid", 0u);
  r.started_unix = j.value("started_unix", int64_t{0});
  r.net = j.value("net", "");
  r.cgroup_version = j.value("cgroup_version", 0);
  if (j.contains("cgroup_paths") && j["cgroup_paths"].is_object()) {
    for (const auto& [k, v] : j["cgroup_paths"].items()) {
      if (v.is_string()) r.cgroup_paths[k] = v.get<std::string>();
    }
  }
  if (j.contains("degraded") && j["degraded"].is_array()) {
    for (const auto& d : j["degraded"]) {
      if (d.is_string()) r.degraded.push_back(d.get<std::string>());
    }
  }
  if (j.contains("plan") && j["plan"].is_object()) r.plan_json = j["plan"].dump();
  if (r.name.empty()) return DataLossError("sandbox record has no name").WithFix("remove the damaged record");
  return r;
}

StatusOr<UniqueFd> ClaimInParent(const std::string& state_dir, const RunningRecord& record) {
  std::string dir = RunningDir(state_dir);
  Status s = MakeDirs(dir, 0700);
  if (!s.ok()) {
    return LayerError(Layer::kState, s.code(), "create " + dir + ": " + s.message(),
                      "run as root, or set CLOUDCOOP_STATE_DIR to a writable directory");
  }
  std::string path = RecordPath(state_dir, record.name);
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid() && errno != EEXIST) {
    return LayerErrno(Layer::kState, "open", path, errno, "check the state directory's permissions");
  }
  if (!fd.valid()) {
    // Taken: by a live sandbox, or left by a killed supervisor. Serialise the takeover so two
    // launches of one name cannot both see "stale".
    std::string lock_path = JoinPath(dir, ".lock");
    UniqueFd lock(open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!lock.valid() || flock(lock.get(), LOCK_EX) != 0) {
      return LayerErrno(Layer::kState, "flock", lock_path, errno, "check the state directory's permissions");
    }
    auto old = Read(path);
    // A record that does not parse yet is being written by a start that has just claimed the name.
    struct stat st;
    bool fresh = stat(path.c_str(), &st) == 0 && time(nullptr) - st.st_mtime < 10;
    if ((old.ok() && SupervisorAlive(*old)) || (!old.ok() && fresh)) {
      std::string who =
          old.ok() ? " (supervisor pid " + std::to_string(old->supervisor_pid) + ")" : " (starting)";
      return LayerError(Layer::kState, StatusCode::kAlreadyExists,
                        "a sandbox named \"" + record.name + "\" is already running" + who,
                        "pick another --name, or stop the running one");
    }
    fd.Reset(open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return LayerErrno(Layer::kState, "open", path, errno, "check the state directory");
  }
  Status w = Update(fd.get(), record);
  if (!w.ok()) {
    unlink(path.c_str());
    return w;
  }
  return fd;
}

Status Update(int fd, const RunningRecord& record) {
  Status s = RewriteInPlace(fd, ToJson(record), "running record of " + record.name);
  if (!s.ok()) return LayerError(Layer::kState, s.code(), s.message(), "check disk space");
  return OkStatus();
}

void Remove(const std::string& state_dir, const std::string& name) {
  unlink(RecordPath(state_dir, name).c_str());
}

StatusOr<RunningRecord> Read(const std::string& path) {
  CC_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return FromJson(text);
}

StatusOr<RunningRecord> ReadBrief(const std::string& path) {
  CC_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return FromJson(text, /*with_plan=*/false);
}

StatusOr<std::vector<RunningRecord>> List(const std::string& state_dir) {
  std::vector<RunningRecord> out;
  std::string dir = RunningDir(state_dir);
  if (!IsDirectory(dir)) return out;
  CC_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  for (const auto& n : names) {
    if (!EndsWith(n, ".json")) continue;
    auto r = Read(JoinPath(dir, n));
    if (r.ok()) out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace cloudcoop::sandbox::state
