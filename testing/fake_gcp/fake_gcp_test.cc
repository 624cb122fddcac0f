// The fake GCP itself: validation, Google-style errors, operation semantics, auth, faults.
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "testing/fake_gcp/fake_gcp.h"
#include "testing/fake_gcp/fake_gcp_server.h"
#include "testing/fake_gcp/fixture.h"

namespace cloudcoop::fakegcp {
namespace {

using nlohmann::json;

Response Call(FakeGcp& gcp, const std::string& method, const std::string& path, const std::string& body = "",
              const std::string& token = kToken) {
  std::vector<gcp::HttpHeader> headers;
  if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
  return gcp.HandleUrl(method, std::string("http://127.0.0.1:9") + path, headers, body);
}

const std::string kBase = std::string("/compute/v1/projects/") + kProject;

std::string MinimalInstance(const std::string& name) {
  return json{{"name", name},
              {"machineType", std::string("zones/") + kZone + "/machineTypes/e2-small"},
              {"disks", json::array({{{"boot", true}, {"initializeParams", {{"sourceImage", "x"}}}}})},
              {"networkInterfaces", json::array({{{"network", std::string("global/networks/") + kNetwork}}})}}
      .dump();
}

class FakeGcpTest : public ::testing::Test {
 protected:
  void SetUp() override { SeedStandardProject(gcp); }
  FakeGcp gcp;
};

TEST_F(FakeGcpTest, MissingInstanceIsGoogleStyle404) {
  Response r = Call(gcp, "GET", kBase + "/zones/" + kZone + "/instances/nope");
  EXPECT_EQ(r.status, 404);
  json j = json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], 404);
  EXPECT_EQ(j["error"]["errors"][0]["reason"], "notFound");
  EXPECT_EQ(j["error"]["status"], "NOT_FOUND");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("instances/nope' was not found"), std::string::npos);
}

TEST_F(FakeGcpTest, RequiresAValidBearerToken) {
  EXPECT_EQ(Call(gcp, "GET", kBase, "", "").status, 401);
  EXPECT_EQ(Call(gcp, "GET", kBase, "", "wrong-token").status, 401);
  EXPECT_EQ(Call(gcp, "GET", kBase).status, 200);
}

TEST_F(FakeGcpTest, RejectsUnknownFieldsAndWrongTypes) {
  json body = json::parse(MinimalInstance("vm1"));
  body["shieldedInstanceConfig"] = {{"enableSecureBoot", true}, {"enableSecretSauce", true}};
  Response r = Call(gcp, "POST", kBase + "/zones/" + kZone + "/instances", body.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("Unknown name \\\"enableSecretSauce\\\" at 'resource.shieldedInstanceConfig'"), std::string::npos)
      << r.body;
  body = json::parse(MinimalInstance("vm1"));
  body["canIpForward"] = "no";
  r = Call(gcp, "POST", kBase + "/zones/" + kZone + "/instances", body.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("resource.canIpForward' (TYPE_BOOL)"), std::string::npos) << r.body;
  body = json::parse(MinimalInstance("vm1"));
  body["disks"][0]["initializeParams"]["diskSizeGb"] = "fifty";
  EXPECT_EQ(Call(gcp, "POST", kBase + "/zones/" + kZone + "/instances", body.dump()).status, 400);
  EXPECT_EQ(gcp.InstanceCount(), 0);
}

TEST_F(FakeGcpTest, UnknownQueryParameterIsRefused) {
  Response r = Call(gcp, "GET", kBase + "/zones/" + kZone + "/instances?maxResult=5");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("Unknown name \\\"maxResult\\\""), std::string::npos);
}

TEST_F(FakeGcpTest, InsertOperationKeepsItsNameAndSelfLinkUntilDone) {
  Response r = Call(gcp, "POST", kBase + "/zones/" + kZone + "/instances?requestId=r1", MinimalInstance("vm1"));
  ASSERT_EQ(r.status, 200) << r.body;
  json op = json::parse(r.body);
  EXPECT_EQ(op["status"], "RUNNING");
  std::string name = op["name"];
  Response w = Call(gcp, "POST", kBase + "/zones/" + kZone + "/operations/" + name + "/wait");
  json done = json::parse(w.body);
  EXPECT_EQ(done["status"], "DONE");
  EXPECT_EQ(done["name"], name);
  EXPECT_EQ(done["selfLink"], op["selfLink"]);
  json in = json::parse(Call(gcp, "GET", kBase + "/zones/" + kZone + "/instances/vm1").body);
  EXPECT_EQ(in["status"], "RUNNING");
  EXPECT_EQ(in["networkInterfaces"][0]["name"], "nic0");
  EXPECT_FALSE(in["networkInterfaces"][0].contains("accessConfigs"));
}

TEST_F(FakeGcpTest, SameRequestIdAnswersWithTheFirstOperation) {
  Response a = Call(gcp, "POST", kBase + "/zones/" + kZone + "/instances?requestId=r1", MinimalInstance("vm1"));
  Response b = Call(gcp, "POST", kBase + "/zones/" + kZone + "/instances?requestId=r1", MinimalInstance("vm1"));
  EXPECT_EQ(json::parse(a.body)["name"], json::parse(b.body)["name"]);
  EXPECT_EQ(gcp.InstanceCount(), 1);
  Response c = Call(gcp, "POST", kBase + "/zones/" + kZone + "/instances?requestId=r2", MinimalInstance("vm1"));
  EXPECT_EQ(c.status, 409);
  EXPECT_EQ(gcp.InstanceCount(), 1);
}

TEST_F(FakeGcpTest, OperationErrorFaultEndsTheOperationInError) {
  Fault f;
  f.kind = FaultKind::kOperationError;
  f.path_contains = "/instances";
  f.method = "POST";
  gcp.AddFault(f);
  json op = json::parse(Call(gcp, "POST", kBase + "/zones/" + kZone + "/instances", MinimalInstance("vm1")).body);
  json done = json::parse(Call(gcp, "GET", kBase + "/zones/" + kZone + "/operations/" + op["name"].get<std::string>()).body);
  EXPECT_EQ(done["status"], "DONE");
  EXPECT_EQ(done["error"]["errors"][0]["code"], "QUOTA_EXCEEDED");
  EXPECT_EQ(gcp.InstanceCount(), 0);
}

TEST_F(FakeGcpTest, HttpFaultsHitTheirCountThenStop) {
  Fault f;
  f.http_status = 503;
  f.times = 2;
  gcp.AddFault(f);
  EXPECT_EQ(Call(gcp, "GET", kBase).status, 503);
  EXPECT_EQ(Call(gcp, "GET", kBase).status, 503);
  EXPECT_EQ(Call(gcp, "GET", kBase).status, 200);
}

TEST_F(FakeGcpTest, StaleMetadataFingerprintIs412) {
  Call(gcp, "POST", kBase + "/zones/" + kZone + "/instances", MinimalInstance("vm1"));
  json body = {{"fingerprint", "stale"}, {"items", json::array()}};
  Response r = Call(gcp, "POST", kBase + "/zones/" + kZone + "/instances/vm1/setMetadata", body.dump());
  EXPECT_EQ(r.status, 412);
  EXPECT_NE(r.body.find("conditionNotMet"), std::string::npos);
}

TEST_F(FakeGcpTest, SetIamPolicyChecksTheEtag) {
  json policy = json::parse(Call(gcp, "POST", "/v1/projects/test-project:getIamPolicy", "{}").body);
  json stale = policy;
  stale["etag"] = "old";
  Response r = Call(gcp, "POST", "/v1/projects/test-project:setIamPolicy", json{{"policy", stale}}.dump());
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("ABORTED"), std::string::npos);
  r = Call(gcp, "POST", "/v1/projects/test-project:setIamPolicy", json{{"policy", policy}}.dump());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(json::parse(r.body)["etag"], policy["etag"]);
}

TEST_F(FakeGcpTest, ServerDropsAndDelaysOnTheWire) {
  FakeGcpServer server(&gcp);
  EXPECT_GT(server.port(), 0);
  EXPECT_EQ(server.EndpointEnv().at("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE"), server.base_url() + "/compute/v1/");
}

}  // namespace
}  // namespace cloudcoop::fakegcp
