#include "cli/config_write.h"

#include "core/files.h"
#include "core/strings.h"

namespace cloudcoop::cli {

std::string ScopeFile(const LoadOptions& options, const std::string& scope) {
  if (options.explicit_file) return *options.explicit_file;
  ConfigPaths paths = ResolveConfigPaths(options);
  if (scope == "repo") return paths.repo;
  if (scope == "local") return paths.local;
  return paths.user;
}

Status WriteConfigChanges(LoadOptions options, const std::string& file,
                          const std::vector<std::pair<std::string, std::optional<Value>>>& changes,
                          bool replace) {
  std::string content;
  if (!replace && PathExists(file)) {
    CC_ASSIGN_OR_RETURN(content, ReadFile(file));
  }
  for (const auto& [key, value] : changes) {
    CC_ASSIGN_OR_RETURN(content, SetKeyInToml(content, file, key, value));
  }
  options.pending_writes[file] = content;
  // The file must be one of the layers for the validation to see it.
  ConfigPaths paths = ResolveConfigPaths(options);
  if (!options.explicit_file && file != paths.user && file != paths.repo && file != paths.local) {
    options.explicit_file = file;
  }
  auto loaded = LoadConfig(options);
  if (!loaded.ok()) return loaded.status().Annotate("not written, the result would be invalid");
  CC_RETURN_IF_ERROR(MakeDirs(Dirname(file), 0700));
  CC_RETURN_IF_ERROR(WriteFileAtomic(file, content, 0600));
  // local.toml holds one developer's settings: keep it out of git.
  if (file == paths.local) {
    std::string ignore = JoinPath(Dirname(file), ".gitignore");
    std::string existing;
    if (PathExists(ignore)) {
      CC_ASSIGN_OR_RETURN(existing, ReadFile(ignore));
    }
    bool listed = false;
    for (const auto& line : Split(existing, '\n')) listed = listed || Trim(line) == "local.toml";
    if (!listed) {
      if (!existing.empty() && existing.back() != '\n') existing += "\n";
      CC_RETURN_IF_ERROR(WriteFileAtomic(ignore, existing + "local.toml\n", 0644));
    }
  }
  return OkStatus();
}

}  // namespace cloudcoop::cli
