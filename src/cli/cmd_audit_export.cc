// cloudcoop audit export --format jsonl|cloud-logging: the records on stdout, as stored or as Cloud
// Logging LogEntry objects.
#include <ostream>

#include "audit/control.h"
#include "audit/export.h"
#include "audit/query.h"
#include "cli/command.h"
#include "config/loader.h"
#include "core/paths.h"

namespace cloudcoop::cli {
namespace {

int RunAuditExport(Invocation& inv) {
  std::string format = inv.ValueOr("format", "jsonl");
  audit::QueryFilter filter;
  filter.agent = inv.ValueOr("agent", "");
  if (auto t = inv.Value("type")) filter.type = audit::ParseRecordType(*t);
  SystemTime now = DefaultClock().Now();
  for (const char* flag : {"since", "until"}) {
    if (auto v = inv.Value(flag)) {
      auto t = audit::ParseTimeArg(*v, now);
      if (!t.ok()) return inv.Fail(t.status());
      (std::string_view(flag) == "since" ? filter.since : filter.until) = *t;
    }
  }
  audit::CloudLoggingOptions options;
  options.log_name = inv.ValueOr("log-name", "");
  if (format == "cloud-logging" && options.log_name.empty()) {
    auto config = inv.Config();
    if (config.ok() && !(*config)->settings().gcp.project.empty()) {
      options.log_name = "projects/" + (*config)->settings().gcp.project + "/logs/cloudcoop-audit";
    }
  }
  audit::LogReader reader(audit::AuditDirFor(StateDirFromEnv()));
  uint64_t bad = 0;
  Status st = reader.ReadNew(
      [&](const audit::Record& r, std::string_view line) {
        if (!audit::MatchesFilter(filter, r, line)) return;
        if (format == "jsonl") inv.out() << line << "\n";
        else inv.out() << audit::ToCloudLoggingEntry(r, line, options) << "\n";
      },
      [&](const std::string&, uint64_t, const Status&) { ++bad; });
  if (!st.ok()) return inv.Fail(st);
  if (bad > 0) {
    return inv.Fail(DataLossError("audit export: " + std::to_string(bad) + " record(s) do not parse and were not exported")
                        .WithFix("run `cloudcoop audit verify` to find them"));
  }
  return 0;
}

}  // namespace

extern const CommandSpec kAuditExportCommand = {
    .name = "audit export",
    .category = Category::kAudit,
    .summary = "write the audit records as JSON lines or Cloud Logging entries",
    .flags = {{"format", FlagKind::kValue, "FORMAT", "jsonl (as stored, the default) or cloud-logging (LogEntry JSON)",
               {"jsonl", "cloud-logging"}},
              {"log-name", FlagKind::kValue, "NAME",
               "logName for cloud-logging (default projects/<cloud.gcp.project>/logs/cloudcoop-audit when set)"},
              {"agent", FlagKind::kValue, "NAME", "only records about this agent"},
              {"type", FlagKind::kValue, "TYPE", "only records of this type",
               {"exec", "control", "lifecycle", "denial", "checkpoint", "recovery"}},
              {"since", FlagKind::kValue, "TIME", "from this time: RFC 3339, or an age such as 10m, 2h, 1d"},
              {"until", FlagKind::kValue, "TIME", "before this time: RFC 3339, or an age such as 10m, 2h, 1d"}},
    .description = "cloud-logging prints one LogEntry per line: timestamp, severity, insertId (stable, so a\n"
                   "re-shipped record is de-duplicated), labels (cloudcoop/host, type, seq, agent) and the\n"
                   "record with its hash as jsonPayload, ready for entries.write.",
    .run = RunAuditExport,
};

}  // namespace cloudcoop::cli
