#include "core/process.h"
#include "core/files.h"

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace cloudcoop {
namespace {

TEST(ProcessTest, CapturesOutputAndExitCode) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"};
  auto r = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_FALSE(r->success());
  EXPECT_EQ(r->Describe(), "exit status 3");
}

TEST(ProcessTest, ArgumentsAreNotInterpretedByAShell) {
  ProcessSpec spec;
  spec.argv = {"printf", "%s|", "a b", "$(id)", ";rm -rf x"};
  auto r = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "a b|$(id)|;rm -rf x|");
}

TEST(ProcessTest, StdinIsDelivered) {
  ProcessSpec spec;
  spec.argv = {"cat"};
  spec.stdin_data = std::string(300000, 'z');  // larger than a pipe buffer
  auto r = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.size(), 300000u);
}

TEST(ProcessTest, EnvironmentOverridesAndRemovals) {
  testing::ScopedEnv keep("CC_TEST_KEEP", "k");
  testing::ScopedEnv drop("CC_TEST_DROP", "d");
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo ${CC_TEST_KEEP}-${CC_TEST_DROP:-none}-${CC_TEST_NEW}"};
  spec.env["CC_TEST_DROP"] = std::nullopt;
  spec.env["CC_TEST_NEW"] = "n";
  auto r = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "k-none-n\n");
}

TEST(ProcessTest, WorkingDirectory) {
  testing::TempDir dir;
  ProcessSpec spec;
  spec.argv = {"pwd"};
  spec.cwd = dir.path();
  auto r = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, dir.path() + "\n");
}

TEST(ProcessTest, TimeoutKillsTheWholeProcessGroup) {
  testing::TempDir dir;
  ProcessSpec spec;
  // The grandchild would write the marker after 2 s if it survived the timeout.
  spec.argv = {"sh", "-c", "(sleep 2; touch " + dir.Sub("marker") + ") & sleep 30"};
  spec.timeout = std::chrono::milliseconds(200);
  auto r = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->Describe(), "timed out");
  sleep(3);
  EXPECT_FALSE(PathExists(dir.Sub("marker")));
}

TEST(ProcessTest, MissingProgramIsAClearError) {
  ProcessSpec spec;
  spec.argv = {"cloudcoop-no-such-program"};
  auto r = DefaultProcessRunner().Run(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("cloudcoop-no-such-program"), std::string::npos);
  EXPECT_FALSE(r.status().fix().empty());
}

TEST(ProcessTest, SignalIsReported) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "kill -TERM $$"};
  auto r = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->signal, SIGTERM);
  EXPECT_EQ(r->Describe(), "killed by signal 15 (TERM)");
}

TEST(ProcessTest, FakeRunnerRecordsCalls) {
  FakeProcessRunner fake([](const ProcessSpec& spec) -> StatusOr<ProcessResult> {
    ProcessResult r;
    r.exit_code = spec.argv.size() > 1 ? 0 : 1;
    r.out = "ok";
    return r;
  });
  ProcessSpec spec;
  spec.argv = {"tmux", "ls"};
  auto r = fake.Run(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "ok");
  ASSERT_EQ(fake.calls().size(), 1u);
  EXPECT_EQ(fake.calls()[0], (std::vector<std::string>{"tmux", "ls"}));
}

}  // namespace
}  // namespace cloudcoop
