// Shared by `config set` and `config init`: where each scope's file is, and how a change is
// validated against the merged configuration before it is written.
#ifndef CLOUDCOOP_CLI_CONFIG_WRITE_H_
#define CLOUDCOOP_CLI_CONFIG_WRITE_H_

#include <optional>
#include <string>
#include <vector>

#include "config/loader.h"

namespace cloudcoop::cli {

inline constexpr std::string_view kScopeChoices[] = {"global", "repo", "local"};

// The file a scope writes: global = the user file, repo = .cloudcoop/config.toml,
// local = .cloudcoop/local.toml (git-ignored). With --config, that file.
std::string ScopeFile(const LoadOptions& options, const std::string& scope);

// Applies `changes` (key -> value, or nullopt to remove) to `file`, validates the merged
// configuration with the result, and only then writes the file atomically (0600 in a 0700
// directory). Nothing is written when validation fails.
// With `replace`, the file's old content is dropped instead of edited.
Status WriteConfigChanges(LoadOptions options, const std::string& file,
                          const std::vector<std::pair<std::string, std::optional<Value>>>& changes,
                          bool replace = false);

}  // namespace cloudcoop::cli

#endif  // CLOUDCOOP_CLI_CONFIG_WRITE_H_
