#include "config/loader.h"

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace cloudcoop {
namespace {

using testing::TempDir;

class LoaderTest : public ::testing::Test {
 protected:
  LoaderTest() {
    options_.home = home_.path();
    options_.cwd = repo_.path();
    options_.host = HostFacts{2, 24ULL << 30, 4194304};
    repo_.Write(".git/HEAD", "ref: refs/heads/main\n");
  }
  void WriteUser(const std::string& content) { home_.Write(".config/cloudcoop/cloudcoop.toml", content); }
  void WriteRepo(const std::string& content) { repo_.Write(".cloudcoop/config.toml", content); }
  void WriteLocal(const std::string& content) { repo_.Write(".cloudcoop/local.toml", content); }

  TempDir home_, repo_;
  LoadOptions options_;
};

TEST_F(LoaderTest, DefaultsOnly) {
  auto c = LoadConfig(options_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->settings().provider, "local");
  EXPECT_EQ(c->Find("vm.name")->layer, Layer::kDefault);
  EXPECT_TRUE(c->files_read().empty());
}

TEST_F(LoaderTest, LayersOverrideInOrder) {
  WriteUser("[vm]\nname = \"user-vm\"\ndisk_size_gb = 60\nspot = true\n");
  WriteRepo("[vm]\nname = \"repo-vm\"\ndisk_size_gb = 70\n");
  WriteLocal("[vm]\nname = \"local-vm\"\n");
  options_.env["CLOUDCOOP_VM_DISK_SIZE_GB"] = "80";
  auto c = LoadConfig(options_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->settings().vm.name, "local-vm");
  EXPECT_EQ(c->Find("vm.name")->layer, Layer::kLocal);
  EXPECT_EQ(c->settings().vm.disk_size_gb, 80);
  EXPECT_EQ(c->Find("vm.disk_size_gb")->origin, "CLOUDCOOP_VM_DISK_SIZE_GB");
  EXPECT_TRUE(c->settings().vm.spot);
  EXPECT_EQ(c->Find("vm.spot")->layer, Layer::kUser);
  EXPECT_EQ(c->files_read().size(), 3u);

  options_.flag_overrides = {"vm.disk_size_gb=90", "vm.spot=false"};
  c = LoadConfig(options_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->settings().vm.disk_size_gb, 90);
  EXPECT_FALSE(c->settings().vm.spot);
  EXPECT_EQ(c->Find("vm.spot")->layer, Layer::kFlag);
}

TEST_F(LoaderTest, XdgConfigHomeWins) {
  TempDir xdg;
  xdg.Write("cloudcoop/cloudcoop.toml", "[vm]\nname = \"xdg\"\n");
  WriteUser("[vm]\nname = \"home\"\n");
  options_.xdg_config_home = xdg.path();
  auto c = LoadConfig(options_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->settings().vm.name, "xdg");
}

TEST_F(LoaderTest, RepoIsFoundFromASubdirectory) {
  WriteRepo("[agents]\ndefault_profile = \"claude\"\n");
  repo_.Write("src/deep/file", "");
  options_.cwd = repo_.Sub("src/deep");
  auto c = LoadConfig(options_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->settings().agents.default_profile, "claude");
  EXPECT_EQ(c->paths().repo_root, repo_.path());
}

TEST_F(LoaderTest, ExplicitFileReplacesFileLayers) {
  WriteUser("[vm]\nname = \"user-vm\"\n");
  WriteRepo("[vm]\ndisk_size_gb = 70\n");
  std::string file = home_.Write("other.toml", "[vm]\nspot = true\n");
  options_.explicit_file = file;
  options_.env["CLOUDCOOP_VM_NAME"] = "env-vm";
  auto c = LoadConfig(options_);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->settings().vm.spot);
  EXPECT_EQ(c->settings().vm.disk_size_gb, 50);  // the repo file was not read
  EXPECT_EQ(c->settings().vm.name, "env-vm");    // the environment still applies
  EXPECT_EQ(c->files_read(), std::vector<std::string>{file});
}

TEST_F(LoaderTest, MissingExplicitFileIsAnError) {
  options_.explicit_file = home_.Sub("nope.toml");
  auto c = LoadConfig(options_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("nope.toml does not exist"), std::string::npos);
}

TEST_F(LoaderTest, MalformedTomlNamesFileLineAndColumn) {
  WriteRepo("[vm]\nname = \"ok\"\nspot = tru\n");
  auto c = LoadConfig(options_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(".cloudcoop/config.toml:3:"), std::string::npos) << c.status().message();
  EXPECT_EQ(ExitCodeFor(c.status()), 2);
}

TEST_F(LoaderTest, UnclosedTableHeader) {
  WriteUser("[vm\nname = \"x\"\n");
  auto c = LoadConfig(options_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("cloudcoop.toml:1:"), std::string::npos) << c.status().message();
}

TEST_F(LoaderTest, UnknownKeyGetsASuggestion) {
  WriteRepo("[vm]\nnmae = \"x\"\n");
  auto c = LoadConfig(options_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("config.toml:2:1: unknown key \"vm.nmae\""), std::string::npos)
      << c.status().message();
  EXPECT_EQ(c.status().fix(), "did you mean \"vm.name\"?");
}

TEST_F(LoaderTest, UnknownSectionIsAnError) {
  WriteRepo("[vms]\nname = \"x\"\n");
  auto c = LoadConfig(options_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("unknown key"), std::string::npos);
}

TEST_F(LoaderTest, WrongTypeNamesKeyAndLocation) {
  WriteRepo("[vm]\ndisk_size_gb = \"fifty\"\n");
  auto c = LoadConfig(options_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("config.toml:2:"), std::string::npos);
  EXPECT_NE(c.status().message().find("vm.disk_size_gb must be a integer"), std::string::npos)
      << c.status().message();
}

TEST_F(LoaderTest, OutOfRangeInFile) {
  WriteRepo("[ssh]\nport = 0\n");
  auto c = LoadConfig(options_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("ssh.port = 0 is out of range"), std::string::npos) << c.status().message();
}

TEST_F(LoaderTest, BadEnvironmentValueNamesTheVariable) {
  options_.env["CLOUDCOOP_AGENTS_PIDS"] = "lots";
  auto c = LoadConfig(options_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("CLOUDCOOP_AGENTS_PIDS"), std::string::npos);
}

TEST_F(LoaderTest, UnknownSetKey) {
  options_.flag_overrides = {"agents.cpu=2"};
  auto c = LoadConfig(options_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().fix(), "did you mean \"agents.cpus\"?");
}

TEST_F(LoaderTest, CustomProfilesAndEnv) {
  WriteRepo(
      "[agents]\ndefault_profile = \"mine\"\n"
      "[agents.profiles.mine]\ncommand = \"my-agent --auto\"\nenv = { MODE = \"fast\", LEVEL = \"2\" }\n");
  auto c = LoadConfig(options_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto& p = c->settings().agents.profiles.at("mine");
  EXPECT_EQ(p.command, "my-agent --auto");
  EXPECT_EQ(p.resume_command, "my-agent --auto");
  EXPECT_EQ(p.env.at("MODE"), "fast");
  EXPECT_TRUE(c->settings().agents.profiles.count("claude"));
}

TEST_F(LoaderTest, ProfileFieldTypo) {
  WriteRepo("[agents.profiles.mine]\ncomand = \"x\"\n");
  auto c = LoadConfig(options_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().fix(), "did you mean \"agents.profiles.mine.command\"?");
}

TEST_F(LoaderTest, MachineTypeFromSize) {
  WriteRepo("[vm]\nsize = \"large\"\n");
  auto c = LoadConfig(options_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->settings().vm.machine_type, "c4a-highcpu-16");
  options_.flag_overrides = {"vm.machine_type=e2-standard-4"};
  c = LoadConfig(options_);
  EXPECT_EQ(c->settings().vm.machine_type, "e2-standard-4");
}

TEST_F(LoaderTest, SetKeyInTomlRoundTrip) {
  auto content = SetKeyInToml("", "f.toml", "cloud.gcp.project", Value{std::string("my-project")});
  ASSERT_TRUE(content.ok());
  content = SetKeyInToml(*content, "f.toml", "vm.tags", Value{std::vector<std::string>{"a", "b"}});
  ASSERT_TRUE(content.ok());
  auto entries = ParseTomlLayer(*content, "f.toml", Layer::kUser);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString() << "\n" << *content;
  EXPECT_EQ(entries->at("cloud.gcp.project").value.str(), "my-project");
  EXPECT_EQ(entries->at("vm.tags").value.list(), (std::vector<std::string>{"a", "b"}));
  content = SetKeyInToml(*content, "f.toml", "vm.tags", std::nullopt);
  entries = ParseTomlLayer(*content, "f.toml", Layer::kUser);
  EXPECT_FALSE(entries->count("vm.tags"));
}

}  // namespace
}  // namespace cloudcoop
