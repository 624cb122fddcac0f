#include "node/profiles.h"

#include <algorithm>

#include "core/strings.h"
#include "node/names.h"
#include "node/words.h"

namespace cloudcoop::node {

StatusOr<AgentCommand> ResolveAgentCommand(const AgentSettings& settings, const std::optional<std::string>& profile,
                                           const std::optional<std::string>& cmd,
                                           const std::vector<std::string>& env_flags) {
  AgentCommand out;
  out.profile = profile.value_or(settings.default_profile);
  auto it = settings.profiles.find(out.profile);
  if (it == settings.profiles.end()) {
    std::vector<std::string> names;
    for (const auto& [n, p] : settings.profiles) names.push_back(n);
    std::string suggestion = ClosestMatch(out.profile, names);
    return InvalidArgumentError("unknown agent profile \"" + out.profile + "\"")
        .WithFix(suggestion.empty() ? "use one of: " + Join(names, ", ") + " (or define agents.profiles." +
                                          out.profile + ".command in the config)"
                                    : "did you mean \"" + suggestion + "\"? (profiles: " + Join(names, ", ") + ")");
  }
  const ProfileSettings& p = it->second;
  if (cmd) {
    auto argv = SplitCommandWords(*cmd);
    if (!argv.ok()) return argv.status().Annotate("--cmd");
    out.argv = *argv;
    out.resume_argv = *argv;
  } else {
    auto argv = SplitCommandWords(p.command);
    if (!argv.ok()) return argv.status().Annotate("agents.profiles." + out.profile + ".command");
    out.argv = *argv;
    auto resume = SplitCommandWords(p.resume_command.empty() ? p.command : p.resume_command);
    if (!resume.ok()) return resume.status().Annotate("agents.profiles." + out.profile + ".resume_command");
    out.resume_argv = *resume;
  }
  out.env = p.env;
  for (const auto& kv : env_flags) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) {
      return InvalidArgumentError("--env " + ShellQuoteForDisplay(kv) + " has no '='")
          .WithFix("write --env NAME=VALUE");
    }
    std::string k = kv.substr(0, eq);
    CC_RETURN_IF_ERROR(ValidateEnvName(k));
    // Variables the supervisor owns; letting them be set would confuse the sandbox's own setup.
    static const char* const kReserved[] = {"HOME", "USER", "LOGNAME", "PATH", "SHELL", "CLOUDCOOP_AGENT"};
    if (std::find(std::begin(kReserved), std::end(kReserved), k) != std::end(kReserved)) {
      return InvalidArgumentError("--env " + k + ": " + k + " is set by cloudcoop inside the sandbox")
          .WithFix("remove --env " + k + " (PATH, HOME, USER, LOGNAME, SHELL and CLOUDCOOP_AGENT are fixed)");
    }
    out.env[k] = kv.substr(eq + 1);
  }
  return out;
}

ProfileFiles ProtectedProfileFiles(const std::string& profile) {
  ProfileFiles f;
  // Every profile: files that the operator's own tools execute or trust when they open the
  // workspace (editor tasks, direnv, shell and git configuration), and the agent's shell start-up.
  f.workspace_dirs = {".vscode"};
  f.workspace_files = {".envrc", ".bashrc", ".gitconfig"};
  f.home_files = {".bashrc", ".profile", ".bash_profile", ".bash_login", ".gitconfig"};
  if (profile == "claude") {
    f.workspace_files.insert(f.workspace_files.end(),
                             {".claude/settings.json", ".claude/settings.local.json", ".mcp.json"});
    f.workspace_dirs.insert(f.workspace_dirs.end(), {".claude/commands", ".claude/agents", ".claude/hooks"});
    f.home_files.insert(f.home_files.end(), {".claude/settings.json"});
    f.home_dirs.insert(f.home_dirs.end(), {".claude/commands", ".claude/agents"});
  } else if (profile == "codex") {
    f.workspace_dirs.push_back(".codex");
    f.home_files.push_back(".codex/config.toml");
  } else if (profile == "aider") {
    f.workspace_files.insert(f.workspace_files.end(), {".aider.conf.yml", ".aider.model.settings.yml"});
    f.home_files.push_back(".aider.conf.yml");
  } else if (profile == "gemini") {
    f.workspace_dirs.push_back(".gemini");
    f.home_files.push_back(".gemini/settings.json");
  }
  return f;
}

}  // namespace cloudcoop::node
