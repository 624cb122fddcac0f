#include "cloud/gcp/json_util.h"

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace cloudcoop::gcp::js {

StatusOr<json> Parse(std::string_view text, std::string_view what) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    std::string head(text.substr(0, 80));
    for (char& c : head) {
      if (c < 0x20) c = ' ';
    }
    return InternalError(std::string(what) + " is not JSON (starts with \"" + head + "\")")
        .WithFix("check the endpoint (CLOUDSDK_API_ENDPOINT_OVERRIDES_* if set) and any proxy in between");
  }
  return j;
}

namespace {
const json* Member(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}
}  // namespace

std::string Str(const json& j, std::string_view key) {
  const json* m = Member(j, key);
  return m != nullptr && m->is_string() ? m->get<std::string>() : std::string();
}

std::optional<bool> OptBool(const json& j, std::string_view key) {
  const json* m = Member(j, key);
  if (m == nullptr || !m->is_boolean()) return std::nullopt;
  return m->get<bool>();
}

bool Bool(const json& j, std::string_view key, bool fallback) { return OptBool(j, key).value_or(fallback); }

std::optional<int64_t> Int64(const json& j, std::string_view key) {
  const json* m = Member(j, key);
  if (m == nullptr) return std::nullopt;
  if (m->is_number_integer()) return m->get<int64_t>();
  if (m->is_number_float()) return static_cast<int64_t>(m->get<double>());
  if (m->is_string()) return ParseInt64(m->get<std::string>());
  return std::nullopt;
}

const json* Obj(const json& j, std::string_view key) {
  const json* m = Member(j, key);
  return m != nullptr && m->is_object() ? m : nullptr;
}

const json* Arr(const json& j, std::string_view key) {
  const json* m = Member(j, key);
  return m != nullptr && m->is_array() ? m : nullptr;
}

std::vector<std::string> StrList(const json& j, std::string_view key) {
  std::vector<std::string> out;
  if (const json* a = Arr(j, key)) {
    for (const auto& v : *a) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

std::string LastSegment(std::string_view url) {
  size_t slash = url.rfind('/');
  return std::string(slash == std::string_view::npos ? url : url.substr(slash + 1));
}

}  // namespace cloudcoop::gcp::js
