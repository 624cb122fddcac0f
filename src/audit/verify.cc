#include "audit/verify.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "audit/record.h"
#include "audit/sha256.h"
#include "core/files.h"

namespace cloudcoop::audit {

std::string FormatSavedHead(const SavedHead& head) {
  nlohmann::ordered_json j;
  j["version"] = 1;
  j["seq"] = head.seq;
  j["hash"] = head.hash;
  if (!head.host.empty()) j["host"] = head.host;
  if (!head.time.empty()) j["time"] = head.time;
  return j.dump();
}

StatusOr<SavedHead> ParseSavedHead(std::string_view text) {
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("seq") || !j["seq"].is_number_unsigned() ||
      !j.contains("hash") || !j["hash"].is_string() || !IsDigestHex(j["hash"].get<std::string>())) {
    return InvalidArgumentError("saved audit head is not the JSON that `cloudcoop audit head` prints "
                                "({\"seq\":N,\"hash\":\"<64 hex>\",...})")
        .WithFix("save the head with `cloudcoop audit head > FILE`");
  }
  SavedHead h;
  h.seq = j["seq"].get<uint64_t>();
  h.hash = j["hash"].get<std::string>();
  if (j.contains("host") && j["host"].is_string()) h.host = j["host"].get<std::string>();
  if (j.contains("time") && j["time"].is_string()) h.time = j["time"].get<std::string>();
  return h;
}

namespace {

struct SegmentFile {
  std::string name;
  uint64_t first_seq = 0;
  UniqueFd fd;
  uint64_t size = 0;
};

// What the verifier reads, taken under the directory's shared lock so no append is half done.
struct Snapshot {
  bool dir_exists = true;
  bool head_exists = false;
  std::string head_content;
  std::vector<SegmentFile> segments;
  std::vector<std::string> torn;  // files in torn/
};

StatusOr<std::string> ReadFd(int fd, uint64_t size, const std::string& what) {
  std::string out(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd, out.data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "read audit segment " + what);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

StatusOr<Snapshot> TakeSnapshot(const std::string& dir) {
  Snapshot s;
  UniqueFd dfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid()) {
    if (errno == ENOENT) {
      s.dir_exists = false;
      return s;
    }
    return ErrnoError(errno, "open audit directory " + dir);
  }
  while (flock(dfd.get(), LOCK_SH) != 0) {
    if (errno != EINTR) return ErrnoError(errno, "lock audit directory " + dir + " for reading");
  }
  auto head = ReadFile(JoinPath(dir, kHeadFileName));
  if (head.ok()) {
    s.head_exists = true;
    s.head_content = *head;
  } else if (head.status().code() != StatusCode::kNotFound) {
    return head.status();
  }
  CC_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  for (const auto& n : names) {
    auto first = ParseSegmentName(n);
    if (!first) continue;
    std::string path = JoinPath(dir, n);
    SegmentFile f{n, *first, UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)), 0};
    if (!f.fd.valid()) return ErrnoError(errno, "open audit segment " + path);
    struct stat st;
    if (fstat(f.fd.get(), &st) != 0) return ErrnoError(errno, "stat audit segment " + path);
    f.size = static_cast<uint64_t>(st.st_size);
    s.segments.push_back(std::move(f));
  }
  if (IsDirectory(JoinPath(dir, "torn"))) {
    CC_ASSIGN_OR_RETURN(s.torn, ListDir(JoinPath(dir, "torn")));
  }
  flock(dfd.get(), LOCK_UN);
  return s;
}

class Walker {
 public:
  Walker(const Head& head, const std::optional<SavedHead>& saved, VerifyReport* report)
      : head_(head), saved_(saved), r_(report) {}

  // Walks one segment; returns false once a problem was recorded.
  bool Segment(const SegmentFile& seg, const std::string& content, bool last) {
    if (content.empty()) {
      if (last && seg.name == head_.segment && head_.end == 0) return true;  // rotation in progress
      return Fail(seg.name, 0, 0, 0, "segment is empty (its records were removed)");
    }
    uint64_t line_no = 0;
    for (size_t pos = 0; pos < content.size();) {
      ++line_no;
      size_t nl = content.find('\n', pos);
      if (nl == std::string::npos) {
        return Fail(seg.name, line_no, pos, 0,
                    last ? "torn last line (" + std::to_string(content.size() - pos) +
                               " bytes without a newline): an interrupted write or a cut-off record; "
                               "`cloudcoop audit recover` quarantines it if it follows the head"
                         : "torn line inside a segment that is not the last");
      }
      if (!Line(seg, std::string_view(content).substr(pos, nl - pos), line_no, pos, nl + 1, line_no == 1)) {
        return false;
      }
      pos = nl + 1;
    }
    return true;
  }

  bool Finish(const Snapshot& snap);

 private:
  bool Fail(const std::string& segment, uint64_t line, uint64_t offset, uint64_t seq, std::string message) {
    r_->problem = VerifyProblem{segment, line, offset, seq, std::move(message)};
    return false;
  }

  bool Line(const SegmentFile& seg, std::string_view line, uint64_t line_no, uint64_t offset, uint64_t end,
            bool first_in_segment) {
    auto rec = ParseRecord(line);
    if (!rec.ok()) return Fail(seg.name, line_no, offset, 0, "record does not parse: " + rec.status().message());
    std::string hash = Sha256Hex(line);
    auto fail = [&](std::string msg) { return Fail(seg.name, line_no, offset, rec->seq, std::move(msg)); };
    if (first_in_segment && rec->seq != seg.first_seq) {
      return fail("segment named for seq " + std::to_string(seg.first_seq) + " starts with seq " +
                  std::to_string(rec->seq) + " (segments were renamed or swapped)");
    }
    if (r_->records == 0) {
      r_->first_seq = rec->seq;
      first_prev_ = rec->prev;
      first_segment_ = seg.name;
      if (rec->seq == 1 && rec->prev != kGenesisHash) return fail("the first record's prev is not the genesis hash");
    } else {
      if (rec->seq != r_->last_seq + 1) {
        return fail("seq " + std::to_string(rec->seq) + " where " + std::to_string(r_->last_seq + 1) +
                    " was expected (records were deleted or reordered)");
      }
      if (rec->prev != r_->last_hash) {
        return fail("prev does not match the hash of record " + std::to_string(r_->last_seq) +
                    " (that record was changed, or records were removed or reordered)");
      }
    }
    if (!HeadCheck(seg, *rec, hash, end, fail)) return false;
    if (saved_ && saved_->seq == rec->seq) {
      r_->saved_head_checked = true;
      if (saved_->hash != hash) return fail("record does not match the saved head (the log was rewritten since)");
    }
    Collect(*rec);
    r_->records++;
    r_->last_seq = rec->seq;
    r_->last_hash = hash;
    return true;
  }

  template <typename F>
  bool HeadCheck(const SegmentFile& seg, const Record& rec, const std::string& hash, uint64_t end, F& fail) {
    if (rec.seq != head_.seq) return true;
    head_seen_ = true;
    bool where_ok = head_.end == 0 ? head_.segment == SegmentName(rec.seq + 1) && end == seg.size
                                   : head_.segment == seg.name && head_.end == end;
    if (hash != head_.hash || !where_ok) return fail("record does not match the audit head (it was changed)");
    return true;
  }

  void Collect(const Record& rec) {
    auto field = [&](const char* k) -> const FieldValue* {
      auto it = rec.fields.find(k);
      return it == rec.fields.end() ? nullptr : &it->second;
    };
    if (rec.type == RecordType::kCheckpoint) {
      const FieldValue* fs = field("first_seq");
      const FieldValue* fp = field("first_prev");
      const FieldValue* dropped = field("dropped");
      Checkpoint c;
      if (fs && fs->kind() == FieldValue::Kind::kInt) c.first_seq = static_cast<uint64_t>(fs->as_int());
      if (fp && fp->kind() == FieldValue::Kind::kString) c.first_prev = fp->as_string();
      if (dropped && dropped->kind() == FieldValue::Kind::kList) {
        for (const auto& d : dropped->as_list()) {
          if (d.kind() == FieldValue::Kind::kString) c.dropped.insert(d.as_string());
        }
      }
      checkpoints_.push_back(c);
      r_->notes.push_back("seq " + std::to_string(rec.seq) + " (" + rec.time + "): retention dropped " +
                          std::to_string(c.dropped.size()) + " segment(s); the kept log starts at seq " +
                          std::to_string(c.first_seq));
    } else if (rec.type == RecordType::kRecovery) {
      const FieldValue* q = field("quarantine");
      const FieldValue* len = field("length");
      if (q && q->kind() == FieldValue::Kind::kString) quarantined_.insert(q->as_string());
      r_->notes.push_back("seq " + std::to_string(rec.seq) + " (" + rec.time + "): a torn record of " +
                          (len ? std::to_string(len->as_int()) : std::string("?")) + " bytes left by an interrupted write was kept in " +
                          (q ? q->as_string() : std::string("?")));
    }
  }

  struct Checkpoint {
    uint64_t first_seq = 0;
    std::string first_prev;
    std::set<std::string> dropped;
  };
  const Head& head_;
  const std::optional<SavedHead>& saved_;
  VerifyReport* r_;
  std::string first_prev_;
  std::string first_segment_;
  bool head_seen_ = false;
  std::vector<Checkpoint> checkpoints_;
  std::set<std::string> quarantined_;
};

bool Walker::Finish(const Snapshot& snap) {
  if (r_->records == 0 && head_.seq > 0) {
    return Fail(head_.segment, 0, 0, 0, "the head names seq " + std::to_string(head_.seq) + " but there are no records");
  }
  if (head_.seq > r_->last_seq) {
    return Fail(head_.segment, 0, 0, 0, "the log ends at seq " + std::to_string(r_->last_seq) + " but the head says " +
                                            std::to_string(head_.seq) + ": records were cut off the end");
  }
  if (head_.seq > 0 && head_.seq < r_->first_seq) {
    return Fail(first_segment_, 1, 0, r_->first_seq, "the head names seq " + std::to_string(head_.seq) +
                                                         " which is before the log's first record");
  }
  r_->after_head = r_->last_seq - head_.seq;
  if (r_->records > 0 && r_->first_seq != 1) {
    bool anchored = false;
    for (const auto& c : checkpoints_) {
      anchored |= (c.first_seq == r_->first_seq && c.first_prev == first_prev_) || c.dropped.count(first_segment_) > 0;
    }
    if (!anchored) {
      return Fail(first_segment_, 1, 0, r_->first_seq,
                  "the log starts at seq " + std::to_string(r_->first_seq) +
                      " but no retention checkpoint says the records before it were dropped (a segment was removed)");
    }
  }
  for (const auto& t : snap.torn) {
    if (!quarantined_.count("torn/" + t)) {
      return Fail("", 0, 0, 0, "torn/" + t + " holds a quarantined torn record that no recovery record mentions "
                                            "(the recovery record was removed, or the file was added)");
    }
  }
  if (!snap.segments.empty() && snap.segments.back().name > head_.segment) {
    return Fail(snap.segments.back().name, 0, 0, 0, "segment comes after the one the head names (" + head_.segment + ")");
  }
  if (saved_ && !r_->saved_head_checked) {
    if (saved_->seq > r_->last_seq) {
      return Fail("", 0, 0, 0, "the saved head names seq " + std::to_string(saved_->seq) + " but the log ends at " +
                                   std::to_string(r_->last_seq) + ": records were cut off");
    }
    if (saved_->seq + 1 == r_->first_seq && saved_->hash == first_prev_) {
      r_->saved_head_checked = true;
    } else if (saved_->seq + 1 == r_->first_seq) {
      return Fail(first_segment_, 1, 0, r_->first_seq, "the kept log does not continue the saved head");
    } else {
      return Fail("", 0, 0, 0, "the saved head (seq " + std::to_string(saved_->seq) +
                                   ") is older than the kept log (which starts at seq " + std::to_string(r_->first_seq) +
                                   "): retention removed that record, so it cannot be checked");
    }
  }
  return true;
}

// Head problems, or nullopt when the head file is in order.
std::optional<std::string> HeadFileProblem(const Snapshot& snap, const HeadFile& hf) {
  if (!snap.head_exists) return "the head file is missing (the chain's anchor was removed)";
  if (hf.wrong_size) {
    return "the head file is " + std::to_string(snap.head_content.size()) + " bytes, not " + std::to_string(kHeadFileSize);
  }
  for (int i = 0; i < 2; ++i) {
    if (hf.slots[i] == SlotState::kCorrupt) return "head slot " + std::to_string(i) + " is damaged or was edited";
  }
  if (!hf.current) return "the head file has no valid slot";
  return std::nullopt;
}

}  // namespace

StatusOr<VerifyReport> Verify(const VerifyOptions& options) {
  VerifyReport report;
  CC_ASSIGN_OR_RETURN(Snapshot snap, TakeSnapshot(options.dir));
  if (!snap.dir_exists || (!snap.head_exists && snap.segments.empty())) {
    report.missing = true;
    return report;
  }
  HeadFile hf = ParseHeadFile(snap.head_content);
  if (auto p = HeadFileProblem(snap, hf)) {
    report.problem = VerifyProblem{std::string(kHeadFileName), 0, 0, 0, *p};
    return report;
  }
  report.head = *hf.current;
  report.segments = snap.segments.size();
  Walker walker(report.head, options.saved, &report);
  for (size_t i = 0; i < snap.segments.size(); ++i) {
    const SegmentFile& seg = snap.segments[i];
    CC_ASSIGN_OR_RETURN(std::string content, ReadFd(seg.fd.get(), seg.size, seg.name));
    if (!walker.Segment(seg, content, i + 1 == snap.segments.size())) return report;
  }
  walker.Finish(snap);
  return report;
}

StatusOr<SavedHead> CurrentHead(const std::string& dir) {
  CC_ASSIGN_OR_RETURN(Snapshot snap, TakeSnapshot(dir));
  if (!snap.dir_exists || !snap.head_exists) {
    return NotFoundError("no audit log at " + dir).WithFix("the log is created by the first recorded action");
  }
  HeadFile hf = ParseHeadFile(snap.head_content);
  if (auto p = HeadFileProblem(snap, hf)) {
    return DataLossError("audit head: " + *p).WithFix("run `cloudcoop audit verify`");
  }
  Head head = *hf.current;
  SavedHead out{head.seq, head.hash, "", ""};
  for (const auto& seg : snap.segments) {
    if (seg.name != head.segment) continue;
    CC_ASSIGN_OR_RETURN(std::string content, ReadFd(seg.fd.get(), seg.size, seg.name));
    if (content.size() < head.end || (head.end > 0 && content[head.end - 1] != '\n')) {
      return DataLossError("audit segment " + seg.name + " does not end where the head says")
          .WithFix("run `cloudcoop audit verify`");
    }
    if (head.end > 0) {
      size_t last = head.end - 1;  // the anchored record's newline
      size_t prev_nl = last == 0 ? std::string::npos : content.rfind('\n', last - 1);
      size_t start = prev_nl == std::string::npos ? 0 : prev_nl + 1;
      if (Sha256Hex(std::string_view(content).substr(start, last - start)) != head.hash) {
        return DataLossError("the last anchored audit record does not match the head").WithFix("run `cloudcoop audit verify`");
      }
    }
    // Complete records after the head that continue the chain (a batch not yet anchored).
    for (size_t pos = head.end; pos < content.size();) {
      size_t nl = content.find('\n', pos);
      if (nl == std::string::npos) break;
      std::string_view line = std::string_view(content).substr(pos, nl - pos);
      auto rec = ParseRecord(line);
      if (!rec.ok() || rec->seq != out.seq + 1 || rec->prev != out.hash) break;
      out.seq = rec->seq;
      out.hash = Sha256Hex(line);
      pos = nl + 1;
    }
  }
  return out;
}

}  // namespace cloudcoop::audit
