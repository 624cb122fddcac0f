// Safe accessors for JSON read from the network or from files: a missing field or one of the wrong
// type reads as empty instead of throwing. Only the forward declaration of nlohmann::json is
// included here; the .cc files that parse include the full header.
#ifndef CLOUDCOOP_CLOUD_GCP_JSON_UTIL_H_
#define CLOUDCOOP_CLOUD_GCP_JSON_UTIL_H_

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cloudcoop::gcp::js {

using nlohmann::json;

// Parses `text`; the error names `what` ("the compute.instances.get response").
StatusOr<json> Parse(std::string_view text, std::string_view what);

std::string Str(const json& j, std::string_view key);
bool Bool(const json& j, std::string_view key, bool fallback = false);
std::optional<bool> OptBool(const json& j, std::string_view key);
// A JSON number or a decimal string (int64 fields arrive as strings).
std::optional<int64_t> Int64(const json& j, std::string_view key);
// The member if it exists and is an object / array, else null.
const json* Obj(const json& j, std::string_view key);
const json* Arr(const json& j, std::string_view key);
// The strings of an array member (non-strings skipped).
std::vector<std::string> StrList(const json& j, std::string_view key);
// The last path segment of a resource URL: ".../zones/us-central1-a" -> "us-central1-a".
std::string LastSegment(std::string_view url);

}  // namespace cloudcoop::gcp::js

#endif  // CLOUDCOOP_CLOUD_GCP_JSON_UTIL_H_
