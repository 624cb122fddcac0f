// Agent profiles (agents.profiles.<name> in the configuration): the command an agent runs, the
// command `agent restart` resumes it with, its environment, and the profile's own configuration
// files that the sandbox keeps read-only.
#ifndef CLOUDCOOP_NODE_PROFILES_H_
#define CLOUDCOOP_NODE_PROFILES_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.h"
#include "core/status.h"

namespace cloudcoop::node {

struct AgentCommand {
  std::string profile;  // the profile name ("custom" is never used: --cmd keeps the profile's env)
  std::vector<std::string> argv;
  std::vector<std::string> resume_argv;
  std::map<std::string, std::string> env;
};

// The profile (default: agents.default_profile), optionally with its command replaced by `cmd`
// (then the resume command is `cmd` too), plus `env_flags` ("K=V", later ones win over the
// profile's). Unknown profiles, unsplittable commands and bad variable names are usage errors.
StatusOr<AgentCommand> ResolveAgentCommand(const AgentSettings& settings, const std::optional<std::string>& profile,
                                           const std::optional<std::string>& cmd,
                                           const std::vector<std::string>& env_flags);

// Configuration files of a profile's agent program that must not be writable by the agent: paths
// relative to the workspace and to the agent's home. Unknown profiles get the common set only.
struct ProfileFiles {
  std::vector<std::string> workspace_files, workspace_dirs;
  std::vector<std::string> home_files, home_dirs;
};
ProfileFiles ProtectedProfileFiles(const std::string& profile);

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_PROFILES_H_
