// The only translation unit that includes toml++ (header-only, no exceptions): reading a config
// file into schema-checked entries, and editing one key of a file for `config set`.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include <sstream>

#include "config/loader.h"
#include "core/strings.h"

namespace cloudcoop {
namespace {

std::string Where(const std::string& path, const toml::source_region& src) {
  return path + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column);
}

Status TypeError(const std::string& path, const toml::node& node, const std::string& key, const KeySpec& spec) {
  return InvalidArgumentError(Where(path, node.source()) + ": " + key + " must be a " +
                              std::string(ValueTypeName(spec.type)))
      .WithFix("see `cloudcoop config show` for each key's type and default");
}

Status UnknownKey(const std::string& path, const toml::source_region& where, const std::string& key) {
  std::vector<std::string> candidates = ConcreteKeys();
  // Profile keys: suggest the field names too.
  if (StartsWith(key, "agents.profiles.")) {
    auto parts = Split(key, '.');
    if (parts.size() >= 3) {
      std::string base = "agents.profiles." + parts[2] + ".";
      for (const char* field : {"command", "resume_command", "env"}) candidates.push_back(base + field);
    }
  }
  std::string suggestion = ClosestMatch(key, candidates);
  return InvalidArgumentError(Where(path, where) + ": unknown key \"" + key + "\"")
      .WithFix(suggestion.empty() ? "remove it; `cloudcoop config show` lists the valid keys"
                                  : "did you mean \"" + suggestion + "\"?");
}

StatusOr<Value> ConvertNode(const toml::node& node, const KeySpec& spec, const std::string& key,
                            const std::string& path) {
  Value value;
  switch (spec.type) {
    case ValueType::kString:
    case ValueType::kEnum:
    case ValueType::kByteSize: {
      if (auto s = node.value<std::string>(); s && node.is_string()) {
        if (spec.type == ValueType::kByteSize) {
          auto bytes = ParseByteSize(*s);
          if (!bytes.ok()) {
            return InvalidArgumentError(Where(path, node.source()) + ": " + key + " = \"" + *s +
                                        "\" is not a size")
                .WithFix("write a size such as \"512M\" or \"6G\"");
          }
        }
        value.v = *s;
      } else if (spec.type == ValueType::kByteSize && node.is_integer()) {
        value.v = std::to_string(*node.value<int64_t>());
      } else {
        return TypeError(path, node, key, spec);
      }
      break;
    }
    case ValueType::kInt:
      if (!node.is_integer()) return TypeError(path, node, key, spec);
      value.v = *node.value<int64_t>();
      break;
    case ValueType::kNumber:
      if (node.is_integer()) value.v = static_cast<double>(*node.value<int64_t>());
      else if (node.is_floating_point()) value.v = *node.value<double>();
      else return TypeError(path, node, key, spec);
      break;
    case ValueType::kBool:
      if (!node.is_boolean()) return TypeError(path, node, key, spec);
      value.v = *node.value<bool>();
      break;
    case ValueType::kStringList: {
      const toml::array* arr = node.as_array();
      if (arr == nullptr) return TypeError(path, node, key, spec);
      std::vector<std::string> items;
      for (const auto& item : *arr) {
        if (!item.is_string()) return TypeError(path, item, key, spec);
        items.push_back(*item.value<std::string>());
      }
      value.v = items;
      break;
    }
    case ValueType::kStringMap: {
      const toml::table* tbl = node.as_table();
      if (tbl == nullptr) return TypeError(path, node, key, spec);
      std::map<std::string, std::string> items;
      for (const auto& [k, v] : *tbl) {
        if (!v.is_string()) return TypeError(path, v, key + "." + std::string(k.str()), spec);
        items[std::string(k.str())] = *v.value<std::string>();
      }
      value.v = items;
      break;
    }
  }
  Status bounds = CheckBounds(spec, key, value);
  if (!bounds.ok()) return bounds.Annotate(Where(path, node.source()));
  return value;
}

Status Flatten(const toml::table& table, const std::string& prefix, const std::string& path, Layer layer,
               EntryMap* out) {
  for (const auto& [k, node] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const KeySpec* spec = FindKeySpec(key);
    if (spec == nullptr && node.is_table()) {
      CC_RETURN_IF_ERROR(Flatten(*node.as_table(), key, path, layer, out));
      continue;
    }
    if (spec == nullptr) return UnknownKey(path, k.source(), key);
    CC_ASSIGN_OR_RETURN(Value value, ConvertNode(node, *spec, key, path));
    (*out)[key] = Entry{std::move(value), layer, path + ":" + std::to_string(node.source().begin.line)};
  }
  return OkStatus();
}

// Tables that exist only as parents of keys must themselves be known prefixes.
Status CheckTablePrefixes(const toml::table& table, const std::string& prefix, const std::string& path) {
  for (const auto& [k, node] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (!node.is_table() || FindKeySpec(key) != nullptr) continue;
    bool known_prefix = false;
    for (const auto& spec : Schema()) {
      auto parts = Split(spec.key, '.');
      auto mine = Split(key, '.');
      if (mine.size() >= parts.size()) continue;
      bool match = true;
      for (size_t i = 0; i < mine.size() && match; ++i) match = parts[i] == "*" || parts[i] == mine[i];
      known_prefix = known_prefix || match;
    }
    if (!known_prefix) return UnknownKey(path, k.source(), key);
    CC_RETURN_IF_ERROR(CheckTablePrefixes(*node.as_table(), key, path));
  }
  return OkStatus();
}

toml::table* EnsureTable(toml::table& root, const std::vector<std::string>& parts) {
  toml::table* cur = &root;
  for (const auto& part : parts) {
    toml::node* child = cur->get(part);
    if (child == nullptr) {
      cur->insert(part, toml::table{});
      child = cur->get(part);
    }
    if (!child->is_table()) return nullptr;
    cur = child->as_table();
  }
  return cur;
}

}  // namespace

StatusOr<EntryMap> ParseTomlLayer(const std::string& content, const std::string& path, Layer layer) {
  toml::parse_result result = toml::parse(content, path);
  if (!result) {
    const toml::parse_error& err = result.error();
    return InvalidArgumentError("config file " + Where(path, err.source()) + ": " +
                                std::string(err.description()))
        .WithFix("correct the TOML syntax at that line and column");
  }
  CC_RETURN_IF_ERROR(CheckTablePrefixes(result.table(), "", path));
  EntryMap entries;
  CC_RETURN_IF_ERROR(Flatten(result.table(), "", path, layer, &entries));
  return entries;
}

StatusOr<std::string> SetKeyInToml(const std::string& content, const std::string& path, const std::string& key,
                                   const std::optional<Value>& value) {
  toml::table root;
  if (!content.empty()) {
    toml::parse_result result = toml::parse(content, path);
    if (!result) {
      return InvalidArgumentError("config file " + Where(path, result.error().source()) + ": " +
                                  std::string(result.error().description()))
          .WithFix("correct the TOML syntax at that line and column before changing it");
    }
    root = std::move(result.table());
  }
  auto parts = Split(key, '.');
  std::string leaf = parts.back();
  parts.pop_back();
  toml::table* parent = EnsureTable(root, parts);
  if (parent == nullptr) {
    return InvalidArgumentError("config file " + path + ": a parent of " + key + " is not a table")
        .WithFix("edit the file by hand to turn it into a table");
  }
  if (!value) {
    parent->erase(leaf);
  } else {
    struct Visitor {
      toml::table* parent;
      const std::string& leaf;
      void operator()(const std::string& s) const { parent->insert_or_assign(leaf, s); }
      void operator()(int64_t i) const { parent->insert_or_assign(leaf, i); }
      void operator()(double d) const { parent->insert_or_assign(leaf, d); }
      void operator()(bool b) const { parent->insert_or_assign(leaf, b); }
      void operator()(const std::vector<std::string>& l) const {
        toml::array arr;
        for (const auto& s : l) arr.push_back(s);
        parent->insert_or_assign(leaf, std::move(arr));
      }
      void operator()(const std::map<std::string, std::string>& m) const {
        toml::table t;
        for (const auto& [k, v] : m) t.insert_or_assign(k, v);
        parent->insert_or_assign(leaf, std::move(t));
      }
    };
    std::visit(Visitor{parent, leaf}, value->v);
  }
  std::ostringstream os;
  os << "# cloudcoop configuration (written by `cloudcoop config`; see `cloudcoop config show`)\n"
     << toml::toml_formatter(root) << "\n";
  return os.str();
}

}  // namespace cloudcoop
