#include "cli/dashboard_source.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "audit/control.h"
#include "audit/transcript.h"
#include "cli/agent_host.h"
#include "cli/dashboard_audit.h"
#include "core/strings.h"
#include "node/names.h"
#include "node/state.h"
#include "node/words.h"

namespace cloudcoop::cli {
namespace {

// What `agent kill` and `agent restart` use without --grace.
constexpr Duration kGrace = std::chrono::seconds(5);
constexpr int kMaxTranscriptLines = 100000;

std::string Hostname() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "localhost";
  return host;
}

std::string FormatCpus(double cpus) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", cpus);
  return buf;
}

std::optional<std::string> Opt(const std::string& s) {
  std::string t(Trim(s));
  if (t.empty()) return std::nullopt;
  return t;
}

tui::AgentRow ToRow(const node::AgentView& v) {
  const node::AgentRecord& r = v.record;
  tui::AgentRow row;
  row.name = r.name;
  row.profile = r.profile;
  row.state = v.state;
  row.state_detail = v.state_detail;
  row.uptime = v.uptime;
  if (v.usage) {
    row.cpu_seconds = v.usage->cpu_seconds;
    row.memory_bytes = v.usage->memory_bytes;
    row.pids = v.usage->pids;
  } else if (v.state == "running") {
    row.pids = v.processes;  // no cgroup to read (unsandboxed): the processes with the agent's uid
  }
  row.network = r.network;
  row.last_line = v.last_line;
  row.command = node::JoinCommandWords(r.argv);
  row.workspace = r.workspace;
  if (r.repo) row.branch = r.repo->branch;
  row.cpu_limit = r.limits.cpus;
  row.memory_limit = r.limits.memory_bytes;
  row.pids_limit = r.limits.pids;
  row.clients = v.clients;
  row.unsandboxed = r.unsandboxed;
  return row;
}

class LocalDashboardSource : public tui::HostSource {
 public:
  LocalDashboardSource(const Settings& settings, audit::AuditTarget target)
      : settings_(settings), hostname_(Hostname()), target_(std::move(target)), audit_(target_.dir) {}

  tui::Capabilities capabilities() const override {
    tui::Capabilities caps;
    caps.transcript = true;
    caps.transcript_title = "transcript";
    caps.audit = true;
    return caps;
  }

  tui::FormDefaults form_defaults() const override {
    tui::FormDefaults d;
    for (const auto& [name, profile] : settings_.agents.profiles) d.profiles.push_back(name);
    d.profile = settings_.agents.default_profile;
    d.cpus = FormatCpus(settings_.agents.limits.cpus);
    d.memory = FormatBytes(settings_.agents.limits.memory_bytes);
    d.pids = std::to_string(settings_.agents.limits.pids);
    d.network = settings_.agents.network;
    return d;
  }

  // Every call opens the host afresh: calls come from several threads (see tui/source.h), and a
  // state directory made after the dashboard started is picked up.
  StatusOr<tui::Snapshot> GetSnapshot() override {
    CC_ASSIGN_OR_RETURN(LocalHost h, OpenLocalHost(target_, /*create=*/false));
    CC_ASSIGN_OR_RETURN(std::vector<node::AgentView> views, h.host->List(/*tails=*/true));
    tui::Snapshot s;
    s.host.kind = "local";
    s.host.name = hostname_;
    if (auto lo = h.host->registry().GetLockout()) s.host.lockout = tui::Lockout{lo->at, lo->reason};
    s.taken_at = DefaultClock().Now();
    s.taken_mono = DefaultClock().Monotonic();
    s.agents.reserve(views.size());
    for (const auto& v : views) s.agents.push_back(ToRow(v));
    return s;
  }

  // The agent's transcript file (what `cloudcoop logs` shows: everything its terminal printed,
  // secrets masked before disk, escape sequences stripped), not the pane's scroll-back: it
  // reaches back past the pane's history limit and past restarts, and it holds what the screen
  // later overwrote.
  StatusOr<std::vector<std::string>> Transcript(const std::string& agent, int max_lines) override {
    CC_RETURN_IF_ERROR(node::ValidateAgentName(agent));
    node::StateLayout layout = node::StateForReading(node::StateDirFromEnvironment());
    CC_ASSIGN_OR_RETURN(std::string text, audit::TranscriptTail(layout.transcripts_dir(), agent,
                                                                std::clamp(max_lines, 1, kMaxTranscriptLines)));
    std::vector<std::string> lines = Split(audit::StripTerminalEscapes(text), '\n', /*skip_empty=*/false);
    if (!lines.empty() && lines.back().empty()) lines.pop_back();  // after the last newline
    return lines;
  }

  StatusOr<std::vector<tui::AuditRecord>> AuditRecords(const std::string& agent, int max) override {
    return audit_.Records(agent, max);
  }

  StatusOr<std::string> Add(const tui::AddForm& form) override {
    node::AddRequest req;
    req.name = std::string(Trim(form.name));
    req.profile = Opt(form.profile);
    req.repo = Opt(form.repo);
    req.branch = Opt(form.branch);
    req.workspace = Opt(form.workspace);
    req.cpus = Opt(form.cpus);
    req.memory = Opt(form.memory);
    req.pids = Opt(form.pids);
    req.network = Opt(form.network);
    req.unsandboxed = form.unsandboxed;  // the form's explicit switch, like --unsandboxed
    CC_ASSIGN_OR_RETURN(LocalHost h, OpenLocalHost(target_, /*create=*/true));
    CC_ASSIGN_OR_RETURN(node::AgentRecord rec, h.host->Add(req, settings_.agents, HostFacts::Read()));
    return "agent " + rec.name + " started (profile " + rec.profile + ", uid " + std::to_string(rec.uid) + ", " +
           FormatCpus(rec.limits.cpus) + " CPUs, " + FormatBytes(rec.limits.memory_bytes) + ", network " + rec.network +
           ")";
  }

  StatusOr<std::string> Kill(const std::string& agent) override {
    CC_ASSIGN_OR_RETURN(LocalHost h, OpenLocalHost(target_, /*create=*/true));
    CC_ASSIGN_OR_RETURN(node::KillReport r, h.host->Kill(agent, kGrace));
    if (!r.was_running) return "agent " + agent + " marked killed (nothing was running)";
    return "killed " + agent + ": " + std::to_string(r.terminated) + " process(es) ended after SIGTERM" +
           (r.killed > 0 ? ", " + std::to_string(r.killed) + " needed SIGKILL" : "");
  }

  StatusOr<std::string> Restart(const std::string& agent) override {
    CC_ASSIGN_OR_RETURN(LocalHost h, OpenLocalHost(target_, /*create=*/true));
    CC_ASSIGN_OR_RETURN(node::AgentRecord rec, h.host->Restart(agent, kGrace));
    return "restarted " + rec.name + " (" + node::JoinCommandWords(rec.resume ? rec.resume_argv : rec.argv) + ")";
  }

  StatusOr<std::string> Panic(const std::string& reason) override {
    CC_ASSIGN_OR_RETURN(LocalHost h, OpenLocalHost(target_, /*create=*/true));
    CC_ASSIGN_OR_RETURN(node::PanicReport r, h.host->Panic(reason));
    long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.took).count();
    if (!r.survivors.empty() || !r.tmux_server_killed) {
      return CheckFailedError("panic stopped " + std::to_string(r.agents.size()) + " agent(s) but " +
                              (r.survivors.empty() ? std::string("cloudcoop's tmux server still runs")
                                                   : std::to_string(r.survivors.size()) + " process(es) survived"))
          .WithFix("run `cloudcoop panic` again, then look at `cloudcoop check`");
    }
    return "PANIC: stopped " + std::to_string(r.agents.size()) + " agent(s) in " + std::to_string(ms) +
           " ms, verified none is left; locked until `cloudcoop unlock --rotated` (rotate credentials first)";
  }

  StatusOr<std::vector<std::string>> AttachArgv(const std::string& agent) override {
    CC_ASSIGN_OR_RETURN(LocalHost h, OpenLocalHost(target_, /*create=*/false));
    return h.host->AttachArgv(agent, /*read_only=*/false);
  }

 private:
  Settings settings_;
  std::string hostname_;
  audit::AuditTarget target_;
  DashboardAuditFeed audit_;
};

}  // namespace

std::unique_ptr<tui::HostSource> NewLocalDashboardSource(const Settings& settings, audit::AuditTarget audit) {
  return std::make_unique<LocalDashboardSource>(settings, std::move(audit));
}

}  // namespace cloudcoop::cli
