// cloudcoop config get KEY: one merged value.
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/command.h"
#include "config/loader.h"
#include "core/strings.h"

namespace cloudcoop::cli {
namespace {

int RunConfigGet(Invocation& inv) {
  const std::string& key = inv.args()[0];
  if (FindKeySpec(key) == nullptr) {
    std::string suggestion = ClosestMatch(key, ConcreteKeys());
    return inv.Fail(InvalidArgumentError("unknown config key \"" + key + "\"")
                        .WithFix(suggestion.empty() ? "run `cloudcoop config show` for the list of keys"
                                                    : "did you mean \"" + suggestion + "\"?"));
  }
  auto config = inv.Config();
  if (!config.ok()) return inv.Fail(config.status());
  const Entry* entry = (*config)->Find(key);
  if (inv.json()) {
    nlohmann::json j = {{"key", key}, {"set", entry != nullptr}};
    if (entry != nullptr) {
      j["value"] = entry->value.ToText();
      j["layer"] = LayerName(entry->layer);
      j["origin"] = entry->origin;
    }
    inv.out() << j.dump(2) << "\n";
    return 0;
  }
  if (entry == nullptr) {
    return inv.Fail(NotFoundError(key + " is not set").WithFix("cloudcoop config set " + key + " VALUE"));
  }
  inv.out() << entry->value.ToText() << "\n";
  return 0;
}

}  // namespace

extern const CommandSpec kConfigGetCommand = {
    .name = "config get",
    .category = Category::kConfig,
    .summary = "print one configuration value",
    .args = "KEY",
    .min_args = 1,
    .max_args = 1,
    .flags = {{"json", FlagKind::kBool, "", "print JSON with the layer the value came from"}},
    .run = RunConfigGet,
};

}  // namespace cloudcoop::cli
