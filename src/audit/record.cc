#include "audit/record.h"

#include <nlohmann/json.hpp>

#include "audit/sha256.h"

namespace cloudcoop::audit {

FieldValue::FieldValue(std::vector<std::string> items) : kind_(Kind::kList) {
  list_.reserve(items.size());
  for (auto& s : items) list_.emplace_back(std::move(s));
}

bool FieldValue::operator==(const FieldValue& o) const {
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kNull: return true;
    case Kind::kBool: return b_ == o.b_;
    case Kind::kInt: return i_ == o.i_;
    case Kind::kString: return s_ == o.s_;
    case Kind::kList: return list_ == o.list_;
    case Kind::kObject: return obj_ == o.obj_;
  }
  return false;
}

namespace {

struct TypeName {
  RecordType type;
  std::string_view name;
};
constexpr TypeName kTypeNames[] = {
    {RecordType::kExec, "exec"},           {RecordType::kControl, "control"},
    {RecordType::kLifecycle, "lifecycle"}, {RecordType::kDenial, "denial"},
    {RecordType::kCheckpoint, "checkpoint"}, {RecordType::kRecovery, "recovery"},
};

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one (overlongs, surrogates and
// code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  return n;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace

std::string_view RecordTypeName(RecordType t) {
  for (const auto& tn : kTypeNames) {
    if (tn.type == t) return tn.name;
  }
  return "unknown";
}

std::optional<RecordType> ParseRecordType(std::string_view name) {
  for (const auto& tn : kTypeNames) {
    if (tn.name == name) return tn.type;
  }
  return std::nullopt;
}

const std::vector<std::string_view>& RecordTypeNames() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const auto& tn : kTypeNames) v.push_back(tn.name);
    return v;
  }();
  return names;
}

std::string SanitizeUtf8(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\b': *out += "\\b"; break;
      case '\f': *out += "\\f"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (c < 0x20) {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

void AppendCanonicalJson(const FieldValue& value, std::string* out) {
  switch (value.kind()) {
    case FieldValue::Kind::kNull: *out += "null"; return;
    case FieldValue::Kind::kBool: *out += value.as_bool() ? "true" : "false"; return;
    case FieldValue::Kind::kInt: *out += std::to_string(value.as_int()); return;
    case FieldValue::Kind::kString: AppendJsonString(SanitizeUtf8(value.as_string()), out); return;
    case FieldValue::Kind::kList: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : value.as_list()) {
        if (!first) out->push_back(',');
        first = false;
        AppendCanonicalJson(item, out);
      }
      out->push_back(']');
      return;
    }
    case FieldValue::Kind::kObject: {
      // std::map orders keys by byte value (std::string's operator<), which is the canonical order.
      out->push_back('{');
      bool first = true;
      for (const auto& [k, v] : value.as_object()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(SanitizeUtf8(k), out);
        out->push_back(':');
        AppendCanonicalJson(v, out);
      }
      out->push_back('}');
      return;
    }
  }
}

std::string SerializeRecord(const Record& r) {
  std::string out;
  out.reserve(256);
  out += "{\"v\":" + std::to_string(r.version) + ",\"seq\":" + std::to_string(r.seq) + ",\"time\":";
  AppendJsonString(SanitizeUtf8(r.time), &out);
  out += ",\"host\":";
  AppendJsonString(SanitizeUtf8(r.host), &out);
  if (!r.agent.empty()) {
    out += ",\"agent\":";
    AppendJsonString(SanitizeUtf8(r.agent), &out);
  }
  out += ",\"actor\":";
  AppendCanonicalJson(FieldValue(r.actor), &out);
  out += ",\"type\":";
  AppendJsonString(RecordTypeName(r.type), &out);
  out += ",\"fields\":";
  AppendCanonicalJson(FieldValue(r.fields), &out);
  out += ",\"prev\":";
  AppendJsonString(r.prev, &out);
  out += "}";
  return out;
}

namespace {

using Json = nlohmann::json;

StatusOr<FieldValue> FromJson(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return FieldValue();
    case Json::value_t::boolean: return FieldValue(j.get<bool>());
    case Json::value_t::number_integer: return FieldValue(static_cast<long long>(j.get<int64_t>()));
    case Json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return DataLossError("integer out of range");
      return FieldValue(static_cast<long long>(u));
    }
    case Json::value_t::string: return FieldValue(j.get<std::string>());
    case Json::value_t::array: {
      std::vector<FieldValue> items;
      for (const auto& e : j) {
        CC_ASSIGN_OR_RETURN(FieldValue v, FromJson(e));
        items.push_back(std::move(v));
      }
      return FieldValue(std::move(items));
    }
    case Json::value_t::object: {
      Fields obj;
      for (const auto& [k, e] : j.items()) {
        CC_ASSIGN_OR_RETURN(FieldValue v, FromJson(e));
        obj.emplace(k, std::move(v));
      }
      return FieldValue(std::move(obj));
    }
    default: return DataLossError("floating-point numbers are not allowed");
  }
}

StatusOr<std::string> StringMember(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return DataLossError(std::string("missing or non-string \"") + key + "\"");
  return it->get<std::string>();
}

StatusOr<Fields> ObjectMember(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return DataLossError(std::string("missing or non-object \"") + key + "\"");
  CC_ASSIGN_OR_RETURN(FieldValue v, FromJson(*it));
  return v.as_object();
}

}  // namespace

StatusOr<Record> ParseRecord(std::string_view line) {
  Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return DataLossError("not a JSON object (torn or altered line)");
  Record r;
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer()) return DataLossError("missing format version \"v\"");
  if (v->get<int64_t>() != kRecordVersion) {
    return FailedPreconditionError("record format version " + std::to_string(v->get<int64_t>()) +
                                   " is not supported by this cloudcoop (it reads version " +
                                   std::to_string(kRecordVersion) + ")")
        .WithFix("read this log with the cloudcoop release that wrote it, or a newer one");
  }
  auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_unsigned()) return DataLossError("missing or negative \"seq\"");
  r.seq = seq->get<uint64_t>();
  CC_ASSIGN_OR_RETURN(r.time, StringMember(j, "time"));
  CC_ASSIGN_OR_RETURN(r.host, StringMember(j, "host"));
  if (j.contains("agent")) {
    CC_ASSIGN_OR_RETURN(r.agent, StringMember(j, "agent"));
    if (r.agent.empty()) return DataLossError("empty \"agent\" (it is left out instead)");
  }
  CC_ASSIGN_OR_RETURN(r.actor, ObjectMember(j, "actor"));
  CC_ASSIGN_OR_RETURN(std::string type, StringMember(j, "type"));
  auto t = ParseRecordType(type);
  if (!t) return DataLossError("unknown record type \"" + type + "\"");
  r.type = *t;
  CC_ASSIGN_OR_RETURN(r.fields, ObjectMember(j, "fields"));
  CC_ASSIGN_OR_RETURN(r.prev, StringMember(j, "prev"));
  if (!IsDigestHex(r.prev)) return DataLossError("\"prev\" is not a SHA-256 hex digest");
  if (SerializeRecord(r) != line) {
    return DataLossError("not in canonical form (extra keys, key order, spacing or escapes differ)");
  }
  return r;
}

}  // namespace cloudcoop::audit
