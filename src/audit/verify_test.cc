// Tamper evidence: every single-byte change and every truncation of a small log is detected, and so
// are deleted, reordered and duplicated records, removed, renamed and swapped segments, a rewritten
// log checked against a saved head, torn lines, and unrecorded quarantine files.
#include "audit/verify.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "audit/logger.h"
#include "audit/test_helpers.h"
#include "testing/test_util.h"

namespace cloudcoop::audit {
namespace {

using testing::ExecEvent;
using testing::MustOpen;
using testing::MustVerify;
using testing::ProblemText;

class VerifyTest : public ::testing::Test {
 protected:
  std::string Dir() { return dir_.Sub("audit"); }
  LoggerOptions Options() {
    LoggerOptions o;
    o.dir = Dir();
    o.host = "h";
    o.segment_max_bytes = 700;  // two or three records per segment
    return o;
  }
  // A small log: 7 records in 3 segments, and a head that has been rewritten a few times.
  void MakeLog(int n = 7) {
    auto logger = MustOpen(Options());
    for (int i = 1; i <= n; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
    ASSERT_GE(testing::Segments(Dir()).size(), n >= 7 ? 3u : 1u);
    VerifyReport r = MustVerify(Dir());
    ASSERT_TRUE(r.ok()) << ProblemText(r);
  }
  std::vector<std::string> Files() {
    auto files = testing::Segments(Dir());
    files.push_back(JoinPath(Dir(), "head"));
    return files;
  }
  // Replaces a file's content in place (no O_TRUNC, no fsync: ext4 flushes on truncate-to-zero).
  static void Put(const std::string& path, const std::string& content) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(pwrite(fd, content.data(), content.size(), 0), static_cast<ssize_t>(content.size()));
    ASSERT_EQ(ftruncate(fd, static_cast<off_t>(content.size())), 0);
    close(fd);
  }
  static void PutByte(const std::string& path, size_t offset, char byte) {
    int fd = open(path.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(pwrite(fd, &byte, 1, static_cast<off_t>(offset)), 1);
    close(fd);
  }
  // Changes every byte of `file` in 9 ways (each single bit, and all bits); each must be detected.
  void FlipEveryByte(const std::string& file, size_t* tried) {
    const std::string pristine = *ReadFile(file);
    for (size_t i = 0; i < pristine.size(); ++i) {
      for (int mask : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}) {
        PutByte(file, i, static_cast<char>(pristine[i] ^ mask));
        ASSERT_TRUE(Detected()) << Basename(file) << " byte " << i << " ^ " << mask;
        ++*tried;
      }
      PutByte(file, i, pristine[i]);
    }
    ASSERT_EQ(*ReadFile(file), pristine);
  }
  bool Detected() {
    auto r = Verify({Dir(), std::nullopt});
    return r.ok() && !r->ok();
  }
  cloudcoop::testing::TempDir dir_;
};

TEST_F(VerifyTest, EverySingleByteFlipInTheSegmentsIsDetected) {
  MakeLog();
  size_t tried = 0;
  for (const auto& file : testing::Segments(Dir())) FlipEveryByte(file, &tried);
  EXPECT_GT(tried, 15000u);
  EXPECT_TRUE(MustVerify(Dir()).ok());
}

TEST_F(VerifyTest, EverySingleByteFlipInTheHeadIsDetected) {
  MakeLog();
  size_t tried = 0;
  FlipEveryByte(JoinPath(Dir(), "head"), &tried);
  EXPECT_EQ(tried, 9 * kHeadFileSize);
  EXPECT_TRUE(MustVerify(Dir()).ok());
}

TEST_F(VerifyTest, EveryTruncationOfEveryFileIsDetected) {
  MakeLog();
  for (const auto& file : Files()) {
    const std::string pristine = *ReadFile(file);
    for (size_t len = 0; len < pristine.size(); ++len) {
      ASSERT_EQ(truncate(file.c_str(), static_cast<off_t>(len)), 0);
      ASSERT_TRUE(Detected()) << Basename(file) << " cut to " << len << " of " << pristine.size();
      Put(file, pristine);
    }
  }
  EXPECT_TRUE(MustVerify(Dir()).ok());
}

// Cutting the log's tail at any byte: later segments removed, the one holding the cut truncated.
TEST_F(VerifyTest, EveryTailCutOfTheWholeLogIsDetected) {
  MakeLog();
  auto segments = testing::Segments(Dir());
  std::vector<std::string> pristine;
  size_t total = 0;
  for (const auto& s : segments) {
    pristine.push_back(*ReadFile(s));
    total += pristine.back().size();
  }
  for (size_t cut = 0; cut < total; ++cut) {
    size_t pos = 0;
    for (size_t k = 0; k < segments.size(); ++k) {
      const std::string& c = pristine[k];
      if (pos + c.size() <= cut) {
        // kept whole
      } else if (pos < cut) {
        ASSERT_EQ(truncate(segments[k].c_str(), static_cast<off_t>(cut - pos)), 0);
      } else {
        unlink(segments[k].c_str());
      }
      pos += c.size();
    }
    ASSERT_TRUE(Detected()) << "log cut at byte " << cut << " of " << total;
    for (size_t k = 0; k < segments.size(); ++k) Put(segments[k], pristine[k]);
  }
  EXPECT_TRUE(MustVerify(Dir()).ok());
}

std::vector<std::string> Lines(const std::string& content) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < content.size();) {
    size_t nl = content.find('\n', pos);
    out.push_back(content.substr(pos, nl + 1 - pos));
    pos = nl + 1;
  }
  return out;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l;
  return s;
}

TEST_F(VerifyTest, DeletedRecordsAreDetected) {
  MakeLog();
  for (const auto& seg : testing::Segments(Dir())) {
    const std::string pristine = *ReadFile(seg);
    auto lines = Lines(pristine);
    for (size_t i = 0; i < lines.size(); ++i) {
      auto fewer = lines;
      fewer.erase(fewer.begin() + static_cast<long>(i));
      Put(seg, Joined(fewer));
      VerifyReport r = MustVerify(Dir());
      ASSERT_FALSE(r.ok()) << Basename(seg) << " without line " << i + 1;
    }
    Put(seg, pristine);
  }
}

TEST_F(VerifyTest, ReorderedAndDuplicatedRecordsAreDetected) {
  MakeLog();
  auto segments = testing::Segments(Dir());
  const std::string first = *ReadFile(segments[0]);
  auto lines = Lines(first);
  ASSERT_GE(lines.size(), 2u);
  std::swap(lines[0], lines[1]);
  Put(segments[0], Joined(lines));
  VerifyReport r = MustVerify(Dir());
  ASSERT_TRUE(r.problem.has_value());
  EXPECT_EQ(r.problem->line, 1u);
  Put(segments[0], first);
  auto dup = Lines(first);
  dup.insert(dup.begin() + 1, dup[0]);
  Put(segments[0], Joined(dup));
  r = MustVerify(Dir());
  ASSERT_TRUE(r.problem.has_value());
  EXPECT_NE(r.problem->message.find("seq 1 where 2 was expected"), std::string::npos) << ProblemText(r);
  Put(segments[0], first);
  // A record moved from one segment to the end of another.
  const std::string second = *ReadFile(segments[1]);
  auto l2 = Lines(second);
  Put(segments[0], first + l2.back());
  l2.pop_back();
  Put(segments[1], Joined(l2));
  EXPECT_FALSE(MustVerify(Dir()).ok());
}

TEST_F(VerifyTest, RemovedSegmentsAreDetected) {
  MakeLog();
  auto segments = testing::Segments(Dir());
  for (size_t k = 0; k < segments.size(); ++k) {
    std::string saved = *ReadFile(segments[k]);
    ASSERT_EQ(unlink(segments[k].c_str()), 0);
    VerifyReport r = MustVerify(Dir());
    EXPECT_FALSE(r.ok()) << "without segment " << k;
    ASSERT_TRUE(WriteFileAtomic(segments[k], saved).ok());
  }
  EXPECT_TRUE(MustVerify(Dir()).ok());
}

TEST_F(VerifyTest, RenamedSwappedAndExtraSegmentsAreDetected) {
  MakeLog();
  auto segments = testing::Segments(Dir());
  std::string a = *ReadFile(segments[0]), b = *ReadFile(segments[1]);
  Put(segments[0], b);
  Put(segments[1], a);
  VerifyReport r = MustVerify(Dir());
  ASSERT_TRUE(r.problem.has_value());
  EXPECT_NE(r.problem->message.find("renamed or swapped"), std::string::npos) << ProblemText(r);
  Put(segments[0], a);
  Put(segments[1], b);
  std::string extra = JoinPath(Dir(), SegmentName(1000));
  ASSERT_TRUE(WriteFileAtomic(extra, a).ok());
  EXPECT_FALSE(MustVerify(Dir()).ok());
  unlink(extra.c_str());
  EXPECT_TRUE(MustVerify(Dir()).ok());
}

TEST_F(VerifyTest, SavedHeadDetectsARewrittenLog) {
  MakeLog(4);
  auto saved = CurrentHead(Dir());
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  EXPECT_EQ(saved->seq, 4u);
  {
    auto logger = MustOpen(Options());
    ASSERT_TRUE(logger->Append(ExecEvent(5)).ok());
  }
  VerifyReport r = MustVerify(Dir(), *saved);
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  EXPECT_TRUE(r.saved_head_checked);
  // Someone with write access replaces the whole log with a consistent forgery.
  ASSERT_TRUE(RemoveTree(Dir()).ok());
  {
    auto logger = MustOpen(Options());
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i == 3 ? 333 : i)).ok());
  }
  EXPECT_TRUE(MustVerify(Dir()).ok()) << "a consistent forgery passes without a saved head";
  r = MustVerify(Dir(), *saved);
  ASSERT_TRUE(r.problem.has_value());
  EXPECT_NE(r.problem->message.find("does not match the saved head"), std::string::npos) << ProblemText(r);
  // A saved head beyond the end: the tail was cut and the head rewritten to match.
  SavedHead ahead = *saved;
  ahead.seq = 99;
  r = MustVerify(Dir(), ahead);
  ASSERT_TRUE(r.problem.has_value());
  EXPECT_NE(r.problem->message.find("records were cut off"), std::string::npos);
}

TEST_F(VerifyTest, SavedHeadFormat) {
  SavedHead h{12, std::string(64, 'a'), "vm", "2026-01-01T00:00:00.000Z"};
  auto parsed = ParseSavedHead(FormatSavedHead(h));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->seq, 12u);
  EXPECT_EQ(parsed->hash, h.hash);
  EXPECT_FALSE(ParseSavedHead("{\"seq\":1}").ok());
  EXPECT_FALSE(ParseSavedHead("seq=1").ok());
}

TEST_F(VerifyTest, MissingLog) {
  VerifyReport r = MustVerify(Dir());
  EXPECT_TRUE(r.missing);
  EXPECT_FALSE(r.ok());
}

TEST_F(VerifyTest, TornTailIsReportedNotAccepted) {
  MakeLog(3);
  std::string seg = testing::Segments(Dir()).back();
  std::string content = *ReadFile(seg);
  Put(seg, content + "{\"v\":1,\"seq\":4,\"ti");
  VerifyReport r = MustVerify(Dir());
  ASSERT_TRUE(r.problem.has_value());
  EXPECT_NE(r.problem->message.find("torn last line"), std::string::npos) << ProblemText(r);
}

TEST_F(VerifyTest, UnrecordedQuarantineIsReported) {
  MakeLog(3);
  ASSERT_TRUE(MakeDirs(JoinPath(Dir(), "torn")).ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(Dir(), "torn/" + SegmentName(1) + ".5"), "{\"v\"").ok());
  VerifyReport r = MustVerify(Dir());
  ASSERT_TRUE(r.problem.has_value());
  EXPECT_NE(r.problem->message.find("no recovery record mentions"), std::string::npos) << ProblemText(r);
}

}  // namespace
}  // namespace cloudcoop::audit
