// The Compute and IAM clients against the in-process fake: errors, retries, operations,
// fingerprints and etags. No real time passes (fake clock and sleeper).
#include "cloud/gcp/compute.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "cloud/gcp/instance_plan.h"
#include "testing/fake_gcp/fixture.h"

namespace cloudcoop::gcp {
namespace {

using fakegcp::Fault;
using fakegcp::FaultKind;
using fakegcp::InProcessGcp;
using fakegcp::kZone;
using nlohmann::json;

std::string Body(const Settings& s) { return (*PlanInstance(s, {})).BodyJson(); }

Operation Insert(InProcessGcp& f, const std::string& rid = NewUuid()) {
  auto op = f.clients->compute().InsertInstance(kZone, Body(f.settings), rid);
  EXPECT_TRUE(op.ok()) << op.status().ToString();
  return op.ok() ? *op : Operation{};
}

TEST(ComputeTest, MissingInstanceIsEmptyNotAnError) {
  InProcessGcp f;
  auto in = f.clients->compute().GetInstance(kZone, "nope");
  ASSERT_TRUE(in.ok());
  EXPECT_FALSE(in->has_value());
}

TEST(ComputeTest, InsertWaitAndReadBack) {
  InProcessGcp f;
  Operation op = Insert(f);
  EXPECT_EQ(op.status, "RUNNING");
  std::vector<std::string> polls;
  auto done = f.clients->compute().WaitForOperation(op, std::chrono::seconds(300),
                                                     [&](const Operation& o) { polls.push_back(o.status); });
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(polls, std::vector<std::string>{"DONE"});
  auto in = f.clients->compute().GetInstance(kZone, fakegcp::kVmName);
  ASSERT_TRUE(in.ok() && in->has_value());
  const Instance& i = **in;
  EXPECT_EQ(i.status, "RUNNING");
  EXPECT_EQ(i.machine_type, "c4a-highcpu-4");
  EXPECT_EQ(i.zone, kZone);
  ASSERT_EQ(i.service_accounts.size(), 1u);
  EXPECT_EQ(i.service_accounts[0].email, fakegcp::kServiceAccount);
  EXPECT_EQ(i.nics.size(), 1u);
  EXPECT_EQ(i.nics[0].access_configs, 0);
  EXPECT_TRUE(i.secure_boot && i.vtpm && i.integrity_monitoring);
  EXPECT_EQ(i.labels.at("managed-by"), "cloudcoop");
  EXPECT_EQ(i.boot_disk_gb, 50);
  // The insert carried a requestId.
  auto reqs = f.gcp.Requests();
  bool saw = false;
  for (const auto& r : reqs) {
    if (r.method == "POST" && r.path.find("/instances") != std::string::npos && r.path.find("/operations") == std::string::npos) {
      saw = r.query.count("requestId") == 1;
    }
  }
  EXPECT_TRUE(saw);
}

TEST(ComputeTest, OperationsArePolledUntilDoneWithoutSpinning) {
  fakegcp::Options o;
  o.operation_polls = 4;
  InProcessGcp f(o);
  Operation op = Insert(f);
  int polls = 0;
  auto done = f.clients->compute().WaitForOperation(op, std::chrono::seconds(300), [&](const Operation&) { ++polls; });
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(polls, 4);
  // The fake answers `wait` at once; the client paused between polls instead of spinning.
  EXPECT_EQ(f.sleeper.sleeps().size(), 3u);
}

TEST(ComputeTest, OperationThatNeverFinishesHitsTheDeadline) {
  fakegcp::Options o;
  o.operation_polls = 1000000;
  InProcessGcp f(o);
  Operation op = Insert(f);
  auto done = f.clients->compute().WaitForOperation(op, std::chrono::seconds(30));
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(done.status().message().find("is still RUNNING after"), std::string::npos) << done.status().message();
  EXPECT_NE(done.status().fix().find("cloudcoop status"), std::string::npos);
}

TEST(ComputeTest, OperationErrorsAreSurfacedWithTheApiMessage) {
  InProcessGcp f;
  Fault fault;
  fault.kind = FaultKind::kOperationError;
  fault.method = "POST";
  fault.path_contains = "/instances";
  f.gcp.AddFault(fault);
  Operation op = Insert(f);
  auto done = f.clients->compute().WaitForOperation(op, std::chrono::seconds(300));
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(done.status().message().find("failed: QUOTA_EXCEEDED: Quota 'CPUS' exceeded.  Limit: 8.0 in region us-central1."),
            std::string::npos)
      << done.status().message();
  EXPECT_NE(done.status().fix().find("quota"), std::string::npos);

  Fault other;
  other.kind = FaultKind::kOperationError;
  other.method = "POST";
  other.path_contains = "/instances";
  other.op_error_code = "RESOURCE_NOT_FOUND";
  other.op_error_message = "The resource 'projects/debian-cloud/global/images/nope' was not found";
  f.gcp.AddFault(other);
  auto op2 = f.clients->compute().InsertInstance(kZone, Body(f.settings), NewUuid());
  auto done2 = f.clients->compute().WaitForOperation(*op2, std::chrono::seconds(300));
  EXPECT_EQ(done2.status().code(), StatusCode::kNotFound);
  EXPECT_NE(done2.status().message().find("images/nope' was not found"), std::string::npos);
}

TEST(ComputeTest, RetriesThenSuccess) {
  InProcessGcp f;
  Fault f429;
  f429.http_status = 429;
  f429.reason = "rateLimitExceeded";
  f429.message = "Rate Limit Exceeded";
  f429.times = 2;
  f.gcp.AddFault(f429);
  auto in = f.clients->compute().GetInstance(kZone, "x");
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(f.sleeper.sleeps().size(), 2u);
  Fault f503;
  f503.times = 3;
  f.gcp.AddFault(f503);
  EXPECT_TRUE(f.clients->compute().ListFirewalls().ok());
}

TEST(ComputeTest, RetriesExhaustedIsAClearError) {
  InProcessGcp f;
  Fault f503;
  f503.times = -1;
  f503.message = "The service is currently unavailable.";
  f.gcp.AddFault(f503);
  auto in = f.clients->compute().GetInstance(kZone, fakegcp::kVmName);
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(in.status().message().find("compute.instances.get cloudcoop-agents: gave up after 5 attempts"),
            std::string::npos)
      << in.status().message();
  EXPECT_NE(in.status().message().find("HTTP 503: The service is currently unavailable."), std::string::npos);
  EXPECT_EQ(f.transport.sends(), 5);
}

TEST(ComputeTest, DroppedConnectionsAndTimeoutsAreRetriedForReads) {
  InProcessGcp f;
  Fault drop;
  drop.kind = FaultKind::kDrop;
  drop.times = 1;
  f.gcp.AddFault(drop);
  Fault slow;
  slow.kind = FaultKind::kDelay;
  slow.delay = std::chrono::minutes(5);
  slow.times = 1;
  f.gcp.AddFault(slow);
  auto p = f.clients->compute().GetProject();
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(f.transport.sends(), 3);
}

TEST(ComputeTest, TimedOutInsertIsRetriedWithTheSameRequestIdAndCreatesOneInstance) {
  InProcessGcp f;
  Fault slow;
  slow.kind = FaultKind::kDelay;
  slow.method = "POST";
  slow.path_contains = "/instances";
  slow.delay = std::chrono::minutes(5);  // longer than the request timeout: the answer is lost
  slow.times = 1;
  f.gcp.AddFault(slow);
  Operation op = Insert(f, "11111111-2222-4333-8444-555555555555");
  ASSERT_FALSE(op.name.empty());
  EXPECT_TRUE(f.clients->compute().WaitForOperation(op, std::chrono::seconds(300)).ok());
  EXPECT_EQ(f.gcp.InstanceCount(), 1);
  EXPECT_EQ(f.gcp.CountRequests("POST", "/zones/us-central1-a/instances"), 2);
  for (const auto& r : f.gcp.Requests()) {
    if (r.method == "POST" && r.path == "/compute/v1/projects/test-project/zones/us-central1-a/instances") {
      EXPECT_EQ(r.query.at("requestId"), "11111111-2222-4333-8444-555555555555");
    }
  }
}

TEST(ComputeTest, NotFoundForAMutation) {
  InProcessGcp f;
  auto op = f.clients->compute().StartInstance(kZone, "ghost", NewUuid());
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().code(), StatusCode::kNotFound);
  EXPECT_NE(op.status().message().find("compute.instances.start ghost: HTTP 404: The resource "
                                       "'projects/test-project/zones/us-central1-a/instances/ghost' was not found"),
            std::string::npos)
      << op.status().message();
}

TEST(ComputeTest, PermissionDeniedNamesTheMissingPermission) {
  InProcessGcp f;
  Fault f403;
  f403.http_status = 403;
  f403.reason = "forbidden";
  f403.message = "Required 'compute.instances.create' permission for 'projects/test-project/zones/us-central1-a/instances/cloudcoop-agents'";
  f403.method = "POST";
  f.gcp.AddFault(f403);
  auto op = f.clients->compute().InsertInstance(kZone, Body(f.settings), NewUuid());
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(op.status().message().find("permission compute.instances.create is missing"), std::string::npos)
      << op.status().message();
  EXPECT_NE(op.status().fix().find("a role that includes compute.instances.create"), std::string::npos);
  EXPECT_NE(op.status().fix().find("access-token file"), std::string::npos) << op.status().fix();
  EXPECT_EQ(f.transport.sends(), 1);  // not retried
}

TEST(ComputeTest, QuotaErrorIsResourceExhausted) {
  InProcessGcp f;
  Fault quota;
  quota.http_status = 403;
  quota.reason = "quotaExceeded";
  quota.message = "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.";
  f.gcp.AddFault(quota);
  auto op = f.clients->compute().InsertInstance(kZone, Body(f.settings), NewUuid());
  EXPECT_EQ(op.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(op.status().message().find("Quota 'CPUS' exceeded"), std::string::npos);
}

TEST(ComputeTest, MetadataWritesCarryTheFingerprintAndRetryOnConflict) {
  InProcessGcp f;
  ASSERT_TRUE(f.clients->compute().WaitForOperation(Insert(f), std::chrono::seconds(300)).ok());
  Fault stale;
  stale.http_status = 412;
  stale.reason = "conditionNotMet";
  stale.message = "Supplied fingerprint does not match current metadata fingerprint.";
  stale.path_contains = "/setMetadata";
  f.gcp.AddFault(stale);
  std::string fingerprint = (*f.clients->compute().GetInstance(kZone, fakegcp::kVmName))->metadata_fingerprint;
  ASSERT_FALSE(fingerprint.empty());
  auto done = f.clients->compute().UpdateInstanceMetadata(
      kZone, fakegcp::kVmName, [](std::vector<MetadataItem>& items) { items.push_back({"cloudcoop-note", "x"}); },
      std::chrono::seconds(60));
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(f.gcp.CountRequests("POST", "/setMetadata"), 2);
  json body = json::parse(f.gcp.Bodies("POST", "/setMetadata").back());
  EXPECT_EQ(body["fingerprint"], fingerprint);
  auto in = *f.clients->compute().GetInstance(kZone, fakegcp::kVmName);
  ASSERT_NE(in->MetadataValue("cloudcoop-note"), nullptr);
  EXPECT_NE(in->MetadataValue("startup-script"), nullptr);  // the full list was kept
}

TEST(ComputeTest, AggregatedListAndPaging) {
  InProcessGcp f;
  for (int i = 0; i < 503; ++i) {
    f.gcp.PutInstanceJson(kZone, json{{"name", "vm-" + std::to_string(i)}, {"status", "RUNNING"}}.dump());
  }
  f.gcp.PutInstanceJson("europe-west1-b", R"({"name":"far","status":"TERMINATED"})");
  auto list = f.clients->compute().ListInstances(kZone);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 503u);
  EXPECT_EQ(f.gcp.CountRequests("GET", "/zones/us-central1-a/instances"), 2);
  auto all = f.clients->compute().AggregatedListInstances();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 504u);
}

TEST(ComputeTest, IamPolicyReadModifyWriteRetriesOnEtagConflict) {
  InProcessGcp f;
  Fault conflict;
  conflict.http_status = 409;
  conflict.reason = "aborted";
  conflict.message = "There were concurrent policy changes (etag mismatch).";
  conflict.path_contains = ":setIamPolicy";
  f.gcp.AddFault(conflict);
  auto policy = f.clients->iam().ModifyProjectIamPolicy([](IamPolicy& p) {
    p.bindings.push_back({"roles/artifactregistry.reader", {std::string("serviceAccount:") + fakegcp::kServiceAccount}, "", ""});
    return true;
  });
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_EQ(f.gcp.CountRequests("POST", ":setIamPolicy"), 2);
  json sent = json::parse(f.gcp.Bodies("POST", ":setIamPolicy").back());
  EXPECT_EQ(sent["policy"]["etag"], "BwYAAAAAAAE=");
  EXPECT_NE(f.gcp.IamPolicyJson().find("roles/artifactregistry.reader"), std::string::npos);
}

TEST(ComputeTest, ConditionalBindingsSurviveAPolicyWrite) {
  InProcessGcp f;
  f.gcp.SetIamPolicyJson(R"J({"version":3,"etag":"e1","bindings":[{"role":"roles/logging.logWriter","members":["user:a@x.com"],
      "condition":{"title":"until 2030","expression":"request.time < timestamp('2030-01-01T00:00:00Z')"}}]})J");
  auto policy = f.clients->iam().GetProjectIamPolicy();
  ASSERT_TRUE(policy.ok());
  ASSERT_EQ(policy->bindings.size(), 1u);
  EXPECT_TRUE(policy->bindings[0].conditional());
  EXPECT_EQ(policy->bindings[0].condition_title, "until 2030");
  ASSERT_TRUE(f.clients->iam().SetProjectIamPolicy(*policy).ok());
  json sent = json::parse(f.gcp.Bodies("POST", ":setIamPolicy").back());
  EXPECT_EQ(sent["policy"]["version"], 3);
  EXPECT_EQ(sent["policy"]["bindings"][0]["condition"]["title"], "until 2030");
}

TEST(ComputeTest, ServiceAccountKeys) {
  InProcessGcp f;
  f.gcp.AddServiceAccountKey(fakegcp::kServiceAccount, "sys1", "SYSTEM_MANAGED");
  auto keys = f.clients->iam().ListServiceAccountKeys(fakegcp::kServiceAccount, true);
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
  f.gcp.AddServiceAccountKey(fakegcp::kServiceAccount, "user1", "USER_MANAGED");
  keys = f.clients->iam().ListServiceAccountKeys(fakegcp::kServiceAccount, true);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(keys->at(0).key_type, "USER_MANAGED");
  auto missing = f.clients->iam().ServiceAccountDisabled("nobody@test-project.iam.gserviceaccount.com");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

}  // namespace
}  // namespace cloudcoop::gcp
