// The config commands, run as the real binary with a private HOME and repository.
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/files.h"
#include "core/paths.h"
#include "sandbox/net_egress.h"
#include "testing/test_util.h"

namespace cloudcoop {
namespace {

using testing::CliResult;
using testing::TempDir;

class ConfigCommandsTest : public ::testing::Test {
 protected:
  ConfigCommandsTest() { repo_.Write(".git/HEAD", "ref: refs/heads/main\n"); }
  CliResult Run(std::vector<std::string> args, const std::string& stdin_text = "") {
    testing::ScopedCwd cwd(repo_.path());
    return testing::RunBinary(args, {{"HOME", home_.path()}, {"XDG_CONFIG_HOME", ""}, {"CLOUDCOOP_STATE_DIR", state_.path()}},
                              stdin_text);
  }
  std::string UserFile() const { return home_.Sub(".config/cloudcoop/cloudcoop.toml"); }
  TempDir home_, repo_, state_;  // state_: where config set/init record their audit records
};

TEST_F(ConfigCommandsTest, SetGetAndShowWithLayers) {
  auto r = Run({"config", "set", "vm.name", "agents-vm"});
  ASSERT_EQ(r.rc, 0) << r.err;
  r = Run({"config", "set", "vm.disk_size_gb", "80", "--scope", "repo"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(PathExists(repo_.Sub(".cloudcoop/config.toml")));
  r = Run({"config", "get", "vm.name"});
  EXPECT_EQ(r.out, "agents-vm\n");
  r = Run({"config", "show", "--json"});
  ASSERT_EQ(r.rc, 0);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["keys"]["vm.name"]["layer"], "user");
  EXPECT_EQ(j["keys"]["vm.disk_size_gb"]["value"], 80);
  EXPECT_EQ(j["keys"]["vm.disk_size_gb"]["layer"], "repo");
  EXPECT_EQ(j["keys"]["cloud.gcp.service_account"]["security"], true);
  r = Run({"config", "show"});
  EXPECT_NE(r.out.find("vm.name"), std::string::npos);
  EXPECT_NE(r.out.find("(user: " + UserFile()), std::string::npos) << r.out;
}

TEST_F(ConfigCommandsTest, FilesArePrivate) {
  ASSERT_EQ(Run({"config", "set", "vm.spot", "true"}).rc, 0);
  struct stat st;
  ASSERT_EQ(stat(UserFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(Dirname(UserFile()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(ConfigCommandsTest, InvalidSetWritesNothing) {
  ASSERT_EQ(Run({"config", "set", "vm.name", "keep-me"}).rc, 0);
  std::string before = *ReadFile(UserFile());
  auto r = Run({"config", "set", "cloud.provider", "gcp"});  // no service account: refused
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("requires cloud.gcp.service_account"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not written"), std::string::npos);
  EXPECT_EQ(*ReadFile(UserFile()), before);
  r = Run({"config", "set", "cloud.gcp.allowed_roles", "roles/logging.logWriter,roles/owner"});
  EXPECT_EQ(r.rc, 0) << "roles are checked only for provider gcp";
  r = Run({"config", "set", "ssh.port", "99999"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("out of range"), std::string::npos);
}

TEST_F(ConfigCommandsTest, UnknownKeyAndDidYouMean) {
  auto r = Run({"config", "set", "vm.nmae", "x"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("did you mean \"vm.name\"?"), std::string::npos) << r.err;
  EXPECT_FALSE(PathExists(UserFile()));
  r = Run({"config", "get", "vm.nmae"});
  EXPECT_EQ(r.rc, 2);
}

TEST_F(ConfigCommandsTest, LocalScopeIsGitIgnored) {
  ASSERT_EQ(Run({"config", "set", "vm.name", "mine", "--scope", "local"}).rc, 0);
  EXPECT_EQ(*ReadFile(repo_.Sub(".cloudcoop/.gitignore")), "local.toml\n");
  ASSERT_EQ(Run({"config", "set", "vm.spot", "true", "--scope", "local"}).rc, 0);
  EXPECT_EQ(*ReadFile(repo_.Sub(".cloudcoop/.gitignore")), "local.toml\n");
}

TEST_F(ConfigCommandsTest, ValidateReportsMalformedFiles) {
  repo_.Write(".cloudcoop/config.toml", "[vm]\nname = \n");
  auto r = Run({"config", "validate"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("config.toml:2:"), std::string::npos) << r.err;
  repo_.Write(".cloudcoop/config.toml", "[vm]\nname = \"ok\"\n");
  r = Run({"config", "validate"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("configuration is valid"), std::string::npos);
}

TEST_F(ConfigCommandsTest, InitFromFlagsWithoutTerminal) {
  auto r = Run({"config", "init", "--cloud-provider", "gcp", "--cloud-gcp-project", "agent-project",
                "--cloud-gcp-service-account", "agent-sandbox@agent-project.iam.gserviceaccount.com"});
  ASSERT_EQ(r.rc, 0) << r.err;
  r = Run({"config", "get", "cloud.gcp.service_account"});
  EXPECT_EQ(r.out, "agent-sandbox@agent-project.iam.gserviceaccount.com\n");
  // Again: refuses to overwrite without --force.
  r = Run({"config", "init", "--vm-name", "x"});
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("already exists"), std::string::npos);
}

// Agents default to egress, which needs `sandbox prepare-host`: init says so, unless agents are set
// to another network mode (or, as root, the host is prepared: this machine's is not).
TEST_F(ConfigCommandsTest, InitPointsAtPrepareHostForTheEgressDefault) {
  bool prepared = false;
  if (geteuid() == 0) {
    auto host = sandbox::InspectEgressHost(sandbox::EgressConfigForStateDir(StateDirFromEnv()));
    prepared = host.ok() && host->ready();
  }
  auto r = Run({"config", "init", "--vm-name", "x"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.find("sandbox prepare-host") != std::string::npos, !prepared) << r.out;
  EXPECT_EQ(r.out.find("agents.network none") != std::string::npos, !prepared) << r.out;
  r = Run({"config", "init", "--force", "--agents-network", "none"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.find("prepare-host"), std::string::npos) << r.out;
}

TEST_F(ConfigCommandsTest, InitRefusesAnInvalidResultAndWritesNothing) {
  auto r = Run({"config", "init", "--cloud-provider", "gcp"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_FALSE(PathExists(UserFile()));
  // --force over an existing good file keeps it when the new content is invalid.
  ASSERT_EQ(Run({"config", "init", "--vm-name", "first"}).rc, 0);
  r = Run({"config", "init", "--force", "--cloud-provider", "gcp"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(Run({"config", "get", "vm.name"}).out, "first\n");
}

TEST_F(ConfigCommandsTest, InitNeverAsksWithoutTerminal) {
  // Input is available but stdin is not a terminal: nothing is read.
  auto r = Run({"config", "init"}, "gcp\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.find("Where do agents run"), std::string::npos);
  EXPECT_EQ(Run({"config", "get", "cloud.provider"}).out, "local\n");
}

TEST_F(ConfigCommandsTest, InitAsksOnATerminal) {
  testing::ScopedEnv home("HOME", home_.path());
  testing::ScopedEnv xdg("XDG_CONFIG_HOME", std::nullopt);
  testing::ScopedEnv state("CLOUDCOOP_STATE_DIR", state_.path());
  testing::ScopedCwd cwd(repo_.path());
  auto r = testing::RunCliInProcess({"config", "init"},
                                    "gcp\nagent-project\n\nagent-sandbox@agent-project.iam.gserviceaccount.com\nvm1\nclaude\n",
                                    /*tty=*/true);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Where do agents run"), std::string::npos);
  auto content = *ReadFile(UserFile());
  EXPECT_NE(content.find("agent-project"), std::string::npos) << content;
  EXPECT_NE(content.find("vm1"), std::string::npos);
  EXPECT_EQ(content.find("us-central1-a"), std::string::npos) << "defaults are not written";
}

TEST_F(ConfigCommandsTest, EnvironmentAndSetFlagLayers) {
  auto r = testing::RunBinary({"--set", "vm.name=from-flag", "config", "get", "vm.name", "--json"},
                              {{"HOME", home_.path()}, {"CLOUDCOOP_VM_NAME", "from-env"}});
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["value"], "from-flag");
  EXPECT_EQ(j["layer"], "flag");
  r = testing::RunBinary({"config", "get", "vm.name", "--json"}, {{"HOME", home_.path()}, {"CLOUDCOOP_VM_NAME", "from-env"}});
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["value"], "from-env");
  EXPECT_EQ(j["origin"], "CLOUDCOOP_VM_NAME");
}

TEST_F(ConfigCommandsTest, CheckExitsThreeOnFailure) {
  auto r = Run({"check", "--only", "config."});
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  r = testing::RunBinary({"--set", "agents.network=host", "check", "--only", "config.", "--json"}, {{"HOME", home_.path()}});
  EXPECT_EQ(r.rc, 3);
  auto j = nlohmann::json::parse(r.out);
  bool found = false;
  for (const auto& c : j["checks"]) found = found || (c["id"] == "config.agent-network" && c["result"] == "FAIL");
  EXPECT_TRUE(found);
  r = Run({"check", "--only", "nothing."});
  EXPECT_EQ(r.rc, 2);
}

}  // namespace
}  // namespace cloudcoop
