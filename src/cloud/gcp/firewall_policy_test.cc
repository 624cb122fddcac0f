// Firewall fixtures from security-checks.md section 11.
#include "cloud/gcp/firewall_policy.h"

#include <gtest/gtest.h>

#include "testing/fake_gcp/fixture.h"

namespace cloudcoop::gcp {
namespace {

const VmTargets kVm{"cloudcoop-vpc", {"cloudcoop-agent-host"}, {fakegcp::kServiceAccount}};

Firewall Rule(const std::string& name, std::vector<FirewallPorts> allowed, std::vector<std::string> sources) {
  Firewall f;
  f.name = name;
  f.network = "https://compute.googleapis.com/compute/v1/projects/test-project/global/networks/cloudcoop-vpc";
  f.allowed = std::move(allowed);
  f.source_ranges = std::move(sources);
  return f;
}

Firewall Desired() { return DesiredIapRule(fakegcp::GcpTestSettings()); }

TEST(FirewallPolicyTest, OpenPortLogic) {
  EXPECT_TRUE(CoversTcpPort({{"tcp", {}}}, 22));                  // ports absent
  EXPECT_TRUE(CoversTcpPort({{"tcp", {"20-25"}}}, 22));           // a range
  EXPECT_FALSE(CoversTcpPort({{"tcp", {"23-25"}}}, 22));
  EXPECT_TRUE(CoversTcpPort({{"all", {}}}, 22));                  // every protocol
  EXPECT_TRUE(CoversTcpPort({{"6", {"22"}}}, 22));                // protocol number
  EXPECT_FALSE(CoversTcpPort({{"udp", {"22"}}}, 22));
  EXPECT_TRUE(CoversTcpPort({{"udp", {"53"}}, {"tcp", {"80", "22"}}}, 22));
}

TEST(FirewallPolicyTest, DesiredRuleIsIapOnlyToTheServiceAccount) {
  Firewall d = Desired();
  EXPECT_EQ(d.name, "cloudcoop-allow-iap-ssh");
  EXPECT_EQ(d.source_ranges, std::vector<std::string>{"35.235.240.0/20"});
  EXPECT_EQ(d.target_service_accounts, std::vector<std::string>{fakegcp::kServiceAccount});
  EXPECT_TRUE(d.log_enabled);
  EXPECT_TRUE(IapRuleProblems(d, d, kVm).empty());
}

TEST(FirewallPolicyTest, IapRuleProblemsAreNamed) {
  Firewall a = Desired();
  a.log_enabled = false;
  a.source_ranges = {"35.235.240.0/20", "0.0.0.0/0"};
  a.allowed = {{"tcp", {"22", "3389"}}};
  auto p = IapRuleProblems(a, Desired(), kVm);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_NE(p[0].find("not only 35.235.240.0/20"), std::string::npos);
  EXPECT_NE(p[1].find("not only tcp:22"), std::string::npos);
  EXPECT_EQ(p[2], "logging is off");
  Firewall other_target = Desired();
  other_target.target_service_accounts = {"someone@else.iam.gserviceaccount.com"};
  EXPECT_EQ(IapRuleProblems(other_target, Desired(), kVm).size(), 1u);
}

TEST(FirewallPolicyTest, WorldOpenRules) {
  std::vector<Firewall> rules = {
      Desired(),
      Rule("ssh-world", {{"tcp", {"22"}}}, {"0.0.0.0/0"}),            // no targets: every instance
      Rule("all-v6", {{"all", {}}}, {"::/0"}),                          // IPv6, every port
      Rule("web", {{"tcp", {"443"}}}, {"0.0.0.0/0"}),                   // world but not SSH: other ingress
      Rule("internal", {{"tcp", {"0-65535"}}}, {"10.0.0.0/8"}),        // not world: other ingress
  };
  Firewall disabled = Rule("disabled", {{"tcp", {"22"}}}, {"0.0.0.0/0"});
  disabled.disabled = true;
  Firewall elsewhere = Rule("elsewhere", {{"tcp", {"22"}}}, {"0.0.0.0/0"});
  elsewhere.network = "projects/test-project/global/networks/default";
  Firewall other_vm = Rule("other-vm", {{"tcp", {"22"}}}, {"0.0.0.0/0"});
  other_vm.target_tags = {"web-servers"};
  Firewall egress = Rule("egress", {{"all", {}}}, {});
  egress.direction = "EGRESS";
  egress.destination_ranges = {"0.0.0.0/0"};
  rules.insert(rules.end(), {disabled, elsewhere, other_vm, egress});
  FirewallReport r = EvaluateFirewalls(rules, kVm, Desired());
  EXPECT_TRUE(r.iap_ok());
  ASSERT_EQ(r.world_open.size(), 2u);
  EXPECT_EQ(r.world_open[0].rule.name, "ssh-world");
  EXPECT_EQ(r.world_open[1].rule.name, "all-v6");
  EXPECT_EQ(r.open_count(), 2);
  ASSERT_EQ(r.other_ingress.size(), 2u);
  EXPECT_EQ(r.other_ingress[0].rule.name, "web");
  EXPECT_EQ(r.other_ingress[1].rule.name, "internal");
}

TEST(FirewallPolicyTest, HigherPriorityDenyShadowsAnAllow) {
  Firewall allow = Rule("ssh-world", {{"tcp", {"22"}}}, {"0.0.0.0/0", "::/0"});
  allow.priority = 1000;
  Firewall deny4;
  deny4.name = "deny-ssh-v4";
  deny4.network = allow.network;
  deny4.denied = {{"tcp", {"22"}}};
  deny4.source_ranges = {"0.0.0.0/0"};
  deny4.priority = 900;
  // Only IPv4 is denied: the rule still opens SSH over IPv6.
  FirewallReport partial = EvaluateFirewalls({Desired(), allow, deny4}, kVm, Desired());
  ASSERT_EQ(partial.world_open.size(), 1u);
  EXPECT_FALSE(partial.world_open[0].shadowed);
  Firewall deny6 = deny4;
  deny6.name = "deny-ssh-v6";
  deny6.source_ranges = {"::/0"};
  FirewallReport both = EvaluateFirewalls({Desired(), allow, deny4, deny6}, kVm, Desired());
  ASSERT_EQ(both.world_open.size(), 1u);
  EXPECT_TRUE(both.world_open[0].shadowed);
  EXPECT_EQ(both.open_count(), 0);
  // A deny of lower precedence (higher number) does not shadow.
  deny4.priority = deny6.priority = 2000;
  EXPECT_EQ(EvaluateFirewalls({Desired(), allow, deny4, deny6}, kVm, Desired()).open_count(), 1);
}

TEST(FirewallPolicyTest, AMisconfiguredIapRuleIsItselfAFinding) {
  Firewall ours = Desired();
  ours.source_ranges = {"0.0.0.0/0"};
  FirewallReport r = EvaluateFirewalls({ours}, kVm, Desired());
  EXPECT_FALSE(r.iap_ok());
  ASSERT_EQ(r.world_open.size(), 1u);
  EXPECT_EQ(r.world_open[0].rule.name, "cloudcoop-allow-iap-ssh");
  EXPECT_FALSE(EvaluateFirewalls({}, kVm, Desired()).iap_rule.has_value());
}

}  // namespace
}  // namespace cloudcoop::gcp
