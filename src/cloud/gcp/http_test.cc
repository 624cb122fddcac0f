#include "cloud/gcp/http.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "cloud/gcp/crypto.h"
#include "cloud/gcp/endpoints.h"

namespace cloudcoop::gcp {
namespace {

TEST(HttpTest, ParseUrl) {
  auto u = ParseUrl("https://compute.googleapis.com/compute/v1/projects/p?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "compute.googleapis.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/compute/v1/projects/p?x=1");
  auto v6 = ParseUrl("http://[::1]:8080/");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8080);
  EXPECT_FALSE(ParseUrl("ftp://x/").ok());
  EXPECT_FALSE(ParseUrl("http://user:pw@host/").ok());
  EXPECT_FALSE(ParseUrl("no-scheme").ok());
  EXPECT_FALSE(ParseUrl("http://host:99999/").ok());
}

TEST(HttpTest, LoopbackHosts) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.9.8.7"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("LOCALHOST"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("::2"));
  EXPECT_FALSE(IsLoopbackHost("example.com"));
}

TEST(HttpTest, CredentialsNeverTravelOverPlainHttpToRemoteHosts) {
  EXPECT_TRUE(CheckCredentialUrl("https://oauth2.googleapis.com/token", "token_uri").ok());
  EXPECT_TRUE(CheckCredentialUrl("http://127.0.0.1:5000/token", "token_uri").ok());
  EXPECT_TRUE(CheckCredentialUrl("http://169.254.169.254", "metadata").ok());
  Status st = CheckCredentialUrl("http://evil.example/token", "token_uri");
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("credentials would travel unencrypted"), std::string::npos);
}

TEST(HttpTest, EndpointOverridesUseGcloudVariables) {
  std::map<std::string, std::string> env = {
      {"CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE", "http://127.0.0.1:1234/compute/v1"},
      {"CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM", "http://127.0.0.1:1234/"},
      {"CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER", "http://127.0.0.1:1234/"},
      {"CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER", "http://127.0.0.1:1234/"},
      {"CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING", "http://127.0.0.1:1234/"},
      {"CLOUDSDK_API_ENDPOINT_OVERRIDES_MONITORING", "http://127.0.0.1:1234/"}};
  EnvLookup lookup = [&](const std::string& n) -> std::optional<std::string> {
    auto it = env.find(n);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  auto e = Endpoints::FromEnv(lookup);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->compute, "http://127.0.0.1:1234/compute/v1/");
  EXPECT_EQ(e->iam, "http://127.0.0.1:1234/");
  EXPECT_EQ(e->crm, "http://127.0.0.1:1234/");
  EXPECT_EQ(e->secretmanager, "http://127.0.0.1:1234/");
  EXPECT_EQ(e->logging, "http://127.0.0.1:1234/");
  EXPECT_EQ(e->monitoring, "http://127.0.0.1:1234/");
  auto defaults = Endpoints::FromEnv([](const std::string&) { return std::optional<std::string>(); });
  EXPECT_EQ(defaults->compute, "https://compute.googleapis.com/compute/v1/");
  env["CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE"] = "http://203.0.113.9/compute/v1/";
  auto refused = Endpoints::FromEnv(lookup);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE"), std::string::npos);
}

TEST(HttpTest, UuidsAreVersion4AndUnique) {
  std::regex v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string u = NewUuid();
    EXPECT_TRUE(std::regex_match(u, v4)) << u;
    EXPECT_TRUE(seen.insert(u).second);
  }
}

TEST(HttpTest, Encodings) {
  EXPECT_EQ(UrlEncode("a b/c@d~"), "a%20b%2Fc%40d~");
  EXPECT_EQ(FormEncode({{"grant_type", "refresh_token"}, {"x", "a&b"}}), "grant_type=refresh_token&x=a%26b");
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

}  // namespace
}  // namespace cloudcoop::gcp
