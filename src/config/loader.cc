#include "config/loader.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "core/files.h"
#include "core/logging.h"
#include "core/strings.h"

extern char** environ;

namespace cloudcoop {

std::string_view LayerName(Layer layer) {
  switch (layer) {
    case Layer::kDefault: return "default";
    case Layer::kUser: return "user";
    case Layer::kRepo: return "repo";
    case Layer::kLocal: return "local";
    case Layer::kFile: return "file";
    case Layer::kEnv: return "env";
    case Layer::kFlag: return "flag";
  }
  return "?";
}

std::string GcpSettings::Region() const {
  size_t dash = zone.rfind('-');
  return dash == std::string::npos ? zone : zone.substr(0, dash);
}

HostFacts HostFacts::Read() {
  HostFacts facts;
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  facts.cpus = n > 0 ? static_cast<double>(n) : 1;
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGESIZE);
  facts.memory_bytes = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
  facts.pid_max = 4194304;
  if (auto text = ReadFile("/proc/sys/kernel/pid_max"); text.ok()) {
    if (auto v = ParseInt64(*text)) facts.pid_max = *v;
  }
  return facts;
}

const Entry* LoadedConfig::Find(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

LoadOptions LoadOptions::FromProcess() {
  LoadOptions options;
  char buf[4096];
  if (getcwd(buf, sizeof buf) != nullptr) options.cwd = buf;
  if (const char* home = std::getenv("HOME")) options.home = home;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME")) options.xdg_config_home = xdg;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv = *e;
    if (!StartsWith(kv, "CLOUDCOOP_")) continue;
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    options.env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  options.host = HostFacts::Read();
  return options;
}

ConfigPaths ResolveConfigPaths(const LoadOptions& options) {
  ConfigPaths paths;
  std::string base = !options.xdg_config_home.empty() ? options.xdg_config_home
                                                      : JoinPath(options.home, ".config");
  paths.user = JoinPath(base, "cloudcoop/cloudcoop.toml");
  // The repository: the nearest directory upwards holding .cloudcoop/, else the git top level,
  // else the working directory.
  std::string git_root;
  std::string dir = options.cwd.empty() ? "." : options.cwd;
  while (true) {
    if (IsDirectory(JoinPath(dir, ".cloudcoop"))) {
      paths.repo_root = dir;
      break;
    }
    if (git_root.empty() && PathExists(JoinPath(dir, ".git"))) git_root = dir;
    std::string parent = Dirname(dir);
    if (parent == dir) break;
    dir = parent;
  }
  if (paths.repo_root.empty()) paths.repo_root = !git_root.empty() ? git_root : options.cwd;
  paths.repo = JoinPath(paths.repo_root, ".cloudcoop/config.toml");
  paths.local = JoinPath(paths.repo_root, ".cloudcoop/local.toml");
  return paths;
}

EntryMap DefaultEntries() {
  EntryMap entries;
  for (const auto& spec : Schema()) {
    if (spec.key.find('*') != std::string_view::npos) continue;
    auto value = ParseValueText(spec, spec.key, spec.default_text);
    // A default that does not parse is a programming error caught by schema_test.
    if (value.ok()) entries[std::string(spec.key)] = Entry{*value, Layer::kDefault, "built-in"};
  }
  for (const auto& profile : BuiltinProfiles()) {
    std::string prefix = "agents.profiles." + std::string(profile.name) + ".";
    entries[prefix + "command"] = Entry{Value{std::string(profile.command)}, Layer::kDefault, "built-in"};
    entries[prefix + "resume_command"] =
        Entry{Value{std::string(profile.resume_command)}, Layer::kDefault, "built-in"};
  }
  return entries;
}

namespace {

void Merge(EntryMap& into, EntryMap layer) {
  for (auto& [key, entry] : layer) into[key] = std::move(entry);
}

StatusOr<EntryMap> ReadLayerFile(const std::string& path, Layer layer, bool must_exist,
                                 const LoadOptions& options, std::vector<std::string>* files) {
  if (auto pending = options.pending_writes.find(path); pending != options.pending_writes.end()) {
    files->push_back(path);
    return ParseTomlLayer(pending->second, path, layer);
  }
  if (!PathExists(path)) {
    if (must_exist) {
      return InvalidArgumentError("config file " + path + " does not exist")
          .WithFix("check the path given to --config, or create it with `cloudcoop config init`");
    }
    return EntryMap{};
  }
  CC_ASSIGN_OR_RETURN(std::string content, ReadFile(path));
  files->push_back(path);
  return ParseTomlLayer(content, path, layer);
}

StatusOr<EntryMap> EnvLayer(const std::map<std::string, std::string>& env) {
  EntryMap layer;
  for (const auto& spec : Schema()) {
    if (spec.key.find('*') != std::string_view::npos) continue;
    std::string var = EnvVarForKey(spec.key);
    auto it = env.find(var);
    if (it == env.end()) continue;
    auto value = ParseValueText(spec, spec.key, it->second);
    if (!value.ok()) return value.status().Annotate("environment variable " + var);
    layer[std::string(spec.key)] = Entry{*value, Layer::kEnv, var};
  }
  return layer;
}

}  // namespace

// Parses one KEY=VALUE override (shared by --set and `config set`).
StatusOr<std::pair<std::string, Value>> ParseOverride(const std::string& text) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return InvalidArgumentError("--set " + text + ": expected KEY=VALUE").WithFix("write e.g. --set vm.spot=true");
  }
  std::string key(Trim(text.substr(0, eq)));
  const KeySpec* spec = FindKeySpec(key);
  if (spec == nullptr) {
    std::string suggestion = ClosestMatch(key, ConcreteKeys());
    return InvalidArgumentError("unknown config key \"" + key + "\"")
        .WithFix(suggestion.empty() ? "run `cloudcoop config show` for the list of keys"
                                    : "did you mean \"" + suggestion + "\"?");
  }
  CC_ASSIGN_OR_RETURN(Value value, ParseValueText(*spec, key, text.substr(eq + 1)));
  return std::make_pair(key, value);
}

StatusOr<LoadedConfig> LoadConfig(const LoadOptions& options) {
  ConfigPaths paths = ResolveConfigPaths(options);
  EntryMap entries = DefaultEntries();
  std::vector<std::string> files;
  if (options.explicit_file) {
    CC_ASSIGN_OR_RETURN(EntryMap layer, ReadLayerFile(*options.explicit_file, Layer::kFile, true, options, &files));
    Merge(entries, std::move(layer));
  } else {
    const std::pair<const std::string*, Layer> layers[] = {
        {&paths.user, Layer::kUser}, {&paths.repo, Layer::kRepo}, {&paths.local, Layer::kLocal}};
    for (const auto& [path, layer_id] : layers) {
      CC_ASSIGN_OR_RETURN(EntryMap layer, ReadLayerFile(*path, layer_id, false, options, &files));
      Merge(entries, std::move(layer));
    }
  }
  CC_ASSIGN_OR_RETURN(EntryMap env_layer, EnvLayer(options.env));
  Merge(entries, std::move(env_layer));
  for (const auto& text : options.flag_overrides) {
    CC_ASSIGN_OR_RETURN(auto kv, ParseOverride(text));
    entries[kv.first] = Entry{kv.second, Layer::kFlag, "--set"};
  }
  return FinishConfig(std::move(entries), options, std::move(paths), std::move(files));
}

StatusOr<LoadedConfig> FinishConfig(EntryMap entries, const LoadOptions& options, ConfigPaths paths,
                                    std::vector<std::string> files) {
  std::vector<Status> problems = ValidateEntries(entries, options.host);
  if (!problems.empty()) {
    if (problems.size() == 1) return problems[0];
    std::string message = "the configuration has " + std::to_string(problems.size()) + " problems:";
    for (const auto& p : problems) {
      message += "\n  - " + p.message();
      if (!p.fix().empty()) message += "\n    fix: " + p.fix();
    }
    return InvalidArgumentError(message).WithFix("correct the values above; `cloudcoop config show` lists where each came from");
  }
  LoadedConfig config;
  config.settings_ = BuildSettings(entries);
  config.entries_ = std::move(entries);
  config.paths_ = std::move(paths);
  config.files_read_ = std::move(files);
  return config;
}

}  // namespace cloudcoop
