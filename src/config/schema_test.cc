#include "config/schema.h"

#include <set>

#include <gtest/gtest.h>

#include "config/loader.h"

namespace cloudcoop {
namespace {

TEST(SchemaTest, EveryKeyIsDocumentedAndWellFormed) {
  std::set<std::string> seen;
  for (const auto& spec : Schema()) {
    EXPECT_FALSE(spec.doc.empty()) << spec.key << " has no documentation";
    EXPECT_TRUE(seen.insert(std::string(spec.key)).second) << spec.key << " is listed twice";
    EXPECT_NE(spec.key.find('.'), std::string_view::npos) << spec.key << " has no section";
    if (spec.type == ValueType::kEnum) {
      EXPECT_FALSE(spec.choices.empty()) << spec.key;
    }
  }
}

TEST(SchemaTest, EveryDefaultParsesAndIsInBounds) {
  for (const auto& spec : Schema()) {
    if (spec.key.find('*') != std::string_view::npos) continue;
    auto value = ParseValueText(spec, spec.key, spec.default_text);
    EXPECT_TRUE(value.ok()) << spec.key << ": " << value.status().ToString();
  }
}

TEST(SchemaTest, DefaultsPassValidation) {
  HostFacts host{2, 24ULL << 30, 4194304};
  EXPECT_TRUE(ValidateEntries(DefaultEntries(), host).empty());
}

TEST(SchemaTest, RequiredSectionsExist) {
  for (const char* key : {"cloud.provider", "cloud.gcp.project", "cloud.gcp.zone", "cloud.gcp.service_account",
                          "cloud.gcp.network", "cloud.gcp.subnet", "cloud.gcp.allowed_roles", "vm.name",
                          "vm.machine_type", "vm.disk_size_gb", "vm.image", "vm.spot", "vm.max_uptime_minutes",
                          "vm.tags", "ssh.user", "ssh.port", "ssh.access", "agents.default_profile", "agents.cpus",
                          "agents.memory", "agents.pids", "agents.network", "agents.profiles.x.command",
                          "agents.profiles.x.resume_command", "agents.profiles.x.env", "secrets.redact_env",
                          "audit.enabled", "tui.refresh_interval_sec"}) {
    EXPECT_NE(FindKeySpec(key), nullptr) << key;
  }
}

TEST(SchemaTest, AgentLimitDefaultsMatchTheProductDefaults) {
  auto entries = DefaultEntries();
  EXPECT_DOUBLE_EQ(entries["agents.cpus"].value.number(), 2);
  EXPECT_EQ(entries["agents.memory"].value.str(), "6G");
  EXPECT_EQ(entries["agents.pids"].value.integer(), 1024);
  EXPECT_EQ(entries["agents.network"].value.str(), "egress");
  EXPECT_EQ(entries["ssh.access"].value.str(), "iap");
}

TEST(SchemaTest, EnvironmentVariableNamesAreUnique) {
  std::set<std::string> vars;
  for (const auto& key : ConcreteKeys()) {
    EXPECT_TRUE(vars.insert(EnvVarForKey(key)).second) << key;
  }
  EXPECT_EQ(EnvVarForKey("cloud.gcp.service_account"), "CLOUDCOOP_CLOUD_GCP_SERVICE_ACCOUNT");
}

TEST(SchemaTest, BuiltinProfiles) {
  std::set<std::string> names;
  for (const auto& p : BuiltinProfiles()) names.insert(std::string(p.name));
  for (const char* want : {"shell", "claude", "codex", "aider", "gemini"}) EXPECT_TRUE(names.count(want)) << want;
  auto entries = DefaultEntries();
  EXPECT_EQ(entries["agents.profiles.claude.command"].value.str(), "claude --dangerously-skip-permissions");
  EXPECT_EQ(entries["agents.profiles.claude.resume_command"].value.str(),
            "claude --dangerously-skip-permissions --continue");
  EXPECT_EQ(entries["agents.profiles.aider.command"].value.str(), "aider --yes-always");
}

TEST(SchemaTest, ValueTextParsing) {
  const KeySpec* spec = FindKeySpec("vm.spot");
  EXPECT_TRUE(ParseValueText(*spec, "vm.spot", "TRUE")->boolean());
  EXPECT_FALSE(ParseValueText(*spec, "vm.spot", "maybe").ok());
  spec = FindKeySpec("ssh.port");
  auto bad = ParseValueText(*spec, "ssh.port", "70000");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("out of range"), std::string::npos);
  EXPECT_NE(bad.status().fix().find("65535"), std::string::npos);
  spec = FindKeySpec("agents.network");
  auto e = ParseValueText(*spec, "agents.network", "egres");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().fix().find("egress"), std::string::npos);
  spec = FindKeySpec("vm.tags");
  EXPECT_EQ(ParseValueText(*spec, "vm.tags", "a, b")->list(), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace cloudcoop
