#include "audit/logger.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "audit/sha256.h"
#include "core/logging.h"

namespace cloudcoop::audit {

struct Logger::Locked {
  Head head;                       // the head as read under the lock
  bool rewrite_head = false;       // a slot was damaged: write the head in this operation
  Tail tail;                       // the end of the chain
  std::vector<Event> recovery;     // records to write before the caller's
  std::vector<std::string> drop;   // segments to delete once the checkpoint is anchored
  bool force_sync = false;
  RecoveryReport report;
};

namespace {

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

void RedactValue(const Redactor& r, FieldValue* v) {
  switch (v->kind()) {
    case FieldValue::Kind::kString: v->mutable_string() = r.Redact(v->as_string()); break;
    case FieldValue::Kind::kList:
      for (auto& item : v->mutable_list()) RedactValue(r, &item);
      break;
    case FieldValue::Kind::kObject:
      for (auto& [k, item] : v->mutable_object()) RedactValue(r, &item);
      break;
    default: break;
  }
}

Fields Redacted(const Redactor& r, const Fields& in) {
  FieldValue v(in);
  RedactValue(r, &v);
  return std::move(v.mutable_object());
}

Status SyncFd(int fd, const std::string& what) {
  if (fdatasync(fd) != 0) return ErrnoError(errno, "fdatasync audit " + what);
  return OkStatus();
}

StatusOr<std::string> PreadAll(int fd, uint64_t offset, size_t len, const std::string& what) {
  std::string out(len, '\0');
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, out.data() + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "read audit " + what);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

// The line that ends (with its newline) at byte `end` of the file.
StatusOr<std::string> ReadLineEndingAt(int fd, uint64_t end, const std::string& what) {
  size_t window = 4096;
  for (;;) {
    uint64_t start = end > window ? end - window : 0;
    CC_ASSIGN_OR_RETURN(std::string chunk, PreadAll(fd, start, static_cast<size_t>(end - start), what));
    if (chunk.size() != end - start || chunk.empty() || chunk.back() != '\n') {
      return DataLossError("audit segment " + what + " does not end a record at byte " + std::to_string(end) +
                           " where the audit head says the chain ends")
          .WithFix("run `cloudcoop audit verify` to find the damage");
    }
    size_t nl = chunk.rfind('\n', chunk.size() - 2);
    if (nl != std::string::npos) return chunk.substr(nl + 1, chunk.size() - nl - 2);
    if (start == 0) return chunk.substr(0, chunk.size() - 1);
    if (window > kMaxLineBytes) {
      return DataLossError("audit segment " + what + ": the record before byte " + std::to_string(end) +
                           " is longer than any record the writer produces");
    }
    window *= 4;
  }
}

}  // namespace

Fields SystemActor(std::string_view component) {
  return {{"kind", "system"}, {"component", std::string(component)}, {"pid", static_cast<long long>(getpid())}};
}

Logger::Logger(LoggerOptions options)
    : options_(std::move(options)),
      redactor_(options_.redactor ? options_.redactor : std::make_shared<const Redactor>()),
      clock_(options_.clock ? options_.clock : &DefaultClock()) {
  if (options_.host.empty()) options_.host = Hostname();
}

Logger::~Logger() {
  if (unsynced_ > 0) {
    Status st = Flush();
    if (!st.ok()) CC_LOG_ERROR("audit: flushing batched records on close: %s", st.ToString().c_str());
  }
}

StatusOr<std::unique_ptr<Logger>> Logger::Open(LoggerOptions options) {
  if (options.dir.empty()) return InvalidArgumentError("audit log: no directory given");
  if (options.segment_max_bytes == 0) return InvalidArgumentError("audit log: segment_max_bytes must be positive");
  if (options.retention_segments < 0) return InvalidArgumentError("audit log: retention_segments must be >= 0");
  std::unique_ptr<Logger> logger(new Logger(std::move(options)));
  CC_RETURN_IF_ERROR(logger->Init());
  return logger;
}

Status Logger::Init() {
  const std::string& dir = options_.dir;
  CC_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) return ErrnoError(errno, "stat audit directory " + dir);
  if (!S_ISDIR(st.st_mode)) return FailedPreconditionError("audit directory " + dir + " is not a directory");
  if ((st.st_mode & 022) != 0) {
    char mode[8];
    (void)std::snprintf(mode, sizeof mode, "%03o", st.st_mode & 0777);
    return FailedPreconditionError("audit directory " + dir + " is writable by other users (mode " + mode + ")")
        .WithFix("chmod 700 " + dir);
  }
  dir_fd_ = UniqueFd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd_.valid()) return ErrnoError(errno, "open audit directory " + dir);
  CC_RETURN_IF_ERROR(Lock());
  std::string head_path = JoinPath(dir, kHeadFileName);
  Status result;
  head_fd_ = UniqueFd(open(head_path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  if (!head_fd_.valid() && errno == ENOENT) {
    auto names = ListDir(dir);
    bool has_segments = false;
    if (names.ok()) {
      for (const auto& n : *names) has_segments |= ParseSegmentName(n).has_value();
    }
    if (!names.ok()) {
      result = names.status();
    } else if (has_segments) {
      result = DataLossError("audit head " + head_path + " is missing but segments exist: the chain's anchor was removed")
                   .WithFix("run `cloudcoop audit verify`; keep " + dir + " as evidence and move it aside to start a new log");
    } else {
      Head h;
      h.gen = 1;
      h.segment = SegmentName(1);
      std::string content(kHeadFileSize, '\0');
      content.replace(kHeadSlotSize, kHeadSlotSize, FormatHeadSlot(h));
      result = WriteFileAtomic(head_path, content, 0600);
      if (result.ok()) head_fd_ = UniqueFd(open(head_path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    }
  }
  if (result.ok() && !head_fd_.valid()) result = ErrnoError(errno, "open audit head " + head_path);
  Unlock();
  return result;
}

Status Logger::Lock() {
  while (flock(dir_fd_.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return ErrnoError(errno, "lock audit directory " + options_.dir);
  }
  return OkStatus();
}

void Logger::Unlock() { flock(dir_fd_.get(), LOCK_UN); }

void Logger::CrashPoint(std::string_view where) const {
  if (options_.crash_point) options_.crash_point(where);
}

Status Logger::OpenSegment(const std::string& name, bool create) {
  if (seg_fd_.valid() && seg_name_ == name) {
    // Re-open if the file was replaced (a path that now names another inode is a different file).
    struct stat a, b;
    std::string path = JoinPath(options_.dir, name);
    if (fstat(seg_fd_.get(), &a) == 0 && stat(path.c_str(), &b) == 0 && a.st_ino == b.st_ino) return OkStatus();
    cache_valid_ = false;
  }
  std::string path = JoinPath(options_.dir, name);
  int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0);
  UniqueFd fd(open(path.c_str(), flags, 0600));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return DataLossError("audit segment " + path + " named by the audit head is missing")
          .WithFix("run `cloudcoop audit verify`; keep " + options_.dir + " as evidence and move it aside to start a new log");
    }
    return ErrnoError(errno, "open audit segment " + path);
  }
  if (create) {
    // The new directory entry must survive a crash before anything is anchored in it.
    if (fsync(dir_fd_.get()) != 0) return ErrnoError(errno, "fsync audit directory " + options_.dir);
  }
  seg_fd_ = std::move(fd);
  seg_name_ = name;
  cache_valid_ = false;
  return OkStatus();
}

Status Logger::CheckHeadRecord(const Head& head) {
  if (head.end == 0) return OkStatus();  // the anchored record is in the previous segment
  CC_ASSIGN_OR_RETURN(std::string line, ReadLineEndingAt(seg_fd_.get(), head.end, head.segment));
  auto rec = ParseRecord(line);
  if (!rec.ok() || rec->seq != head.seq || Sha256Hex(line) != head.hash) {
    return DataLossError("the last anchored record in audit segment " + head.segment + " (seq " +
                         std::to_string(head.seq) + ") does not match the audit head: it was changed")
        .WithFix("run `cloudcoop audit verify`; keep " + options_.dir + " as evidence and move it aside to start a new log");
  }
  return OkStatus();
}

Status Logger::LoadTail(Locked& l) {
  CC_ASSIGN_OR_RETURN(std::string content, PreadAll(head_fd_.get(), 0, kHeadFileSize + 1, "head"));
  // Parsing checks two SHA-256 sums; the head is usually what this writer saw last time.
  if (content != head_bytes_) {
    head_file_ = ParseHeadFile(content);
    head_bytes_ = std::move(content);
  }
  const HeadFile& hf = head_file_;
  if (!hf.current) {
    return DataLossError("audit head " + JoinPath(options_.dir, kHeadFileName) + " has no valid slot")
        .WithFix("run `cloudcoop audit verify`; keep " + options_.dir + " as evidence and move it aside to start a new log");
  }
  l.head = *hf.current;
  l.rewrite_head = hf.slots[0] == SlotState::kCorrupt || hf.slots[1] == SlotState::kCorrupt;
  l.report.head_slot_rewritten = l.rewrite_head;
  // Nothing moved the head since our last append: the open segment is still the right file (a
  // replaced file is caught by verify). Otherwise open it again, checking it was not replaced.
  bool unchanged = cache_valid_ && seg_fd_.valid() && seg_name_ == l.head.segment && cache_gen_ == l.head.gen;
  if (!unchanged) CC_RETURN_IF_ERROR(OpenSegment(l.head.segment, /*create=*/l.head.end == 0));
  struct stat st;
  if (fstat(seg_fd_.get(), &st) != 0) return ErrnoError(errno, "stat audit segment " + l.head.segment);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  // Trust our own last write when the head has not moved past it; else start from the head.
  if (cache_valid_ && cache_.segment == l.head.segment && cache_.end >= l.head.end && cache_.seq >= l.head.seq) {
    l.tail = cache_;
  } else {
    l.tail = {l.head.segment, l.head.end, l.head.seq, l.head.hash};
    if (size >= l.tail.end) CC_RETURN_IF_ERROR(CheckHeadRecord(l.head));
  }
  if (size < l.tail.end) {
    return DataLossError("audit segment " + l.tail.segment + " is " + std::to_string(size) + " bytes but the chain ends at byte " +
                         std::to_string(l.tail.end) + ": records were cut off")
        .WithFix("run `cloudcoop audit verify`; keep " + options_.dir + " as evidence and move it aside to start a new log");
  }
  if (size > l.tail.end) CC_RETURN_IF_ERROR(ScanAfterTail(l, size));
  return OkStatus();
}

// Complete records after the tail must continue the chain; a trailing partial line is torn.
Status Logger::ScanAfterTail(Locked& l, uint64_t size) {
  CC_ASSIGN_OR_RETURN(std::string bytes, PreadAll(seg_fd_.get(), l.tail.end, size - l.tail.end, l.tail.segment));
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t nl = bytes.find('\n', pos);
    if (nl == std::string::npos) return QuarantineTorn(l, bytes.substr(pos));
    std::string_view line(bytes.data() + pos, nl - pos);
    auto rec = ParseRecord(line);
    if (!rec.ok() || rec->seq != l.tail.seq + 1 || rec->prev != l.tail.hash) {
      return DataLossError("audit segment " + l.tail.segment + " has a complete record at byte " +
                           std::to_string(l.tail.end) + " that does not continue the chain (" +
                           (rec.ok() ? "wrong seq or prev" : rec.status().message()) + ")")
          .WithFix("run `cloudcoop audit verify`; keep " + options_.dir + " as evidence and move it aside to start a new log");
    }
    l.tail.seq = rec->seq;
    l.tail.hash = Sha256Hex(line);
    l.tail.end += line.size() + 1;
    if (l.tail.seq > l.head.seq) ++l.report.found_after_head;
    pos = nl + 1;
  }
  return OkStatus();
}

// A torn last line: its bytes are copied to torn/<segment>.<offset>, then the recovery record is
// written over them and the file cut after it, so there is no moment at which the bytes are gone
// and unrecorded. A crash before the record re-quarantines the same bytes under the same name; a
// crash after it but before the cut leaves a complete record followed by a shorter torn rest, which
// the next writer treats the same way.
Status Logger::QuarantineTorn(Locked& l, const std::string& bytes) {
  std::string rel = "torn/" + l.tail.segment + "." + std::to_string(l.tail.end);
  CC_RETURN_IF_ERROR(MakeDirs(JoinPath(options_.dir, "torn"), 0700));
  CC_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(options_.dir, rel), bytes, 0600));
  CrashPoint("after-quarantine");
  Event e{RecordType::kRecovery, "", SystemActor("audit-writer"),
          {{"event", "torn-tail"},
           {"segment", l.tail.segment},
           {"offset", static_cast<long long>(l.tail.end)},
           {"length", static_cast<long long>(bytes.size())},
           {"sha256", Sha256Hex(bytes)},
           {"quarantine", rel}}};
  std::string line = SerializeRecord(Build(e, l.tail));
  CC_RETURN_IF_ERROR(WriteAt(line + "\n", l.tail.end));
  CrashPoint("after-recovery-record");
  uint64_t end = l.tail.end + line.size() + 1;
  if (ftruncate(seg_fd_.get(), static_cast<off_t>(end)) != 0) {
    return ErrnoError(errno, "cut the torn line off audit segment " + l.tail.segment);
  }
  CC_RETURN_IF_ERROR(SyncFd(seg_fd_.get(), l.tail.segment));
  CC_LOG_WARN("audit: a torn record (%zu bytes, an interrupted write) was moved to %s/%s", bytes.size(),
              options_.dir.c_str(), rel.c_str());
  l.tail.seq += 1;
  l.tail.hash = Sha256Hex(line);
  l.tail.end = end;
  l.force_sync = true;
  l.report.torn_tail = true;
  l.report.quarantine = rel;
  l.report.torn_bytes = bytes.size();
  return OkStatus();
}

Record Logger::Build(const Event& e, const Tail& tail) const {
  Record r;
  r.seq = tail.seq + 1;
  r.time = FormatRfc3339(clock_->Now());
  r.host = options_.host;
  r.agent = redactor_->Redact(e.agent);
  r.actor = Redacted(*redactor_, e.actor);
  r.type = e.type;
  r.fields = Redacted(*redactor_, e.fields);
  r.prev = tail.hash;
  return r;
}

Status Logger::WriteAt(const std::string& data, uint64_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pwrite(seg_fd_.get(), data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      // Leave no partial line behind: cut back to where this write started.
      if (ftruncate(seg_fd_.get(), static_cast<off_t>(offset)) != 0) {
        CC_LOG_ERROR("audit: could not cut a failed write off %s: errno %d", seg_name_.c_str(), errno);
      }
      return ErrnoError(err, "append to audit segment " + JoinPath(options_.dir, seg_name_));
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

Status Logger::WriteHead(Locked& l, bool durable) {
  Head h{l.head.gen + 1, l.tail.seq, l.tail.hash, l.tail.segment, l.tail.end};
  std::string slot = FormatHeadSlot(h);
  off_t off = static_cast<off_t>((h.gen % 2) * kHeadSlotSize);
  if (pwrite(head_fd_.get(), slot.data(), slot.size(), off) != static_cast<ssize_t>(slot.size())) {
    return ErrnoError(errno, "write audit head " + JoinPath(options_.dir, kHeadFileName));
  }
  if (durable) CC_RETURN_IF_ERROR(SyncFd(head_fd_.get(), "head"));
  l.head = h;
  l.rewrite_head = false;
  return OkStatus();
}

// The segment is synced before the head names its records, so the head is never ahead of what is
// on disk; a head that is behind (lost with the page cache) is rolled forward by the next writer.
Status Logger::SyncAndAnchor(Locked& l) {
  CC_RETURN_IF_ERROR(SyncFd(seg_fd_.get(), l.tail.segment));
  CrashPoint("after-sync");
  unsynced_ = 0;
  if (l.head.seq == l.tail.seq && l.head.end == l.tail.end && l.head.segment == l.tail.segment && !l.rewrite_head) {
    return OkStatus();
  }
  CC_RETURN_IF_ERROR(WriteHead(l, /*durable=*/false));
  CrashPoint("after-head");
  return OkStatus();
}

// Starts a new segment. The head names it (synced) before the file exists, so a crash at any
// point leaves either the old segment as the end of the chain or an empty new one.
Status Logger::Rotate(Locked& l) {
  CC_RETURN_IF_ERROR(SyncFd(seg_fd_.get(), l.tail.segment));
  unsynced_ = 0;
  l.tail.segment = SegmentName(l.tail.seq + 1);
  l.tail.end = 0;
  CC_RETURN_IF_ERROR(WriteHead(l, /*durable=*/true));
  CrashPoint("after-rotate-head");
  CC_RETURN_IF_ERROR(OpenSegment(l.tail.segment, /*create=*/true));
  return PlanRetention(l);
}

// With retention, the oldest segments go once a checkpoint record (the new segment's first)
// says where the kept log starts: the first kept record's seq and prev, and the dropped names.
Status Logger::PlanRetention(Locked& l) {
  if (options_.retention_segments <= 0) return OkStatus();
  CC_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(options_.dir));
  std::vector<std::string> segments;
  for (const auto& n : names) {
    if (ParseSegmentName(n)) segments.push_back(n);
  }
  size_t keep = static_cast<size_t>(options_.retention_segments);
  if (segments.size() <= keep) return OkStatus();
  size_t ndrop = segments.size() - keep;
  std::vector<std::string> drop(segments.begin(), segments.begin() + static_cast<long>(ndrop));
  const std::string& first_kept = segments[ndrop];
  uint64_t first_seq = l.tail.seq + 1;
  std::string first_prev = l.tail.hash;
  if (first_kept != l.tail.segment) {
    std::string path = JoinPath(options_.dir, first_kept);
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return ErrnoError(errno, "open audit segment " + path + " for retention");
    CC_ASSIGN_OR_RETURN(std::string head_bytes, PreadAll(fd.get(), 0, kMaxLineBytes + 1, first_kept));
    size_t nl = head_bytes.find('\n');
    auto rec = ParseRecord(std::string_view(head_bytes).substr(0, nl == std::string::npos ? 0 : nl));
    if (!rec.ok()) {
      return DataLossError("retention: the first record of audit segment " + path + " is unreadable: " +
                           rec.status().message())
          .WithFix("run `cloudcoop audit verify`");
    }
    first_seq = rec->seq;
    first_prev = rec->prev;
  }
  std::vector<FieldValue> dropped(drop.begin(), drop.end());
  l.recovery.push_back({RecordType::kCheckpoint, "", SystemActor("audit-writer"),
                        {{"event", "retention"},
                         {"dropped", FieldValue(std::move(dropped))},
                         {"first_seq", static_cast<long long>(first_seq)},
                         {"first_prev", first_prev},
                         {"retention_segments", static_cast<long long>(options_.retention_segments)}}});
  l.drop = std::move(drop);
  l.force_sync = true;
  return OkStatus();
}

Status Logger::FinishRetention(Locked& l) {
  if (l.drop.empty()) return OkStatus();
  CrashPoint("after-checkpoint");
  for (const auto& name : l.drop) {  // oldest first: a crash midway leaves a prefix removed
    std::string path = JoinPath(options_.dir, name);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError(errno, "remove old audit segment " + path);
  }
  if (fsync(dir_fd_.get()) != 0) return ErrnoError(errno, "fsync audit directory " + options_.dir);
  l.drop.clear();
  return OkStatus();
}

// Serialises and writes `events` (after any recovery records) at the end of the chain, rotating
// when a segment would exceed its size. Checkpoint records created by a rotation are written at the
// start of the new segment.
Status Logger::WriteLines(Locked& l, const std::vector<Event>& events) {
  std::vector<Event> queue = l.recovery;
  queue.insert(queue.end(), events.begin(), events.end());
  std::string buf;
  uint64_t buf_start = l.tail.end;
  // The record after a rotation's checkpoint stays in the new segment even if the two exceed the
  // size, so rotation always makes progress.
  bool pinned = false;
  for (size_t i = 0; i < queue.size(); ++i) {
    std::string line = SerializeRecord(Build(queue[i], l.tail));
    if (line.size() + 1 > kMaxLineBytes) {
      return InvalidArgumentError("audit record of " + std::to_string(line.size()) + " bytes is larger than " +
                                  std::to_string(kMaxLineBytes) + " bytes")
          .WithFix("bound the recorded fields (argv, output) before recording");
    }
    if (!pinned && l.tail.end > 0 && l.tail.end + line.size() + 1 > options_.segment_max_bytes) {
      CC_RETURN_IF_ERROR(WriteAt(buf, buf_start));
      buf.clear();
      size_t before = l.recovery.size();
      CC_RETURN_IF_ERROR(Rotate(l));
      buf_start = 0;
      // A checkpoint made by the rotation goes first in the new segment; the event follows it.
      if (l.recovery.size() > before) {
        queue.insert(queue.begin() + static_cast<long>(i), l.recovery.back());
        pinned = true;
      }
      line = SerializeRecord(Build(queue[i], l.tail));
    } else {
      pinned = false;
    }
    l.tail.hash = Sha256Hex(line);
    l.tail.seq += 1;
    l.tail.end += line.size() + 1;
    buf += line;
    buf += '\n';
  }
  CC_RETURN_IF_ERROR(WriteAt(buf, buf_start));
  CrashPoint("after-write");
  return OkStatus();
}

bool Logger::BatchDue() const {
  if (unsynced_ == 0) return false;
  return unsynced_ >= options_.batch_max_records || clock_->Monotonic() - first_unsynced_ >= options_.batch_max_delay;
}

StatusOr<Appended> Logger::AppendLocked(const std::vector<Event>& events, Durability durability) {
  Locked l;
  CC_RETURN_IF_ERROR(LoadTail(l));
  size_t before = l.tail.seq;
  CC_RETURN_IF_ERROR(WriteLines(l, events));
  if (unsynced_ == 0) first_unsynced_ = clock_->Monotonic();
  unsynced_ += l.tail.seq - before;
  bool sync = durability == Durability::kSync || l.force_sync || !l.recovery.empty() || l.rewrite_head || BatchDue();
  if (sync) CC_RETURN_IF_ERROR(SyncAndAnchor(l));
  cache_ = l.tail;
  cache_gen_ = l.head.gen;
  cache_valid_ = true;
  CC_RETURN_IF_ERROR(FinishRetention(l));
  last_recovery_ = l.report;
  return Appended{l.tail.seq, l.tail.hash};
}

StatusOr<Appended> Logger::AppendAll(const std::vector<Event>& events, Durability durability) {
  std::lock_guard<std::mutex> guard(mu_);
  CC_RETURN_IF_ERROR(Lock());
  auto result = AppendLocked(events, durability);
  if (!result.ok()) cache_valid_ = false;
  Unlock();
  return result;
}

StatusOr<Appended> Logger::Append(const Event& event, Durability durability) {
  return AppendAll({event}, durability);
}

StatusOr<RecoveryReport> Logger::Recover() {
  std::lock_guard<std::mutex> guard(mu_);
  CC_RETURN_IF_ERROR(Lock());
  auto result = AppendLocked({}, Durability::kSync);
  Unlock();
  if (!result.ok()) {
    cache_valid_ = false;
    return result.status();
  }
  return last_recovery_;
}

Status Logger::Flush() {
  {
    std::lock_guard<std::mutex> guard(mu_);
    if (unsynced_ == 0) return OkStatus();
  }
  return Recover().status();
}

Status Logger::MaybeFlush() {
  {
    std::lock_guard<std::mutex> guard(mu_);
    if (!BatchDue()) return OkStatus();
  }
  return Flush();
}

size_t Logger::unsynced() const {
  std::lock_guard<std::mutex> guard(mu_);
  return unsynced_;
}

}  // namespace cloudcoop::audit
