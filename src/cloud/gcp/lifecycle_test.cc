// The VM state rules and the crash-safe create, against the in-process fake.
#include "cloud/gcp/lifecycle.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "cloud/gcp/vm_status.h"
#include "core/files.h"
#include "testing/fake_gcp/fixture.h"
#include "testing/test_util.h"

namespace cloudcoop::gcp {
namespace {

using fakegcp::Fault;
using fakegcp::FaultKind;
using fakegcp::InProcessGcp;
using fakegcp::kVmName;
using fakegcp::kZone;
using nlohmann::json;

class RecordingProgress : public ProgressSink {
 public:
  void Begin(const std::string& what) override { events.push_back("begin " + what); }
  void Update(const std::string& detail) override { events.push_back("update " + detail); }
  void End(bool ok) override { events.push_back(ok ? "end ok" : "end failed"); }
  std::vector<std::string> events;
};

class LifecycleTest : public ::testing::Test {
 protected:
  explicit LifecycleTest(fakegcp::Options o = {}) : f(o), lifecycle(*f.clients, progress, dir.path()) {}
  InstancePlan Plan() { return *PlanInstance(f.settings, {}); }
  void PutVm(const std::string& status, const std::string& type = "c4a-highcpu-4") {
    f.gcp.PutInstanceJson(kZone, json{{"name", kVmName},
                                      {"status", status},
                                      {"machineType", std::string("zones/") + kZone + "/machineTypes/" + type},
                                      {"networkInterfaces", json::array({{{"networkIP", "10.0.0.5"}}})}}
                                     .dump());
  }
  std::string Status() { return json::parse(*f.gcp.InstanceJson(kZone, kVmName))["status"]; }

  InProcessGcp f;
  testing::TempDir dir;
  RecordingProgress progress;
  VmLifecycle lifecycle;
};

TEST_F(LifecycleTest, CreateThenCreateAgainIsANoOp) {
  auto first = lifecycle.Create(Plan());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->changed);
  EXPECT_NE(first->message.find("created cloudcoop-agents (c4a-highcpu-4, us-central1-a): running"), std::string::npos)
      << first->message;
  EXPECT_NE(first->message.find("no external IP"), std::string::npos);
  EXPECT_FALSE(PathExists(lifecycle.PendingCreatePath()));
  EXPECT_EQ(progress.events.front(), "begin creating cloudcoop-agents (c4a-highcpu-4)");
  EXPECT_EQ(progress.events.back(), "end ok");
  auto again = lifecycle.Create(Plan());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_NE(again->message.find("already exists"), std::string::npos);
  EXPECT_EQ(f.gcp.InstanceCount(), 1);
  EXPECT_EQ(f.gcp.CountRequests("POST", "/zones/us-central1-a/instances"), 1);
}

TEST_F(LifecycleTest, CreateWhileTransitioningSaysWait) {
  PutVm("STOPPING");
  auto r = lifecycle.Create(Plan());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("is stopping"), std::string::npos);
  EXPECT_NE(r.status().fix().find("wait until it has settled"), std::string::npos);
}

TEST_F(LifecycleTest, CreateOperationErrorIsSurfacedAndNotRemembered) {
  Fault quota;
  quota.kind = FaultKind::kOperationError;
  quota.method = "POST";
  quota.path_contains = "/instances";
  f.gcp.AddFault(quota);
  auto r = lifecycle.Create(Plan());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("QUOTA_EXCEEDED"), std::string::npos);
  EXPECT_FALSE(PathExists(lifecycle.PendingCreatePath()));  // the next run starts with a fresh requestId
  EXPECT_EQ(f.gcp.InstanceCount(), 0);
  EXPECT_EQ(progress.events.back(), "end failed");
}

TEST_F(LifecycleTest, InterruptedCreateIsResumedWithTheSameRequestId) {
  // First run: GCP accepted the insert, then the answer was lost (the process died, or timed out).
  ASSERT_TRUE(MakeDirs(Dirname(lifecycle.PendingCreatePath())).ok());
  ASSERT_TRUE(WriteFileAtomic(lifecycle.PendingCreatePath(),
                              "request_id=aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\nstarted=" + FormatRfc3339(f.clock.Now()) + "\n")
                  .ok());
  f.gcp.options().hide_instance_until_done = true;
  f.gcp.options().operation_polls = 3;
  auto first = f.clients->compute().InsertInstance(kZone, Plan().BodyJson(), "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
  ASSERT_TRUE(first.ok());
  // Re-run: the instance is not visible yet, so create re-sends the persisted requestId.
  auto r = lifecycle.Create(Plan());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(f.gcp.InstanceCount(), 1);
  int inserts = 0;
  for (const auto& req : f.gcp.Requests()) {
    if (req.method == "POST" && req.path == "/compute/v1/projects/test-project/zones/us-central1-a/instances") {
      ++inserts;
      EXPECT_EQ(req.query.at("requestId"), "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
    }
  }
  EXPECT_EQ(inserts, 2);
  EXPECT_FALSE(PathExists(lifecycle.PendingCreatePath()));
}

TEST_F(LifecycleTest, InterruptedCreateFoundByNameIsFollowedToRunning) {
  ASSERT_TRUE(MakeDirs(Dirname(lifecycle.PendingCreatePath())).ok());
  ASSERT_TRUE(WriteFileAtomic(lifecycle.PendingCreatePath(),
                              "request_id=aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\nstarted=" + FormatRfc3339(f.clock.Now()) + "\n")
                  .ok());
  f.gcp.options().operation_polls = 3;
  ASSERT_TRUE(f.clients->compute().InsertInstance(kZone, Plan().BodyJson(), "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee").ok());
  EXPECT_EQ(Status(), "PROVISIONING");
  auto r = lifecycle.Create(Plan());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->message.find("resumed an interrupted create"), std::string::npos);
  EXPECT_EQ(Status(), "RUNNING");
  EXPECT_EQ(f.gcp.InstanceCount(), 1);
  EXPECT_FALSE(PathExists(lifecycle.PendingCreatePath()));
}

TEST_F(LifecycleTest, StaleInterruptedCreateWatchesTheInstanceUntilTheDeadline) {
  ASSERT_TRUE(MakeDirs(Dirname(lifecycle.PendingCreatePath())).ok());
  ASSERT_TRUE(WriteFileAtomic(lifecycle.PendingCreatePath(),
                              "request_id=aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\nstarted=" + FormatRfc3339(f.clock.Now()) + "\n")
                  .ok());
  PutVm("PROVISIONING");
  f.clock.Advance(std::chrono::hours(2));  // GCP no longer remembers that requestId
  auto r = lifecycle.Create(Plan());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("is still PROVISIONING after"), std::string::npos) << r.status().message();
  EXPECT_EQ(f.gcp.CountRequests("POST", "/zones/us-central1-a/instances"), 0);
  EXPECT_TRUE(PathExists(lifecycle.PendingCreatePath()));
}

TEST_F(LifecycleTest, StartRules) {
  EXPECT_EQ(lifecycle.Start().status().code(), StatusCode::kNotFound);
  PutVm("RUNNING");
  auto r = lifecycle.Start();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->changed);
  EXPECT_NE(r->message.find("already running"), std::string::npos);
  PutVm("STAGING");
  EXPECT_FALSE(lifecycle.Start()->changed);
  PutVm("STOPPING");
  auto wait = lifecycle.Start();
  EXPECT_EQ(wait.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(wait.status().fix().find("run `cloudcoop start`"), std::string::npos);
  PutVm("TERMINATED");
  auto started = lifecycle.Start();
  ASSERT_TRUE(started.ok());
  EXPECT_TRUE(started->changed);
  EXPECT_EQ(Status(), "RUNNING");
  EXPECT_EQ(f.gcp.CountRequests("POST", "/start"), 1);
}

TEST_F(LifecycleTest, StopRules) {
  EXPECT_EQ(lifecycle.Stop().status().code(), StatusCode::kNotFound);
  PutVm("TERMINATED");
  EXPECT_FALSE(lifecycle.Stop()->changed);
  PutVm("STOPPING");
  EXPECT_FALSE(lifecycle.Stop()->changed);
  PutVm("PROVISIONING");
  EXPECT_EQ(lifecycle.Stop().status().code(), StatusCode::kFailedPrecondition);
  PutVm("RUNNING");
  auto stopped = lifecycle.Stop();
  ASSERT_TRUE(stopped.ok());
  EXPECT_TRUE(stopped->changed);
  EXPECT_EQ(Status(), "TERMINATED");
  EXPECT_EQ(f.gcp.CountRequests("POST", "/stop"), 1);
}

TEST_F(LifecycleTest, DeleteRules) {
  auto none = lifecycle.Delete();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->changed);
  EXPECT_NE(none->message.find("does not exist"), std::string::npos);
  PutVm("RUNNING");
  auto running = lifecycle.Delete();
  EXPECT_EQ(running.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(running.status().fix().find("cloudcoop stop"), std::string::npos);
  PutVm("STAGING");
  EXPECT_EQ(lifecycle.Delete().status().code(), StatusCode::kFailedPrecondition);
  PutVm("TERMINATED");
  auto deleted = lifecycle.Delete();
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(deleted->changed);
  EXPECT_EQ(f.gcp.InstanceCount(), 0);
}

TEST_F(LifecycleTest, ResizeARunningVmStopsResizesAndStartsIt) {
  PutVm("RUNNING");
  auto r = lifecycle.Resize("c4a-highcpu-8");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(Status(), "RUNNING");
  json in = json::parse(*f.gcp.InstanceJson(kZone, kVmName));
  EXPECT_NE(in["machineType"].get<std::string>().find("/machineTypes/c4a-highcpu-8"), std::string::npos);
  std::vector<std::string> order;
  for (const auto& req : f.gcp.Requests()) {
    for (const char* verb : {"/stop", "/setMachineType", "/start"}) {
      if (req.method == "POST" && req.path.size() > strlen(verb) && req.path.rfind(verb) == req.path.size() - strlen(verb)) order.push_back(verb);
    }
  }
  EXPECT_EQ(order, (std::vector<std::string>{"/stop", "/setMachineType", "/start"}));
  EXPECT_FALSE(lifecycle.Resize("c4a-highcpu-8")->changed);  // already that size
}

TEST_F(LifecycleTest, ResizeAStoppedVmLeavesItStopped) {
  PutVm("TERMINATED");
  auto r = lifecycle.Resize("c4a-highcpu-16");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Status(), "TERMINATED");
  EXPECT_EQ(f.gcp.CountRequests("POST", "/start"), 0);
}

TEST_F(LifecycleTest, FailedResizeStartsTheVmAgainWithItsOldType) {
  PutVm("RUNNING");
  Fault bad;
  bad.http_status = 400;
  bad.reason = "invalid";
  bad.message = "Invalid value for field 'resource.machineType': 'zones/us-central1-a/machineTypes/c4a-huge'.";
  bad.path_contains = "/setMachineType";
  f.gcp.AddFault(bad);
  auto r = lifecycle.Resize("c4a-huge");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("it is running again as c4a-highcpu-4"), std::string::npos) << r.status().message();
  EXPECT_EQ(Status(), "RUNNING");
}

TEST_F(LifecycleTest, ResizeWhileTransitioningSaysWait) {
  PutVm("STOPPING");
  EXPECT_EQ(lifecycle.Resize("c4a-highcpu-8").status().code(), StatusCode::kFailedPrecondition);
}

TEST(VmStatusTest, ProvisioningFromGuestAttributes) {
  EXPECT_EQ(ParseProvisioning({}).status, "pending");
  auto running = ParseProvisioning({{"provision-status", "running"}, {"provision-progress", "2/3 install tmux and git"}});
  EXPECT_EQ(running.status, "running");
  EXPECT_EQ(running.progress, "2/3 install tmux and git");
  auto failed = ParseProvisioning({{"provision-status", "failed\nStep 2/3: install tmux and git failed with exit code 100"}});
  EXPECT_EQ(failed.status, "failed");
  EXPECT_EQ(failed.error, "Step 2/3: install tmux and git failed with exit code 100");
  EXPECT_EQ(ParseProvisioning({{"provision-status", "weird"}}).status, "unknown");
}

TEST(VmStatusTest, ReadsStateUptimeProvisioningAndCost) {
  InProcessGcp f({}, {"vm.spot=true"});
  std::string start = FormatRfc3339(f.clock.Now() - std::chrono::minutes(125));
  f.gcp.PutInstanceJson(kZone, json{{"name", kVmName},
                                    {"status", "RUNNING"},
                                    {"lastStartTimestamp", start},
                                    {"machineType", "zones/us-central1-a/machineTypes/c4a-highcpu-16"},
                                    {"scheduling", {{"provisioningModel", "SPOT"}}},
                                    {"metadata", {{"items", json::array({{{"key", "enable-guest-attributes"}, {"value", "TRUE"}}})}}},
                                    {"disks", json::array({{{"boot", true}, {"diskSizeGb", "100"}}})}}
                                   .dump());
  f.gcp.SetGuestAttribute(kZone, kVmName, "provision-status", "completed");
  auto r = ReadVmStatus(*f.clients, std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->uptime_seconds, 125 * 60);
  EXPECT_EQ(r->provisioning.status, "completed");
  ASSERT_TRUE(r->cost.total_per_hour());
  EXPECT_NEAR(*r->cost.machine_per_hour, 0.38 * 0.30, 1e-9);
  EXPECT_NEAR(r->cost.disk_per_hour, 100 * 0.10 / 730, 1e-9);
}

TEST(PricesTest, StoppedVmPaysOnlyForDiskAndUnknownTypes) {
  auto stopped = EstimateCost("c4a-highcpu-4", false, 50, false);
  EXPECT_EQ(*stopped.machine_per_hour, 0);
  EXPECT_GT(stopped.disk_per_hour, 0);
  EXPECT_FALSE(EstimateCost("z9-mystery-1", false, 50, true).total_per_hour().has_value());
  EXPECT_EQ(FormatDollarsPerHour(0.12), "$0.12/h");
  EXPECT_EQ(FormatDollarsPerHour(0.0301), "$0.030/h");
}

}  // namespace
}  // namespace cloudcoop::gcp
