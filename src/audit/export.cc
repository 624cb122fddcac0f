#include "audit/export.h"

#include "audit/sha256.h"

namespace cloudcoop::audit {

std::string_view SeverityFor(const Record& r) {
  switch (r.type) {
    case RecordType::kControl: return "NOTICE";
    case RecordType::kDenial: return "WARNING";
    case RecordType::kRecovery: return "WARNING";
    case RecordType::kExec: return "INFO";
    case RecordType::kCheckpoint: return "INFO";
    case RecordType::kLifecycle: {
      auto it = r.fields.find("event");
      if (it != r.fields.end() && it->second.kind() == FieldValue::Kind::kString) {
        const std::string& e = it->second.as_string();
        if (e == "oom-kill" || e == "pids-limit" || e == "degraded") return "WARNING";
      }
      return "INFO";
    }
  }
  return "DEFAULT";
}

std::string ToCloudLoggingEntry(const Record& r, std::string_view line, const CloudLoggingOptions& options) {
  std::string hash = Sha256Hex(line);
  Fields labels = {{"cloudcoop/host", r.host},
                   {"cloudcoop/type", std::string(RecordTypeName(r.type))},
                   {"cloudcoop/seq", std::to_string(r.seq)}};
  if (!r.agent.empty()) labels["cloudcoop/agent"] = r.agent;
  std::string out = "{";
  if (!options.log_name.empty()) {
    out += "\"logName\":";
    AppendJsonString(options.log_name, &out);
    out += ",";
  }
  out += "\"resource\":{\"type\":\"global\"},\"timestamp\":";
  AppendJsonString(r.time, &out);
  out += ",\"severity\":";
  AppendJsonString(SeverityFor(r), &out);
  out += ",\"insertId\":";
  AppendJsonString(r.host + "-" + std::to_string(r.seq) + "-" + hash.substr(0, 16), &out);
  out += ",\"labels\":";
  AppendCanonicalJson(FieldValue(labels), &out);
  // The stored line is canonical JSON ending in '}': the payload is the record plus its hash.
  out += ",\"jsonPayload\":";
  out.append(line.substr(0, line.size() - 1));
  out += ",\"hash\":\"" + hash + "\"}}";
  return out;
}

}  // namespace cloudcoop::audit
