// cloudcoop config set KEY VALUE [--scope global|repo|local]: validated before anything is written.
#include <ostream>

#include "cli/audit_action.h"
#include "cli/command.h"
#include "cli/config_write.h"
#include "core/strings.h"

namespace cloudcoop::cli {
namespace {

int RunConfigSet(Invocation& inv) {
  const std::string& key = inv.args()[0];
  const KeySpec* spec = FindKeySpec(key);
  if (spec == nullptr) {
    std::string suggestion = ClosestMatch(key, ConcreteKeys());
    return inv.Fail(InvalidArgumentError("unknown config key \"" + key + "\"")
                        .WithFix(suggestion.empty() ? "run `cloudcoop config show` for the list of keys"
                                                    : "did you mean \"" + suggestion + "\"?"));
  }
  std::optional<Value> value;
  if (!inv.Has("unset")) {
    if (inv.args().size() < 2) return inv.UsageError("config set needs a VALUE (or --unset)");
    auto parsed = ParseValueText(*spec, key, inv.args()[1]);
    if (!parsed.ok()) return inv.Fail(parsed.status());
    value = *parsed;
  } else if (inv.args().size() > 1) {
    return inv.UsageError("config set --unset takes no VALUE");
  }
  LoadOptions options = inv.ConfigOptions();
  std::string scope = inv.ValueOr("scope", "global");
  std::string file = ScopeFile(options, scope);
  // Recorded before the change (fail closed) and with its outcome before we report it.
  std::vector<std::string> args = InvocationArgsForAudit(inv);
  if (args.size() >= 2 && !inv.Has("unset")) args[1] = MaskConfigValue(key, args[1]);
  auto action = BeginAuditedAction(inv, args);
  if (!action.ok()) return inv.Fail(action.status());
  Status st = WriteConfigChanges(options, file, {{key, value}});
  Status recorded = action->End(st);
  if (!st.ok()) return inv.Fail(st);
  if (!recorded.ok()) return inv.Fail(recorded);
  inv.out() << (value ? "set " + key + " = " + value->ToText() : "removed " + key) << " in " << file << "\n";
  return 0;
}

}  // namespace

extern const CommandSpec kConfigSetCommand = {
    .name = "config set",
    .category = Category::kConfig,
    .summary = "change one configuration value (validated before it is written)",
    .args = "KEY [VALUE]",
    .min_args = 1,
    .max_args = 2,
    .flags = {{"scope", FlagKind::kValue, "SCOPE", "file to write: global (user), repo or local (default global)",
               {"global", "repo", "local"}},
              {"unset", FlagKind::kBool, "", "remove the key from that file instead"}},
    .description = "Lists are comma-separated: cloudcoop config set vm.tags a,b. The whole merged\n"
                   "configuration is validated with the change; nothing is written if it fails.",
    .run = RunConfigSet,
};

}  // namespace cloudcoop::cli
