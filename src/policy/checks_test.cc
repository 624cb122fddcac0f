#include "policy/checks.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "config/loader.h"
#include "testing/test_util.h"

namespace cloudcoop::policy {
namespace {

LoadedConfig Load(const std::vector<std::string>& sets) {
  testing::TempDir home;
  LoadOptions options;
  options.home = home.path();
  options.cwd = home.path();
  options.host = HostFacts{2, 24ULL << 30, 4194304};
  options.flag_overrides = sets;
  auto c = LoadConfig(options);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

std::map<std::string, CheckOutcome> RunConfigChecks(const LoadedConfig* config) {
  CheckRegistry registry;
  RegisterConfigChecks(registry);
  CheckContext ctx;
  ctx.config = config;
  if (config == nullptr) ctx.config_status = InvalidArgumentError("broken").WithFix("repair");
  std::map<std::string, CheckOutcome> out;
  for (const auto& r : registry.Run(ctx, "")) out[r.spec->id] = r.outcome;
  return out;
}

TEST(ChecksTest, EveryCheckHasIdTitleAndCoverage) {
  CheckRegistry registry;
  RegisterConfigChecks(registry);
  std::set<std::string> ids;
  for (const auto& c : registry.checks()) {
    EXPECT_TRUE(ids.insert(c.id).second) << c.id;
    EXPECT_FALSE(c.title.empty());
    EXPECT_FALSE(c.checklist.empty()) << c.id;
    EXPECT_TRUE(c.run != nullptr);
  }
}

TEST(ChecksTest, LocalDefaultsPassOrNotApplicable) {
  LoadedConfig c = Load({});
  auto out = RunConfigChecks(&c);
  EXPECT_EQ(out["config.valid"].result, CheckResult::kPass);
  EXPECT_EQ(out["config.sa-dedicated"].result, CheckResult::kNotApplicable);
  EXPECT_EQ(out["config.agent-limits"].result, CheckResult::kPass);
  EXPECT_EQ(out["config.agent-network"].result, CheckResult::kPass);
  for (const auto& [id, o] : out) EXPECT_NE(o.result, CheckResult::kFail) << id << ": " << o.message;
}

TEST(ChecksTest, HostNetworkAndDisabledAuditFail) {
  LoadedConfig c = Load({"agents.network=host", "audit.exec_capture=false", "cloud.gcp.allow_key_files=true"});
  auto out = RunConfigChecks(&c);
  EXPECT_EQ(out["config.agent-network"].result, CheckResult::kFail);
  EXPECT_FALSE(out["config.agent-network"].fix.empty());
  EXPECT_EQ(out["config.audit"].result, CheckResult::kFail);
  EXPECT_EQ(out["config.key-files"].result, CheckResult::kFail);
}

TEST(ChecksTest, GcpConfig) {
  LoadedConfig c = Load({"cloud.provider=gcp", "cloud.gcp.project=agent-project",
                         "cloud.gcp.service_account=agent-sandbox@agent-project.iam.gserviceaccount.com",
                         "cloud.gcp.network=default", "ssh.access=direct", "ssh.source_ranges=203.0.113.4/32"});
  auto out = RunConfigChecks(&c);
  EXPECT_EQ(out["config.sa-dedicated"].result, CheckResult::kPass);
  EXPECT_EQ(out["config.sa-roles"].result, CheckResult::kPass);
  EXPECT_EQ(out["config.network-not-default"].result, CheckResult::kFail);
  EXPECT_EQ(out["config.ssh-iap"].result, CheckResult::kWarn);
}

TEST(ChecksTest, SecretsInProfileEnvFail) {
  LoadedConfig c = Load({"agents.profiles.claude.env=ANTHROPIC_API_KEY=sk-ant-api03-0123456789abcdefghij"});
  auto out = RunConfigChecks(&c);
  EXPECT_EQ(out["config.no-secrets"].result, CheckResult::kFail);
  EXPECT_NE(out["config.no-secrets"].message.find("claude.ANTHROPIC_API_KEY"), std::string::npos);
  EXPECT_EQ(out["config.no-secrets"].message.find("sk-ant"), std::string::npos) << "never print the value";
}

TEST(ChecksTest, BrokenConfigFailsEveryConfigCheckInsteadOfPassing) {
  auto out = RunConfigChecks(nullptr);
  for (const auto& [id, o] : out) EXPECT_EQ(o.result, CheckResult::kFail) << id;
  EXPECT_EQ(out["config.valid"].message, "broken");
}

TEST(ChecksTest, PrefixFilterAndFormats) {
  LoadedConfig c = Load({"agents.network=host"});
  CheckRegistry registry;
  RegisterConfigChecks(registry);
  CheckContext ctx;
  ctx.config = &c;
  auto reports = registry.Run(ctx, "config.agent");
  ASSERT_EQ(reports.size(), 2u);
  std::string table = FormatChecksTable(reports, false);
  EXPECT_NE(table.find("FAIL   config.agent-network"), std::string::npos) << table;
  EXPECT_NE(table.find("1 passed, 1 failed"), std::string::npos);
  auto json = nlohmann::json::parse(FormatChecksJson(reports));
  EXPECT_EQ(json["checks"][1]["result"], "FAIL");
  auto sarif = nlohmann::json::parse(FormatChecksSarif(reports, "0.1.0"));
  EXPECT_EQ(sarif["version"], "2.1.0");
  EXPECT_EQ(sarif["runs"][0]["results"][1]["kind"], "fail");
  EXPECT_EQ(sarif["runs"][0]["results"][1]["level"], "error");
  EXPECT_EQ(sarif["runs"][0]["results"][0]["kind"], "pass");
  EXPECT_EQ(sarif["runs"][0]["tool"]["driver"]["rules"].size(), 2u);
}

}  // namespace
}  // namespace cloudcoop::policy
