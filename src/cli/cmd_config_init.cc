// cloudcoop config init: write a configuration file from flags (one per key) and, on a terminal,
// answers to a few questions. Never asks when stdin is not a terminal.
#include <unistd.h>

#include <istream>
#include <ostream>

#include "cli/audit_action.h"
#include "cli/command.h"
#include "cli/config_write.h"
#include "core/files.h"
#include "core/paths.h"
#include "core/strings.h"
#include "sandbox/net_egress.h"

namespace cloudcoop::cli {
namespace {

std::string FlagNameForKey(std::string_view key) {
  std::string out(key);
  for (char& c : out) {
    if (c == '.' || c == '_') c = '-';
  }
  return out;
}

// Agents default to network mode egress, which needs the host prepared once (it changes the host's
// firewall, so it is never a side effect): say so now rather than at the first `agent add`.
void PrintEgressHint(Invocation& inv, const LoadOptions& options) {
  auto config = LoadConfig(options);  // as written now
  if (!config.ok() || config->settings().agents.network != "egress") return;
  bool known_unprepared = false;
  if (geteuid() == 0) {
    auto host = sandbox::InspectEgressHost(sandbox::EgressConfigForStateDir(StateDirFromEnv()));
    if (host.ok() && host->ready()) return;
    known_unprepared = host.ok();
  }
  inv.out() << "agents use network mode egress (agents.network), and "
            << (known_unprepared ? "this host is not prepared for it yet" : "unless this host is prepared already")
            << ": run\n"
               "  `sudo cloudcoop sandbox prepare-host` once (it installs the nftables table inet cloudcoop),\n"
               "or choose `cloudcoop config set agents.network none` (loopback only)\n";
}

std::vector<FlagSpec> InitFlags() {
  static std::vector<std::string> names;  // storage for the generated flag names
  static std::vector<std::string> helps;
  std::vector<FlagSpec> flags = {
      {"scope", FlagKind::kValue, "SCOPE", "file to write: global (user), repo or local (default global)",
       {"global", "repo", "local"}},
      {"force", FlagKind::kBool, "", "replace an existing file"},
  };
  names.reserve(Schema().size());
  helps.reserve(Schema().size());
  for (const KeySpec& spec : Schema()) {
    if (spec.key.find('*') != std::string_view::npos) continue;
    names.push_back(FlagNameForKey(spec.key));
    helps.push_back("set " + std::string(spec.key));
    FlagSpec f{names.back(), FlagKind::kValue, "VALUE", helps.back()};
    if (spec.type == ValueType::kEnum) f.choices = spec.choices;
    flags.push_back(f);
  }
  return flags;
}

// Asks one question on the terminal; an empty answer keeps the default.
std::string Ask(Invocation& inv, const std::string& question, const std::string& def) {
  inv.out() << question << (def.empty() ? "" : " [" + def + "]") << ": " << std::flush;
  std::string line;
  if (!std::getline(inv.in(), line)) return def;
  std::string answer(Trim(line));
  return answer.empty() ? def : answer;
}

int RunConfigInit(Invocation& inv) {
  LoadOptions options = inv.ConfigOptions();
  std::string scope = inv.ValueOr("scope", "global");
  std::string file = ScopeFile(options, scope);
  if (PathExists(file) && !inv.Has("force")) {
    return inv.Fail(AlreadyExistsError("config init: " + file + " already exists")
                        .WithFix("change single values with `cloudcoop config set`, or pass --force to replace it"));
  }
  std::vector<std::pair<std::string, std::optional<Value>>> changes;
  std::map<std::string, std::string> given;
  for (const auto& key : ConcreteKeys()) {
    if (auto v = inv.Value(FlagNameForKey(key))) given[key] = *v;
  }
  if (inv.stdin_is_tty()) {
    auto ask = [&](const std::string& key, const std::string& question) {
      if (given.count(key)) return;
      std::string def(FindKeySpec(key)->default_text);
      std::string answer = Ask(inv, question, def);
      if (answer != def) given[key] = answer;
    };
    ask("cloud.provider", "Where do agents run: local (this machine) or gcp (a hardened VM)?");
    std::string provider = given.count("cloud.provider") ? given["cloud.provider"] : "local";
    if (provider == "gcp") {
      ask("cloud.gcp.project", "GCP project id");
      ask("cloud.gcp.zone", "Zone");
      ask("cloud.gcp.service_account", "Dedicated VM service account (NAME@PROJECT.iam.gserviceaccount.com)");
      ask("vm.name", "VM name");
    }
    ask("agents.default_profile", "Default agent profile (shell, claude, codex, aider, gemini)");
  }
  if (given.empty()) given["cloud.provider"] = std::string(FindKeySpec("cloud.provider")->default_text);
  for (const auto& [key, text] : given) {
    auto value = ParseValueText(*FindKeySpec(key), key, text);
    if (!value.ok()) return inv.Fail(value.status());
    changes.emplace_back(key, *value);
  }
  // Recorded before the file is written (fail closed) and with its outcome before we report it.
  std::vector<std::string> args;
  for (const auto& [key, text] : given) args.push_back(key + "=" + MaskConfigValue(key, text));
  if (inv.Has("force")) args.push_back("--force");
  args.push_back("--scope=" + scope);
  auto action = BeginAuditedAction(inv, args);
  if (!action.ok()) return inv.Fail(action.status());
  // With --force the old file is replaced, but only once the new content validates.
  Status st = WriteConfigChanges(options, file, changes, /*replace=*/true);
  Status recorded = action->End(st);
  if (!st.ok()) return inv.Fail(st);
  if (!recorded.ok()) return inv.Fail(recorded);
  inv.out() << "wrote " << file << " (" << changes.size() << " value" << (changes.size() == 1 ? "" : "s")
            << "); next: `cloudcoop config show`, then `cloudcoop check`\n";
  PrintEgressHint(inv, options);
  return 0;
}

}  // namespace

extern const CommandSpec kConfigInitCommand = {
    .name = "config init",
    .category = Category::kConfig,
    .summary = "write a configuration file (asks on a terminal, takes a flag for every key)",
    .flags = InitFlags(),
    .description = "Every key has a flag named after it with dots and underscores as dashes, e.g.\n"
                   "--cloud-gcp-service-account or --agents-memory. On a terminal, missing answers for\n"
                   "the main keys are asked for; without a terminal only the flags are used. The result\n"
                   "is validated before it is written.",
    .run = RunConfigInit,
};

}  // namespace cloudcoop::cli
