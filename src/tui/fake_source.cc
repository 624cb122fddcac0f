// Fixture format (JSON; every key optional):
//   {"host": {"kind": "local", "name": "devbox",
//             "vm": {"name": "cc-dev", "state": "RUNNING", "zone": "...", "machine_type": "...", "cost_per_hour": 0.06}},
//    "lockout": {"reason": "..."},
//    "profiles": ["claude", "codex"], "defaults": {"profile": "claude", "cpus": "2", "memory": "6G", "pids": "1024",
//                                                   "network": "none"},
//    "agents": [{"name": "alpha", "profile": "claude", "state": "running", "state_detail": "", "uptime_sec": 3723,
//                "cpu_seconds": 12.5, "cpu_rate": 0.25, "memory_bytes": 1048576, "pids": 12, "network": "none",
//                "last_line": "...", "command": "claude", "workspace": "/w/alpha", "branch": "", "cpu_limit": 2,
//                "memory_limit": 6442450944, "pids_limit": 1024, "clients": 0, "unsandboxed": false}],
//    "generate": {"count": 100, "prefix": "agent"},
//    "transcripts": {"alpha": ["line", ...]}, "transcript_lines": 50,
//    "audit": {"alpha": [{"at_sec": 0, "kind": "exec", "detail": "/usr/bin/git status"}]},
//    "audit_available": true, "audit_missing_why": "...",
//    "attach_argv": ["/bin/cat"],
//    "op_delay_ms": 300, "snapshot_delay_ms": 0,
//    "fail": {"add": "message"},
//    "action_log": "/tmp/x/actions.log"}
#include "tui/fake_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/files.h"
#include "core/strings.h"

namespace cloudcoop::tui {
namespace {

Status ValidName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 32 && name[0] >= 'a' && name[0] <= 'z' && name.back() != '-' &&
            name.find("--") == std::string::npos;
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (ok) return OkStatus();
  return InvalidArgumentError("agent name " + ShellQuoteForDisplay(name) + " is not valid")
      .WithFix("use 1-32 lowercase letters, digits and single hyphens, starting with a letter");
}

}  // namespace

FakeHostSource::FakeHostSource(Clock& clock) : clock_(clock), start_mono_(clock.Monotonic()) {
  host_.kind = "local";
  host_.name = "fakehost";
  defaults_.profiles = {"claude", "codex", "shell"};
  defaults_.profile = "claude";
  defaults_.cpus = "2";
  defaults_.memory = "6.0G";
  defaults_.pids = "1024";
  defaults_.network = "none";
  caps_.transcript_title = "transcript";  // as the real host's (the agent's transcript file)
}

StatusOr<std::unique_ptr<FakeHostSource>> FakeHostSource::FromFixture(const std::string& path, Clock& clock) {
  CC_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto fake = FromFixtureText(text, clock);
  if (!fake.ok()) return fake.status().Annotate("dashboard test fixture " + path);
  return fake;
}

StatusOr<std::unique_ptr<FakeHostSource>> FakeHostSource::FromFixtureText(const std::string& text, Clock& clock) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError("the fixture is not a JSON object").WithFix("see the format at the top of src/tui/fake_source.cc");
  }
  try {
    return ParseFixture(j, clock);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("the fixture has a value of the wrong type: ") + e.what())
        .WithFix("see the format at the top of src/tui/fake_source.cc");
  }
}

StatusOr<std::unique_ptr<FakeHostSource>> FakeHostSource::ParseFixture(const nlohmann::json& j, Clock& clock) {
  for (const char* list : {"agents", "profiles", "attach_argv"}) {
    if (j.contains(list) && !j[list].is_array()) {
      return InvalidArgumentError(std::string("the fixture's \"") + list + "\" is not a list")
          .WithFix("see the format at the top of src/tui/fake_source.cc");
    }
  }
  for (const char* map : {"host", "defaults", "generate", "transcripts", "audit", "fail", "lockout"}) {
    if (j.contains(map) && !j[map].is_object()) {
      return InvalidArgumentError(std::string("the fixture's \"") + map + "\" is not an object")
          .WithFix("see the format at the top of src/tui/fake_source.cc");
    }
  }
  auto fake = std::make_unique<FakeHostSource>(clock);
  auto str = [](const nlohmann::json& o, const char* k, std::string d = {}) {
    return o.contains(k) && o[k].is_string() ? o[k].get<std::string>() : d;
  };
  auto num = [](const nlohmann::json& o, const char* k, double d = 0) {
    return o.contains(k) && o[k].is_number() ? o[k].get<double>() : d;
  };
  if (j.contains("host")) {
    const auto& h = j["host"];
    HostHeader host;
    host.kind = str(h, "kind", "local");
    host.name = str(h, "name", "fakehost");
    if (h.contains("vm")) {
      const auto& v = h["vm"];
      VmInfo vm{str(v, "name"), str(v, "state"), str(v, "zone"), str(v, "machine_type"), std::nullopt};
      if (v.contains("cost_per_hour")) vm.cost_per_hour = num(v, "cost_per_hour");
      host.vm = vm;
    }
    fake->host_ = host;
  }
  if (j.contains("lockout")) fake->host_.lockout = Lockout{clock.Now(), str(j["lockout"], "reason")};
  if (j.contains("profiles")) fake->defaults_.profiles = j["profiles"].get<std::vector<std::string>>();
  if (j.contains("defaults")) {
    const auto& d = j["defaults"];
    fake->defaults_.profile = str(d, "profile", fake->defaults_.profile);
    fake->defaults_.cpus = str(d, "cpus", fake->defaults_.cpus);
    fake->defaults_.memory = str(d, "memory", fake->defaults_.memory);
    fake->defaults_.pids = str(d, "pids", fake->defaults_.pids);
    fake->defaults_.network = str(d, "network", fake->defaults_.network);
  }
  if (j.contains("agents")) {
    for (const auto& a : j["agents"]) {
      FakeAgent fa;
      AgentRow& r = fa.row;
      r.name = str(a, "name");
      r.profile = str(a, "profile", "claude");
      r.state = str(a, "state", "running");
      r.state_detail = str(a, "state_detail");
      r.uptime = std::chrono::seconds(static_cast<int64_t>(num(a, "uptime_sec")));
      if (a.contains("cpu_seconds")) r.cpu_seconds = num(a, "cpu_seconds");
      if (a.contains("memory_bytes")) r.memory_bytes = static_cast<uint64_t>(num(a, "memory_bytes"));
      if (a.contains("pids")) r.pids = static_cast<int64_t>(num(a, "pids"));
      r.network = str(a, "network", "none");
      r.last_line = str(a, "last_line");
      r.command = str(a, "command", r.profile);
      r.workspace = str(a, "workspace", "/var/lib/cloudcoop/workspaces/" + r.name);
      r.branch = str(a, "branch");
      r.cpu_limit = num(a, "cpu_limit", 2);
      r.memory_limit = static_cast<uint64_t>(num(a, "memory_limit", 6.0 * (1ULL << 30)));
      r.pids_limit = static_cast<int64_t>(num(a, "pids_limit", 1024));
      r.clients = static_cast<int>(num(a, "clients"));
      r.unsandboxed = a.contains("unsandboxed") && a["unsandboxed"].is_boolean() && a["unsandboxed"].get<bool>();
      fa.cpu_rate = num(a, "cpu_rate");
      fake->agents_.push_back(fa);
    }
  }
  if (j.contains("generate")) {
    fake->Generate(static_cast<int>(num(j["generate"], "count")), str(j["generate"], "prefix", "agent"));
  }
  int synth = static_cast<int>(num(j, "transcript_lines"));
  for (const auto& a : fake->agents_) {
    std::vector<std::string> lines;
    for (int i = 1; i <= synth; ++i) lines.push_back(a.row.name + " output line " + std::to_string(i));
    if (synth > 0) fake->transcripts_[a.row.name] = lines;
  }
  if (j.contains("transcripts")) {
    for (auto& [name, lines] : j["transcripts"].items()) fake->transcripts_[name] = lines.get<std::vector<std::string>>();
  }
  if (j.contains("audit")) {
    for (auto& [name, records] : j["audit"].items()) {
      std::vector<AuditRecord> out;
      for (const auto& r : records) {
        out.push_back(AuditRecord{SystemTime{} + std::chrono::seconds(static_cast<int64_t>(num(r, "at_sec"))),
                                  str(r, "kind", "exec"), str(r, "detail")});
      }
      fake->audit_[name] = out;
    }
  }
  if (j.contains("audit_available") && j["audit_available"].is_boolean()) fake->caps_.audit = j["audit_available"].get<bool>();
  fake->caps_.audit_missing_why = str(j, "audit_missing_why", "this host has no audit log");
  if (j.contains("attach_argv")) fake->attach_argv_ = j["attach_argv"].get<std::vector<std::string>>();
  fake->op_delay_ = std::chrono::milliseconds(static_cast<int64_t>(num(j, "op_delay_ms")));
  fake->snapshot_delay_ = std::chrono::milliseconds(static_cast<int64_t>(num(j, "snapshot_delay_ms")));
  if (j.contains("fail")) {
    for (auto& [op, message] : j["fail"].items()) {
      fake->failures_[op] = FailedPreconditionError(message.get<std::string>()).WithFix("the fixture says so");
    }
  }
  fake->action_log_ = str(j, "action_log");
  return fake;
}

void FakeHostSource::Generate(int n, const std::string& prefix) {
  static const char* profiles[] = {"claude", "codex", "aider", "shell"};
  static const char* states[] = {"running", "running", "running", "exited", "running", "killed", "running"};
  static const char* nets[] = {"none", "egress", "none", "host"};
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 1; i <= n; ++i) {
    FakeAgent fa;
    AgentRow& r = fa.row;
    char name[64];
    std::snprintf(name, sizeof name, "%s-%03d", prefix.c_str(), i);
    r.name = name;
    r.profile = profiles[i % 4];
    r.state = states[i % 7];
    if (r.state == "exited") r.state_detail = "status " + std::to_string(i % 3);
    if (r.state == "killed") r.state_detail = "by kill";
    r.uptime = std::chrono::seconds(60 * i + 7);
    if (r.state == "running") {
      r.cpu_seconds = 3.0 * i;
      r.memory_bytes = static_cast<uint64_t>(i) * 37 * (1ULL << 20);
      r.pids = 3 + i % 20;
      fa.cpu_rate = (i % 8) * 0.11;  // never a .5 tie when rounded to a whole percent
    }
    r.network = nets[i % 4];
    r.last_line = "step " + std::to_string(i) + ": editing src/module" + std::to_string(i) + ".cc";
    r.command = r.profile;
    r.workspace = "/var/lib/cloudcoop/workspaces/" + r.name;
    r.cpu_limit = 2;
    r.memory_limit = 6ULL << 30;
    r.pids_limit = 1024;
    agents_.push_back(fa);
  }
}

void FakeHostSource::AddAgent(FakeAgent agent) {
  std::lock_guard<std::mutex> lock(mu_);
  agents_.push_back(std::move(agent));
}

void FakeHostSource::SetHost(HostHeader host) {
  std::lock_guard<std::mutex> lock(mu_);
  host_ = std::move(host);
}

void FakeHostSource::SetCapabilities(Capabilities caps) {
  std::lock_guard<std::mutex> lock(mu_);
  caps_ = std::move(caps);
}

void FakeHostSource::SetDefaults(FormDefaults defaults) {
  std::lock_guard<std::mutex> lock(mu_);
  defaults_ = std::move(defaults);
}

void FakeHostSource::SetTranscript(const std::string& agent, std::vector<std::string> lines) {
  std::lock_guard<std::mutex> lock(mu_);
  transcripts_[agent] = std::move(lines);
}

void FakeHostSource::SetAudit(const std::string& agent, std::vector<AuditRecord> records) {
  std::lock_guard<std::mutex> lock(mu_);
  audit_[agent] = std::move(records);
}

void FakeHostSource::SetAttachArgv(std::vector<std::string> argv) {
  std::lock_guard<std::mutex> lock(mu_);
  attach_argv_ = std::move(argv);
}

void FakeHostSource::FailNext(const std::string& op, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_[op] = std::move(status);
}

std::vector<std::string> FakeHostSource::actions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return actions_;
}

int FakeHostSource::snapshots() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshots_;
}

Status FakeHostSource::TakeFailure(const std::string& op) {
  auto it = failures_.find(op);
  if (it == failures_.end()) return OkStatus();
  Status st = it->second;
  failures_.erase(it);
  return st;
}

void FakeHostSource::Record(const std::string& action) {
  actions_.push_back(action);
  if (action_log_.empty()) return;
  int fd = open(action_log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  std::string line = action + "\n";
  (void)WriteAll(fd, line, "fake action log");
  close(fd);
}

FakeAgent* FakeHostSource::Find(const std::string& name) {
  for (auto& a : agents_) {
    if (a.row.name == name) return &a;
  }
  return nullptr;
}

Capabilities FakeHostSource::capabilities() const {
  std::lock_guard<std::mutex> lock(mu_);
  return caps_;
}

FormDefaults FakeHostSource::form_defaults() const {
  std::lock_guard<std::mutex> lock(mu_);
  return defaults_;
}

StatusOr<Snapshot> FakeHostSource::GetSnapshot() {
  if (snapshot_delay_.count() > 0) std::this_thread::sleep_for(snapshot_delay_);
  std::lock_guard<std::mutex> lock(mu_);
  ++snapshots_;
  CC_RETURN_IF_ERROR(TakeFailure("snapshot"));
  Snapshot s;
  s.host = host_;
  s.taken_at = clock_.Now();
  s.taken_mono = clock_.Monotonic();
  double elapsed = std::chrono::duration<double>(s.taken_mono - start_mono_).count();
  for (const auto& a : agents_) {
    AgentRow r = a.row;
    if (r.cpu_seconds && r.state == "running") *r.cpu_seconds += a.cpu_rate * elapsed;
    s.agents.push_back(r);
  }
  std::sort(s.agents.begin(), s.agents.end(), [](const AgentRow& x, const AgentRow& y) { return x.name < y.name; });
  return s;
}

StatusOr<std::vector<std::string>> FakeHostSource::Transcript(const std::string& agent, int max_lines) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Find(agent) == nullptr) return NotFoundError("no agent named " + agent).WithFix("cloudcoop agent list");
  std::vector<std::string> lines = transcripts_[agent];
  if (static_cast<int>(lines.size()) > max_lines) lines.erase(lines.begin(), lines.end() - max_lines);
  return lines;
}

StatusOr<std::vector<AuditRecord>> FakeHostSource::AuditRecords(const std::string& agent, int max_records) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!caps_.audit) return UnimplementedError(caps_.audit_missing_why);
  if (Find(agent) == nullptr) return NotFoundError("no agent named " + agent).WithFix("cloudcoop agent list");
  std::vector<AuditRecord> r = audit_[agent];
  if (static_cast<int>(r.size()) > max_records) r.erase(r.begin(), r.end() - max_records);
  return r;
}

StatusOr<std::string> FakeHostSource::Add(const AddForm& form) {
  if (op_delay_.count() > 0) std::this_thread::sleep_for(op_delay_);
  std::lock_guard<std::mutex> lock(mu_);
  Record("add " + form.name + " profile=" + form.profile + " repo=" + form.repo + " workspace=" + form.workspace +
         " cpus=" + form.cpus + " memory=" + form.memory + " pids=" + form.pids + " network=" + form.network +
         (form.unsandboxed ? " UNSANDBOXED" : ""));
  CC_RETURN_IF_ERROR(TakeFailure("add"));
  if (host_.lockout) {
    return FailedPreconditionError("agent add " + form.name + ": the host is locked after a panic")
        .WithFix("rotate credentials, then run `cloudcoop unlock --rotated`");
  }
  CC_RETURN_IF_ERROR(ValidName(form.name));
  if (Find(form.name) != nullptr) {
    return AlreadyExistsError("an agent named " + form.name + " already exists").WithFix("pick another name, or remove it first");
  }
  std::string profile = form.profile.empty() ? defaults_.profile : form.profile;
  if (std::find(defaults_.profiles.begin(), defaults_.profiles.end(), profile) == defaults_.profiles.end()) {
    return InvalidArgumentError("profile " + ShellQuoteForDisplay(profile) + " is not configured")
        .WithFix("use one of: " + Join(defaults_.profiles, ", "));
  }
  std::string net = form.network.empty() ? defaults_.network : form.network;
  if (net != "none" && net != "egress" && net != "host") {
    return InvalidArgumentError("network " + ShellQuoteForDisplay(net) + " is not one of none, egress, host").WithFix("pick one with Left/Right");
  }
  if (!form.repo.empty() && !form.workspace.empty()) {
    return InvalidArgumentError("give a repository or a workspace, not both").WithFix("clear one of the two fields");
  }
  FakeAgent fa;
  fa.row.name = form.name;
  fa.row.profile = profile;
  fa.row.state = "running";
  fa.row.cpu_seconds = 0;
  fa.row.memory_bytes = 16ULL << 20;
  fa.row.pids = 2;
  fa.row.network = net;
  fa.row.command = profile;
  fa.row.workspace = form.workspace.empty() ? "/var/lib/cloudcoop/workspaces/" + form.name : form.workspace;
  fa.row.branch = form.repo.empty() ? "" : (form.branch.empty() ? "cloudcoop/" + form.name : form.branch);
  fa.row.cpu_limit = 2;
  fa.row.memory_limit = 6ULL << 30;
  fa.row.pids_limit = 1024;
  fa.row.last_line = "started";
  fa.row.unsandboxed = form.unsandboxed;
  agents_.push_back(fa);
  return "agent " + form.name + " started (profile " + profile + ", network " + net + ")";
}

StatusOr<std::string> FakeHostSource::Kill(const std::string& agent) {
  if (op_delay_.count() > 0) std::this_thread::sleep_for(op_delay_);
  std::lock_guard<std::mutex> lock(mu_);
  Record("kill " + agent);
  CC_RETURN_IF_ERROR(TakeFailure("kill"));
  FakeAgent* a = Find(agent);
  if (a == nullptr) return NotFoundError("no agent named " + agent).WithFix("cloudcoop agent list");
  a->row.state = "killed";
  a->row.state_detail = "by kill";
  a->row.cpu_seconds.reset();
  a->row.memory_bytes.reset();
  a->row.pids.reset();
  return "killed " + agent + ": 2 processes ended after SIGTERM";
}

StatusOr<std::string> FakeHostSource::Restart(const std::string& agent) {
  if (op_delay_.count() > 0) std::this_thread::sleep_for(op_delay_);
  std::lock_guard<std::mutex> lock(mu_);
  Record("restart " + agent);
  CC_RETURN_IF_ERROR(TakeFailure("restart"));
  if (host_.lockout) {
    return FailedPreconditionError("agent restart " + agent + ": the host is locked after a panic")
        .WithFix("rotate credentials, then run `cloudcoop unlock --rotated`");
  }
  FakeAgent* a = Find(agent);
  if (a == nullptr) return NotFoundError("no agent named " + agent).WithFix("cloudcoop agent list");
  a->row.state = "running";
  a->row.state_detail.clear();
  a->row.uptime = Duration(0);
  a->row.cpu_seconds = 0;
  a->row.memory_bytes = 16ULL << 20;
  a->row.pids = 2;
  return "restarted " + agent;
}

StatusOr<std::string> FakeHostSource::Panic(const std::string& reason) {
  if (op_delay_.count() > 0) std::this_thread::sleep_for(op_delay_);
  std::lock_guard<std::mutex> lock(mu_);
  Record("panic " + reason);
  CC_RETURN_IF_ERROR(TakeFailure("panic"));
  int n = 0;
  for (auto& a : agents_) {
    if (a.row.state == "running" || a.row.state == "creating") ++n;
    if (a.row.state != "killed") {
      a.row.state = "killed";
      a.row.state_detail = "by panic";
    }
    a.row.cpu_seconds.reset();
    a.row.memory_bytes.reset();
    a.row.pids.reset();
  }
  host_.lockout = Lockout{clock_.Now(), reason};
  return "PANIC: stopped " + std::to_string(n) + " agent(s), verified none is left; host locked until `cloudcoop unlock --rotated`";
}

StatusOr<std::vector<std::string>> FakeHostSource::AttachArgv(const std::string& agent) {
  std::lock_guard<std::mutex> lock(mu_);
  Record("attach " + agent);
  CC_RETURN_IF_ERROR(TakeFailure("attach"));
  FakeAgent* a = Find(agent);
  if (a == nullptr) return NotFoundError("no agent named " + agent).WithFix("cloudcoop agent list");
  if (a->row.state != "running") return FailedPreconditionError("agent " + agent + " is " + a->row.state);
  if (attach_argv_.empty()) return UnimplementedError("the fixture has no attach_argv").WithFix("add \"attach_argv\" to the fixture");
  std::vector<std::string> argv = attach_argv_;
  for (auto& w : argv) {
    size_t pos;
    while ((pos = w.find("{name}")) != std::string::npos) w.replace(pos, 6, agent);
  }
  return argv;
}

}  // namespace cloudcoop::tui
