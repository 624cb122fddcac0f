// Agent names: the one strict pattern every name passes before it reaches tmux, git, paths, uids,
// hostnames or cgroups.
#ifndef CLOUDCOOP_NODE_NAMES_H_
#define CLOUDCOOP_NODE_NAMES_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace cloudcoop::node {

inline constexpr size_t kMaxAgentNameLength = 32;

// Lowercase letters, digits and single hyphens; starts with a letter, ends with a letter or digit;
// 1 to 32 characters (a valid hostname label, tmux session name, path component and git ref part).
// The error names the offending character and position and suggests a valid spelling.
Status ValidateAgentName(std::string_view name);

// Environment variable names for --env and profile env: [A-Za-z_][A-Za-z0-9_]*.
Status ValidateEnvName(std::string_view name);

// Git branch names for --branch: a conservative subset of git-check-ref-format (letters, digits,
// '.', '_', '-', '/'; no "..", no leading '-', '.' or '/', no trailing '/' or ".lock", no "//").
Status ValidateBranchName(std::string_view branch);

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_NAMES_H_
