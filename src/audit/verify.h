// The audit log verifier: checks every record of every segment, the chain between them, the head,
// retention checkpoints and quarantined torn lines, and (optionally) a head the operator saved
// elsewhere with `cloudcoop audit head`. Read-only: it takes the audit directory's lock only long
// enough to snapshot the head and the segments' sizes, so it never sees a half-done append.
//
// What it detects (each with a test in verify_test.cc): any changed byte in a segment or the head
// file, a deleted record, reordered records, a torn or cut-off tail, a removed, renamed or swapped
// segment, and a log rewritten after a saved head was taken (with --head). What it cannot detect:
// someone who can write the audit directory rewriting the whole log and head consistently, unless
// a head saved outside their reach is compared (docs/adr/0004-audit-log.md).
#ifndef CLOUDCOOP_AUDIT_VERIFY_H_
#define CLOUDCOOP_AUDIT_VERIFY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/head.h"
#include "core/status.h"

namespace cloudcoop::audit {

// A chain head as exported by `cloudcoop audit head`.
struct SavedHead {
  uint64_t seq = 0;
  std::string hash;
  std::string host;
  std::string time;
};
std::string FormatSavedHead(const SavedHead& head);  // one line of JSON
StatusOr<SavedHead> ParseSavedHead(std::string_view text);

struct VerifyProblem {
  std::string segment;  // empty when not about one segment
  uint64_t line = 0;    // 1-based line in the segment (0: not about one line)
  uint64_t offset = 0;  // byte offset of that line
  uint64_t seq = 0;     // the record's seq when it could be read
  std::string message;
};

struct VerifyReport {
  bool missing = false;  // no audit log at all (no head and no segments)
  std::optional<VerifyProblem> problem;  // the first problem found
  uint64_t records = 0;
  uint64_t segments = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  std::string last_hash;
  Head head;
  uint64_t after_head = 0;  // complete records after the head (a batch not yet synced)
  bool saved_head_checked = false;
  std::vector<std::string> notes;  // checkpoints and recoveries found in the chain
  bool ok() const { return !missing && !problem; }
};

struct VerifyOptions {
  std::string dir;  // <state dir>/audit
  std::optional<SavedHead> saved;
};

// Errors only for what stops it reading (permissions, I/O); tampering is reported in the report.
StatusOr<VerifyReport> Verify(const VerifyOptions& options);

// The current end of the chain (the last complete record that continues it), checked against the
// head; for `cloudcoop audit head`. Fails with kDataLoss when the end does not match the head.
StatusOr<SavedHead> CurrentHead(const std::string& dir);

}  // namespace cloudcoop::audit

#endif  // CLOUDCOOP_AUDIT_VERIFY_H_
