#include "node/tmux.h"

#include <unistd.h>

#include <cerrno>

#include "core/logging.h"
#include "core/strings.h"

namespace cloudcoop::node {

namespace {

constexpr const char* kCaptureMarker = "@@cloudcoop-capture@@ ";

std::string Target(const std::string& session) { return "=" + session + ":"; }

Status TmuxMissing(const Status& st) {
  return NotFoundError("tmux is not installed (or not on PATH): " + st.message())
      .WithFix("install it: apt-get install tmux (scripts/install-deps installs everything cloudcoop needs)");
}

bool ValidKeyName(const std::string& key) {
  if (key.empty() || key.size() > 16) return false;
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
  }
  return true;
}

std::optional<int> ToInt(std::string_view s) {
  auto v = ParseInt64(s);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

}  // namespace

std::string TmuxArg(const std::string& arg) {
  if (!arg.empty() && arg.back() == ';') return arg.substr(0, arg.size() - 1) + "\\;";
  return arg;
}

RealTmuxClient::RealTmuxClient(std::string socket, ProcessRunner& runner, std::string tmux_program)
    : socket_(std::move(socket)), runner_(runner), program_(std::move(tmux_program)) {}

StatusOr<ProcessResult> RealTmuxClient::Run(std::vector<std::string> words, const std::string& what,
                                            const std::map<std::string, std::string>& extra_env) {
  ProcessSpec spec;
  spec.argv = {program_, "-S", socket_, "-f", "/dev/null"};
  for (auto& w : words) spec.argv.push_back(std::move(w));
  // A minimal environment: the server (started by the first call) hands its environment to every
  // pane, and the operator's variables (API keys) must not reach agents through it.
  spec.clear_env = true;
  const char* path = std::getenv("PATH");
  spec.env["PATH"] = path != nullptr ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  spec.env["LANG"] = "C.UTF-8";
  for (const auto& [k, v] : extra_env) spec.env[k] = v;
  spec.timeout = std::chrono::seconds(20);
  auto r = runner_.Run(spec);
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kNotFound) return TmuxMissing(r.status());
    return r.status().Annotate("tmux " + what);
  }
  if (r->timed_out) {
    return DeadlineExceededError("tmux " + what + " on " + socket_ + " did not answer within 20 s")
        .WithFix("check the tmux server (ps -ef | grep tmux); `cloudcoop panic` stops everything");
  }
  return r;
}

bool RealTmuxClient::NoServer(const ProcessResult& r) {
  return r.err.find("no server running") != std::string::npos ||
         r.err.find("error connecting to") != std::string::npos ||
         r.err.find("server exited unexpectedly") != std::string::npos;
}

Status RealTmuxClient::Check(const StatusOr<ProcessResult>& r, const std::string& what) {
  if (!r.ok()) return r.status();
  if (r->success()) return OkStatus();
  std::string err(Trim(r->err));
  if (err.find("can't find session") != std::string::npos || err.find("can't find pane") != std::string::npos ||
      err.find("can't find window") != std::string::npos || NoServer(*r)) {
    return NotFoundError("tmux " + what + ": no such agent session (" + err + ")")
        .WithFix("run `cloudcoop agent list`; `cloudcoop agent restart NAME` starts a lost session again");
  }
  return InternalError("tmux " + what + " failed (" + r->Describe() + "): " + err);
}

Status RealTmuxClient::CheckInstalled() {
  if (FindOnPath(program_).empty()) return TmuxMissing(NotFoundError("run " + program_ + ": program not found on PATH"));
  return OkStatus();
}

Status RealTmuxClient::NewSession(const NewSessionSpec& spec) {
  if (spec.argv.size() < 2) return InvalidArgumentError("tmux new-session: the pane command needs at least two words");
  std::string update_env;
  for (const auto& [k, v] : spec.pipe_env) update_env += (update_env.empty() ? "" : " ") + k;
  std::vector<std::string> w = {"start-server", ";",
                                "set-option", "-g", "update-environment", TmuxArg(update_env), ";",
                                "set-option", "-g", "remain-on-exit", "on", ";",
                                "set-option", "-g", "history-limit", "20000", ";",
                                "set-option", "-g", "status-left", "[cloudcoop #S] ", ";",
                                "set-option", "-g", "status-left-length", "48", ";",
                                "set-option", "-g", "status-right", "detach: prefix d ", ";",
                                "new-session", "-d", "-s", spec.name, "-n", spec.name,
                                "-x", std::to_string(spec.width), "-y", std::to_string(spec.height), "-c", "/", "--"};
  for (const auto& a : spec.argv) w.push_back(TmuxArg(a));
  if (!spec.pipe_command.empty()) {
    // In the same call: tmux runs the queue before it reads the new pane's first output.
    std::string target = "=" + spec.name + ":";
    std::string cmd;
    for (char c : spec.pipe_command) cmd += c == '#' ? std::string("##") : std::string(1, c);  // no format expansion
    for (const std::string& x : std::vector<std::string>{";", "pipe-pane", "-o", "-t", target, TmuxArg(cmd)}) {
      w.push_back(x);
    }
    for (const auto& [k, v] : spec.pipe_env) {
      for (const std::string& x : std::vector<std::string>{";", "set-environment", "-u", "-t", target, k}) w.push_back(x);
    }
  }
  auto r = Run(std::move(w), "new-session " + spec.name, spec.pipe_env);
  if (!r.ok()) return r.status();
  if (!r->success()) {
    std::string err(Trim(r->err));
    if (err.find("duplicate session") != std::string::npos) {
      return AlreadyExistsError("tmux already has a session named \"" + spec.name + "\" on " + socket_)
          .WithFix("run `cloudcoop agent list`; remove the old one with `cloudcoop agent rm " + spec.name + "`");
    }
    return InternalError("tmux new-session " + spec.name + " failed (" + r->Describe() + "): " + err)
        .WithFix("check that " + socket_ + " is usable; `cloudcoop panic` stops a broken server");
  }
  return OkStatus();
}

namespace {
constexpr const char* kPaneFormat =
    "#{session_name}\t#{pane_pid}\t#{pane_dead}\t#{pane_dead_status}\t#{cursor_y}\t#{pane_height}\t"
    "#{session_attached}\t#{pid}";
}  // namespace

std::vector<PaneInfo> RealTmuxClient::ParsePanes(const std::string& out) {
  std::vector<PaneInfo> panes;
  for (const auto& line : Split(out, '\n', true)) {
    auto f = Split(line, '\t');
    if (f.size() != 8) continue;
    PaneInfo p;
    p.session = f[0];
    p.pane_pid = ToInt(f[1]).value_or(0);
    p.dead = f[2] == "1";
    if (p.dead) p.dead_status = ToInt(f[3]);
    p.cursor_y = ToInt(f[4]).value_or(0);
    p.height = ToInt(f[5]).value_or(0);
    p.clients = ToInt(f[6]).value_or(0);
    p.server_pid = ToInt(f[7]).value_or(0);
    panes.push_back(p);
  }
  return panes;
}

StatusOr<std::vector<PaneInfo>> RealTmuxClient::ListPanes() {
  auto r = Run({"list-panes", "-a", "-F", kPaneFormat}, "list-panes");
  if (!r.ok()) return r.status();
  if (!r->success()) {
    if (NoServer(*r)) return std::vector<PaneInfo>{};
    return InternalError("tmux list-panes failed (" + r->Describe() + "): " + std::string(Trim(r->err)));
  }
  return ParsePanes(r->out);
}

// One control-mode client for the whole listing: every command's answer comes back in its own
// %begin/%end (or %error) block, so one process and one connection serve list-panes, list-clients
// and a capture of every pane (0.07 ms per command instead of a client per call). The client
// attaches read-only, without output and without resizing anything; its own attachment is not
// counted (clients come from list-clients, control clients excluded). Pane text is read by count
// (a capture prints exactly the pane's height in lines), so nothing an agent prints can end a
// block early.
StatusOr<std::pair<std::vector<PaneInfo>, std::map<std::string, std::string>>> RealTmuxClient::ListPanesWithScreens(
    const std::vector<std::string>& sessions) {
  using Result = std::pair<std::vector<PaneInfo>, std::map<std::string, std::string>>;
  std::string input = std::string("list-panes -a -F \"") + kPaneFormat + "\"\n" +
                      "list-clients -F \"#{client_session}\t#{client_control_mode}\"\n";
  for (const auto& s : sessions) input += "capture-pane -p -t " + Target(s) + "\n";
  ProcessSpec spec;
  spec.argv = {program_, "-S", socket_, "-f", "/dev/null", "-C", "attach-session", "-f", "ignore-size,no-output,read-only"};
  spec.clear_env = true;
  const char* path = std::getenv("PATH");
  spec.env["PATH"] = path != nullptr ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  spec.env["LANG"] = "C.UTF-8";
  spec.stdin_data = input;
  spec.timeout = std::chrono::seconds(20);
  auto r = runner_.Run(spec);
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kNotFound) return TmuxMissing(r.status());
    return r.status();
  }
  if (!r->success() && r->out.find("%begin") == std::string::npos) {
    // No server or no session to attach to: nothing runs.
    if (NoServer(*r) || r->err.find("no sessions") != std::string::npos || r->out.find("no sessions") != std::string::npos) {
      return Result{};
    }
    return TmuxClient::ListPanesWithScreens(sessions);
  }
  auto lines = Split(r->out, '\n');
  size_t i = 0;
  // Reads the next command block: its lines, and whether it succeeded. `count`: read exactly that
  // many lines (pane text); otherwise up to the matching %end/%error.
  auto next_block = [&](std::optional<size_t> count, std::vector<std::string>* body) -> std::optional<bool> {
    // Blocks with flags 0 are tmux's own (the attach); ours carry flags 1.
    while (i < lines.size() && !(StartsWith(lines[i], "%begin ") && EndsWith(lines[i], " 1"))) ++i;
    if (i >= lines.size()) return std::nullopt;
    std::string tail = lines[i].substr(7);
    ++i;
    if (count) {
      for (size_t k = 0; k < *count && i < lines.size(); ++k) body->push_back(lines[i++]);
      if (i < lines.size() && lines[i] == "%end " + tail) {
        ++i;
        return true;
      }
    }
    for (; i < lines.size(); ++i) {
      if (lines[i] == "%end " + tail) {
        ++i;
        return true;
      }
      if (lines[i] == "%error " + tail) {
        ++i;
        return false;
      }
      body->push_back(lines[i]);
    }
    return std::nullopt;
  };
  std::vector<std::string> body;
  auto ok = next_block(std::nullopt, &body);
  if (!ok || !*ok) return TmuxClient::ListPanesWithScreens(sessions);
  Result result;
  result.first = ParsePanes(Join(body, "\n"));
  body.clear();
  ok = next_block(std::nullopt, &body);
  if (!ok || !*ok) return TmuxClient::ListPanesWithScreens(sessions);
  std::map<std::string, int> clients;
  for (const auto& line : body) {
    auto f = Split(line, '\t');
    if (f.size() == 2 && f[1] != "1") clients[f[0]]++;
  }
  std::map<std::string, int> height;
  for (auto& p : result.first) {
    p.clients = clients[p.session];
    height[p.session] = p.height;
  }
  for (const auto& s : sessions) {
    body.clear();
    auto h = height.find(s);
    ok = next_block(h == height.end() ? std::nullopt : std::optional<size_t>(static_cast<size_t>(h->second)), &body);
    if (!ok) break;
    if (*ok && h != height.end()) result.second[s] = Join(body, "\n") + "\n";
  }
  return result;
}

StatusOr<std::map<std::string, std::string>> RealTmuxClient::CaptureTails(const std::vector<PaneInfo>& panes,
                                                                         int lines) {
  std::map<std::string, std::string> out;
  if (panes.empty()) return out;
  std::vector<std::string> w;
  for (const auto& p : panes) {
    if (!w.empty()) w.push_back(";");
    w.insert(w.end(), {"display-message", "-p", "-t", Target(p.session), kCaptureMarker + p.session, ";",
                       "capture-pane", "-p", "-t", Target(p.session), "-S", std::to_string(p.cursor_y - lines + 1),
                       "-E", std::to_string(p.cursor_y)});
  }
  auto r = Run(std::move(w), "capture-pane");
  if (!r.ok()) return r.status();
  // A pane that vanished between the listing and this call stops the chain; what was captured
  // before it is still good.
  std::string current;
  bool in = false;
  for (const auto& line : Split(r->out, '\n')) {
    if (StartsWith(line, kCaptureMarker)) {
      current = line.substr(std::string_view(kCaptureMarker).size());
      out[current];
      in = true;
      continue;
    }
    if (in) out[current] += line + "\n";
  }
  return out;
}

StatusOr<std::string> RealTmuxClient::Capture(const std::string& session, int history) {
  auto r = Run({"capture-pane", "-p", "-t", Target(session), "-S", std::to_string(-history)}, "capture-pane " + session);
  CC_RETURN_IF_ERROR(Check(r, "capture-pane " + session));
  return r->out;
}

Status RealTmuxClient::SendLiteral(const std::string& session, const std::string& text) {
  auto r = Run({"send-keys", "-t", Target(session), "-l", "--", TmuxArg(text)}, "send-keys " + session);
  return Check(r, "send-keys " + session);
}

Status RealTmuxClient::SendKey(const std::string& session, const std::string& key) {
  if (!ValidKeyName(key)) return InvalidArgumentError("tmux key name \"" + key + "\" is not valid");
  auto r = Run({"send-keys", "-t", Target(session), key}, "send-keys " + session);
  return Check(r, "send-keys " + session);
}

Status RealTmuxClient::Respawn(const std::string& session, const std::vector<std::string>& argv) {
  std::vector<std::string> w = {"respawn-pane", "-k", "-t", Target(session), "-c", "/", "--"};
  for (const auto& a : argv) w.push_back(TmuxArg(a));
  auto r = Run(std::move(w), "respawn-pane " + session);
  return Check(r, "respawn-pane " + session);
}

Status RealTmuxClient::KillSession(const std::string& session) {
  auto r = Run({"kill-session", "-t", "=" + session}, "kill-session " + session);
  Status st = Check(r, "kill-session " + session);
  if (st.code() == StatusCode::kNotFound) return OkStatus();
  return st;
}

StatusOr<std::vector<ClientInfo>> RealTmuxClient::ListClients() {
  auto r = Run({"list-clients", "-F", "#{client_session}\t#{client_tty}\t#{client_control_mode}\t#{client_readonly}"},
               "list-clients");
  if (!r.ok()) return r.status();
  std::vector<ClientInfo> out;
  if (!r->success()) {
    if (NoServer(*r)) return out;
    return InternalError("tmux list-clients failed: " + std::string(Trim(r->err)));
  }
  for (const auto& line : Split(r->out, '\n', true)) {
    auto f = Split(line, '\t');
    if (f.size() != 4) continue;
    out.push_back(ClientInfo{f[0], f[1], f[2] == "1", f[3] == "1"});
  }
  return out;
}

StatusOr<std::optional<int>> RealTmuxClient::ServerPid() {
  auto r = Run({"display-message", "-p", "#{pid}"}, "display-message");
  if (!r.ok()) return r.status();
  if (!r->success()) {
    if (NoServer(*r)) return std::optional<int>();
    return InternalError("tmux display-message failed: " + std::string(Trim(r->err)));
  }
  return ToInt(Trim(r->out));
}

Status RealTmuxClient::KillServer() {
  auto r = Run({"kill-server"}, "kill-server");
  if (!r.ok()) return r.status();
  if (!r->success() && !NoServer(*r)) {
    return InternalError("tmux kill-server failed: " + std::string(Trim(r->err)));
  }
  if (unlink(socket_.c_str()) != 0 && errno != ENOENT) return ErrnoError(errno, "remove tmux socket " + socket_);
  return OkStatus();
}

std::vector<std::string> RealTmuxClient::AttachArgv(const std::string& session, bool read_only) const {
  std::string program = FindOnPath(program_);
  std::vector<std::string> argv = {program.empty() ? program_ : program, "-S", socket_, "-f", "/dev/null",
                                   "attach-session"};
  if (read_only) argv.push_back("-r");
  argv.insert(argv.end(), {"-t", "=" + session});
  return argv;
}

// ---- FakeTmuxClient ----

Status FakeTmuxClient::Missing() const {
  return TmuxMissing(NotFoundError("run tmux: program not found on PATH"));
}

Status FakeTmuxClient::NewSession(const NewSessionSpec& spec) {
  if (missing) return Missing();
  if (!fail_next_new_session.ok()) {
    Status st = fail_next_new_session;
    fail_next_new_session = OkStatus();
    return st;
  }
  if (sessions_.count(spec.name)) return AlreadyExistsError("tmux already has a session named \"" + spec.name + "\"");
  Session s;
  s.argv = spec.argv;
  s.pipe_command = spec.pipe_command;
  s.pipe_env = spec.pipe_env;
  s.pid = next_pid_++;
  sessions_[spec.name] = s;
  return OkStatus();
}

StatusOr<std::vector<PaneInfo>> FakeTmuxClient::ListPanes() {
  if (missing) return Missing();
  std::vector<PaneInfo> out;
  for (const auto& [name, s] : sessions_) {
    PaneInfo p;
    p.session = name;
    p.pane_pid = s.pid;
    p.dead = s.dead;
    if (s.dead) p.dead_status = s.dead_status;
    p.clients = s.clients;
    p.height = 50;
    out.push_back(p);
  }
  return out;
}

StatusOr<std::map<std::string, std::string>> FakeTmuxClient::CaptureTails(const std::vector<PaneInfo>& panes, int) {
  if (missing) return Missing();
  std::map<std::string, std::string> out;
  for (const auto& p : panes) {
    auto it = sessions_.find(p.session);
    if (it != sessions_.end()) out[p.session] = it->second.screen;
  }
  return out;
}

StatusOr<std::string> FakeTmuxClient::Capture(const std::string& session, int) {
  if (missing) return Missing();
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return NotFoundError("tmux capture-pane " + session + ": no such agent session");
  return it->second.screen;
}

Status FakeTmuxClient::SendLiteral(const std::string& session, const std::string& text) {
  if (missing) return Missing();
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return NotFoundError("tmux send-keys " + session + ": no such agent session");
  it->second.sent.push_back(text);
  return OkStatus();
}

Status FakeTmuxClient::SendKey(const std::string& session, const std::string& key) {
  if (!ValidKeyName(key)) return InvalidArgumentError("tmux key name \"" + key + "\" is not valid");
  return SendLiteral(session, "<" + key + ">");
}

Status FakeTmuxClient::Respawn(const std::string& session, const std::vector<std::string>& argv) {
  if (missing) return Missing();
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return NotFoundError("tmux respawn-pane " + session + ": no such agent session");
  it->second.argv = argv;
  it->second.dead = false;
  it->second.pid = next_pid_++;
  return OkStatus();
}

Status FakeTmuxClient::KillSession(const std::string& session) {
  if (missing) return Missing();
  sessions_.erase(session);
  return OkStatus();
}

StatusOr<std::vector<ClientInfo>> FakeTmuxClient::ListClients() {
  if (missing) return Missing();
  std::vector<ClientInfo> out;
  for (const auto& [name, s] : sessions_) {
    for (int i = 0; i < s.clients; ++i) out.push_back(ClientInfo{name, "/dev/pts/x", false, false});
  }
  return out;
}

StatusOr<std::optional<int>> FakeTmuxClient::ServerPid() {
  if (missing) return Missing();
  if (sessions_.empty()) return std::optional<int>();
  return std::optional<int>(1);
}

Status FakeTmuxClient::KillServer() {
  if (missing) return Missing();
  sessions_.clear();
  return OkStatus();
}

std::vector<std::string> FakeTmuxClient::AttachArgv(const std::string& session, bool read_only) const {
  std::vector<std::string> argv = {"tmux", "attach-session"};
  if (read_only) argv.push_back("-r");
  argv.insert(argv.end(), {"-t", "=" + session});
  return argv;
}

}  // namespace cloudcoop::node
