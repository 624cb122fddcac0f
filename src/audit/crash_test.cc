// Crashes: kill -9 during bursts of writes loses no acknowledged record, and a crash at every step
// of an append, a recovery, a rotation and a retention leaves a log that the next writer recovers
// and that then verifies.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "audit/logger.h"
#include "audit/query.h"
#include "audit/test_helpers.h"
#include "testing/test_util.h"

namespace cloudcoop::audit {
namespace {

using testing::ExecEvent;
using testing::MustOpen;
using testing::MustVerify;
using testing::ProblemText;

class CrashTest : public ::testing::Test {
 protected:
  std::string Dir() { return dir_.Sub("audit"); }
  LoggerOptions Options() {
    LoggerOptions o;
    o.dir = Dir();
    o.host = "h";
    return o;
  }
  // Record "i" values in the log, in order.
  std::vector<int64_t> Indexes() {
    std::vector<int64_t> out;
    LogReader reader(Dir());
    EXPECT_TRUE(reader
                    .ReadNew(
                        [&](const Record& r, std::string_view) {
                          auto it = r.fields.find("i");
                          if (it != r.fields.end()) out.push_back(it->second.as_int());
                        },
                        nullptr)
                    .ok());
    return out;
  }
  // Runs `fn` in a child process; returns its wait status.
  template <typename F>
  int InChild(F fn) {
    pid_t pid = fork();
    if (pid == 0) {
      fn();
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
  }
  cloudcoop::testing::TempDir dir_;
};

// A writer appends as fast as it can and reports each acknowledged record on a pipe; it is killed
// with SIGKILL at a random moment. Every acknowledged record must be in the log after recovery.
void KillDuringBurst(const LoggerOptions& options, Durability durability, int rounds, unsigned seed) {
  std::mt19937 rng(seed);
  int next = 0;
  std::vector<int64_t> acked;
  for (int round = 0; round < rounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    int start = next;
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      auto logger = Logger::Open(options);
      if (!logger.ok()) _exit(10);
      for (int i = start;; ++i) {
        Event e = ExecEvent(i);
        e.fields["pad"] = std::string(static_cast<size_t>(i % 7) * 300, 'p');  // varied sizes: kills land mid-write
        if (!(*logger)->Append(e, durability).ok()) _exit(11);
        int32_t v = i;
        if (write(fds[1], &v, sizeof v) != sizeof v) _exit(12);
      }
    }
    close(fds[1]);
    size_t want = acked.size() + 5 + rng() % 60;
    int32_t v;
    while (acked.size() < want && read(fds[0], &v, sizeof v) == sizeof v) acked.push_back(v);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    while (read(fds[0], &v, sizeof v) == sizeof v) acked.push_back(v);  // acknowledged before it died
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped on its own: " << status;
    // The next writer recovers; the log verifies and holds every acknowledged record.
    auto logger = MustOpen(options);
    auto rep = logger->Recover();
    ASSERT_TRUE(rep.ok()) << "round " << round << ": " << rep.status().ToString();
    VerifyReport r = MustVerify(options.dir);
    ASSERT_TRUE(r.ok()) << "round " << round << ": " << ProblemText(r);
    ASSERT_EQ(r.after_head, 0u);
    next = static_cast<int>(acked.back()) + 1000;  // leave a gap: later records may exist unacknowledged
  }
  std::map<int64_t, int> in_log;
  LogReader reader(options.dir);
  ASSERT_TRUE(reader
                  .ReadNew(
                      [&](const Record& rec, std::string_view) {
                        auto it = rec.fields.find("i");
                        if (it != rec.fields.end()) in_log[it->second.as_int()]++;
                      },
                      nullptr)
                  .ok());
  for (int64_t i : acked) ASSERT_EQ(in_log[i], 1) << "acknowledged record " << i << " lost or duplicated";
}

TEST_F(CrashTest, KillDuringSyncedBurstLosesNothingAcknowledged) {
  KillDuringBurst(Options(), Durability::kSync, 8, 1);
}

TEST_F(CrashTest, KillDuringBatchedBurstLosesNothingAcknowledged) {
  LoggerOptions o = Options();
  o.batch_max_records = 10000;
  o.batch_max_delay = std::chrono::hours(1);
  o.segment_max_bytes = 16 * 1024;  // rotations happen during the bursts
  KillDuringBurst(o, Durability::kBatched, 10, 2);
}

// A crash at each named step of an append; the record being written is either fully there or not at
// all, earlier records are intact, and the log verifies after recovery.
TEST_F(CrashTest, CrashAtEveryStepOfAnAppend) {
  for (const char* step : {"after-write", "after-sync", "after-head"}) {
    ASSERT_TRUE(RemoveTree(Dir()).ok());
    {
      auto logger = MustOpen(Options());
      for (int i = 1; i <= 3; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
    }
    int status = InChild([&] {
      LoggerOptions o = Options();
      o.crash_point = [&](std::string_view where) {
        if (where == step) _exit(42);
      };
      auto logger = Logger::Open(o);
      if (logger.ok()) (void)(*logger)->Append(ExecEvent(4));
    });
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 42) << step;
    VerifyReport before = MustVerify(Dir());
    EXPECT_TRUE(before.ok()) << step << ": " << ProblemText(before);  // complete records after the head are fine
    auto logger = MustOpen(Options());
    ASSERT_TRUE(logger->Recover().ok()) << step;
    ASSERT_TRUE(logger->Append(ExecEvent(5)).ok()) << step;
    VerifyReport r = MustVerify(Dir());
    EXPECT_TRUE(r.ok()) << step << ": " << ProblemText(r);
    EXPECT_EQ(Indexes(), (std::vector<int64_t>{1, 2, 3, 4, 5})) << step;
  }
}

TEST_F(CrashTest, TornLineIsQuarantinedAndRecorded) {
  {
    auto logger = MustOpen(Options());
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  }
  std::string seg = testing::Segments(Dir()).back();
  std::string torn = "{\"v\":1,\"seq\":4,\"time\":\"2026";  // a writer killed mid-line
  ASSERT_TRUE(WriteFileAtomic(seg, *ReadFile(seg) + torn).ok());
  EXPECT_FALSE(MustVerify(Dir()).ok()) << "a torn line is reported";
  auto logger = MustOpen(Options());
  auto a = logger->Append(ExecEvent(4));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(logger->last_recovery().torn_tail);
  EXPECT_EQ(a->seq, 5u) << "seq 4 is the recovery record";
  std::string quarantine = JoinPath(Dir(), logger->last_recovery().quarantine);
  EXPECT_EQ(*ReadFile(quarantine), torn) << "the torn bytes are kept as they were";
  VerifyReport r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("torn record of " + std::to_string(torn.size()) + " bytes"), std::string::npos) << r.notes[0];
  EXPECT_EQ(Indexes(), (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST_F(CrashTest, CrashDuringTornRecoveryIsFinishedByTheNextWriter) {
  for (const char* step : {"after-quarantine", "after-recovery-record"}) {
    ASSERT_TRUE(RemoveTree(Dir()).ok());
    {
      auto logger = MustOpen(Options());
      for (int i = 1; i <= 2; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
    }
    std::string seg = testing::Segments(Dir()).back();
    ASSERT_TRUE(WriteFileAtomic(seg, *ReadFile(seg) + "{\"v\":1,\"se").ok());
    int status = InChild([&] {
      LoggerOptions o = Options();
      o.crash_point = [&](std::string_view where) {
        if (where == step) _exit(42);
      };
      auto logger = Logger::Open(o);
      if (logger.ok()) (void)(*logger)->Append(ExecEvent(3));
    });
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 42) << step;
    auto logger = MustOpen(Options());
    auto rep = logger->Recover();
    ASSERT_TRUE(rep.ok()) << step << ": " << rep.status().ToString();
    // Before the recovery record the torn line is still there; after it, there is nothing left to do.
    EXPECT_EQ(rep->torn_tail, std::string_view(step) == "after-quarantine") << step;
    VerifyReport r = MustVerify(Dir());
    EXPECT_TRUE(r.ok()) << step << ": " << ProblemText(r);
    EXPECT_EQ(r.notes.size(), 1u) << step << ": recorded exactly once";
  }
}

// A torn line longer than the recovery record that replaces it: a crash before the file is cut
// leaves the record and a shorter torn rest, which the next writer quarantines in turn.
TEST_F(CrashTest, CrashBeforeCuttingALongTornLine) {
  {
    auto logger = MustOpen(Options());
    ASSERT_TRUE(logger->Append(ExecEvent(1)).ok());
  }
  std::string seg = testing::Segments(Dir()).back();
  std::string torn = "{\"v\":1,\"seq\":2,\"fields\":{\"out\":\"" + std::string(2000, 'x');
  ASSERT_TRUE(WriteFileAtomic(seg, *ReadFile(seg) + torn).ok());
  int status = InChild([&] {
    LoggerOptions o = Options();
    o.crash_point = [](std::string_view where) {
      if (where == "after-recovery-record") _exit(42);
    };
    auto logger = Logger::Open(o);
    if (logger.ok()) (void)(*logger)->Recover();
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 42);
  auto logger = MustOpen(Options());
  auto rep = logger->Recover();
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  VerifyReport r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  EXPECT_EQ(r.notes.size(), 2u) << "the torn line, then its rest";
  size_t kept = 0;
  auto names = ListDir(JoinPath(Dir(), "torn"));
  ASSERT_TRUE(names.ok());
  for (const auto& name : *names) kept += ReadFile(JoinPath(Dir(), "torn/" + name))->size();
  EXPECT_GE(kept, torn.size()) << "every torn byte is kept";
  ASSERT_TRUE(logger->Append(ExecEvent(2)).ok());
  EXPECT_EQ(Indexes(), (std::vector<int64_t>{1, 2}));
}

TEST_F(CrashTest, CrashDuringRotation) {
  LoggerOptions o = Options();
  o.segment_max_bytes = 600;
  {
    auto logger = MustOpen(o);
    for (int i = 1; i <= 2; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  }
  size_t segments = testing::Segments(Dir()).size();
  int status = InChild([&] {
    LoggerOptions c = o;
    c.crash_point = [](std::string_view where) {
      if (where == "after-rotate-head") _exit(42);
    };
    auto logger = Logger::Open(c);
    for (int i = 3; logger.ok() && i < 10; ++i) (void)(*logger)->Append(ExecEvent(i));
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 42);
  EXPECT_EQ(testing::Segments(Dir()).size(), segments) << "the head names a segment that does not exist yet";
  VerifyReport r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  auto logger = MustOpen(o);
  ASSERT_TRUE(logger->Append(ExecEvent(100)).ok());
  r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  EXPECT_EQ(Indexes().back(), 100);
}

TEST_F(CrashTest, CrashDuringRetention) {
  LoggerOptions o = Options();
  o.segment_max_bytes = 600;
  o.retention_segments = 2;
  {
    auto logger = MustOpen(o);
    for (int i = 1; i <= 4; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  }
  int status = InChild([&] {
    LoggerOptions c = o;
    c.crash_point = [](std::string_view where) {
      if (where == "after-checkpoint") _exit(42);
    };
    auto logger = Logger::Open(c);
    for (int i = 5; logger.ok() && i < 20; ++i) (void)(*logger)->Append(ExecEvent(i));
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 42);
  auto segments = testing::Segments(Dir());
  EXPECT_GT(segments.size(), 2u) << "the checkpoint is written, the old segments are not removed yet";
  VerifyReport r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  // Part of the removal happened (oldest first): still a legitimate state.
  ASSERT_EQ(unlink(segments[0].c_str()), 0);
  r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  auto logger = MustOpen(o);
  for (int i = 100; i < 110; ++i) ASSERT_TRUE(logger->Append(ExecEvent(i)).ok());
  r = MustVerify(Dir());
  EXPECT_TRUE(r.ok()) << ProblemText(r);
  EXPECT_EQ(testing::Segments(Dir()).size(), 2u);
}

}  // namespace
}  // namespace cloudcoop::audit
