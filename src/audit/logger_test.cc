// The writer: chaining, durability modes, rotation, retention, concurrency, redaction, refusals.
#include "audit/logger.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "audit/query.h"
#include "audit/sha256.h"
#include "audit/test_helpers.h"
#include "testing/test_util.h"

namespace cloudcoop::audit {
namespace {

using testing::ExecEvent;
using testing::MustOpen;
using testing::MustVerify;
using testing::ProblemText;

class LoggerTest : public ::testing::Test {
 protected:
  LoggerOptions Options() {
    LoggerOptions o;
    o.dir = dir_.Sub("audit");
    o.host = "test-host";
    return o;
  }
  std::string Dir() { return dir_.Sub("audit"); }
  std::vector<Record> ReadAll() {
    std::vector<Record> out;
    LogReader reader(Dir());
    EXPECT_TRUE(reader.ReadNew([&](const Record& r, std::string_view) { out.push_back(r); }, nullptr).ok());
    return out;
  }
  cloudcoop::testing::TempDir dir_;
};

TEST_F(LoggerTest, AppendsAChainThatVerifies) {
  auto logger = MustOpen(Options());
  for (int i = 1; i <= 5; ++i) {
    auto a = logger->Append(ExecEvent(i));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->seq, static_cast<uint64_t>(i));
  }
  auto records = ReadAll();
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].prev, kGenesisHash);
  for (size_t i = 1; i < records.size(); ++i) EXPECT_EQ(records[i].prev, Sha256Hex(SerializeRecord(records[i - 1])));
  EXPECT_EQ(records[2].host, "test-host");
  EXPECT_EQ(records[2].agent, "web");
  VerifyReport r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  EXPECT_EQ(r.records, 5u);
  EXPECT_EQ(r.head.seq, 5u);
  EXPECT_EQ(r.after_head, 0u) << "synced appends are anchored before they return";
}

TEST_F(LoggerTest, FilesArePrivate) {
  auto logger = MustOpen(Options());
  ASSERT_TRUE(logger->Append(ExecEvent(1)).ok());
  struct stat st;
  ASSERT_EQ(stat(Dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const auto& f : testing::Segments(Dir())) {
    ASSERT_EQ(stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  ASSERT_EQ(stat(JoinPath(Dir(), "head").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(LoggerTest, RefusesADirectoryOthersCanWrite) {
  ASSERT_TRUE(MakeDirs(Dir(), 0700).ok());
  chmod(Dir().c_str(), 0777);
  auto logger = Logger::Open(Options());
  ASSERT_FALSE(logger.ok());
  EXPECT_NE(logger.status().message().find("writable by other users (mode 777)"), std::string::npos);
  EXPECT_NE(logger.status().fix().find("chmod 700"), std::string::npos);
}

TEST_F(LoggerTest, BatchedRecordsAreWrittenAtOnceAndAnchoredOnFlush) {
  LoggerOptions o = Options();
  o.batch_max_records = 1000;
  o.batch_max_delay = std::chrono::hours(1);
  auto logger = MustOpen(o);
  ASSERT_TRUE(logger->Append(ExecEvent(0)).ok());
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i), Durability::kBatched).ok());
  EXPECT_EQ(logger->unsynced(), 10u);
  EXPECT_EQ(ReadAll().size(), 11u) << "batched records are in the file when Append returns";
  VerifyReport r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  EXPECT_EQ(r.head.seq, 1u);
  EXPECT_EQ(r.after_head, 10u);
  ASSERT_TRUE(logger->Flush().ok());
  EXPECT_EQ(logger->unsynced(), 0u);
  r = MustVerify(Dir());
  EXPECT_EQ(r.head.seq, 11u);
  EXPECT_EQ(r.after_head, 0u);
}

TEST_F(LoggerTest, BatchLimitsTriggerASync) {
  LoggerOptions o = Options();
  o.batch_max_records = 4;
  FakeClock clock;
  o.clock = &clock;
  o.batch_max_delay = std::chrono::seconds(2);
  auto logger = MustOpen(o);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i), Durability::kBatched).ok());
  EXPECT_EQ(logger->unsynced(), 3u);
  ASSERT_TRUE(logger->Append(ExecEvent(4), Durability::kBatched).ok());
  EXPECT_EQ(logger->unsynced(), 0u) << "the fourth record filled the batch";
  ASSERT_TRUE(logger->Append(ExecEvent(5), Durability::kBatched).ok());
  ASSERT_TRUE(logger->MaybeFlush().ok());
  EXPECT_EQ(logger->unsynced(), 1u) << "not old enough yet";
  clock.Advance(std::chrono::seconds(3));
  ASSERT_TRUE(logger->MaybeFlush().ok());
  EXPECT_EQ(logger->unsynced(), 0u);
  EXPECT_EQ(MustVerify(Dir()).head.seq, 5u);
}

TEST_F(LoggerTest, ClosingFlushesTheBatch) {
  {
    auto logger = MustOpen(Options());
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i), Durability::kBatched).ok());
  }
  VerifyReport r = MustVerify(Dir());
  EXPECT_EQ(r.head.seq, 3u);
  EXPECT_EQ(r.after_head, 0u);
}

TEST_F(LoggerTest, RotationContinuesTheChainAcrossSegments) {
  LoggerOptions o = Options();
  o.segment_max_bytes = 1024;
  auto logger = MustOpen(o);
  for (int i = 1; i <= 40; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  auto segments = testing::Segments(Dir());
  EXPECT_GE(segments.size(), 8u);
  for (const auto& s : segments) {
    auto content = ReadFile(s);
    EXPECT_LE(content->size(), 1024u) << s;
    auto first = ParseRecord(content->substr(0, content->find('\n')));
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(SegmentName(first->seq), Basename(s)) << "a segment is named after its first record";
  }
  VerifyReport r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  EXPECT_EQ(r.records, 40u);
  EXPECT_EQ(r.segments, segments.size());
}

TEST_F(LoggerTest, ARecordLargerThanASegmentGetsOneOfItsOwn) {
  LoggerOptions o = Options();
  o.segment_max_bytes = 200;
  auto logger = MustOpen(o);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  EXPECT_EQ(testing::Segments(Dir()).size(), 3u);
  EXPECT_TRUE(MustVerify(Dir()).ok());
}

TEST_F(LoggerTest, RetentionDropsOldSegmentsAndVerificationStillWorks) {
  LoggerOptions o = Options();
  o.segment_max_bytes = 1024;
  o.retention_segments = 3;
  auto logger = MustOpen(o);
  for (int i = 1; i <= 60; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  auto segments = testing::Segments(Dir());
  EXPECT_EQ(segments.size(), 3u);
  VerifyReport r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  EXPECT_GT(r.first_seq, 1u);
  EXPECT_FALSE(r.notes.empty());
  bool checkpoint = false;
  for (const auto& rec : ReadAll()) checkpoint |= rec.type == RecordType::kCheckpoint;
  EXPECT_TRUE(checkpoint);
  // Removing the oldest kept segment is not retention: it is detected.
  ASSERT_EQ(unlink(segments[0].c_str()), 0);
  r = MustVerify(Dir());
  ASSERT_TRUE(r.problem.has_value());
  EXPECT_NE(r.problem->message.find("no retention checkpoint"), std::string::npos) << ProblemText(r);
}

TEST_F(LoggerTest, RetentionOfOneSegment) {
  LoggerOptions o = Options();
  o.segment_max_bytes = 800;
  o.retention_segments = 1;
  auto logger = MustOpen(o);
  for (int i = 1; i <= 30; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  EXPECT_EQ(testing::Segments(Dir()).size(), 1u);
  VerifyReport r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
}

TEST_F(LoggerTest, SecretsNeverReachDisk) {
  const std::string secret = "s3cr3t-value-from-env-0123456789";
  cloudcoop::testing::ScopedEnv env("CC_TEST_SECRET", secret);
  auto redactor = std::make_shared<Redactor>();
  redactor->AddEnvSecrets({"CC_TEST_SECRET"}, [](const char* n) { return std::getenv(n); });
  LoggerOptions o = Options();
  o.redactor = redactor;
  auto logger = MustOpen(o);
  Event e = ExecEvent(1);
  e.fields["argv"] = std::vector<std::string>{"curl", "-H", "x-api-key: " + secret, std::string("ghp_") + std::string(36, 'x') + "9Z"};
  e.fields["env"] = Fields{{"KEY", secret}};
  e.actor["note"] = "echo " + secret;
  ASSERT_TRUE(logger->Append(e).ok());
  std::string disk = testing::AllRecords(Dir());
  EXPECT_EQ(disk.find(secret), std::string::npos);
  EXPECT_EQ(disk.find("ghp_xxxx"), std::string::npos);
  EXPECT_NE(disk.find("[REDACTED:CC_TEST_SECRET]"), std::string::npos);
  EXPECT_NE(disk.find("[REDACTED:github-token]"), std::string::npos);
}

TEST_F(LoggerTest, OversizedRecordIsRefusedAndNothingIsWritten) {
  auto logger = MustOpen(Options());
  ASSERT_TRUE(logger->Append(ExecEvent(1)).ok());
  Event e = ExecEvent(2);
  e.fields["output"] = std::string(kMaxLineBytes, 'x');
  auto a = logger->Append(e);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadAll().size(), 1u);
  EXPECT_TRUE(logger->Append(ExecEvent(3)).ok());
  EXPECT_TRUE(MustVerify(Dir()).ok());
}

TEST_F(LoggerTest, ThreadsShareOneChain) {
  auto logger = MustOpen(Options());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) ASSERT_TRUE(logger->Append(ExecEvent(t * 1000 + i), i % 2 ? Durability::kBatched : Durability::kSync).ok());
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(logger->Flush().ok());
  VerifyReport r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  EXPECT_EQ(r.records, 200u);
}

// 8 processes, each with its own Logger, append at the same time (sync and batched, with rotation):
// one chain, no lost or duplicated record.
TEST_F(LoggerTest, EightProcessesKeepOneChain) {
  constexpr int kWriters = 8, kEach = 60;
  LoggerOptions o = Options();
  o.segment_max_bytes = 4096;
  o.batch_max_records = 7;
  { MustOpen(o); }  // create the log before the race
  std::vector<pid_t> pids;
  for (int w = 0; w < kWriters; ++w) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto logger = Logger::Open(o);
      if (!logger.ok()) _exit(10);
      for (int i = 0; i < kEach; ++i) {
        if (!(*logger)->Append(ExecEvent(w * 1000 + i, "w" + std::to_string(w)), w % 2 ? Durability::kBatched : Durability::kSync).ok()) {
          _exit(11);
        }
      }
      if (!(*logger)->Flush().ok()) _exit(12);
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer status " << status;
  }
  VerifyReport r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  EXPECT_EQ(r.records, static_cast<uint64_t>(kWriters * kEach));
  EXPECT_EQ(r.after_head, 0u);
  std::set<int64_t> seen;
  std::map<std::string, int64_t> last_per_writer;
  for (const auto& rec : ReadAll()) {
    int64_t i = rec.fields.at("i").as_int();
    EXPECT_TRUE(seen.insert(i).second) << "duplicate " << i;
    auto it = last_per_writer.find(rec.agent);
    if (it != last_per_writer.end()) {
      EXPECT_LT(it->second, i) << "a writer's records keep their order";
    }
    last_per_writer[rec.agent] = i;
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kWriters * kEach));
}

TEST_F(LoggerTest, RefusesToExtendACutOffLog) {
  {
    auto logger = MustOpen(Options());
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  }
  std::string seg = testing::Segments(Dir()).back();
  std::string content = *ReadFile(seg);
  size_t cut = content.rfind('\n', content.size() - 2) + 1;  // drop the last record whole
  ASSERT_EQ(truncate(seg.c_str(), static_cast<off_t>(cut)), 0);
  auto logger = MustOpen(Options());
  auto a = logger->Append(ExecEvent(4));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(a.status().message().find("records were cut off"), std::string::npos) << a.status().message();
  EXPECT_EQ(ReadFile(seg)->size(), cut) << "nothing appended to a damaged chain";
}

TEST_F(LoggerTest, RefusesWhenTheLastAnchoredRecordChanged) {
  {
    auto logger = MustOpen(Options());
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  }
  std::string seg = testing::Segments(Dir()).back();
  std::string content = *ReadFile(seg);
  size_t pos = content.rfind("n3");
  content[pos + 1] = '4';
  ASSERT_TRUE(WriteFileAtomic(seg, content).ok());
  auto logger = MustOpen(Options());
  auto a = logger->Append(ExecEvent(4));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("does not match the audit head"), std::string::npos) << a.status().message();
}

TEST_F(LoggerTest, RefusesWhenTheHeadIsMissing) {
  {
    auto logger = MustOpen(Options());
    ASSERT_TRUE(logger->Append(ExecEvent(1)).ok());
  }
  ASSERT_EQ(unlink(JoinPath(Dir(), "head").c_str()), 0);
  auto logger = Logger::Open(Options());
  ASSERT_FALSE(logger.ok());
  EXPECT_EQ(logger.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(logger.status().message().find("is missing but segments exist"), std::string::npos);
  EXPECT_FALSE(PathExists(JoinPath(Dir(), "head"))) << "no new head is made over an old log";
}

TEST_F(LoggerTest, ADamagedStaleHeadSlotIsRewritten) {
  auto logger = MustOpen(Options());
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  std::string head_path = JoinPath(Dir(), "head");
  std::string head = *ReadFile(head_path);
  HeadFile hf = ParseHeadFile(head);
  int stale = static_cast<int>((hf.current->gen + 1) % 2);
  head[stale * kHeadSlotSize + 40] ^= 0x01;
  ASSERT_TRUE(WriteFileAtomic(head_path, head).ok());
  EXPECT_FALSE(MustVerify(Dir()).ok()) << "verify reports the damaged slot";
  auto l2 = MustOpen(Options());
  auto rep = l2->Recover();
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_TRUE(rep->head_slot_rewritten);
  VerifyReport r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
}

}  // namespace
}  // namespace cloudcoop::audit
