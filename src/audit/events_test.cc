// Record builders for the supervisor: bounded exec records, lifecycle and denial records.
#include "audit/events.h"

#include <gtest/gtest.h>

#include "audit/test_helpers.h"
#include "testing/test_util.h"

namespace cloudcoop::audit {
namespace {

TEST(EventsTest, ExecRecord) {
  Event e = ExecRecord({"web", 42, 41, 1001, "/usr/bin/git", {"git", "status"}, "/workspace", "execve"});
  EXPECT_EQ(e.type, RecordType::kExec);
  EXPECT_EQ(e.agent, "web");
  EXPECT_EQ(e.actor.at("kind").as_string(), "agent");
  EXPECT_EQ(e.fields.at("pid").as_int(), 42);
  EXPECT_EQ(e.fields.at("argv").as_list().size(), 2u);
  EXPECT_EQ(e.fields.at("via").as_string(), "execve");
  EXPECT_EQ(e.fields.count("argv_truncated"), 0u);
}

TEST(EventsTest, ArgvIsBounded) {
  std::vector<std::string> many(1000, "x");
  Event e = ExecRecord({"web", 1, 0, 0, "/bin/echo", many, "/", ""});
  EXPECT_EQ(e.fields.at("argv").as_list().size(), kMaxArgs);
  EXPECT_TRUE(e.fields.at("argv_truncated").as_bool());
  EXPECT_EQ(e.fields.at("argc").as_int(), 1000);
  std::vector<std::string> huge(40, std::string(10000, 'y'));
  bool truncated = false;
  auto bounded = BoundArgv(huge, &truncated);
  EXPECT_TRUE(truncated);
  size_t total = 0;
  for (const auto& a : bounded) {
    EXPECT_LE(a.size(), kMaxArgBytes);
    total += a.size();
  }
  EXPECT_LE(total, kMaxArgvBytes);
  // The bounded record always fits a line.
  cloudcoop::testing::TempDir dir;
  LoggerOptions o;
  o.dir = dir.Sub("audit");
  auto logger = testing::MustOpen(o);
  EXPECT_TRUE(logger->Append(ExecRecord({"web", 1, 0, 0, std::string(100000, 'e'), huge, std::string(100000, 'c'), ""}),
                             Durability::kBatched)
                  .ok());
}

TEST(EventsTest, LifecycleAndDenial) {
  Event l = LifecycleRecord("web", "exit", {{"status", 0}});
  EXPECT_EQ(l.type, RecordType::kLifecycle);
  EXPECT_EQ(l.fields.at("event").as_string(), "exit");
  EXPECT_EQ(l.actor.at("kind").as_string(), "supervisor");
  Event d = DenialRecord("web", "syscall", {{"syscall", "ptrace"}, {"errno", "EPERM"}});
  EXPECT_EQ(d.type, RecordType::kDenial);
  EXPECT_EQ(d.fields.at("syscall").as_string(), "ptrace");
}

}  // namespace
}  // namespace cloudcoop::audit
