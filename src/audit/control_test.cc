// The API other commands use: control actions with operator identity, disabled audit, fail closed.
#include "audit/control.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "audit/query.h"
#include "audit/test_helpers.h"
#include "testing/test_util.h"

namespace cloudcoop::audit {
namespace {

std::vector<Record> ReadAll(const std::string& dir) {
  std::vector<Record> out;
  LogReader reader(dir);
  EXPECT_TRUE(reader.ReadNew([&](const Record& r, std::string_view) { out.push_back(r); }, nullptr).ok());
  return out;
}

TEST(ControlTest, StartAndEndRecordsWithTheOperator) {
  cloudcoop::testing::TempDir state;
  cloudcoop::testing::ScopedEnv sudo("SUDO_USER", "alice");
  cloudcoop::testing::ScopedEnv sudo_uid("SUDO_UID", "1000");
  AuditTarget target = AuditTarget::For(state.path(), AuditSettings{}, SecretSettings{});
  auto action = ControlAction::Begin(target, "agent kill", {"web", "--signal=TERM"}, "web");
  ASSERT_TRUE(action.ok()) << action.status().ToString();
  ASSERT_TRUE(action->End(UnavailableError("agent web is not running")).ok());
  auto records = ReadAll(AuditDirFor(state.path()));
  ASSERT_EQ(records.size(), 2u);
  const Record& start = records[0];
  EXPECT_EQ(start.type, RecordType::kControl);
  EXPECT_EQ(start.agent, "web");
  EXPECT_EQ(start.fields.at("phase").as_string(), "start");
  EXPECT_EQ(start.fields.at("args").as_list().size(), 2u);
  EXPECT_EQ(start.actor.at("kind").as_string(), "operator");
  EXPECT_EQ(start.actor.at("uid").as_int(), static_cast<int64_t>(getuid()));
  EXPECT_EQ(start.actor.at("sudo_user").as_string(), "alice");
  EXPECT_EQ(start.actor.at("sudo_uid").as_int(), 1000);
  const Record& end = records[1];
  EXPECT_EQ(end.fields.at("phase").as_string(), "end");
  EXPECT_EQ(end.fields.at("start_seq").as_int(), static_cast<int64_t>(start.seq));
  EXPECT_EQ(end.fields.at("result").as_string(), "error");
  EXPECT_EQ(end.fields.at("error").as_string(), "agent web is not running");
  EXPECT_TRUE(testing::MustVerify(AuditDirFor(state.path())).ok());
}

TEST(ControlTest, DisabledAuditWritesNothing) {
  cloudcoop::testing::TempDir state;
  AuditSettings off;
  off.enabled = false;
  AuditTarget target = AuditTarget::For(state.path(), off, SecretSettings{});
  auto action = ControlAction::Begin(target, "config set", {"a", "b"});
  ASSERT_TRUE(action.ok());
  ASSERT_TRUE(action->End(OkStatus()).ok());
  ASSERT_TRUE(RecordControl(target, OperatorActor(CurrentOperator()), "panic", {}).ok());
  EXPECT_FALSE(PathExists(AuditDirFor(state.path())));
}

TEST(ControlTest, FailsClosedWhenTheLogCannotBeWritten) {
  cloudcoop::testing::TempDir state;
  state.Write("audit", "a file where the directory should be");
  AuditTarget target = AuditTarget::For(state.path(), AuditSettings{}, SecretSettings{});
  auto action = ControlAction::Begin(target, "config set", {"vm.name", "x"});
  ASSERT_FALSE(action.ok());
  EXPECT_NE(action.status().message().find("cannot record `config set` before it runs, so it was not run"),
            std::string::npos)
      << action.status().message();
}

TEST(ControlTest, SecretsFromRedactEnvAreMasked) {
  cloudcoop::testing::TempDir state;
  cloudcoop::testing::ScopedEnv key("CC_CONTROL_TEST_KEY", "value-of-the-test-key-42");
  SecretSettings secrets;
  secrets.redact_env = {"CC_CONTROL_TEST_KEY"};
  AuditTarget target = AuditTarget::For(state.path(), AuditSettings{}, secrets);
  ASSERT_TRUE(RecordControl(target, OperatorActor(CurrentOperator()), "secret set",
                            {"api", "value-of-the-test-key-42"}, {{"note", "was value-of-the-test-key-42"}})
                  .ok());
  std::string disk = testing::AllRecords(AuditDirFor(state.path()));
  EXPECT_EQ(disk.find("value-of-the-test-key-42"), std::string::npos);
  EXPECT_NE(disk.find("[REDACTED:CC_CONTROL_TEST_KEY]"), std::string::npos);
}

}  // namespace
}  // namespace cloudcoop::audit
