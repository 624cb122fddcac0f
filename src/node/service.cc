#include "node/service.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <optional>
#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include "audit/redact.h"
#include "audit/transcript.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/strings.h"
#include "node/names.h"
#include "policy/rules.h"
#include "node/procs.h"
#include "node/profiles.h"

namespace cloudcoop::node {

namespace {

std::function<bool(uint32_t)> UidIs(uint32_t uid) {
  return [uid](uint32_t u) { return u == uid; };
}

bool ProcessAlive(pid_t pid) { return ProcessRunning(pid); }

// The last line that says something: skips blank lines and tmux's "Pane is dead" notice.
std::string LastLine(const std::string& text) {
  auto lines = Split(text, '\n');
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::string_view l = Trim(*it);
    if (l.empty() || StartsWith(l, "Pane is dead")) continue;
    return std::string(l);
  }
  return {};
}

std::string SignalText(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return "signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
}

void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Debug timings of the steps of a command (CLOUDCOOP_LOG=debug).
class StepTimer {
 public:
  explicit StepTimer(const char* what) : what_(what), last_(std::chrono::steady_clock::now()) {}
  void Step(const char* step) {
    auto now = std::chrono::steady_clock::now();
    CC_LOG_DEBUG("%s: %s took %.2f ms", what_, step, std::chrono::duration<double, std::milli>(now - last_).count());
    last_ = now;
  }

 private:
  const char* what_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace

StatusOr<AgentLimits> ResolveLimits(const AddRequest& req, const AgentSettings& settings, const HostFacts& host) {
  AgentLimits l = settings.limits;
  if (req.cpus) {
    auto v = ParseDouble(*req.cpus);
    if (!v || *v < 0.01 || *v > 4096) {
      return InvalidArgumentError("--cpus " + *req.cpus + " is not a number of CPUs between 0.01 and 4096")
          .WithFix("e.g. --cpus 1.5");
    }
    l.cpus = *v;
  }
  if (host.cpus > 0 && l.cpus > host.cpus) {
    return InvalidArgumentError("CPU limit " + (req.cpus ? "--cpus " + *req.cpus : "agents.cpus") + " is more than this host's " +
                                std::to_string(static_cast<int>(host.cpus)) + " CPUs")
        .WithFix("use at most --cpus " + std::to_string(static_cast<int>(host.cpus)));
  }
  if (req.memory) {
    auto v = ParseByteSize(*req.memory);
    if (!v.ok()) return v.status().Annotate("--memory");
    if (*v < (16ULL << 20)) {
      return InvalidArgumentError("--memory " + *req.memory + " is below the minimum of 16M").WithFix("e.g. --memory 2G");
    }
    l.memory_bytes = *v;
  }
  if (host.memory_bytes > 0 && l.memory_bytes > host.memory_bytes) {
    return InvalidArgumentError("memory limit " + (req.memory ? "--memory " + *req.memory : "agents.memory") +
                                " is more than this host's " + FormatBytes(host.memory_bytes))
        .WithFix("use at most --memory " + FormatBytes(host.memory_bytes));
  }
  if (req.pids) {
    auto v = ParseInt64(*req.pids);
    if (!v || *v < 8 || *v > 4194304) {
      return InvalidArgumentError("--pids " + *req.pids + " is not a process limit between 8 and 4194304")
          .WithFix("e.g. --pids 512");
    }
    l.pids = *v;
  }
  if (host.pid_max > 0 && l.pids > host.pid_max) {
    return InvalidArgumentError("process limit " + (req.pids ? "--pids " + *req.pids : "agents.pids") +
                                " is more than this host's pid_max " + std::to_string(host.pid_max))
        .WithFix("use at most --pids " + std::to_string(host.pid_max));
  }
  return l;
}

AgentHost::AgentHost(StateLayout layout, TmuxClient& tmux, ProcessRunner& runner, Clock& clock, AgentSandbox& sandbox,
                     ControlLog& log, HostOptions options)
    : layout_(layout),
      registry_(layout),
      tmux_(tmux),
      runner_(runner),
      clock_(clock),
      sandbox_(sandbox),
      log_(log),
      options_(std::move(options)) {}

void AgentHost::Log(const std::string& action, const std::string& agent, const Status& outcome,
                    std::map<std::string, std::string> details) {
  Status st = log_.Record(ControlEvent{action, agent, outcome.ok() ? "ok" : outcome.ToString(), std::move(details)});
  if (!st.ok()) CC_LOG_ERROR("could not record %s of %s in the audit log: %s", action.c_str(), agent.c_str(), st.ToString().c_str());
}

Status AgentHost::CheckLockout() const {
  if (auto l = registry_.GetLockout()) {
    return FailedPreconditionError("this host is locked out by `cloudcoop panic` at " + FormatRfc3339(l->at) +
                                   (l->reason.empty() ? "" : " (reason: " + l->reason + ")") +
                                   "; no agent may start until credentials are rotated")
        .WithFix("rotate every credential the agents could reach, then run `cloudcoop unlock --rotated`");
  }
  return OkStatus();
}

std::vector<std::string> AgentHost::SupervisorArgv(const std::string& name) const {
  // The audit settings travel as overrides: the pane's supervisor opens the sandbox's log exactly
  // as the operator's configuration says, whatever configuration the tmux server's environment finds.
  const AuditSettings& a = options_.audit;
  return {options_.supervisor_binary,
          "node",
          "supervise",
          "--state-dir",
          layout_.root(),
          "--set",
          std::string("audit.enabled=") + (a.enabled ? "true" : "false"),
          "--set",
          std::string("audit.exec_capture=") + (a.exec_capture ? "true" : "false"),
          "--set",
          "audit.segment_max_bytes=" + std::to_string(a.segment_max_bytes),
          "--set",
          "audit.retention_segments=" + std::to_string(a.retention_segments),
          name};
}

namespace {

std::string Hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

std::optional<std::string> Unhex(std::string_view s) {
  if (s.size() % 2 != 0) return std::nullopt;
  auto v = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); i += 2) {
    int a = v(s[i]), b = v(s[i + 1]);
    if (a < 0 || b < 0) return std::nullopt;
    out.push_back(static_cast<char>(a * 16 + b));
  }
  return out;
}

// One word for sh -c.
std::string ShellWord(const std::string& w) {
  std::string out = "'";
  for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string EncodeTranscriptSecrets(const std::vector<std::pair<std::string, std::string>>& secrets) {
  std::string out;
  for (const auto& [k, v] : secrets) out += (out.empty() ? "" : ",") + Hex(k) + ":" + Hex(v);
  return out;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> DecodeTranscriptSecrets(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  if (text.empty()) return out;
  for (const auto& item : Split(text, ',')) {
    size_t colon = item.find(':');
    auto k = colon == std::string::npos ? std::nullopt : Unhex(std::string_view(item).substr(0, colon));
    auto v = colon == std::string::npos ? std::nullopt : Unhex(std::string_view(item).substr(colon + 1));
    if (!k || !v) {
      return InvalidArgumentError(std::string(kTranscriptSecretsEnv) + " is malformed")
          .WithFix("it is set by `agent add` for `node transcript`; do not set it by hand");
    }
    out.emplace_back(std::move(*k), std::move(*v));
  }
  return out;
}

NewSessionSpec AgentHost::SessionSpec(const std::string& name) const {
  NewSessionSpec spec{name, SupervisorArgv(name)};
  if (!options_.transcripts) return spec;
  std::vector<std::string> words = {options_.supervisor_binary, "node", "transcript", "--state-dir", layout_.root(),
                                    "--max-bytes", std::to_string(options_.transcript_max_bytes), "--agent", name};
  for (const auto& w : words) spec.pipe_command += (spec.pipe_command.empty() ? "exec " : " ") + ShellWord(w);
  std::vector<std::pair<std::string, std::string>> secrets;
  for (const auto& var : options_.redact_env) {
    const char* v = std::getenv(var.c_str());
    if (v != nullptr && std::strlen(v) >= audit::Redactor::kMinSecretLength) secrets.emplace_back(var, v);
  }
  // Always set, so a variable of that name the server may have cannot stand in for it.
  spec.pipe_env[kTranscriptSecretsEnv] = EncodeTranscriptSecrets(secrets);
  return spec;
}

StatusOr<AgentRecord> AgentHost::Add(const AddRequest& req, const AgentSettings& settings, const HostFacts& host) {
  // 1. Everything that can be checked without changing anything.
  StepTimer timer("agent add");
  CC_RETURN_IF_ERROR(ValidateAgentName(req.name));
  CC_ASSIGN_OR_RETURN(AgentCommand command, ResolveAgentCommand(settings, req.profile, req.cmd, req.env));
  CC_ASSIGN_OR_RETURN(AgentLimits limits, ResolveLimits(req, settings, host));
  std::string network = req.network.value_or(settings.network);
  if (network != "none" && network != "egress" && network != "host") {
    return InvalidArgumentError("--net " + network + " is not a network mode").WithFix("use none, egress or host");
  }
  if (network == "host" && !req.network && !req.unsandboxed) {
    return InvalidArgumentError("agents.network is \"host\", which the sandbox grants only when asked for explicitly")
        .WithFix("pass --net host to share the host's network with this agent, or set agents.network to none or egress");
  }
  if (req.workspace && req.repo) {
    return InvalidArgumentError("--workspace and --repo cannot be combined")
        .WithFix("--repo makes the agent its own clone; --workspace gives it an existing directory");
  }
  if (req.branch && !req.repo) {
    return InvalidArgumentError("--branch needs --repo").WithFix("add --repo PATH, or leave out --branch");
  }
  if (req.branch) CC_RETURN_IF_ERROR(ValidateBranchName(*req.branch));
  Identity op = OperatorIdentity(req.repo, req.workspace);
  std::string workspace_real;
  if (req.workspace) {
    CC_ASSIGN_OR_RETURN(workspace_real, CheckWorkspaceDir(*req.workspace, layout_, op));
  }
  if (geteuid() != 0) {
    return PermissionDeniedError("agent add needs root: agents get their own uid, namespaces and cgroups")
        .WithFix("run it as root (sudo -i)");
  }
  if (options_.supervisor_binary.empty() || options_.supervisor_binary[0] != '/' ||
      access(options_.supervisor_binary.c_str(), X_OK) != 0) {
    return FailedPreconditionError("cannot find the cloudcoop binary to run as the agent's supervisor (\"" +
                                   options_.supervisor_binary + "\")")
        .WithFix("run cloudcoop by its absolute path");
  }
  // tmux first: a missing tmux must fail before anything is created.
  CC_RETURN_IF_ERROR(tmux_.CheckInstalled());
  if (req.repo) {
    struct stat st;
    if (stat(req.repo->c_str(), &st) != 0) {
      return NotFoundError("repository " + ShellQuoteForDisplay(*req.repo) + " does not exist on this host")
          .WithFix("give the path of a git repository, e.g. --repo $PWD");
    }
  }

  timer.Step("checks");
  // 2. Reserve the name and an uid under the lock.
  AgentRecord rec;
  rec.name = req.name;
  rec.profile = command.profile;
  rec.argv = command.argv;
  rec.resume_argv = command.resume_argv;
  rec.env = command.env;
  rec.limits = limits;
  rec.network = network;
  rec.unsandboxed = req.unsandboxed;
  rec.home = layout_.home_dir(req.name);
  rec.workspace = req.workspace ? workspace_real : layout_.workspace_dir(req.name);
  while (rec.workspace.size() > 1 && rec.workspace.back() == '/') rec.workspace.pop_back();
  rec.created_at = clock_.Now();
  rec.creator_pid = getpid();
  rec.supervisor_binary = options_.supervisor_binary;
  rec.state_dir = layout_.root();
  rec.operator_uid = op.uid;
  rec.operator_gid = op.gid;
  {
    CC_ASSIGN_OR_RETURN(RegistryLock lock, registry_.Lock());
    CC_RETURN_IF_ERROR(CheckLockout());
    if (registry_.Exists(req.name)) {
      return AlreadyExistsError("an agent named \"" + req.name + "\" already exists on this host")
          .WithFix("pick another name, or remove it first: cloudcoop agent rm " + req.name);
    }
    if (PathExists(rec.home)) {
      return AlreadyExistsError("the home " + rec.home + " of an earlier agent named \"" + req.name + "\" is still there")
          .WithFix("move it away, or pick another name");
    }
    if (!req.workspace && PathExists(rec.workspace)) {
      return AlreadyExistsError("the workspace " + rec.workspace + " of an earlier agent named \"" + req.name +
                                "\" is still there")
          .WithFix("give it to this agent with --workspace " + rec.workspace + ", move it away, or pick another name");
    }
    if (req.workspace) {
      for (const auto& other : registry_.List()) {
        if (other.workspace == rec.workspace) {
          return AlreadyExistsError("--workspace " + rec.workspace + " belongs to agent " + other.name)
              .WithFix("agents never share a workspace; give this one its own directory");
        }
      }
    }
    CC_ASSIGN_OR_RETURN(rec.uid, registry_.AllocateUid());
    rec.gid = rec.uid;
    rec.state = AdminState::kCreating;
    CC_RETURN_IF_ERROR(registry_.Put(rec));
  }

  timer.Step("reserve name and uid");
  // 3. The slow part, outside the lock: home and workspace (a clone can take a while).
  bool home_made = false, ws_made = false;
  std::optional<TreeOwnership> handed_over;
  Identity agent{rec.uid, rec.gid};
  Status st = PrepareHome(rec.home, rec.name, agent);
  if (st.ok()) home_made = true;
  if (st.ok()) {
    if (req.repo) {
      CloneRequest clone{rec.name, *req.repo, req.branch, rec.workspace, agent, op};
      auto repo = CloneRepoWorkspace(runner_, layout_, clone);
      if (repo.ok()) {
        rec.repo = *repo;
        rec.workspace_created = true;
        ws_made = true;
      } else {
        st = repo.status();
      }
    } else if (req.workspace) {
      bool created = false;
      TreeOwnership before;
      st = PrepareWorkspaceDir(rec.workspace, agent, op, &created, &before);
      rec.workspace_created = created;
      ws_made = st.ok() && created;
      if (st.ok() && !created) handed_over = std::move(before);
    } else {
      if (mkdir(rec.workspace.c_str(), 02750) != 0) {
        st = ErrnoError(errno, "create workspace " + rec.workspace);
      } else {
        rec.workspace_created = true;
        ws_made = true;
        st = ShareTreeWithGroup(rec.workspace, Identity{rec.uid, op.gid});
      }
    }
  }
  if (!st.ok()) {
    Rollback(rec, ws_made, home_made, handed_over ? &*handed_over : nullptr);
    return st;
  }

  timer.Step("home and workspace");
  // 4. Start it (under the lock again: a panic in between must win).
  {
    auto lock = registry_.Lock();
    if (!lock.ok()) st = lock.status();
    if (st.ok()) st = CheckLockout();
    if (st.ok()) {
      rec.state = AdminState::kRunning;
      rec.generation = 1;
      rec.started_at = clock_.Now();
      rec.creator_pid = 0;
      st = registry_.Put(rec);
    }
    if (st.ok()) {
      st = tmux_.NewSession(SessionSpec(rec.name));
      if (st.code() == StatusCode::kAlreadyExists) {
        st = AlreadyExistsError("a tmux session named \"" + rec.name + "\" already exists on cloudcoop's tmux server " +
                                "without an agent record")
                 .WithFix("kill it: tmux -S " + layout_.tmux_socket() + " kill-session -t =" + rec.name);
      }
    }
  }
  timer.Step("tmux new-session");
  if (st.ok()) st = WaitStarted(rec);
  timer.Step("wait for the supervisor");
  if (!st.ok()) {
    Rollback(rec, ws_made, home_made, handed_over ? &*handed_over : nullptr);
    return st;
  }
  return rec;
}

Status AgentHost::WaitStarted(const AgentRecord& rec) {
  auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  int delay_us = 200;
  auto next_pane_look = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  for (;;) {
    if (auto s = registry_.GetStatus(rec.name); s && s->generation == rec.generation) {
      if (!s->error.empty()) {
        return FailedPreconditionError("agent " + rec.name + " did not start: " + s->error);
      }
      if (s->agent_pid > 0) return OkStatus();
    }
    // A supervisor that died before writing its status leaves a dead pane (looked at every 100 ms:
    // a tmux call costs more than reading the status file).
    auto now = std::chrono::steady_clock::now();
    bool look = now >= next_pane_look;
    if (look) next_pane_look = now + std::chrono::milliseconds(100);
    auto panes = look ? tmux_.ListPanes() : StatusOr<std::vector<PaneInfo>>(std::vector<PaneInfo>{});
    if (look && panes.ok()) {
      auto it = std::find_if(panes->begin(), panes->end(), [&](const PaneInfo& p) { return p.session == rec.name; });
      if (it == panes->end() || it->dead) {
        if (auto s = registry_.GetStatus(rec.name); s && s->generation == rec.generation && !s->error.empty()) {
          return FailedPreconditionError("agent " + rec.name + " did not start: " + s->error);
        }
        std::string screen;
        if (it != panes->end()) {
          auto c = tmux_.Capture(rec.name, 50);
          if (c.ok()) screen = LastLine(*c);
        }
        return InternalError("the supervisor of agent " + rec.name + " exited before starting it" +
                             (screen.empty() ? "" : ": " + screen))
            .WithFix("run `" + options_.supervisor_binary + " node supervise --state-dir " + layout_.root() + " " + rec.name +
                     "` by hand to see why");
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return DeadlineExceededError("agent " + rec.name + " did not report its start within " +
                                   FormatShortDuration(options_.start_timeout))
          .WithFix("look at its pane: cloudcoop agent peek " + rec.name);
    }
    // A status file read costs tens of microseconds: poll at most 1 ms apart, so the start is seen
    // within a millisecond (a 5 ms cap put up to 5 ms on every `agent add`).
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
    delay_us = std::min(delay_us * 2, 1000);
  }
}

void AgentHost::Rollback(const AgentRecord& rec, bool ws_made, bool home_made, const TreeOwnership* handed_over) {
  if (rec.uid != 0) FreezeAndKill(UidIs(rec.uid), std::chrono::seconds(5));
  (void)tmux_.KillSession(rec.name);
  if (rec.uid != 0) FreezeAndKill(UidIs(rec.uid), std::chrono::seconds(5));
  (void)sandbox_.Kill(rec);
  // The supervisor tears its sandbox down (placeholders in the workspace, cgroup, record, uid
  // claim) before it exits: wait for it (bounded) so nothing of it is undone behind our back.
  if (auto status = registry_.GetStatus(rec.name); status && status->supervisor_pid > 0) {
    for (int i = 0; i < 1000 && ProcessAlive(status->supervisor_pid); ++i) SleepMs(10);
  }
  (void)sandbox_.Cleanup(rec);
  if (home_made) (void)RemoveTree(rec.home);
  if (ws_made) {
    (void)RemoveTree(rec.workspace);
  } else if (handed_over != nullptr) {
    // An existing --workspace was handed to the agent: put back exactly what was there.
    Status st = RestoreOwnership(*handed_over);
    if (!st.ok()) CC_LOG_ERROR("rolling back agent %s: %s", rec.name.c_str(), st.ToString().c_str());
  }
  auto lock = registry_.Lock();
  (void)registry_.Delete(rec.name);
}

StatusOr<std::vector<AgentView>> AgentHost::List(bool tails) {
  StepTimer timer("agent list");
  std::vector<Status> problems;
  std::vector<AgentRecord> records = registry_.List(&problems);
  timer.Step("read records");
  std::vector<AgentView> out;
  if (records.empty()) {
    if (!problems.empty()) return problems.front();
    return out;
  }
  // tmux (a client process and the server's work) answers on a thread of its own while this one
  // counts processes and reads the status files and cgroup counters: on two CPUs the waits overlap.
  // Nothing else uses tmux_ until the join.
  std::vector<PaneInfo> panes;
  std::map<std::string, std::string> screens;
  Status tmux_status;
  std::vector<std::string> names;
  for (const auto& r : records) names.push_back(r.name);
  std::thread tmux_thread([&] {
    if (tails) {
      auto both = tmux_.ListPanesWithScreens(names);
      if (!both.ok() && both.status().code() != StatusCode::kNotFound) tmux_status = both.status();
      if (both.ok()) {
        panes = std::move(both->first);
        screens = std::move(both->second);
      }
    } else if (auto p = tmux_.ListPanes(); p.ok()) {
      panes = *p;
    } else if (p.status().code() != StatusCode::kNotFound) {
      tmux_status = p.status();
    }
  });
  auto procs = CountByOwner(registry_.uids().Matcher());
  std::vector<std::optional<AgentStatus>> statuses;
  statuses.reserve(records.size());
  for (const auto& r : records) statuses.push_back(registry_.GetStatus(r.name));
  // The cgroup counters of every agent that may be running (the pane decides below; only those
  // shown as running get them), in one pass over the sandboxes' records.
  std::vector<const AgentRecord*> maybe_running;
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& st = statuses[i];
    bool exited = st && st->generation == records[i].generation && st->exited_at;
    if (records[i].state == AdminState::kRunning && !exited) maybe_running.push_back(&records[i]);
  }
  std::map<std::string, ResourceUsage> usage;
  if (!maybe_running.empty()) usage = sandbox_.UsageOf(maybe_running);
  timer.Step("count processes, status files and usage");
  tmux_thread.join();
  timer.Step("tmux list-panes and capture-pane (the rest of the wait)");
  if (!tmux_status.ok()) return tmux_status;
  std::map<std::string, PaneInfo> by_name;
  for (const auto& p : panes) by_name[p.session] = p;
  SystemTime now = clock_.Now();
  for (size_t i = 0; i < records.size(); ++i) {
    AgentRecord& r = records[i];
    AgentView v;
    v.status = std::move(statuses[i]);
    auto pane = by_name.find(r.name);
    bool have_pane = pane != by_name.end();
    if (have_pane) v.clients = pane->second.clients;
    if (auto it = procs.find(r.uid); it != procs.end()) v.processes = it->second;
    bool status_current = v.status && v.status->generation == r.generation;
    if (r.state == AdminState::kRunning && !(status_current && v.status->exited_at) &&
        (!have_pane || pane->second.dead)) {
      // The status was read before tmux answered: a supervisor that ended meanwhile wrote its exit
      // first, so read it again rather than show only the pane's "supervisor status".
      v.status = registry_.GetStatus(r.name);
      status_current = v.status && v.status->generation == r.generation;
    }
    switch (r.state) {
      case AdminState::kCreating:
        v.state = ProcessAlive(r.creator_pid) ? "creating" : "failed";
        if (v.state == "failed") v.state_detail = "`agent add` did not finish; remove with `agent rm " + r.name + "`";
        break;
      case AdminState::kKilled:
        v.state = "killed";
        v.state_detail = r.killed_by == "panic" ? "by panic" : "";
        break;
      case AdminState::kRunning:
        if (status_current && v.status->exited_at) {
          v.state = "exited";
          if (v.status->signal) v.state_detail = SignalText(*v.status->signal);
          else if (v.status->exit_code) v.state_detail = "status " + std::to_string(*v.status->exit_code);
          if (!v.status->error.empty()) v.state_detail = v.status->error;
        } else if (have_pane && !pane->second.dead) {
          v.state = "running";
        } else if (have_pane && pane->second.dead) {
          v.state = "exited";
          v.state_detail = "supervisor status " + std::to_string(pane->second.dead_status.value_or(-1));
        } else {
          v.state = "lost";
          v.state_detail = "no tmux session (server stopped?); `agent restart " + r.name + "` starts it again";
        }
        break;
    }
    if (v.state == "running") {
      SystemTime since = status_current ? v.status->started_at : r.started_at;
      v.uptime = std::chrono::duration_cast<Duration>(now - since);
      if (auto it = usage.find(r.name); it != usage.end()) v.usage = it->second;
    }
    if (auto s = screens.find(r.name); s != screens.end()) v.last_line = LastLine(s->second);
    v.record = std::move(r);
    out.push_back(std::move(v));
  }
  timer.Step("views");
  return out;
}

Status AgentHost::Send(const std::string& name, const std::string& text, bool enter) {
  CC_ASSIGN_OR_RETURN(AgentRecord rec, registry_.Get(name));
  if (!text.empty()) CC_RETURN_IF_ERROR(tmux_.SendLiteral(rec.name, text));
  if (enter) CC_RETURN_IF_ERROR(tmux_.SendKey(rec.name, "Enter"));
  return OkStatus();
}

StatusOr<std::string> AgentHost::Peek(const std::string& name, int lines) {
  CC_ASSIGN_OR_RETURN(AgentRecord rec, registry_.Get(name));
  if (lines < 1 || lines > 100000) {
    return InvalidArgumentError("-n " + std::to_string(lines) + " is not between 1 and 100000").WithFix("e.g. -n 20");
  }
  CC_ASSIGN_OR_RETURN(std::string screen, tmux_.Capture(rec.name, lines));
  auto all = Split(screen, '\n');
  while (!all.empty() && Trim(all.back()).empty()) all.pop_back();
  size_t from = all.size() > static_cast<size_t>(lines) ? all.size() - static_cast<size_t>(lines) : 0;
  std::string out;
  for (size_t i = from; i < all.size(); ++i) out += all[i] + "\n";
  return out;
}

StatusOr<KillReport> AgentHost::Kill(const std::string& name, Duration grace, const std::string& by) {
  auto t0 = std::chrono::steady_clock::now();
  CC_ASSIGN_OR_RETURN(AgentRecord rec, registry_.Get(name));
  KillReport report;
  report.name = name;
  auto match = UidIs(rec.uid);
  int before = static_cast<int>(ScanProcesses(match).size());
  report.was_running = before > 0;
  if (before > 0 && grace.count() > 0) {
    SignalAll(match, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < deadline && !ScanProcesses(match).empty()) SleepMs(10);
  }
  (void)sandbox_.Freeze(rec);
  int after_term = static_cast<int>(ScanProcesses(match).size());
  report.terminated = before - after_term;
  // The sandbox's cgroup first (frozen processes die only once it is thawed, which KillSandbox
  // does), then every process of the agent's uid (the --unsandboxed mode, anything outside it).
  int in_cgroup = after_term;
  Status cg = sandbox_.Kill(rec);
  in_cgroup -= static_cast<int>(ScanProcesses(match).size());
  StopReport stop = FreezeAndKill(match, std::chrono::seconds(5));
  report.killed = stop.killed + std::max(in_cgroup, 0);
  Status st;
  if (!stop.survivors.empty()) {
    st = CheckFailedError("agent " + name + ": " + std::to_string(stop.survivors.size()) +
                          " process(es) survived SIGKILL (first pid " + std::to_string(stop.survivors.front()) + ")")
             .WithFix("run `cloudcoop panic`; if they stay, they are stuck in the kernel (D state): reboot");
  } else if (!cg.ok()) {
    st = cg;
  }
  {
    CC_ASSIGN_OR_RETURN(RegistryLock lock, registry_.Lock());
    auto fresh = registry_.Get(name);
    if (fresh.ok() && fresh->state != AdminState::kCreating) {
      fresh->state = AdminState::kKilled;
      fresh->killed_at = clock_.Now();
      fresh->killed_by = by;
      Status put = registry_.Put(*fresh);
      if (st.ok()) st = put;
    }
  }
  report.took = std::chrono::steady_clock::now() - t0;
  if (by == "kill") {
    Log("agent.kill", name, st,
        {{"processes_terminated", std::to_string(report.terminated)}, {"processes_killed", std::to_string(report.killed)}});
  }
  if (!st.ok()) return st;
  return report;
}

StatusOr<AgentRecord> AgentHost::Restart(const std::string& name, Duration grace) {
  CC_ASSIGN_OR_RETURN(AgentRecord rec, registry_.Get(name));
  {
    CC_ASSIGN_OR_RETURN(RegistryLock lock, registry_.Lock());
    Status lo = CheckLockout();
    if (!lo.ok()) {
      return lo;
    }
  }
  if (rec.state == AdminState::kCreating) {
    return FailedPreconditionError("agent " + name + " is still being created (or its creation failed)")
        .WithFix("wait for `agent add` to finish, or remove it: cloudcoop agent rm " + name);
  }
  auto killed = Kill(name, grace, "restart");
  if (!killed.ok()) {
    return killed.status();
  }
  bool have_session = false;
  {
    CC_ASSIGN_OR_RETURN(RegistryLock lock, registry_.Lock());
    Status lo = CheckLockout();
    if (!lo.ok()) return lo;
    CC_ASSIGN_OR_RETURN(rec, registry_.Get(name));
    rec.generation += 1;
    rec.resume = true;
    rec.state = AdminState::kRunning;
    rec.started_at = clock_.Now();
    rec.killed_at.reset();
    rec.killed_by.clear();
    CC_RETURN_IF_ERROR(registry_.Put(rec));
    CC_RETURN_IF_ERROR(registry_.ClearStatus(name));
    auto panes = tmux_.ListPanes();
    if (!panes.ok() && panes.status().code() != StatusCode::kNotFound) return panes.status();
    if (panes.ok()) {
      for (const auto& p : *panes) have_session = have_session || p.session == name;
    }
    Status st = have_session ? tmux_.Respawn(name, SupervisorArgv(name))
                             : tmux_.NewSession(SessionSpec(name));
    if (!st.ok()) {
      return st;
    }
  }
  Status st = WaitStarted(rec);
  if (!st.ok()) return st;
  return rec;
}

StatusOr<std::vector<std::string>> AgentHost::Remove(const std::string& name, bool purge, Duration grace) {
  CC_ASSIGN_OR_RETURN(AgentRecord rec, registry_.Get(name));
  std::vector<std::string> notes;
  if (rec.state == AdminState::kCreating && ProcessAlive(rec.creator_pid)) {
    return FailedPreconditionError("agent " + name + " is being created right now (by pid " +
                                   std::to_string(rec.creator_pid) + ")")
        .WithFix("wait for `agent add` to finish, then remove it");
  }
  auto killed = Kill(name, grace, "rm");
  if (!killed.ok()) {
    return killed.status();
  }
  CC_RETURN_IF_ERROR(tmux_.KillSession(name));
  if (rec.repo) {
    auto h = HandoffBranch(runner_, layout_, rec);
    if (h.ok()) {
      notes.push_back("its branch is in " + rec.repo->path + " as " + h->ref.substr(11) + " (" + h->commit.substr(0, 12) + ")");
    } else if (purge) {
      // Never delete the only copy of the agent's commits.
      Status st = h.status().Annotate("handing over the agent's branch before --purge");
      return Status(st).WithFix("fix the handoff, or remove without --purge (the clone stays in " + rec.workspace + ")");
    } else {
      notes.push_back("could not hand over its branch: " + h.status().message());
    }
  }
  CC_RETURN_IF_ERROR(sandbox_.Cleanup(rec));
  CC_RETURN_IF_ERROR(RemoveTree(rec.home));
  if (purge && rec.workspace_created) {
    CC_RETURN_IF_ERROR(RemoveTree(rec.workspace));
    notes.push_back("removed its workspace " + rec.workspace);
  } else if (purge) {
    notes.push_back("kept " + rec.workspace + ": cloudcoop did not create it, so --purge leaves it alone");
  } else {
    notes.push_back("kept its workspace " + rec.workspace + " (readable by group " + std::to_string(rec.operator_gid) +
                    "; `agent rm --purge` removes it)");
  }
  std::string transcript = audit::TranscriptPath(layout_.transcripts_dir(), name);
  bool have_transcript = PathExists(transcript) || PathExists(transcript + ".1");
  if (purge) {
    CC_RETURN_IF_ERROR(RemoveTree(transcript));
    CC_RETURN_IF_ERROR(RemoveTree(audit::PreviousTranscriptPath(layout_.transcripts_dir(), name)));
    if (have_transcript) notes.push_back("removed its transcript " + transcript);
  } else if (have_transcript) {
    notes.push_back("kept its transcript " + transcript + " (`cloudcoop logs " + name +
                    "` shows it; `agent rm --purge` removes it)");
  }
  {
    CC_ASSIGN_OR_RETURN(RegistryLock lock, registry_.Lock());
    CC_RETURN_IF_ERROR(registry_.Delete(name));
  }
  return notes;
}

StatusOr<HandoffResult> AgentHost::Handoff(const std::string& name) {
  CC_ASSIGN_OR_RETURN(AgentRecord rec, registry_.Get(name));
  return HandoffBranch(runner_, layout_, rec);
}

namespace {

// Runs fn(i) for i in [0, n) on up to 8 threads: each agent's cgroup is frozen or killed on its own
// (a freeze waits for the kernel to report FROZEN), so a panic with 100 agents must not wait for
// them one after another.
void ForEachInParallel(size_t n, const std::function<void(size_t)>& fn) {
  size_t workers = std::min<size_t>(n, 8);
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace

StatusOr<PanicReport> AgentHost::Panic(const std::string& reason) {
  auto t0 = std::chrono::steady_clock::now();
  PanicReport report;
  // 1. Lock out first: from here on no add or restart can start anything.
  Lockout lockout{clock_.Now(), reason, {}};
  Status lo = registry_.PutLockout(lockout);
  if (!lo.ok()) report.notes.push_back("could not write the lock-out: " + lo.message());
  StepTimer timer("panic");
  std::vector<AgentRecord> records = registry_.List();
  timer.Step("lock-out and records");
  // 2. Freeze every agent (cgroup freezer, and SIGSTOP to every process in this host's uid range,
  //    registered or not) so nothing can fork away.
  ForEachInParallel(records.size(), [&](size_t i) { (void)sandbox_.Freeze(records[i]); });
  StopReport stop;
  FreezeAll(registry_.uids().Matcher(), std::chrono::seconds(3), &stop);
  timer.Step("freeze");
  // 3. Keep the frozen agents' last screens for forensics (tmux is quiet now).
  auto panes = tmux_.ListPanes();
  StatusOr<std::optional<int>> server = std::optional<int>();
  if (panes.ok() && !panes->empty() && panes->front().server_pid > 0) {
    server = std::optional<int>(panes->front().server_pid);
  } else if (panes.ok() && !panes->empty()) {
    server = tmux_.ServerPid();
  }
  if (panes.ok() && !panes->empty()) {
    auto screens = tmux_.CaptureTails(*panes, 100);
    if (screens.ok()) {
      // Masked like the transcripts: secrets must not reach disk through the saved screens either.
      audit::Redactor redactor;
      redactor.AddEnvSecrets(options_.redact_env, [](const char* n) { return std::getenv(n); });
      for (const auto& r : records) {
        for (const auto& [k, v] : r.env) {
          if (policy::LooksLikeSecretName(k)) redactor.AddSecret(k, v);
        }
      }
      for (const auto& [name, text] : *screens) {
        if (ValidateAgentName(name).ok() && IsDirectory(layout_.agent_dir(name))) {
          (void)ReplaceFile(layout_.agent_dir(name) + "/panic-screen.txt", redactor.Redact(text), 0600);
        }
      }
    }
  }
  timer.Step("tmux list and capture");
  // 4. Kill: the cgroups, then every process in the uid range until none is left.
  // Every process of the host's agent uids gets SIGKILL while frozen, then each cgroup is thawed
  // once so the kills land (one freezer write per agent; re-freezing each group to kill it would
  // cost a freeze per agent, and the kernel serialises freezer writes). The per-agent kill then
  // only verifies (and kills what an agent started meanwhile).
  SignalAll(registry_.uids().Matcher(), SIGKILL);
  ForEachInParallel(records.size(), [&](size_t i) { (void)sandbox_.Thaw(records[i]); });
  timer.Step("kill and thaw");
  std::mutex notes_mu;
  ForEachInParallel(records.size(), [&](size_t i) {
    Status k = sandbox_.Kill(records[i]);
    if (!k.ok()) {
      std::lock_guard<std::mutex> hold(notes_mu);
      report.notes.push_back(records[i].name + ": " + k.message());
    }
  });
  timer.Step("kill the cgroups");
  KillAll(registry_.uids().Matcher(), std::chrono::seconds(3), &stop);
  report.frozen += stop.frozen;
  report.killed += stop.killed;
  timer.Step("kill");
  // 5. Stop the tmux server and remove its socket.
  Status ks = tmux_.KillServer();
  if (!ks.ok()) report.notes.push_back("tmux kill-server: " + ks.message());
  // The panes' processes are the agents' supervisors: their sandboxes are dead, and each removes
  // its sandbox's cgroup and record as it exits. Give them a moment (bounded) to do so; SIGKILL
  // only what is still there (a supervisor killed mid-cleanup would leave an empty cgroup behind).
  if (panes.ok()) {
    for (int i = 0; i < 400; ++i) {
      bool any = false;
      for (const auto& p : *panes) any = any || (p.pane_pid > 0 && ProcessAlive(p.pane_pid));
      if (!any) break;
      SleepMs(5);
    }
    for (const auto& p : *panes) {
      if (p.pane_pid > 0 && ProcessAlive(p.pane_pid)) kill(p.pane_pid, SIGKILL);
    }
  }
  if (server.ok() && server->has_value()) {
    pid_t spid = **server;
    for (int i = 0; i < 200 && ProcessAlive(spid); ++i) {
      if (i == 20) kill(spid, SIGKILL);
      SleepMs(5);
    }
    report.tmux_server_killed = !ProcessAlive(spid);
    if (!report.tmux_server_killed) report.notes.push_back("tmux server pid " + std::to_string(spid) + " is still alive");
  } else {
    report.tmux_server_killed = true;  // none was running
  }
  // 6. Under the registry lock (bounded wait): a second sweep catches anything an in-flight
  //    command started, then every record is marked killed.
  timer.Step("tmux kill-server");
  auto lock = registry_.TryLockFor(std::chrono::seconds(2));
  timer.Step("registry lock");
  report.registry_locked = lock.ok() && lock->has_value();
  if (!report.registry_locked) report.notes.push_back("the registry lock was busy; records updated without it");
  StopReport again = FreezeAndKill(registry_.uids().Matcher(), std::chrono::seconds(3));
  report.frozen += again.frozen;
  report.killed += again.killed;
  report.survivors = again.survivors;
  timer.Step("second sweep");
  records = registry_.List();
  for (auto& r : records) {
    report.agents.push_back(r.name);
    if (r.state == AdminState::kKilled && r.killed_by == "panic") continue;
    r.state = r.state == AdminState::kCreating ? AdminState::kCreating : AdminState::kKilled;
    r.killed_at = clock_.Now();
    r.killed_by = "panic";
    Status put = registry_.Put(r);
    if (!put.ok()) report.notes.push_back(r.name + ": " + put.message());
  }
  timer.Step("records");
  lockout.agents = report.agents;
  Status lo2 = registry_.PutLockout(lockout);
  if (!lo2.ok() && lo.ok()) report.notes.push_back("could not update the lock-out: " + lo2.message());
  if (PathExists(layout_.tmux_socket())) {
    if (unlink(layout_.tmux_socket().c_str()) != 0) report.notes.push_back("tmux socket " + layout_.tmux_socket() + " is still there");
  }
  report.took = std::chrono::steady_clock::now() - t0;
  Status outcome = report.survivors.empty() && report.tmux_server_killed && lo.ok()
                       ? OkStatus()
                       : CheckFailedError("panic incomplete: " + Join(report.notes, "; "));
  Log("panic", "", outcome,
      {{"reason", reason}, {"agents", Join(report.agents, ",")}, {"killed", std::to_string(report.killed)},
       {"took_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(report.took).count())}});
  return report;
}

Status AgentHost::Unlock() {
  CC_ASSIGN_OR_RETURN(RegistryLock lock, registry_.Lock());
  auto l = registry_.GetLockout();
  if (!l) {
    return FailedPreconditionError("this host is not locked out").WithFix("nothing to do; `cloudcoop panic` locks it");
  }
  Status st = registry_.ClearLockout();
  Log("unlock", "", st, {{"locked_at", FormatRfc3339(l->at)}, {"reason", l->reason}});
  return st;
}

StatusOr<std::string> AgentHost::ClaimNextUnwatched() {
  CC_ASSIGN_OR_RETURN(RegistryLock lock, registry_.Lock());
  CC_ASSIGN_OR_RETURN(std::vector<PaneInfo> panes, tmux_.ListPanes());
  std::map<std::string, int> clients;
  if (auto cl = tmux_.ListClients(); cl.ok()) {
    for (const auto& c : *cl) {
      if (!c.control) clients[c.session]++;
    }
  }
  std::vector<std::string> names;
  for (const auto& p : panes) {
    if (!p.dead && registry_.Exists(p.session)) names.push_back(p.session);
  }
  std::sort(names.begin(), names.end());
  auto now = std::chrono::system_clock::now();
  for (const auto& n : names) {
    if (clients[n] > 0) continue;
    std::string claim = layout_.claims_dir() + "/" + n;
    struct stat st;
    if (stat(claim.c_str(), &st) == 0) {
      auto age = now - std::chrono::system_clock::from_time_t(st.st_mtime);
      if (age < std::chrono::seconds(3)) continue;
    }
    CC_RETURN_IF_ERROR(ReplaceFile(claim, std::to_string(getpid()) + "\n", 0600));
    return n;
  }
  return NotFoundError(names.empty() ? "no agent is running" : "every running agent already has a terminal attached")
      .WithFix(names.empty() ? "start one: cloudcoop agent add NAME" : "attach to one by name: cloudcoop connect NAME");
}

StatusOr<std::vector<std::string>> AgentHost::AttachArgv(const std::string& name, bool read_only) {
  CC_ASSIGN_OR_RETURN(AgentRecord rec, registry_.Get(name));
  CC_ASSIGN_OR_RETURN(std::vector<PaneInfo> panes, tmux_.ListPanes());
  bool found = std::any_of(panes.begin(), panes.end(), [&](const PaneInfo& p) { return p.session == rec.name; });
  if (!found) {
    return NotFoundError("agent " + name + " has no tmux session (it was stopped by panic, or the server ended)")
        .WithFix("start it again: cloudcoop agent restart " + name);
  }
  return tmux_.AttachArgv(rec.name, read_only);
}

}  // namespace cloudcoop::node
