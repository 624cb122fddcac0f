// The audit log writer: appends hash-chained records to segment files under <state dir>/audit and
// keeps the chain head anchored in the head file. Safe across threads and processes: every append
// holds an exclusive flock on the audit directory while it reads the head, finds the end of the
// chain, writes, syncs and updates the head, so concurrent writers never interleave or fork the
// chain. Design and recovery rules: docs/adr/0004-audit-log.md.
//
// Durability:
//  - every Append writes its complete lines with pwrite before it returns, so an acknowledged
//    record survives kill -9 of the writer (the data is in the kernel's page cache);
//  - Durability::kSync also fdatasyncs the segment and anchors the record in the head before
//    returning (control actions use this: the record is on disk before the command reports);
//  - Durability::kBatched (exec records from a supervisor) syncs and anchors when
//    batch_max_records are pending or the oldest is batch_max_delay old, checked on each Append
//    and MaybeFlush(), and on Flush() and destruction. After a kill -9 the unanchored records are
//    complete lines that continue the chain; the next writer anchors them.
//
// Recovery, done under the lock by whichever writer comes next (or `cloudcoop audit recover`):
//  - complete records after the head that continue the chain are anchored (an interrupted or
//    batched append);
//  - a torn last line (an append killed mid-write) is copied to torn/<segment>.<offset> and
//    replaced by a `recovery` record that names it; it is never accepted as a record and never
//    dropped without a trace;
//  - anything else (the segment shorter than the head says, the last record not matching the
//    head, a complete line that does not continue the chain, a missing head) is damage: the writer
//    refuses to append (kDataLoss) rather than extend a chain it cannot vouch for.
#ifndef CLOUDCOOP_AUDIT_LOGGER_H_
#define CLOUDCOOP_AUDIT_LOGGER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "audit/head.h"
#include "audit/record.h"
#include "audit/redact.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/status.h"

namespace cloudcoop::audit {

enum class Durability { kSync, kBatched };

// What a caller records; the writer adds seq, time, host and prev, and redacts every string.
struct Event {
  RecordType type = RecordType::kControl;
  std::string agent;  // empty when no agent is concerned
  Fields actor;
  Fields fields;
};

struct Appended {
  uint64_t seq = 0;
  std::string hash;  // SHA-256 of the record's line
};

// A record's line may not be longer than this; callers bound what they record (argv, output).
inline constexpr size_t kMaxLineBytes = 1 << 20;

struct LoggerOptions {
  std::string dir;  // <state dir>/audit
  uint64_t segment_max_bytes = 16ULL << 20;
  int64_t retention_segments = 0;  // 0: keep every segment
  size_t batch_max_records = 512;
  Duration batch_max_delay = std::chrono::seconds(1);
  Clock* clock = nullptr;  // null: the real clock
  std::string host;        // empty: gethostname()
  std::shared_ptr<const Redactor> redactor;  // null: token shapes only
  // Tests only: called at "after-write", "after-sync", "after-head", "after-quarantine",
  // "after-recovery-record", "after-rotate-head" and "after-checkpoint"; a test may _exit() there
  // to simulate a crash at that step.
  std::function<void(std::string_view)> crash_point;
};

// What the last locked operation found and repaired.
struct RecoveryReport {
  uint64_t found_after_head = 0;  // complete records after the head (batched or interrupted appends)
  bool torn_tail = false;       // a torn last line was quarantined
  std::string quarantine;       // where its bytes are (relative to the audit dir)
  uint64_t torn_bytes = 0;
  bool head_slot_rewritten = false;  // a damaged head slot was rewritten
};

class Logger {
 public:
  static StatusOr<std::unique_ptr<Logger>> Open(LoggerOptions options);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  StatusOr<Appended> Append(const Event& event, Durability durability = Durability::kSync);
  // Appends several records under one lock and (for kSync) one fdatasync.
  StatusOr<Appended> AppendAll(const std::vector<Event>& events, Durability durability);
  // Syncs and anchors every pending batched record.
  Status Flush();
  // Flush() when the batch limits say so; for a supervisor's poll loop.
  Status MaybeFlush();
  // Takes the lock, performs recovery and anchors the head, appending nothing else (except the
  // recovery record for a torn line).
  StatusOr<RecoveryReport> Recover();

  const RecoveryReport& last_recovery() const { return last_recovery_; }
  size_t unsynced() const;
  const std::string& dir() const { return options_.dir; }

 private:
  struct Tail {
    std::string segment;
    uint64_t end = 0;
    uint64_t seq = 0;
    std::string hash;
  };
  struct Locked;  // the state of one locked operation

  explicit Logger(LoggerOptions options);
  Status Init();
  Status Lock();
  void Unlock();
  Status LoadTail(Locked& l);
  Status ScanAfterTail(Locked& l, uint64_t size);
  Status QuarantineTorn(Locked& l, const std::string& bytes);
  Status OpenSegment(const std::string& name, bool create);
  Status CheckHeadRecord(const Head& head);
  Status WriteLines(Locked& l, const std::vector<Event>& events);
  Status Rotate(Locked& l);
  Status PlanRetention(Locked& l);
  Status SyncAndAnchor(Locked& l);
  Status WriteHead(Locked& l, bool durable);
  Status FinishRetention(Locked& l);
  Record Build(const Event& e, const Tail& tail) const;
  Status WriteAt(const std::string& data, uint64_t offset);
  void CrashPoint(std::string_view where) const;
  bool BatchDue() const;
  StatusOr<Appended> AppendLocked(const std::vector<Event>& events, Durability durability);

  LoggerOptions options_;
  std::shared_ptr<const Redactor> redactor_;
  Clock* clock_;
  UniqueFd dir_fd_;
  UniqueFd head_fd_;
  UniqueFd seg_fd_;
  std::string seg_name_;
  bool cache_valid_ = false;
  Tail cache_;
  uint64_t cache_gen_ = 0;  // the head's gen when cache_ was stored
  size_t unsynced_ = 0;
  Duration first_unsynced_{};
  std::string head_bytes_;  // the head file as last read, and its parse
  HeadFile head_file_;
  RecoveryReport last_recovery_;
  mutable std::mutex mu_;
};

// Who is acting: used as a record's "actor".
Fields SystemActor(std::string_view component);

}  // namespace cloudcoop::audit

#endif  // CLOUDCOOP_AUDIT_LOGGER_H_
