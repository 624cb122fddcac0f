// Every security rule of the configuration, with accept and refuse cases.
#include <gtest/gtest.h>

#include "config/loader.h"

namespace cloudcoop {
namespace {

const HostFacts kHost{2, 24ULL << 30, 4194304};

std::vector<Status> Validate(const std::vector<std::string>& sets) {
  EntryMap entries = DefaultEntries();
  for (const auto& s : sets) {
    auto kv = ParseOverride(s);
    EXPECT_TRUE(kv.ok()) << s << ": " << kv.status().ToString();
    if (kv.ok()) entries[kv->first] = Entry{kv->second, Layer::kFlag, "--set"};
  }
  return ValidateEntries(entries, kHost);
}

std::string Messages(const std::vector<Status>& problems) {
  std::string out;
  for (const auto& p : problems) out += p.message() + "\n";
  return out;
}

const std::vector<std::string> kGoodGcp = {"cloud.provider=gcp", "cloud.gcp.project=agent-project",
                                           "cloud.gcp.service_account=agent-sandbox@agent-project.iam.gserviceaccount.com"};

std::vector<std::string> With(std::vector<std::string> base, std::vector<std::string> more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

TEST(ValidateTest, GoodGcpConfigPasses) { EXPECT_TRUE(Validate(kGoodGcp).empty()) << Messages(Validate(kGoodGcp)); }

TEST(ValidateTest, GcpRequiresServiceAccountAndNamesBothKeys) {
  auto problems = Validate({"cloud.provider=gcp", "cloud.gcp.project=agent-project"});
  ASSERT_EQ(problems.size(), 1u) << Messages(problems);
  EXPECT_NE(problems[0].message().find("cloud.provider = gcp requires cloud.gcp.service_account"), std::string::npos);
  EXPECT_NE(problems[0].fix().find("cloudcoop config set cloud.gcp.service_account"), std::string::npos);
}

TEST(ValidateTest, ServiceAccountIgnoredForLocal) { EXPECT_TRUE(Validate({"cloud.provider=local"}).empty()); }

TEST(ValidateTest, DefaultComputeServiceAccountRefused) {
  auto problems = Validate({"cloud.provider=gcp", "cloud.gcp.project=agent-project",
                            "cloud.gcp.service_account=123456789012-compute@developer.gserviceaccount.com"});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message().find("default service account"), std::string::npos);
  EXPECT_NE(problems[0].message().find("cloud.provider = gcp"), std::string::npos);
}

TEST(ValidateTest, AppEngineDefaultAndMalformedEmailsRefused) {
  EXPECT_EQ(Validate({"cloud.provider=gcp", "cloud.gcp.project=agent-project",
                      "cloud.gcp.service_account=agent-project@appspot.gserviceaccount.com"})
                .size(),
            1u);
  auto problems = Validate({"cloud.provider=gcp", "cloud.gcp.project=agent-project",
                            "cloud.gcp.service_account=someone@example.com"});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message().find("not a user-managed service account"), std::string::npos);
}

TEST(ValidateTest, AllowedRolesAccepted) {
  EXPECT_TRUE(Validate(With(kGoodGcp, {"cloud.gcp.allowed_roles=roles/logging.logWriter,roles/monitoring.metricWriter,"
                                       "roles/artifactregistry.reader,roles/secretmanager.secretAccessor"}))
                  .empty());
}

TEST(ValidateTest, ForbiddenRolesRefusedWithReason) {
  struct Case {
    const char* role;
    const char* reason;
  } cases[] = {
      {"roles/compute.instanceAdmin.v1", "instances, disks or firewalls"},
      {"roles/iam.serviceAccountUser", "other identities"},
      {"roles/iam.serviceAccountTokenCreator", "other identities"},
      {"roles/storage.objectCreator", "Cloud Storage"},
      {"roles/billing.viewer", "billing"},
      {"roles/editor", "primitive role"},
      {"roles/owner", "primitive role"},
      {"roles/pubsub.admin", "administrative role"},
      {"roles/pubsub.publisher", "not on the allow-list"},
  };
  for (const auto& c : cases) {
    auto problems = Validate(With(kGoodGcp, {std::string("cloud.gcp.allowed_roles=roles/logging.logWriter,") + c.role}));
    ASSERT_EQ(problems.size(), 1u) << c.role;
    EXPECT_NE(problems[0].message().find(c.role), std::string::npos);
    EXPECT_NE(problems[0].message().find(c.reason), std::string::npos) << problems[0].message();
    EXPECT_NE(problems[0].message().find("agent-sandbox@"), std::string::npos) << "names the service account";
  }
}

TEST(ValidateTest, DirectSshToTheWorldRefused) {
  for (const char* range : {"0.0.0.0/0", "::/0"}) {
    auto problems = Validate({"ssh.access=direct", std::string("ssh.source_ranges=203.0.113.4/32,") + range});
    ASSERT_EQ(problems.size(), 1u) << range;
    EXPECT_NE(problems[0].message().find("ssh.access = direct"), std::string::npos);
    EXPECT_NE(problems[0].message().find("ssh.source_ranges"), std::string::npos);
    EXPECT_NE(problems[0].message().find(range), std::string::npos);
  }
}

TEST(ValidateTest, DirectSshFromOwnAddressAccepted) {
  EXPECT_TRUE(Validate({"ssh.access=direct", "ssh.source_ranges=203.0.113.4/32,2001:db8::/48"}).empty());
}

TEST(ValidateTest, DirectSshNeedsRanges) {
  auto problems = Validate({"ssh.access=direct"});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message().find("requires ssh.source_ranges"), std::string::npos);
}

TEST(ValidateTest, IapWithWorldRangeIsStillASyntaxCheckOnly) {
  // The range is not used with IAP, so it is not refused, but malformed ranges always are.
  EXPECT_TRUE(Validate({"ssh.source_ranges=0.0.0.0/0"}).empty());
  auto problems = Validate({"ssh.source_ranges=10.0.0.0/33"});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message().find("not a CIDR"), std::string::npos);
}

TEST(ValidateTest, AgentLimitsWithinHost) {
  EXPECT_TRUE(Validate({"agents.cpus=2", "agents.memory=24G", "agents.pids=4194304"}).empty());
  auto problems = Validate({"agents.cpus=3"});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message().find("more than this host's 2 CPUs"), std::string::npos);
  problems = Validate({"agents.memory=25G"});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message().find("agents.memory = 25G"), std::string::npos);
}

TEST(ValidateTest, AgentLimitsMustBePositive) {
  EXPECT_FALSE(ParseOverride("agents.cpus=0").ok());
  EXPECT_FALSE(ParseOverride("agents.pids=0").ok());
  EXPECT_FALSE(ParseOverride("agents.memory=0").ok());
  EXPECT_FALSE(ParseOverride("agents.cpus=-1").ok());
}

TEST(ValidateTest, NetworkModeFromTheEnum) {
  EXPECT_TRUE(ParseOverride("agents.network=none").ok());
  EXPECT_TRUE(ParseOverride("agents.network=host").ok());
  auto bad = ParseOverride("agents.network=bridge");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("none, egress, host"), std::string::npos);
}

TEST(ValidateTest, DefaultProfileMustExist) {
  auto problems = Validate({"agents.default_profile=claud"});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].fix(), "did you mean \"claude\"?");
}

TEST(ValidateTest, ProjectAndZoneShape) {
  auto problems = Validate({"cloud.provider=gcp", "cloud.gcp.project=My Project",
                            "cloud.gcp.service_account=agent-sandbox@agent-project.iam.gserviceaccount.com",
                            "cloud.gcp.zone=uscentral"});
  EXPECT_EQ(problems.size(), 2u);
}

// The shapes are checked by hand-written matchers (no std::regex); each side of each boundary.
TEST(ValidateTest, ProjectZoneAndRuleShapesAtTheirBoundaries) {
  auto gcp = [](const std::string& key, const std::string& value) {
    return Validate(With(kGoodGcp, {key + "=" + value})).size();
  };
  for (const std::string& ok : std::vector<std::string>{"abcdef", "a-2345", "agent-project", "a" + std::string(28, 'b') + "9"})
    EXPECT_EQ(gcp("cloud.gcp.project", ok), 0u) << ok;
  for (const std::string& bad : std::vector<std::string>{"abcde", "1bcdef", "abcde-", "Abcdef", "abc_def", "a" + std::string(29, 'b') + "9", ""})
    EXPECT_EQ(gcp("cloud.gcp.project", bad), 1u) << bad;
  for (const std::string& ok : std::vector<std::string>{"us-central1-a", "europe-north2-b", "a-b1-c"}) EXPECT_EQ(gcp("cloud.gcp.zone", ok), 0u) << ok;
  for (const std::string& bad : std::vector<std::string>{"us-central1", "us-central-a", "us-central1-ab", "us-1-a", "-central1-a", "us-central1-1",
                          "US-central1-a", "us-central1-a-"})
    EXPECT_EQ(gcp("cloud.gcp.zone", bad), 1u) << bad;
  for (const std::string& ok : std::vector<std::string>{"a", "ab", "allow-iap-ssh", "a" + std::string(61, '-') + "z"})
    EXPECT_EQ(gcp("cloud.gcp.firewall_rule", ok), 0u) << ok;
  for (const std::string& bad : std::vector<std::string>{"1a", "a-", "A", "a_b", "a" + std::string(62, 'b') + "c"})
    EXPECT_EQ(gcp("cloud.gcp.firewall_rule", bad), 1u) << bad;
}

TEST(ValidateTest, ProfileAndEnvNameShapes) {
  auto with_env = [](const std::string& profile, const std::string& env_name) {
    EntryMap entries = DefaultEntries();
    entries["agents.profiles." + profile + ".command"] = Entry{Value{std::string("x")}, Layer::kFlag, "--set"};
    entries["agents.profiles." + profile + ".env"] =
        Entry{Value{std::map<std::string, std::string>{{env_name, "v"}}}, Layer::kFlag, "--set"};
    return ValidateEntries(entries, kHost).size();
  };
  EXPECT_EQ(with_env("my_agent-2", "API_KEY_2"), 0u);
  EXPECT_EQ(with_env("p", "_x"), 0u);
  EXPECT_EQ(with_env(std::string(32, 'p'), "lower"), 0u);
  EXPECT_EQ(with_env("p", "2X"), 1u);
  EXPECT_EQ(with_env("p", "A-B"), 1u);
  EXPECT_EQ(with_env("p", ""), 1u);
  EXPECT_EQ(with_env(std::string(33, 'p'), "X"), 1u);
  EXPECT_EQ(with_env("2p", "X"), 1u);
  EXPECT_EQ(with_env("P", "X"), 1u);
}

}  // namespace
}  // namespace cloudcoop
