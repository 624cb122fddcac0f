// `cloudcoop audit export`: records as JSON lines, either exactly as stored (jsonl) or as Cloud
// Logging LogEntry objects (for entries.write when shipping the log off a VM).
#ifndef CLOUDCOOP_AUDIT_EXPORT_H_
#define CLOUDCOOP_AUDIT_EXPORT_H_

#include <string>
#include <string_view>

#include "audit/record.h"

namespace cloudcoop::audit {

struct CloudLoggingOptions {
  std::string log_name;  // "projects/P/logs/cloudcoop-audit"; left out when empty
};

// One LogEntry: {"logName","resource":{"type":"global"},"timestamp","severity","insertId",
// "labels":{"cloudcoop/host","cloudcoop/type","cloudcoop/seq"[,"cloudcoop/agent"]},
// "jsonPayload":{<the record>,"hash":"<its SHA-256>"}}. insertId is "<host>-<seq>-<hash prefix>"
// so a re-shipped record is de-duplicated by Cloud Logging.
std::string ToCloudLoggingEntry(const Record& record, std::string_view line, const CloudLoggingOptions& options);

// DEFAULT, INFO, NOTICE or WARNING for a record.
std::string_view SeverityFor(const Record& record);

}  // namespace cloudcoop::audit

#endif  // CLOUDCOOP_AUDIT_EXPORT_H_
