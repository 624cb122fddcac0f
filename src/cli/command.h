// The command table's types. Each command lives in its own cmd_*.cc file and exports one constant
// CommandSpec; commands.cc lists them all. Parsing, help, `help CMD` and shell completion are all
// derived from these descriptors, so they cannot drift apart.
#ifndef CLOUDCOOP_CLI_COMMAND_H_
#define CLOUDCOOP_CLI_COMMAND_H_

#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cloudcoop {
class LoadedConfig;
struct LoadOptions;
}

namespace cloudcoop::cli {

enum class FlagKind {
  kBool,      // --json
  kValue,     // --workspace DIR, --workspace=DIR
  kRepeated,  // --env K=V --env K2=V2
};

struct FlagSpec {
  std::string_view name;        // without dashes: "workspace"
  FlagKind kind = FlagKind::kBool;
  std::string_view value_name;  // "DIR", shown in usage
  std::string_view help;
  std::vector<std::string_view> choices;  // allowed values (validated, and offered by completion)
  char short_name = 0;                    // 'n' for -n
};

class Invocation;
using CommandFn = int (*)(Invocation&);

enum class Category { kAgents, kSandbox, kCloud, kAudit, kSecurity, kConfig, kOther };

struct CommandSpec {
  std::string_view name;                  // "agent add"
  std::vector<std::string_view> aliases;  // "agents add"
  Category category = Category::kOther;
  std::string_view summary;               // one line for `cloudcoop --help`
  std::string_view args;                  // positional usage, e.g. "NAME [TEXT]"
  int min_args = 0;
  int max_args = 0;          // -1: unlimited
  bool passthrough = false;  // accepts "-- CMD ARGS..." (kept verbatim)
  int min_passthrough = 0;   // how many words after -- are required
  std::vector<FlagSpec> flags;
  std::string_view description;  // longer text for `cloudcoop help CMD`
  CommandFn run = nullptr;
  bool needs_root = false;  // mentioned in help
  bool hidden = false;      // internal: left out of `cloudcoop --help` and completion
};

// The global flags every command accepts.
const std::vector<FlagSpec>& GlobalFlags();

// A parsed command line plus everything a handler needs to do its work and report it.
class Invocation {
 public:
  Invocation(const CommandSpec& spec, std::istream& in, std::ostream& out, std::ostream& err,
             bool stdin_is_tty)
      : spec_(spec), in_(in), out_(out), err_(err), stdin_is_tty_(stdin_is_tty) {}

  const CommandSpec& spec() const { return spec_; }
  std::istream& in() { return in_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  bool stdin_is_tty() const { return stdin_is_tty_; }

  bool Has(std::string_view flag) const;
  // The last value given for a flag, if any.
  std::optional<std::string> Value(std::string_view flag) const;
  std::string ValueOr(std::string_view flag, std::string fallback) const;
  const std::vector<std::string>& Values(std::string_view flag) const;
  const std::vector<std::string>& args() const { return args_; }
  const std::vector<std::string>& passthrough() const { return passthrough_; }
  bool json() const { return Has("json"); }

  // Prints "cloudcoop: error: ..." with the fix and returns the exit code for the status.
  int Fail(const Status& status);
  // Usage error (exit 2) with the command's usage line.
  int UsageError(const std::string& message);

  // The merged configuration (defaults, files, environment, --config, --set), validated. Loaded on
  // first use; a config that fails validation is reported and never reaches the command's logic.
  StatusOr<const LoadedConfig*> Config();
  // The options Config() loads with: this process's files and environment plus --config and --set.
  LoadOptions ConfigOptions() const;

  // Parser access.
  std::map<std::string, std::vector<std::string>, std::less<>>& mutable_flags() { return flags_; }
  std::vector<std::string>& mutable_args() { return args_; }
  std::vector<std::string>& mutable_passthrough() { return passthrough_; }

 private:
  const CommandSpec& spec_;
  std::istream& in_;
  std::ostream& out_;
  std::ostream& err_;
  bool stdin_is_tty_;
  std::map<std::string, std::vector<std::string>, std::less<>> flags_;
  std::vector<std::string> args_;
  std::vector<std::string> passthrough_;
  std::shared_ptr<LoadedConfig> config_;
};

// The table (commands.cc).
const std::vector<const CommandSpec*>& AllCommands();
const CommandSpec* FindCommand(std::string_view name);

// The CLI entry point used by main() and by tests. `stdin_is_tty` decides whether commands may ask.
int RunCli(const std::vector<std::string>& argv, std::istream& in, std::ostream& out,
           std::ostream& err, bool stdin_is_tty);

// Help text.
void PrintMainHelp(std::ostream& out);
void PrintCommandHelp(const CommandSpec& spec, std::ostream& out);
std::string UsageLine(const CommandSpec& spec);
std::string_view CategoryTitle(Category c);

}  // namespace cloudcoop::cli

#endif  // CLOUDCOOP_CLI_COMMAND_H_
