// The startup script, run for real by bash against a temp root (CLOUDCOOP_PROVISION_ROOT) and the
// fake metadata server on loopback (GCE_METADATA_HOST).
#include "cloud/gcp/startup_script.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/files.h"
#include "core/process.h"
#include "testing/fake_gcp/fake_gcp_server.h"
#include "testing/test_util.h"

namespace cloudcoop::gcp {
namespace {

class StartupScriptTest : public ::testing::Test {
 protected:
  StartupScriptTest() : server(&gcp) { script = dir.Write("startup.sh", std::string(StartupScript())); }

  ProcessResult RunScript(const std::string& path_env = "") {
    ProcessSpec spec;
    spec.argv = {"/bin/bash", script};
    spec.env["CLOUDCOOP_PROVISION_ROOT"] = dir.Sub("root");
    spec.env["GCE_METADATA_HOST"] = "127.0.0.1:" + std::to_string(server.port());
    if (!path_env.empty()) spec.env["PATH"] = path_env;
    spec.timeout = std::chrono::seconds(60);
    auto r = DefaultProcessRunner().Run(spec);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : ProcessResult{};
  }
  std::string Read(const std::string& rel) {
    auto c = ReadFile(dir.Sub("root/" + rel));
    return c.ok() ? *c : "<missing>";
  }

  fakegcp::FakeGcp gcp;
  fakegcp::FakeGcpServer server;
  testing::TempDir dir;
  std::string script;
};

TEST_F(StartupScriptTest, IsValidBash) {
  ProcessSpec spec;
  spec.argv = {"/bin/bash", "-n", script};
  auto r = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->err;
}

TEST_F(StartupScriptTest, CompletesAndReportsThroughFilesAndGuestAttributes) {
  ProcessResult r = RunScript();
  ASSERT_EQ(r.exit_code, 0) << r.err << Read("var/log/cloudcoop/provision.log");
  EXPECT_EQ(Read("var/run/cloudcoop/provision-status"), "completed\n");
  EXPECT_EQ(Read("var/run/cloudcoop/provision-progress"), "3/3 done\n");
  std::string log = Read("var/log/cloudcoop/provision.log");
  EXPECT_NE(log.find("step 1/3: prepare cloudcoop directories"), std::string::npos) << log;
  EXPECT_NE(log.find("step 3/3: done"), std::string::npos);
  struct stat st;
  ASSERT_EQ(stat(dir.Sub("root/var/lib/cloudcoop").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto attrs = gcp.MetadataGuestAttributes();
  EXPECT_EQ(attrs["provision-status"], "completed");
  EXPECT_EQ(attrs["provision-progress"], "3/3 done");
}

TEST_F(StartupScriptTest, RunsAgainOnEveryBoot) {
  ASSERT_EQ(RunScript().exit_code, 0);
  ASSERT_EQ(RunScript().exit_code, 0);
  EXPECT_EQ(Read("var/run/cloudcoop/provision-status"), "completed\n");
  std::string log = Read("var/log/cloudcoop/provision.log");
  EXPECT_NE(log.find("step 3/3"), log.rfind("step 3/3"));  // appended, not replaced
}

TEST_F(StartupScriptTest, AFailingStepIsReportedByTheErrTrap) {
  // A PATH without tmux and git, whose apt-get fails: step 2 must fail and say so.
  std::string bin = dir.Sub("bin");
  ASSERT_TRUE(MakeDirs(bin).ok());
  for (const char* tool : {"mkdir", "chmod", "mv", "date", "install", "cat", "curl"}) {
    std::string target = FindOnPath(tool);
    ASSERT_FALSE(target.empty()) << tool;
    ASSERT_EQ(symlink(target.c_str(), (bin + "/" + tool).c_str()), 0);
  }
  dir.Write("bin/apt-get", "#!/bin/sh\necho 'E: Could not get lock' >&2\nexit 100\n");
  ASSERT_EQ(chmod(dir.Sub("bin/apt-get").c_str(), 0755), 0);
  ProcessResult r = RunScript(bin);
  EXPECT_EQ(r.exit_code, 100);
  EXPECT_EQ(Read("var/run/cloudcoop/provision-status"),
            "failed\nStep 2/3: install tmux and git failed with exit code 100\n");
  EXPECT_EQ(Read("var/run/cloudcoop/provision-progress"), "2/3 install tmux and git\n");
  EXPECT_NE(Read("var/log/cloudcoop/provision.log").find("E: Could not get lock"), std::string::npos);
  EXPECT_EQ(gcp.MetadataGuestAttributes()["provision-status"],
            "failed\nStep 2/3: install tmux and git failed with exit code 100");
}

TEST_F(StartupScriptTest, HoldsNoSecrets) {
  std::string s(StartupScript());
  for (const char* word : {"API_KEY", "TOKEN=", "SECRET", "sk-ant-", "BEGIN PRIVATE KEY", "curl | sh", "| bash"}) {
    EXPECT_EQ(s.find(word), std::string::npos) << word;
  }
}

}  // namespace
}  // namespace cloudcoop::gcp
