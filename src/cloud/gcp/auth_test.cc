// Every credential source against fake token endpoints on loopback (the fake GCP server), through
// the real libcurl transport.
#include "cloud/gcp/auth.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "cloud/gcp/curl_transport.h"
#include "cloud/gcp/rest_client.h"
#include "core/files.h"
#include "core/logging.h"
#include "testing/fake_gcp/fake_gcp_server.h"
#include "testing/fake_gcp/fixture.h"
#include "testing/test_util.h"

namespace cloudcoop::gcp {
namespace {

using fakegcp::FakeGcp;
using fakegcp::FakeGcpServer;
using nlohmann::json;

class AuthTest : public ::testing::Test {
 protected:
  AuthTest() : server(&gcp) { fakegcp::SeedStandardProject(gcp); }

  CredentialOptions Options(std::map<std::string, std::string> env) {
    env_ = std::move(env);
    CredentialOptions o;
    o.env = [this](const std::string& n) -> std::optional<std::string> {
      auto it = env_.find(n);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    o.gce_product_name_file = dir.Sub("no-dmi");  // not a GCE VM unless a test says so
    o.transport = &transport;
    o.clock = &clock;
    o.retry.sleeper = &sleeper;
    o.retry.clock = &clock;
    return o;
  }
  std::string Url(const std::string& path) { return server.base_url() + path; }
  // Uses the token against the fake Compute API: proves the fake accepts what the source issued.
  void ExpectTokenWorks(const std::string& token) {
    HttpRequest req;
    req.url = Url("/compute/v1/projects/test-project");
    req.headers = {{"Authorization", "Bearer " + token}};
    auto r = transport.Send(req);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200) << r->body;
  }

  FakeGcp gcp;
  FakeGcpServer server;
  CurlTransport transport;
  FakeClock clock;
  FakeSleeper sleeper{&clock};
  testing::TempDir dir;
  std::map<std::string, std::string> env_;
};

TEST_F(AuthTest, AccessTokenFileOrderFlagConfigEnv) {
  std::string flag = dir.Write("flag", "tok-flag\n");
  std::string config = dir.Write("config", "tok-config");
  std::string envf = dir.Write("env", "  tok-env \n");
  auto o = Options({{"CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", envf}});
  o.access_token_file_flag = flag;
  o.access_token_file_config = config;
  EXPECT_EQ((*(*ResolveCredentials(o))->Fetch()).value, "tok-flag");
  o.access_token_file_flag.clear();
  EXPECT_EQ((*(*ResolveCredentials(o))->Fetch()).value, "tok-config");
  o.access_token_file_config.clear();
  auto src = ResolveCredentials(o);
  EXPECT_EQ((*(*src)->Fetch()).value, "tok-env");
  EXPECT_NE((*src)->Describe().find("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"), std::string::npos);
}

TEST_F(AuthTest, BadAccessTokenFiles) {
  auto o = Options({});
  o.access_token_file_flag = dir.Sub("missing");
  auto r = (*ResolveCredentials(o))->Fetch();
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().fix().find("gcloud auth print-access-token"), std::string::npos);
  o.access_token_file_flag = dir.Write("empty", "\n");
  EXPECT_EQ((*ResolveCredentials(o))->Fetch().status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AuthTest, MetadataServerOnAVm) {
  auto o = Options({{"GCE_METADATA_HOST", "127.0.0.1:" + std::to_string(server.port())}});
  auto src = ResolveCredentials(o);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_NE((*src)->Describe().find("metadata server"), std::string::npos);
  auto t = (*src)->Fetch();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(gcp.TokensIssued("metadata"), 1);
  EXPECT_EQ(t->expiry, clock.Now() + std::chrono::seconds(3600));
  ExpectTokenWorks(t->value);
  // The fake refuses requests without Metadata-Flavor: Google, so the header was sent.
  for (const auto& req : gcp.Requests()) {
    if (req.path.find("/computeMetadata/") == 0) {
      EXPECT_EQ(req.Header("Metadata-Flavor"), "Google");
    }
  }
}

TEST_F(AuthTest, DmiProductNameDetectsGce) {
  auto o = Options({});
  o.gce_product_name_file = dir.Write("product_name", "Google Compute Engine\n");
  auto src = ResolveCredentials(o);
  ASSERT_TRUE(src.ok());
  EXPECT_NE((*src)->Describe().find("169.254.169.254"), std::string::npos);  // not fetched: no traffic there
}

std::string AuthorizedUser(const std::string& token_uri) {
  return json{{"type", "authorized_user"}, {"client_id", "cid"}, {"client_secret", "csecret"},
              {"refresh_token", "rtok"},    {"token_uri", token_uri}}
      .dump();
}

TEST_F(AuthTest, AuthorizedUserFromGcloudAdcFile) {
  gcp.AddOAuthClient("cid", "csecret", "rtok");
  std::string cfg = dir.Sub("gcloud");
  dir.Write("gcloud/application_default_credentials.json", AuthorizedUser(Url("/token")));
  auto src = ResolveCredentials(Options({{"CLOUDSDK_CONFIG", cfg}}));
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_NE((*src)->Describe().find("authorized_user"), std::string::npos);
  auto t = (*src)->Fetch();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ExpectTokenWorks(t->value);
  auto body = gcp.Bodies("POST", "/token").back();
  EXPECT_NE(body.find("grant_type=refresh_token"), std::string::npos);
  EXPECT_NE(body.find("refresh_token=rtok"), std::string::npos);
}

TEST_F(AuthTest, AdcFileUnderHomeWhenNoCloudsdkConfig) {
  gcp.AddOAuthClient("cid", "csecret", "rtok");
  dir.Write("home/.config/gcloud/application_default_credentials.json", AuthorizedUser(Url("/token")));
  auto src = ResolveCredentials(Options({{"HOME", dir.Sub("home")}}));
  ASSERT_TRUE(src.ok());
  EXPECT_TRUE((*src)->Fetch().ok());
}

TEST_F(AuthTest, RevokedRefreshTokenIsPermissionDeniedWithLoginFix) {
  gcp.AddOAuthClient("cid", "csecret", "another");
  std::string f = dir.Write("adc.json", AuthorizedUser(Url("/token")));
  auto r = (*ResolveCredentials(Options({{"GOOGLE_APPLICATION_CREDENTIALS", f}})))->Fetch();
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("invalid_grant"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().fix().find("gcloud auth application-default login"), std::string::npos);
}

TEST_F(AuthTest, GoogleApplicationCredentialsUnreadableIsAnErrorNotAFallThrough) {
  dir.Write("gcloud/application_default_credentials.json", AuthorizedUser(Url("/token")));
  auto src = ResolveCredentials(
      Options({{"GOOGLE_APPLICATION_CREDENTIALS", dir.Sub("nope.json")}, {"CLOUDSDK_CONFIG", dir.Sub("gcloud")}}));
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.status().message().find("GOOGLE_APPLICATION_CREDENTIALS=" + dir.Sub("nope.json") + " cannot be read"),
            std::string::npos);
}

TEST_F(AuthTest, ImpersonatedServiceAccount) {
  gcp.AddOAuthClient("cid", "csecret", "rtok");
  gcp.AllowImpersonation(fakegcp::kServiceAccount);
  json adc = {{"type", "impersonated_service_account"},
              {"service_account_impersonation_url",
               Url(std::string("/v1/projects/-/serviceAccounts/") + fakegcp::kServiceAccount + ":generateAccessToken")},
              {"delegates", json::array()},
              {"source_credentials", json::parse(AuthorizedUser(Url("/token")))}};
  std::string f = dir.Write("imp.json", adc.dump());
  auto src = ResolveCredentials(Options({{"GOOGLE_APPLICATION_CREDENTIALS", f}}));
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_NE((*src)->Describe().find("impersonation of agent-sandbox@test-project"), std::string::npos);
  auto t = (*src)->Fetch();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(gcp.TokensIssued("oauth-refresh"), 1);
  EXPECT_EQ(gcp.TokensIssued("impersonation"), 1);
  ExpectTokenWorks(t->value);
  json body = json::parse(gcp.Bodies("POST", ":generateAccessToken").back());
  EXPECT_EQ(body["scope"][0], kCloudPlatformScope);
  EXPECT_EQ(body["lifetime"], "3600s");
}

TEST_F(AuthTest, ImpersonationRefusedNamesTheRole) {
  gcp.AddOAuthClient("cid", "csecret", "rtok");
  json adc = {{"type", "impersonated_service_account"},
              {"service_account_impersonation_url", Url("/v1/projects/-/serviceAccounts/other@p.iam.gserviceaccount.com:generateAccessToken")},
              {"source_credentials", json::parse(AuthorizedUser(Url("/token")))}};
  auto r = (*ResolveCredentials(Options({{"GOOGLE_APPLICATION_CREDENTIALS", dir.Write("i.json", adc.dump())}})))->Fetch();
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().fix().find("roles/iam.serviceAccountTokenCreator"), std::string::npos);
}

json ExternalAccount(const std::string& sts, json source, const std::string& impersonation = "") {
  json j = {{"type", "external_account"},
            {"audience", "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/gh"},
            {"subject_token_type", "urn:ietf:params:oauth:token-type:jwt"},
            {"token_url", sts},
            {"credential_source", source}};
  if (!impersonation.empty()) j["service_account_impersonation_url"] = impersonation;
  return j;
}

TEST_F(AuthTest, ExternalAccountWithFileSourcedSubjectToken) {
  const std::string aud = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/gh";
  gcp.AddSubjectToken(aud, "oidc-subject-123");
  std::string token_file = dir.Write("oidc.txt", "oidc-subject-123\n");
  std::string f = dir.Write("wif.json", ExternalAccount(Url("/v1/token"), {{"file", token_file}}).dump());
  auto src = ResolveCredentials(Options({{"GOOGLE_APPLICATION_CREDENTIALS", f}}));
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_NE((*src)->Describe().find("workload identity federation"), std::string::npos);
  auto t = (*src)->Fetch();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ExpectTokenWorks(t->value);
  std::string body = gcp.Bodies("POST", "/v1/token").back();
  EXPECT_NE(body.find("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"), std::string::npos);
  EXPECT_NE(body.find("subject_token=oidc-subject-123"), std::string::npos);
}

TEST_F(AuthTest, ExternalAccountJsonFormatThenImpersonation) {
  const std::string aud = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/gh";
  gcp.AddSubjectToken(aud, "id-tok");
  gcp.AllowImpersonation(fakegcp::kServiceAccount);
  std::string token_file = dir.Write("oidc.json", R"({"id_token":"id-tok","other":1})");
  json src_json = {{"file", token_file}, {"format", {{"type", "json"}, {"subject_token_field_name", "id_token"}}}};
  std::string f = dir.Write(
      "wif.json", ExternalAccount(Url("/v1/token"), src_json,
                                  Url(std::string("/v1/projects/-/serviceAccounts/") + fakegcp::kServiceAccount +
                                      ":generateAccessToken"))
                      .dump());
  auto t = (*ResolveCredentials(Options({{"GOOGLE_APPLICATION_CREDENTIALS", f}})))->Fetch();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(gcp.TokensIssued("sts"), 1);
  EXPECT_EQ(gcp.TokensIssued("impersonation"), 1);
  ExpectTokenWorks(t->value);
}

TEST_F(AuthTest, ExternalAccountUrlSourcedSubjectToken) {
  const std::string aud = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/gh";
  gcp.AddSubjectToken(aud, "fake-metadata-token-1-1000");
  // The subject token comes from a URL; the fake's metadata server hands out a token there.
  json src_json = {{"url", Url("/computeMetadata/v1/instance/service-accounts/default/token")},
                   {"headers", {{"Metadata-Flavor", "Google"}}},
                   {"format", {{"type", "json"}, {"subject_token_field_name", "access_token"}}}};
  std::string f = dir.Write("wif.json", ExternalAccount(Url("/v1/token"), src_json).dump());
  auto t = (*ResolveCredentials(Options({{"GOOGLE_APPLICATION_CREDENTIALS", f}})))->Fetch();
  // The metadata token the fake issued is not a registered subject token unless it matches; either
  // way the exchange reached STS with the URL-sourced token.
  std::string body = gcp.Bodies("POST", "/v1/token").back();
  EXPECT_NE(body.find("subject_token=fake-metadata-token-"), std::string::npos) << body;
  (void)t;
}

TEST_F(AuthTest, ExternalAccountExecutableSourceIsUnsupported) {
  std::string f = dir.Write("wif.json", ExternalAccount(Url("/v1/token"), {{"executable", {{"command", "/bin/x"}}}}).dump());
  auto src = ResolveCredentials(Options({{"GOOGLE_APPLICATION_CREDENTIALS", f}}));
  EXPECT_EQ(src.status().code(), StatusCode::kUnimplemented);
}

struct RsaKey {
  std::string private_pem;
  std::string public_pem;
};

RsaKey MakeRsaKey() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  RsaKey k;
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(pub, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(priv, &data);
  k.private_pem.assign(data, static_cast<size_t>(n));
  n = BIO_get_mem_data(pub, &data);
  k.public_pem.assign(data, static_cast<size_t>(n));
  BIO_free(priv);
  BIO_free(pub);
  EVP_PKEY_free(key);
  return k;
}

json ServiceAccountKeyFile(const RsaKey& k, const std::string& token_uri) {
  return {{"type", "service_account"},         {"project_id", "test-project"},
          {"private_key_id", "abc123"},        {"private_key", k.private_pem},
          {"client_email", fakegcp::kServiceAccount}, {"token_uri", token_uri}};
}

TEST_F(AuthTest, ServiceAccountKeyFilesAreRefusedWithAnExplanation) {
  RsaKey k = MakeRsaKey();
  std::string f = dir.Write("key.json", ServiceAccountKeyFile(k, Url("/token")).dump());
  auto src = ResolveCredentials(Options({{"GOOGLE_APPLICATION_CREDENTIALS", f}}));
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(src.status().message().find("is a service-account key file"), std::string::npos);
  EXPECT_NE(src.status().fix().find("--impersonate-service-account"), std::string::npos);
  EXPECT_NE(src.status().fix().find("workload identity federation"), std::string::npos);
  EXPECT_NE(src.status().fix().find("cloud.gcp.allow_key_files"), std::string::npos);
  EXPECT_EQ(gcp.CountRequests("", "/token"), 0);
}

TEST_F(AuthTest, ServiceAccountKeyFileWhenExplicitlyAllowed) {
  RsaKey k = MakeRsaKey();
  gcp.AddServiceAccountPublicKey(fakegcp::kServiceAccount, k.public_pem);
  std::string f = dir.Write("key.json", ServiceAccountKeyFile(k, Url("/token")).dump());
  auto o = Options({{"GOOGLE_APPLICATION_CREDENTIALS", f}});
  o.allow_key_files = true;
  auto src = ResolveCredentials(o);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  auto t = (*src)->Fetch();
  ASSERT_TRUE(t.ok()) << t.status().ToString();  // the fake verified the RS256 signature
  EXPECT_EQ(gcp.TokensIssued("oauth-jwt"), 1);
  ExpectTokenWorks(t->value);
  // A key the fake does not know fails its signature check.
  RsaKey other = MakeRsaKey();
  std::string f2 = dir.Write("other.json", ServiceAccountKeyFile(other, Url("/token")).dump());
  o = Options({{"GOOGLE_APPLICATION_CREDENTIALS", f2}});
  o.allow_key_files = true;
  auto bad = (*ResolveCredentials(o))->Fetch();
  EXPECT_EQ(bad.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(bad.status().message().find("Invalid JWT Signature"), std::string::npos);
}

TEST_F(AuthTest, NoCredentialsAtAll) {
  auto src = ResolveCredentials(Options({{"HOME", dir.Sub("empty-home")}}));
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.status().message().find("no Google Cloud credentials found"), std::string::npos);
  EXPECT_NE(src.status().fix().find("gcloud auth application-default login"), std::string::npos);
}

TEST_F(AuthTest, PlainHttpTokenEndpointOffLoopbackIsRefused) {
  std::string f = dir.Write("adc.json", AuthorizedUser("http://oauth.example/token"));
  auto src = ResolveCredentials(Options({{"GOOGLE_APPLICATION_CREDENTIALS", f}}));
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.status().message().find("credentials would travel unencrypted"), std::string::npos);
}

TEST_F(AuthTest, TokensAreCachedUntilShortlyBeforeExpiry) {
  gcp.AddOAuthClient("cid", "csecret", "rtok");
  std::string f = dir.Write("adc.json", AuthorizedUser(Url("/token")));
  CachingTokenSource cache(*ResolveCredentials(Options({{"GOOGLE_APPLICATION_CREDENTIALS", f}})), &clock);
  auto a = cache.Token();
  ASSERT_TRUE(a.ok());
  clock.Advance(std::chrono::minutes(50));
  EXPECT_EQ(*cache.Token(), *a);
  EXPECT_EQ(cache.fetches(), 1);
  clock.Advance(std::chrono::minutes(6));  // within 5 minutes of the 60-minute expiry
  auto b = cache.Token();
  EXPECT_NE(*b, *a);
  EXPECT_EQ(cache.fetches(), 2);
  cache.Invalidate();
  EXPECT_NE(*cache.Token(), *b);
  EXPECT_EQ(gcp.TokensIssued("oauth-refresh"), 3);
}

TEST_F(AuthTest, ARejectedTokenIsRefreshedOnce) {
  gcp.AddOAuthClient("cid", "csecret", "rtok");
  std::string f = dir.Write("adc.json", AuthorizedUser(Url("/token")));
  CachingTokenSource cache(*ResolveCredentials(Options({{"GOOGLE_APPLICATION_CREDENTIALS", f}})), &clock);
  ASSERT_TRUE(cache.Token().ok());
  fakegcp::Fault f401;
  f401.http_status = 401;
  f401.reason = "authError";
  f401.message = "Request had invalid authentication credentials.";
  f401.path_contains = "/compute/";
  gcp.AddFault(f401);
  RetryOptions ro;
  ro.sleeper = &sleeper;
  ro.clock = &clock;
  RestClient rest(&transport, &cache, ro);
  RestCall call;
  call.url = Url("/compute/v1/projects/test-project");
  call.what = "compute.projects.get";
  auto r = rest.Call(call);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(cache.fetches(), 2);
}

TEST_F(AuthTest, TokensNeverReachTheLog) {
  gcp.AddOAuthClient("cid", "csecret", "rtok");
  std::string f = dir.Write("adc.json", AuthorizedUser(Url("/token")));
  // Capture stderr (where the log goes) at debug level through a whole authenticated call.
  std::string log_path = dir.Sub("stderr.log");
  fflush(stderr);
  int saved = dup(2);
  FILE* captured = freopen(log_path.c_str(), "w", stderr);
  ASSERT_NE(captured, nullptr);
  LogLevel old = GetLogLevel();
  SetLogLevel(LogLevel::kDebug);
  CachingTokenSource cache(*ResolveCredentials(Options({{"GOOGLE_APPLICATION_CREDENTIALS", f}})), &clock);
  RetryOptions ro;
  ro.sleeper = &sleeper;
  ro.clock = &clock;
  RestClient rest(&transport, &cache, ro);
  RestCall call;
  call.url = Url("/compute/v1/projects/test-project");
  call.what = "compute.projects.get";
  auto r = rest.Call(call);
  SetLogLevel(old);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  ASSERT_TRUE(r.ok());
  std::string token = *cache.Token();
  std::string log = *ReadFile(log_path);
  EXPECT_NE(log.find("compute/v1/projects/test-project -> HTTP 200"), std::string::npos) << log;
  EXPECT_EQ(log.find(token), std::string::npos) << log;
  EXPECT_EQ(log.find("rtok"), std::string::npos);
  EXPECT_EQ(log.find("csecret"), std::string::npos);
}

}  // namespace
}  // namespace cloudcoop::gcp
