// The dashboard's audit screen reads the real audit log: records written by the audit Logger come
// back per agent, incrementally, bounded, and damaged lines are shown, not skipped.
#include <gtest/gtest.h>

#include "audit/events.h"
#include "audit/logger.h"
#include "audit/test_helpers.h"
#include "cli/dashboard_audit.h"
#include "core/files.h"
#include "testing/test_util.h"

namespace cloudcoop::cli {
namespace {

TEST(DashboardAuditTest, ExecDenialAndLifecycleRecordsPerAgent) {
  testing::TempDir tmp;
  std::string dir = tmp.Sub("audit");
  auto logger = audit::testing::MustOpen({.dir = dir});
  ASSERT_NE(logger, nullptr);
  audit::ExecInfo exec{.agent = "alpha", .pid = 42, .ppid = 1, .uid = 1900000001, .exe = "/usr/bin/git",
                       .argv = {"git", "commit", "-m", "fix login"}, .cwd = "/w/alpha", .via = "execve"};
  ASSERT_TRUE(logger->Append(audit::ExecRecord(exec)).ok());
  ASSERT_TRUE(logger->Append(audit::DenialRecord("alpha", "connect 169.254.169.254:80", {{"errno", "ENETUNREACH"}})).ok());
  ASSERT_TRUE(logger->Append(audit::LifecycleRecord("beta", "oom-kill", {{"memory_bytes", 1024}})).ok());
  DashboardAuditFeed feed(dir);
  auto alpha = feed.Records("alpha", 100);
  ASSERT_TRUE(alpha.ok()) << alpha.status().ToString();
  ASSERT_EQ(alpha->size(), 2u);
  EXPECT_EQ((*alpha)[0].kind, "exec");
  EXPECT_EQ((*alpha)[0].detail, "git commit -m 'fix login'  cwd=/w/alpha pid=42 ppid=1 uid=1900000001 via=execve");
  EXPECT_EQ((*alpha)[1].kind, "denial");
  EXPECT_EQ((*alpha)[1].detail, "connect 169.254.169.254:80  errno=ENETUNREACH");
  EXPECT_GT((*alpha)[0].at.time_since_epoch().count(), 0);
  auto beta = feed.Records("beta", 100);
  ASSERT_EQ(beta->size(), 1u);
  EXPECT_EQ((*beta)[0].kind, "lifecycle");
  EXPECT_EQ((*beta)[0].detail, "oom-kill  memory_bytes=1024");
  // New records are picked up by the next call; `max` keeps the newest.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(logger->Append(audit::testing::ExecEvent(i, "alpha")).ok());
  auto more = feed.Records("alpha", 3);
  ASSERT_EQ(more->size(), 3u);
  EXPECT_EQ(more->back().detail, "/bin/echo n4  i=4 pid=1004");
  EXPECT_TRUE(feed.Records("nobody", 10)->empty());
}

TEST(DashboardAuditTest, DamagedLinesAreShown) {
  testing::TempDir tmp;
  std::string dir = tmp.Sub("audit");
  {
    auto logger = audit::testing::MustOpen({.dir = dir});
    ASSERT_TRUE(logger->Append(audit::testing::ExecEvent(1, "alpha")).ok());
  }
  std::string segment = audit::testing::Segments(dir).at(0);
  auto text = ReadFile(segment);
  ASSERT_TRUE(text.ok());
  ASSERT_TRUE(WriteFileAtomic(segment, *text + "{\"not\":\"a record\"}\n").ok());
  DashboardAuditFeed feed(dir);
  auto records = feed.Records("alpha", 100);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].kind, "BAD LINE");
  EXPECT_EQ((*records)[1].kind, "exec");
}

TEST(DashboardAuditTest, NoLogYetIsEmpty) {
  testing::TempDir tmp;
  DashboardAuditFeed feed(tmp.Sub("audit"));
  auto records = feed.Records("alpha", 100);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  EXPECT_TRUE(records->empty());
}

}  // namespace
}  // namespace cloudcoop::cli
