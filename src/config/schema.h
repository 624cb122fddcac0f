// The configuration schema: one declarative table with every key's type, default, bounds or enum,
// one-line documentation and security class. The loader, `config show`, `config set`, `config init`
// and the docs all read this table, so they cannot drift apart.
#ifndef CLOUDCOOP_CONFIG_SCHEMA_H_
#define CLOUDCOOP_CONFIG_SCHEMA_H_

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace cloudcoop {

enum class ValueType {
  kString,
  kInt,
  kNumber,      // a decimal number (cpus = 1.5)
  kBool,
  kEnum,        // a string from `choices`
  kByteSize,    // "6G", "512M"
  kStringList,  // ["a", "b"]; from the environment: comma-separated
  kStringMap,   // { KEY = "value" }; not settable from the environment
};

std::string_view ValueTypeName(ValueType type);

struct KeySpec {
  // Dotted key. A "*" segment stands for a user-chosen name: "agents.profiles.*.command".
  std::string_view key;
  ValueType type;
  // The default in the same text form the environment uses ("2", "true", "a,b"); empty means unset
  // for strings, lists and maps.
  std::string_view default_text;
  std::string_view doc;
  bool security = false;  // changes the security posture; `config show` marks it
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string_view> choices;  // kEnum
};

// A typed configuration value.
struct Value {
  std::variant<std::string, int64_t, double, bool, std::vector<std::string>,
               std::map<std::string, std::string>>
      v;

  const std::string& str() const { return std::get<std::string>(v); }
  int64_t integer() const { return std::get<int64_t>(v); }
  double number() const { return std::get<double>(v); }
  bool boolean() const { return std::get<bool>(v); }
  const std::vector<std::string>& list() const { return std::get<std::vector<std::string>>(v); }
  const std::map<std::string, std::string>& map() const {
    return std::get<std::map<std::string, std::string>>(v);
  }
  // Text form: what `config get` prints and what the environment layer accepts.
  std::string ToText() const;
  bool operator==(const Value& other) const { return v == other.v; }
};

const std::vector<KeySpec>& Schema();

// The spec for a concrete key ("agents.profiles.claude.command" matches the "*" entry), or null.
const KeySpec* FindKeySpec(std::string_view key);

// Every concrete, non-wildcard key (for suggestions and `config init` flags).
std::vector<std::string> ConcreteKeys();

// Parses the text form of a value for `spec` (environment, --set, `config set`) and checks its
// bounds. `key` is named in errors.
StatusOr<Value> ParseValueText(const KeySpec& spec, std::string_view key, std::string_view text);

// Checks type-independent bounds and enums of an already typed value.
Status CheckBounds(const KeySpec& spec, std::string_view key, const Value& value);

// The environment variable that sets a key: cloud.gcp.project -> CLOUDCOOP_CLOUD_GCP_PROJECT.
std::string EnvVarForKey(std::string_view key);

// The agent profiles every installation has (agents.profiles.<name>.*).
struct BuiltinProfile {
  std::string_view name;
  std::string_view command;
  std::string_view resume_command;
  std::string_view doc;
};
const std::vector<BuiltinProfile>& BuiltinProfiles();

}  // namespace cloudcoop

#endif  // CLOUDCOOP_CONFIG_SCHEMA_H_
