// Opens the local agent host for the agent commands: the state directory, cloudcoop's tmux server,
// the sandbox, the control log. One place, so every command sees the same host.
#ifndef CLOUDCOOP_CLI_AGENT_HOST_H_
#define CLOUDCOOP_CLI_AGENT_HOST_H_

#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "node/service.h"

namespace cloudcoop::cli {

class Invocation;

struct LocalHost {
  std::unique_ptr<node::RealTmuxClient> tmux;
  std::unique_ptr<node::ControlLog> log;
  std::unique_ptr<node::AgentHost> host;
};

// `create`: make the state directory if needed (commands that change things); otherwise it is
// only read, and a missing one simply has no agents.
StatusOr<LocalHost> OpenLocalHost(bool create);

// The absolute path of this cloudcoop binary (what agent panes run as their supervisor).
std::string SelfBinary();

// --grace SECONDS (default `fallback`), 0..3600.
StatusOr<Duration> GraceFlag(const Invocation& inv, Duration fallback);

}  // namespace cloudcoop::cli

#endif  // CLOUDCOOP_CLI_AGENT_HOST_H_
