#include <algorithm>
#include <iostream>
#include <set>

#include "cli/command.h"
#include "config/loader.h"
#include "core/logging.h"
#include "core/strings.h"

namespace cloudcoop::cli {

const std::vector<FlagSpec>& GlobalFlags() {
  static const std::vector<FlagSpec> flags = {
      {"verbose", FlagKind::kBool, "", "log what cloudcoop does (same as CLOUDCOOP_LOG=debug)", {}, 'v'},
      {"config", FlagKind::kValue, "FILE", "use only this config file instead of the user, repo and local files"},
      {"set", FlagKind::kRepeated, "KEY=VALUE", "override a config value for this command (highest layer)"},
      {"help", FlagKind::kBool, "", "show help for the command", {}, 'h'},
  };
  return flags;
}

namespace {
const std::vector<std::string> kEmpty;
}

bool Invocation::Has(std::string_view flag) const { return flags_.find(flag) != flags_.end(); }

std::optional<std::string> Invocation::Value(std::string_view flag) const {
  auto it = flags_.find(flag);
  if (it == flags_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string Invocation::ValueOr(std::string_view flag, std::string fallback) const {
  auto v = Value(flag);
  return v ? *v : std::move(fallback);
}

const std::vector<std::string>& Invocation::Values(std::string_view flag) const {
  auto it = flags_.find(flag);
  return it == flags_.end() ? kEmpty : it->second;
}

int Invocation::Fail(const Status& status) {
  err_ << "cloudcoop: error: " << status.message() << "\n";
  if (!status.fix().empty()) err_ << "  fix: " << status.fix() << "\n";
  CC_LOG_DEBUG("error raised at %s:%d (%s)", status.file(), status.line(),
               std::string(StatusCodeName(status.code())).c_str());
  return ExitCodeFor(status);
}

int Invocation::UsageError(const std::string& message) {
  err_ << "cloudcoop: error: " << message << "\n"
       << "  usage: " << UsageLine(spec_) << "\n"
       << "  see `cloudcoop help " << spec_.name << "`\n";
  return 2;
}

LoadOptions Invocation::ConfigOptions() const {
  LoadOptions options = LoadOptions::FromProcess();
  if (auto file = Value("config")) options.explicit_file = *file;
  options.flag_overrides = Values("set");
  return options;
}

StatusOr<const LoadedConfig*> Invocation::Config() {
  if (!config_) {
    CC_ASSIGN_OR_RETURN(LoadedConfig loaded, LoadConfig(ConfigOptions()));
    config_ = std::make_shared<LoadedConfig>(std::move(loaded));
  }
  return config_.get();
}

const CommandSpec* FindCommand(std::string_view name) {
  for (const CommandSpec* spec : AllCommands()) {
    if (spec->name == name) return spec;
    for (auto alias : spec->aliases) {
      if (alias == name) return spec;
    }
  }
  return nullptr;
}

namespace {

const FlagSpec* FindFlag(const CommandSpec& spec, std::string_view name, char short_name) {
  auto match = [&](const FlagSpec& f) {
    return short_name != 0 ? f.short_name == short_name : f.name == name;
  };
  for (const auto& f : spec.flags) {
    if (match(f)) return &f;
  }
  for (const auto& f : GlobalFlags()) {
    if (match(f)) return &f;
  }
  return nullptr;
}

std::vector<std::string> AllNames() {
  std::vector<std::string> names;
  for (const CommandSpec* spec : AllCommands()) {
    names.emplace_back(spec->name);
    for (auto a : spec->aliases) names.emplace_back(a);
  }
  return names;
}

// Subcommands of a group word ("agent" -> "agent add", "agent list", ...).
std::vector<const CommandSpec*> GroupMembers(std::string_view group) {
  std::vector<const CommandSpec*> out;
  std::string prefix = std::string(group) + " ";
  for (const CommandSpec* spec : AllCommands()) {
    bool member = StartsWith(spec->name, prefix);
    for (auto a : spec->aliases) member = member || StartsWith(a, prefix);
    if (member) out.push_back(spec);
  }
  return out;
}

struct Parsed {
  const CommandSpec* spec = nullptr;
  size_t next = 0;  // index of the first token after the command words
};

// Finds the longest run of leading words that names a command, skipping global flags before it.
int ResolveCommand(const std::vector<std::string>& argv, std::vector<std::string>* leading_globals,
                   Parsed* parsed, std::ostream& err) {
  size_t i = 1;
  while (i < argv.size() && StartsWith(argv[i], "-") && argv[i] != "--") {
    leading_globals->push_back(argv[i]);
    const std::string& tok = argv[i];
    std::string name = StartsWith(tok, "--") ? tok.substr(2) : std::string();
    bool takes_value = name == "config" || name == "set";
    ++i;
    if (takes_value && i < argv.size()) leading_globals->push_back(argv[i++]);
  }
  std::vector<std::string> words;
  for (size_t j = i; j < argv.size() && j < i + 3; ++j) {
    if (StartsWith(argv[j], "-")) break;
    words.push_back(argv[j]);
  }
  for (size_t n = words.size(); n > 0; --n) {
    std::vector<std::string> first(words.begin(), words.begin() + static_cast<long>(n));
    if (const CommandSpec* spec = FindCommand(Join(first, " "))) {
      parsed->spec = spec;
      parsed->next = i + n;
      return 0;
    }
  }
  if (words.empty()) return -1;
  // A group word without a subcommand, or an unknown word.
  std::vector<std::string> group_words = words;
  while (!group_words.empty()) {
    auto members = GroupMembers(Join(group_words, " "));
    if (!members.empty()) {
      std::string group = Join(group_words, " ");
      if (group_words.size() < words.size()) {
        std::vector<std::string> sub;
        for (const auto* m : members) sub.push_back(std::string(m->name.substr(group.size() + 1)));
        std::string suggestion = ClosestMatch(words[group_words.size()], sub);
        err << "cloudcoop: error: unknown command \"" << group << " " << words[group_words.size()] << "\"";
        if (!suggestion.empty()) err << "; did you mean \"" << group << " " << suggestion << "\"?";
        err << "\n";
      } else {
        err << "cloudcoop: error: \"" << group << "\" needs a subcommand\n";
      }
      err << "  " << group << " commands:\n";
      for (const auto* m : members) err << "    cloudcoop " << m->name << "  " << m->summary << "\n";
      return 2;
    }
    group_words.pop_back();
  }
  std::string suggestion = ClosestMatch(words[0], AllNames());
  err << "cloudcoop: error: unknown command \"" << words[0] << "\"";
  if (!suggestion.empty()) err << "; did you mean \"" << suggestion << "\"?";
  err << "\n  fix: run `cloudcoop --help` for the list of commands\n";
  return 2;
}

// Parses flags and positionals; returns 0 or a usage exit code (the message is printed).
int ParseArgs(const std::vector<std::string>& tokens, Invocation& inv) {
  const CommandSpec& spec = inv.spec();
  auto& flags = inv.mutable_flags();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& tok = tokens[i];
    if (tok == "--") {
      for (size_t j = i + 1; j < tokens.size(); ++j) {
        if (spec.passthrough) inv.mutable_passthrough().push_back(tokens[j]);
        else inv.mutable_args().push_back(tokens[j]);
      }
      break;
    }
    if (tok.size() < 2 || tok[0] != '-') {
      inv.mutable_args().push_back(tok);
      continue;
    }
    std::string name;
    std::optional<std::string> inline_value;
    char short_name = 0;
    if (StartsWith(tok, "--")) {
      name = tok.substr(2);
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
      }
    } else {
      short_name = tok[1];
      if (tok.size() > 2) inline_value = tok.substr(2);
    }
    const FlagSpec* flag = FindFlag(spec, name, short_name);
    if (flag == nullptr) {
      std::vector<std::string> known;
      for (const auto& f : spec.flags) known.push_back(std::string(f.name));
      for (const auto& f : GlobalFlags()) known.push_back(std::string(f.name));
      std::string suggestion = ClosestMatch(name, known);
      std::string msg = "unknown flag " + tok + " for \"" + std::string(spec.name) + "\"";
      if (!suggestion.empty()) msg += "; did you mean --" + suggestion + "?";
      return inv.UsageError(msg);
    }
    std::string canonical(flag->name);
    if (flag->kind == FlagKind::kBool) {
      if (inline_value) return inv.UsageError("flag --" + canonical + " takes no value");
      flags[canonical].push_back("true");
      continue;
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < tokens.size()) {
      value = tokens[++i];
    } else {
      return inv.UsageError("flag --" + canonical + " needs a value (" + std::string(flag->value_name) + ")");
    }
    if (!flag->choices.empty() &&
        std::find(flag->choices.begin(), flag->choices.end(), value) == flag->choices.end()) {
      std::vector<std::string> choices(flag->choices.begin(), flag->choices.end());
      return inv.UsageError("--" + canonical + " " + value + " is not one of: " + Join(choices, ", "));
    }
    auto& slot = flags[canonical];
    if (flag->kind == FlagKind::kValue) slot.clear();
    slot.push_back(value);
  }
  int nargs = static_cast<int>(inv.args().size());
  if (inv.Has("help")) return 0;
  if (nargs < spec.min_args) {
    return inv.UsageError("\"" + std::string(spec.name) + "\" needs " + std::string(spec.args));
  }
  if (spec.max_args >= 0 && nargs > spec.max_args) {
    return inv.UsageError("unexpected argument \"" + inv.args()[static_cast<size_t>(spec.max_args)] + "\"");
  }
  if (spec.passthrough && static_cast<int>(inv.passthrough().size()) < spec.min_passthrough) {
    return inv.UsageError("\"" + std::string(spec.name) + "\" needs a command after --");
  }
  return 0;
}

}  // namespace

int RunCli(const std::vector<std::string>& argv, std::istream& in, std::ostream& out, std::ostream& err,
           bool stdin_is_tty) {
  InitLoggingFromEnv();
  std::vector<std::string> leading;
  Parsed parsed;
  int rc = ResolveCommand(argv, &leading, &parsed, err);
  if (rc > 0) return rc;
  if (rc < 0) {
    // No command word. --help or nothing: the overview (the dashboard takes over when it exists).
    bool help = std::find(leading.begin(), leading.end(), "--help") != leading.end() ||
                std::find(leading.begin(), leading.end(), "-h") != leading.end();
    bool version = std::find(leading.begin(), leading.end(), "--version") != leading.end();
    if (version) parsed.spec = FindCommand("version");
    // The dashboard decides: the screen on a terminal, else a one-line hint and the status.
    else if (!help) parsed.spec = FindCommand("dashboard");
    if (parsed.spec == nullptr) {
      PrintMainHelp(out);
      return help || argv.size() <= 1 ? 0 : 2;
    }
    parsed.next = argv.size();
  }
  Invocation inv(*parsed.spec, in, out, err, stdin_is_tty);
  std::vector<std::string> tokens = leading;
  tokens.insert(tokens.end(), argv.begin() + static_cast<long>(parsed.next), argv.end());
  rc = ParseArgs(tokens, inv);
  if (rc != 0) return rc;
  if (inv.Has("verbose")) SetLogLevel(LogLevel::kDebug);
  if (inv.Has("help")) {
    PrintCommandHelp(*parsed.spec, out);
    return 0;
  }
  return parsed.spec->run(inv);
}

}  // namespace cloudcoop::cli
