#include "policy/rules.h"

#include <gtest/gtest.h>

namespace cloudcoop::policy {
namespace {

TEST(RulesTest, RoleAllowList) {
  for (const auto& role : AllowedServiceAccountRoles()) EXPECT_TRUE(ClassifyRole(role).allowed) << role;
  for (const char* role : {"roles/owner", "roles/editor", "roles/viewer", "roles/compute.viewer", "roles/iam.securityReviewer",
                           "roles/storage.objectViewer", "roles/billing.user", "roles/secretmanager.admin",
                           "roles/logging.admin", "roles/resourcemanager.organizationAdmin"}) {
    auto v = ClassifyRole(role);
    EXPECT_FALSE(v.allowed) << role;
    EXPECT_FALSE(v.reason.empty()) << role;
  }
}

TEST(RulesTest, DefaultServiceAccounts) {
  EXPECT_TRUE(IsDefaultServiceAccount("123-compute@developer.gserviceaccount.com"));
  EXPECT_TRUE(IsDefaultServiceAccount("P@appspot.gserviceaccount.com"));
  EXPECT_TRUE(IsDefaultServiceAccount("default"));
  EXPECT_FALSE(IsDefaultServiceAccount("agent-sandbox@p-123456.iam.gserviceaccount.com"));
  EXPECT_TRUE(CheckServiceAccountEmail("agent-sandbox@p-123456.iam.gserviceaccount.com").ok());
  EXPECT_FALSE(CheckServiceAccountEmail("AGENT@p-123456.iam.gserviceaccount.com").ok());
  EXPECT_FALSE(CheckServiceAccountEmail("ab@p-123456.iam.gserviceaccount.com").ok());
}

TEST(RulesTest, Cidrs) {
  EXPECT_TRUE(CheckCidr("10.0.0.0/8").ok());
  EXPECT_TRUE(CheckCidr("2001:db8::/32").ok());
  EXPECT_FALSE(CheckCidr("10.0.0.0").ok());
  EXPECT_FALSE(CheckCidr("10.0.0.0/40").ok());
  EXPECT_FALSE(CheckCidr("example.com/8").ok());
  EXPECT_TRUE(IsWorldCidr("0.0.0.0/0"));
  EXPECT_TRUE(IsWorldCidr("::/0"));
  EXPECT_FALSE(IsWorldCidr("0.0.0.0/1"));
}

TEST(RulesTest, SecretHeuristics) {
  EXPECT_TRUE(LooksLikeSecretName("ANTHROPIC_API_KEY"));
  EXPECT_TRUE(LooksLikeSecretName("github_token"));
  EXPECT_FALSE(LooksLikeSecretName("EDITOR"));
  EXPECT_TRUE(LooksLikeSecretValue("sk-ant-api03-abcdefghijklmnopqrstuvwxyz"));
  EXPECT_TRUE(LooksLikeSecretValue("ghp_abcdefghijklmnopqrstuvwxyz012345"));
  EXPECT_FALSE(LooksLikeSecretValue("sk-short"));
  EXPECT_FALSE(LooksLikeSecretValue("vim"));
}

}  // namespace
}  // namespace cloudcoop::policy
