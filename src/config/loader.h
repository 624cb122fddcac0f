// Layered configuration loading, lowest to highest:
//   built-in defaults < user file (~/.config/cloudcoop/cloudcoop.toml or $XDG_CONFIG_HOME)
//   < repo .cloudcoop/config.toml < repo .cloudcoop/local.toml < environment CLOUDCOOP_<SECTION>_<KEY>
//   < command-line --set KEY=VALUE.
// `--config FILE` replaces the three file layers with that one file. The result is validated
// (types, bounds, unknown keys, cross-key security rules) before any caller sees it.
#ifndef CLOUDCOOP_CONFIG_LOADER_H_
#define CLOUDCOOP_CONFIG_LOADER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/schema.h"
#include "config/settings.h"
#include "core/status.h"

namespace cloudcoop {

enum class Layer { kDefault, kUser, kRepo, kLocal, kFile, kEnv, kFlag };
std::string_view LayerName(Layer layer);

struct Entry {
  Value value;
  Layer layer = Layer::kDefault;
  std::string origin;  // "/home/u/.config/cloudcoop/cloudcoop.toml:3", "CLOUDCOOP_VM_NAME", "--set"
};

using EntryMap = std::map<std::string, Entry>;

struct ConfigPaths {
  std::string user;   // may not exist
  std::string repo;   // <repo>/.cloudcoop/config.toml
  std::string local;  // <repo>/.cloudcoop/local.toml
  std::string repo_root;
};

struct LoadOptions {
  std::string cwd;
  std::string home;
  std::string xdg_config_home;
  std::map<std::string, std::string> env;  // the CLOUDCOOP_* variables
  std::optional<std::string> explicit_file;
  std::vector<std::string> flag_overrides;  // KEY=VALUE
  HostFacts host;
  // File contents to use instead of what is on disk (path -> content): `config set` validates the
  // merged result of a change before writing it.
  std::map<std::string, std::string> pending_writes;
  // The real process: its cwd, HOME, XDG_CONFIG_HOME, environment and host.
  static LoadOptions FromProcess();
};

class LoadedConfig {
 public:
  const EntryMap& entries() const { return entries_; }
  const Entry* Find(const std::string& key) const;
  const Settings& settings() const { return settings_; }
  const ConfigPaths& paths() const { return paths_; }
  const std::vector<std::string>& files_read() const { return files_read_; }

 private:
  friend StatusOr<LoadedConfig> LoadConfig(const LoadOptions& options);
  friend StatusOr<LoadedConfig> FinishConfig(EntryMap entries, const LoadOptions& options,
                                             ConfigPaths paths, std::vector<std::string> files);
  EntryMap entries_;
  Settings settings_;
  ConfigPaths paths_;
  std::vector<std::string> files_read_;
};

ConfigPaths ResolveConfigPaths(const LoadOptions& options);
StatusOr<LoadedConfig> LoadConfig(const LoadOptions& options);
// Validates a merged entry map and builds the typed settings from it.
StatusOr<LoadedConfig> FinishConfig(EntryMap entries, const LoadOptions& options, ConfigPaths paths,
                                    std::vector<std::string> files);

// The built-in defaults layer.
EntryMap DefaultEntries();

// TOML I/O (toml_io.cc). Reading checks every key against the schema and every value's type and
// bounds; errors name the file, line and column.
StatusOr<EntryMap> ParseTomlLayer(const std::string& content, const std::string& path, Layer layer);
// Returns `content` with `key` set to `value` (creating tables as needed), or with it removed
// when `value` is empty.
StatusOr<std::string> SetKeyInToml(const std::string& content, const std::string& path,
                                   const std::string& key, const std::optional<Value>& value);

// Parses one "KEY=VALUE" override (--set) against the schema.
StatusOr<std::pair<std::string, Value>> ParseOverride(const std::string& text);

// Cross-key and security rules (validate.cc). Every problem found, not just the first.
std::vector<Status> ValidateEntries(const EntryMap& entries, const HostFacts& host);
Settings BuildSettings(const EntryMap& entries);

}  // namespace cloudcoop

#endif  // CLOUDCOOP_CONFIG_LOADER_H_
