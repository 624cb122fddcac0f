// Reading the audit log for `cloudcoop audit` (query and follow) and `audit export`: filters, an
// incremental reader that follows rotation, and the human-readable line format.
#ifndef CLOUDCOOP_AUDIT_QUERY_H_
#define CLOUDCOOP_AUDIT_QUERY_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "audit/record.h"
#include "core/clock.h"
#include "core/status.h"

namespace cloudcoop::audit {

struct QueryFilter {
  std::string agent;                 // exact agent name
  std::optional<RecordType> type;
  std::optional<SystemTime> since;   // inclusive
  std::optional<SystemTime> until;   // exclusive
  std::string grep;                  // substring of the stored line, case-insensitive
};
bool MatchesFilter(const QueryFilter& filter, const Record& record, std::string_view line);

// --since/--until values: RFC 3339 ("2026-05-01T12:00:00Z", offsets allowed) or an age before
// `now`: a number and s, m, h, d or w ("90s", "10m", "2h", "1d", "1w").
StatusOr<SystemTime> ParseTimeArg(std::string_view text, SystemTime now);

// Reads the segments in order from where it last stopped; only complete lines are delivered, so
// a line being written is picked up once its newline is there. Follows rotation, and jumps to the
// oldest kept segment when retention removed the one it was reading.
class LogReader {
 public:
  using RecordFn = std::function<void(const Record& record, std::string_view line)>;
  using BadLineFn = std::function<void(const std::string& segment, uint64_t offset, const Status& why)>;
  explicit LogReader(std::string dir) : dir_(std::move(dir)) {}
  // Delivers every complete record written since the last call. A directory that does not exist
  // yet has no records.
  Status ReadNew(const RecordFn& on_record, const BadLineFn& on_bad);

 private:
  std::string dir_;
  std::string segment_;  // the segment being read ("" before the first call)
  uint64_t offset_ = 0;  // bytes of it already delivered
};

// "2026-05-01T12:00:00.123Z  #42  control    root  action=\"config set\" args=[...] phase=start"
std::string FormatRecordText(const Record& record);
// A short form of the actor: "root", "alice (sudo from bob)", "system:audit-writer", ...
std::string FormatActor(const Fields& actor);

}  // namespace cloudcoop::audit

#endif  // CLOUDCOOP_AUDIT_QUERY_H_
