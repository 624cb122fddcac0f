// The agent host's state directory and what lives in it.
//
//   $CLOUDCOOP_STATE_DIR (default /var/lib/cloudcoop)   root 0711: others may only traverse
//     lock                    flock(2) serialising registry changes (ADR 0012)
//     uid-range               "BASE COUNT": the uids this host's agents get (registry.h)
//     next-uid                the next agent uid to hand out (never reused)
//     lockout.json            written by `panic`; `agent add`/`restart` refuse while it exists
//     audit/                  the audit log (src/audit)
//     agents/NAME/            root 0700: agent.json (the record), status.json (the supervisor's)
//     homes/NAME/             the agent's home: agent uid, 0700
//     workspaces/NAME/        the agent's workspace: agent uid, operator group, setgid, 2750
//     handoff/                root 0711: bundles on their way into the operator's repository
//     run/                    root 0700: tmux.sock (cloudcoop's own tmux server), attach claims
//     transcripts/            root 0700: NAME.log (+ NAME.log.1), each agent's redacted terminal (audit/transcript.h)
//
// Everything is created with exact modes (not the umask's), and a state directory that someone
// else could write to is refused: records in it are trusted by root.
#ifndef CLOUDCOOP_NODE_STATE_H_
#define CLOUDCOOP_NODE_STATE_H_

#include <string>

#include "core/status.h"

namespace cloudcoop::node {

inline constexpr const char* kDefaultStateDir = "/var/lib/cloudcoop";

// $CLOUDCOOP_STATE_DIR, else the default.
std::string StateDirFromEnvironment();

class StateLayout {
 public:
  explicit StateLayout(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string lock_file() const { return root_ + "/lock"; }
  std::string next_uid_file() const { return root_ + "/next-uid"; }
  std::string uid_range_file() const { return root_ + "/uid-range"; }
  std::string lockout_file() const { return root_ + "/lockout.json"; }
  std::string agents_dir() const { return root_ + "/agents"; }
  std::string agent_dir(const std::string& name) const { return agents_dir() + "/" + name; }
  std::string record_file(const std::string& name) const { return agent_dir(name) + "/agent.json"; }
  std::string status_file(const std::string& name) const { return agent_dir(name) + "/status.json"; }
  std::string homes_dir() const { return root_ + "/homes"; }
  std::string home_dir(const std::string& name) const { return homes_dir() + "/" + name; }
  std::string workspaces_dir() const { return root_ + "/workspaces"; }
  std::string workspace_dir(const std::string& name) const { return workspaces_dir() + "/" + name; }
  std::string handoff_dir() const { return root_ + "/handoff"; }
  std::string run_dir() const { return root_ + "/run"; }
  std::string tmux_socket() const { return run_dir() + "/tmux.sock"; }
  std::string claims_dir() const { return run_dir() + "/claims"; }
  std::string transcripts_dir() const { return root_ + "/transcripts"; }

 private:
  std::string root_;
};

// Creates the state directory tree if needed (exact modes), then checks that it is a directory
// owned by this user, not writable by group or others, and actually writable (a probe file), so a
// read-only or foreign directory is reported before anything is changed.
StatusOr<StateLayout> OpenStateDir(const std::string& root);

// Opens an existing state directory for reading only (list, peek): no directories are created.
// A missing directory is not an error (there are simply no agents).
StateLayout StateForReading(const std::string& root);

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_STATE_H_
