// The tmux seam. cloudcoop runs one tmux server of its own on a root-only socket
// (state dir run/tmux.sock, started with -f /dev/null so no user configuration is read) with one
// session per agent; the session's only pane runs the agent's supervisor (ADR 0013).
//
// Every call is an argv vector. Targets are always exact ("=NAME:"), never tmux's prefix or pattern
// matching, arguments after "--" where tmux accepts it, literal text through `send-keys -l`, and an
// argument ending in ';' is escaped so tmux does not take it as a command separator.
#ifndef CLOUDCOOP_NODE_TMUX_H_
#define CLOUDCOOP_NODE_TMUX_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "core/process.h"
#include "core/status.h"

namespace cloudcoop::node {

struct NewSessionSpec {
  std::string name;
  std::vector<std::string> argv;  // the pane command (at least two words: tmux execs it directly)
  int width = 200;
  int height = 50;
  // A shell command tmux pipes the pane's output into (`pipe-pane -o`), set up in the same tmux call
  // that creates the session, before the pane can print anything; empty: none.
  std::string pipe_command;
  // Variables the pipe command gets through the session's environment: handed to the tmux client
  // in its environment (never on a command line) and copied in by `update-environment`, then
  // removed from the session once the pipe runs.
  std::map<std::string, std::string> pipe_env;
};

struct PaneInfo {
  std::string session;
  int pane_pid = 0;
  bool dead = false;
  std::optional<int> dead_status;
  int cursor_y = 0;
  int height = 0;
  int clients = 0;  // attached clients
  int server_pid = 0;
};

struct ClientInfo {
  std::string session;
  std::string tty;
  bool control = false;
  bool read_only = false;
};

class TmuxClient {
 public:
  virtual ~TmuxClient() = default;
  // Fails (naming the fix) when tmux is not installed; does not start anything.
  virtual Status CheckInstalled() = 0;
  // Starts the server when needed, with remain-on-exit set before the command starts.
  virtual Status NewSession(const NewSessionSpec& spec) = 0;
  // Every session's pane; empty when no server is running.
  virtual StatusOr<std::vector<PaneInfo>> ListPanes() = 0;
  // The last `lines` lines of each named pane's visible screen (one tmux call for all of them).
  // Panes that do not exist are missing from the result.
  virtual StatusOr<std::map<std::string, std::string>> CaptureTails(const std::vector<PaneInfo>& panes,
                                                                    int lines) = 0;
  // ListPanes plus the visible screen of each named session, in one tmux call when every named
  // session exists (else it falls back to ListPanes and CaptureTails).
  virtual StatusOr<std::pair<std::vector<PaneInfo>, std::map<std::string, std::string>>> ListPanesWithScreens(
      const std::vector<std::string>& sessions) {
    CC_ASSIGN_OR_RETURN(std::vector<PaneInfo> panes, ListPanes());
    std::vector<PaneInfo> wanted;
    for (const auto& p : panes) {
      for (const auto& s : sessions) {
        if (p.session == s) wanted.push_back(p);
      }
    }
    CC_ASSIGN_OR_RETURN(auto screens, CaptureTails(wanted, 3));
    return std::make_pair(std::move(panes), std::move(screens));
  }
  // The whole visible screen plus `history` lines of scroll-back.
  virtual StatusOr<std::string> Capture(const std::string& session, int history) = 0;
  virtual Status SendLiteral(const std::string& session, const std::string& text) = 0;
  // Named keys ("Enter", "C-c").
  virtual Status SendKey(const std::string& session, const std::string& key) = 0;
  // Replaces the pane's process (killing it if it still runs) with argv.
  virtual Status Respawn(const std::string& session, const std::vector<std::string>& argv) = 0;
  virtual Status KillSession(const std::string& session) = 0;  // missing is not an error
  virtual StatusOr<std::vector<ClientInfo>> ListClients() = 0;
  // The server's pid, or nothing when no server runs.
  virtual StatusOr<std::optional<int>> ServerPid() = 0;
  // Kills the server and removes its socket file (tmux leaves it behind).
  virtual Status KillServer() = 0;
  // The argv a terminal runs to attach to a session (exec'd by `connect`).
  virtual std::vector<std::string> AttachArgv(const std::string& session, bool read_only) const = 0;
};

// Escapes an argument for tmux's command parser: a trailing ';' would end the command.
std::string TmuxArg(const std::string& arg);

class RealTmuxClient : public TmuxClient {
 public:
  // `socket`: the socket path; `runner`: how tmux is started (the real runner unless testing).
  RealTmuxClient(std::string socket, ProcessRunner& runner, std::string tmux_program = "tmux");

  Status CheckInstalled() override;
  Status NewSession(const NewSessionSpec& spec) override;
  StatusOr<std::vector<PaneInfo>> ListPanes() override;
  StatusOr<std::pair<std::vector<PaneInfo>, std::map<std::string, std::string>>> ListPanesWithScreens(
      const std::vector<std::string>& sessions) override;
  StatusOr<std::map<std::string, std::string>> CaptureTails(const std::vector<PaneInfo>& panes, int lines) override;
  StatusOr<std::string> Capture(const std::string& session, int history) override;
  Status SendLiteral(const std::string& session, const std::string& text) override;
  Status SendKey(const std::string& session, const std::string& key) override;
  Status Respawn(const std::string& session, const std::vector<std::string>& argv) override;
  Status KillSession(const std::string& session) override;
  StatusOr<std::vector<ClientInfo>> ListClients() override;
  StatusOr<std::optional<int>> ServerPid() override;
  Status KillServer() override;
  std::vector<std::string> AttachArgv(const std::string& session, bool read_only) const override;

  const std::string& socket() const { return socket_; }

 private:
  // Runs tmux with the given command words (already escaped).
  StatusOr<ProcessResult> Run(std::vector<std::string> words, const std::string& what,
                              const std::map<std::string, std::string>& extra_env = {});
  static std::vector<PaneInfo> ParsePanes(const std::string& out);
  // True when the output says there is no server or no such session.
  static bool NoServer(const ProcessResult& r);
  Status Check(const StatusOr<ProcessResult>& r, const std::string& what);

  std::string socket_;
  ProcessRunner& runner_;
  std::string program_;
};

// An in-memory tmux for unit tests and fault injection.
class FakeTmuxClient : public TmuxClient {
 public:
  struct Session {
    std::vector<std::string> argv;
    std::string pipe_command;
    std::map<std::string, std::string> pipe_env;
    std::string screen;
    bool dead = false;
    int dead_status = 0;
    int pid = 0;
    int clients = 0;
    std::vector<std::string> sent;
  };

  Status CheckInstalled() override { return missing ? Missing() : OkStatus(); }
  Status NewSession(const NewSessionSpec& spec) override;
  StatusOr<std::vector<PaneInfo>> ListPanes() override;
  StatusOr<std::map<std::string, std::string>> CaptureTails(const std::vector<PaneInfo>& panes, int lines) override;
  StatusOr<std::string> Capture(const std::string& session, int history) override;
  Status SendLiteral(const std::string& session, const std::string& text) override;
  Status SendKey(const std::string& session, const std::string& key) override;
  Status Respawn(const std::string& session, const std::vector<std::string>& argv) override;
  Status KillSession(const std::string& session) override;
  StatusOr<std::vector<ClientInfo>> ListClients() override;
  StatusOr<std::optional<int>> ServerPid() override;
  Status KillServer() override;
  std::vector<std::string> AttachArgv(const std::string& session, bool read_only) const override;

  // Test controls.
  std::map<std::string, Session>& sessions() { return sessions_; }
  Status fail_next_new_session;  // returned (once) by the next NewSession
  bool missing = false;          // behave as if tmux were not installed

 private:
  Status Missing() const;
  std::map<std::string, Session> sessions_;
  int next_pid_ = 1000;
};

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_TMUX_H_
