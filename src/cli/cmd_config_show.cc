// cloudcoop config show [--json]: the merged configuration and the layer each value came from.
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/command.h"
#include "config/loader.h"

namespace cloudcoop::cli {
namespace {

nlohmann::json ToJson(const Value& value) {
  struct Visitor {
    nlohmann::json operator()(const std::string& s) const { return s; }
    nlohmann::json operator()(int64_t i) const { return i; }
    nlohmann::json operator()(double d) const { return d; }
    nlohmann::json operator()(bool b) const { return b; }
    nlohmann::json operator()(const std::vector<std::string>& l) const { return l; }
    nlohmann::json operator()(const std::map<std::string, std::string>& m) const { return m; }
  };
  return std::visit(Visitor{}, value.v);
}

int RunConfigShow(Invocation& inv) {
  auto config = inv.Config();
  if (!config.ok()) return inv.Fail(config.status());
  const auto& entries = (*config)->entries();
  if (inv.json()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, entry] : entries) {
      const KeySpec* spec = FindKeySpec(key);
      out[key] = {{"value", ToJson(entry.value)},
                  {"layer", LayerName(entry.layer)},
                  {"origin", entry.origin},
                  {"security", spec != nullptr && spec->security}};
    }
    inv.out() << nlohmann::json({{"files", (*config)->files_read()}, {"keys", out}}).dump(2) << "\n";
    return 0;
  }
  size_t width = 0;
  for (const auto& [key, entry] : entries) width = std::max(width, key.size());
  std::string section;
  for (const auto& [key, entry] : entries) {
    std::string top = key.substr(0, key.find('.'));
    if (top != section) {
      inv.out() << (section.empty() ? "" : "\n") << "[" << top << "]\n";
      section = top;
    }
    const KeySpec* spec = FindKeySpec(key);
    std::string text = entry.value.ToText();
    if (spec != nullptr && (spec->type == ValueType::kString || spec->type == ValueType::kByteSize ||
                            spec->type == ValueType::kEnum)) {
      text = "\"" + text + "\"";
    } else if (spec != nullptr && (spec->type == ValueType::kStringList || spec->type == ValueType::kStringMap)) {
      text = "[" + text + "]";
    }
    std::string left = (spec != nullptr && spec->security ? "* " : "  ") + key;
    inv.out() << left << std::string(width + 4 - left.size(), ' ') << "= " << text;
    inv.out() << "    (" << LayerName(entry.layer);
    if (entry.layer != Layer::kDefault) inv.out() << ": " << entry.origin;
    inv.out() << ")\n";
  }
  inv.out() << "\n* security-relevant. Files read: ";
  if ((*config)->files_read().empty()) inv.out() << "none (built-in defaults)";
  for (size_t i = 0; i < (*config)->files_read().size(); ++i) inv.out() << (i ? ", " : "") << (*config)->files_read()[i];
  inv.out() << "\n";
  return 0;
}

}  // namespace

extern const CommandSpec kConfigShowCommand = {
    .name = "config show",
    .category = Category::kConfig,
    .summary = "show the merged configuration and where each value came from",
    .flags = {{"json", FlagKind::kBool, "", "print JSON"}},
    .description = "Layers, lowest to highest: default, user (~/.config/cloudcoop/cloudcoop.toml), repo\n"
                   "(.cloudcoop/config.toml), local (.cloudcoop/local.toml), env (CLOUDCOOP_<SECTION>_<KEY>),\n"
                   "flag (--set KEY=VALUE). --config FILE replaces the three file layers.",
    .run = RunConfigShow,
};

}  // namespace cloudcoop::cli
