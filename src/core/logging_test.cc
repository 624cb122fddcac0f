#include "core/logging.h"

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace cloudcoop {
namespace {

TEST(LoggingTest, ParseLevels) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("warning"), LogLevel::kWarn);
  EXPECT_FALSE(ParseLogLevel("loud").has_value());
}

TEST(LoggingTest, EnvironmentSetsTheLevel) {
  LogLevel before = GetLogLevel();
  {
    testing::ScopedEnv env("CLOUDCOOP_LOG", "info");
    InitLoggingFromEnv();
    EXPECT_EQ(GetLogLevel(), LogLevel::kInfo);
  }
  SetLogLevel(before);
}

TEST(LoggingTest, VerboseAndEnvironmentShowDebugLinesOnStderr) {
  // A failing command logs where its error was raised at debug level only.
  auto quiet = testing::RunBinary({"config", "get", "no.such"});
  EXPECT_EQ(quiet.rc, 2);
  EXPECT_EQ(quiet.err.find(" debug "), std::string::npos) << quiet.err;
  auto verbose = testing::RunBinary({"--verbose", "config", "get", "no.such"});
  EXPECT_NE(verbose.err.find(" debug "), std::string::npos) << verbose.err;
  EXPECT_NE(verbose.err.find("error raised at"), std::string::npos);
  auto env = testing::RunBinary({"config", "get", "no.such"}, {{"CLOUDCOOP_LOG", "debug"}});
  EXPECT_NE(env.err.find("error raised at"), std::string::npos);
  auto bad = testing::RunBinary({"version"}, {{"CLOUDCOOP_LOG", "loud"}});
  EXPECT_EQ(bad.rc, 0);
  EXPECT_NE(bad.err.find("CLOUDCOOP_LOG=loud is not a log level"), std::string::npos);
}

}  // namespace
}  // namespace cloudcoop
