// One audit record and its canonical serialisation (format version 1).
//
// A record is one line of JSON with the keys in this fixed order:
//   {"v":1,"seq":N,"time":"RFC3339","host":"...","agent":"...","actor":{...},"type":"...",
//    "fields":{...},"prev":"<64 hex>"}
// ("agent" is left out when the record concerns no agent). Inside "actor" and "fields", object keys
// are sorted by byte value; there is no whitespace; integers only (no floats); strings are UTF-8
// with only '"', '\\' and control characters escaped (\b \f \n \r \t, else \u00xx), and invalid
// UTF-8 replaced by U+FFFD when the record is built. A line parses only if serialising the parsed
// record reproduces it byte for byte, so what a reader shows is exactly what was hashed.
//
// "prev" is the SHA-256 (hex) of the previous record's line (without its newline); the first record
// of a log has 64 zeros. See docs/adr/0004-audit-log.md.
#ifndef CLOUDCOOP_AUDIT_RECORD_H_
#define CLOUDCOOP_AUDIT_RECORD_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cloudcoop::audit {

inline constexpr int kRecordVersion = 1;
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// A JSON value restricted to what the canonical form allows.
class FieldValue {
 public:
  enum class Kind { kNull, kBool, kInt, kString, kList, kObject };
  FieldValue() = default;
  FieldValue(bool b) : kind_(Kind::kBool), b_(b) {}                              // NOLINT
  FieldValue(int v) : kind_(Kind::kInt), i_(v) {}                                // NOLINT
  FieldValue(long v) : kind_(Kind::kInt), i_(v) {}                               // NOLINT
  FieldValue(long long v) : kind_(Kind::kInt), i_(v) {}                          // NOLINT
  FieldValue(unsigned v) : kind_(Kind::kInt), i_(v) {}                           // NOLINT
  FieldValue(unsigned long v) : kind_(Kind::kInt), i_(static_cast<int64_t>(v)) {}  // NOLINT
  FieldValue(unsigned long long v) : kind_(Kind::kInt), i_(static_cast<int64_t>(v)) {}  // NOLINT
  FieldValue(std::string s) : kind_(Kind::kString), s_(std::move(s)) {}          // NOLINT
  FieldValue(std::string_view s) : kind_(Kind::kString), s_(s) {}                // NOLINT
  FieldValue(const char* s) : kind_(Kind::kString), s_(s) {}                     // NOLINT
  FieldValue(std::vector<std::string> items);                                     // NOLINT
  FieldValue(std::vector<FieldValue> items) : kind_(Kind::kList), list_(std::move(items)) {}  // NOLINT
  FieldValue(std::map<std::string, FieldValue> obj) : kind_(Kind::kObject), obj_(std::move(obj)) {}  // NOLINT

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool as_bool() const { return b_; }
  int64_t as_int() const { return i_; }
  const std::string& as_string() const { return s_; }
  const std::vector<FieldValue>& as_list() const { return list_; }
  const std::map<std::string, FieldValue>& as_object() const { return obj_; }
  std::vector<FieldValue>& mutable_list() { return list_; }
  std::map<std::string, FieldValue>& mutable_object() { return obj_; }
  std::string& mutable_string() { return s_; }

  bool operator==(const FieldValue& o) const;

 private:
  Kind kind_ = Kind::kNull;
  bool b_ = false;
  int64_t i_ = 0;
  std::string s_;
  std::vector<FieldValue> list_;
  std::map<std::string, FieldValue> obj_;
};

using Fields = std::map<std::string, FieldValue>;

enum class RecordType {
  kExec,        // a program an agent executed (later: from the sandbox supervisor)
  kControl,     // an operator command that changes something
  kLifecycle,   // an agent's sandbox plan, start, exit, OOM, limits hit
  kDenial,      // a syscall or access the sandbox refused
  kCheckpoint,  // retention dropped old segments; anchors where the kept log starts
  kRecovery,    // the writer quarantined a torn line left by an interrupted write
};
std::string_view RecordTypeName(RecordType t);
std::optional<RecordType> ParseRecordType(std::string_view name);
// The names, for flag choices and messages.
const std::vector<std::string_view>& RecordTypeNames();

struct Record {
  int version = kRecordVersion;
  uint64_t seq = 0;
  std::string time;   // RFC 3339, UTC
  std::string host;
  std::string agent;  // empty when the record concerns no agent
  Fields actor;       // who did it: {"kind":"operator","uid":0,"user":"root",...}
  RecordType type = RecordType::kControl;
  Fields fields;
  std::string prev;   // SHA-256 hex of the previous line
};

// The canonical line (no trailing newline). Strings are made valid UTF-8 first.
std::string SerializeRecord(const Record& record);
// Parses a line that must be exactly in canonical form; errors say what is wrong.
StatusOr<Record> ParseRecord(std::string_view line);

// Canonical JSON of one value (used for "fields" and "actor", and by export).
void AppendCanonicalJson(const FieldValue& value, std::string* out);
void AppendJsonString(std::string_view s, std::string* out);
// Replaces invalid UTF-8 sequences with U+FFFD.
std::string SanitizeUtf8(std::string_view s);

}  // namespace cloudcoop::audit

#endif  // CLOUDCOOP_AUDIT_RECORD_H_
