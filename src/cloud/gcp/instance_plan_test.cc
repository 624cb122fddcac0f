#include "cloud/gcp/instance_plan.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "testing/fake_gcp/fixture.h"

namespace cloudcoop::gcp {
namespace {

using fakegcp::GcpTestSettings;
using nlohmann::json;

json Body(const Settings& s, const CreateOptions& o = {}) {
  auto plan = PlanInstance(s, o);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return json::parse(plan->BodyJson());
}

std::string Meta(const json& body, const std::string& key) {
  for (const auto& it : body["metadata"]["items"]) {
    if (it["key"] == key) return it["value"];
  }
  return "<absent>";
}

TEST(InstancePlanTest, HardenedByDefault) {
  json b = Body(GcpTestSettings());
  EXPECT_EQ(b["name"], "cloudcoop-agents");
  EXPECT_EQ(b["machineType"], "zones/us-central1-a/machineTypes/c4a-highcpu-4");
  ASSERT_EQ(b["networkInterfaces"].size(), 1u);
  EXPECT_FALSE(b["networkInterfaces"][0].contains("accessConfigs"));  // no external IP
  EXPECT_FALSE(b["networkInterfaces"][0].contains("ipv6AccessConfigs"));
  EXPECT_EQ(b["networkInterfaces"][0]["network"], "projects/test-project/global/networks/cloudcoop-vpc");
  EXPECT_EQ(b["networkInterfaces"][0]["subnetwork"], "projects/test-project/regions/us-central1/subnetworks/cloudcoop-subnet");
  ASSERT_EQ(b["serviceAccounts"].size(), 1u);
  EXPECT_EQ(b["serviceAccounts"][0]["email"], fakegcp::kServiceAccount);
  EXPECT_EQ(b["serviceAccounts"][0]["scopes"], json::array({"https://www.googleapis.com/auth/cloud-platform"}));
  EXPECT_EQ(b["shieldedInstanceConfig"],
            json({{"enableSecureBoot", true}, {"enableVtpm", true}, {"enableIntegrityMonitoring", true}}));
  EXPECT_EQ(b["canIpForward"], false);
  EXPECT_EQ(Meta(b, "enable-oslogin"), "TRUE");
  EXPECT_EQ(Meta(b, "block-project-ssh-keys"), "TRUE");
  EXPECT_EQ(Meta(b, "serial-port-enable"), "FALSE");
  EXPECT_EQ(Meta(b, "enable-guest-attributes"), "TRUE");
  EXPECT_NE(Meta(b, "startup-script").find("/var/run/cloudcoop"), std::string::npos);
  EXPECT_NE(Meta(b, "startup-script").find("provision-status"), std::string::npos);
  EXPECT_EQ(Meta(b, "ssh-keys"), "<absent>");
  EXPECT_EQ(b["labels"], json({{"managed-by", "cloudcoop"}}));
  EXPECT_EQ(b["tags"]["items"], json::array({"cloudcoop-agent-host"}));
  EXPECT_EQ(b["scheduling"]["provisioningModel"], "STANDARD");
  EXPECT_FALSE(b["scheduling"].contains("maxRunDuration"));
  const json& disk = b["disks"][0];
  EXPECT_EQ(disk["boot"], true);
  EXPECT_EQ(disk["autoDelete"], true);
  EXPECT_EQ(disk["initializeParams"]["diskSizeGb"], "50");  // int64 as a string
  EXPECT_EQ(disk["initializeParams"]["diskType"], "zones/us-central1-a/diskTypes/hyperdisk-balanced");
}

TEST(InstancePlanTest, SpotAndMaxUptime) {
  json b = Body(GcpTestSettings(), {std::nullopt, std::nullopt, true, 90});
  EXPECT_EQ(b["scheduling"]["provisioningModel"], "SPOT");
  EXPECT_EQ(b["scheduling"]["instanceTerminationAction"], "STOP");  // stopped, not deleted, on preemption
  EXPECT_EQ(b["scheduling"]["automaticRestart"], false);
  EXPECT_EQ(b["scheduling"]["maxRunDuration"]["seconds"], "5400");
  json standard = Body(GcpTestSettings(), {std::nullopt, std::nullopt, std::nullopt, 30});
  EXPECT_EQ(standard["scheduling"]["provisioningModel"], "STANDARD");
  EXPECT_EQ(standard["scheduling"]["instanceTerminationAction"], "STOP");
  EXPECT_EQ(Body(GcpTestSettings({"vm.spot=true"}))["scheduling"]["provisioningModel"], "SPOT");
}

TEST(InstancePlanTest, SizesAndMachineTypes) {
  json b = Body(GcpTestSettings(), {std::string("large"), std::nullopt, std::nullopt, std::nullopt});
  EXPECT_EQ(b["machineType"], "zones/us-central1-a/machineTypes/c4a-highcpu-16");
  json e2 = Body(GcpTestSettings(), {std::nullopt, std::string("e2-standard-4"), std::nullopt, std::nullopt});
  EXPECT_EQ(e2["machineType"], "zones/us-central1-a/machineTypes/e2-standard-4");
  EXPECT_EQ(e2["disks"][0]["initializeParams"]["diskType"], "zones/us-central1-a/diskTypes/pd-balanced");
  auto both = PlanInstance(GcpTestSettings(), {std::string("large"), std::string("e2-standard-4"), std::nullopt, std::nullopt});
  EXPECT_EQ(both.status().code(), StatusCode::kInvalidArgument);
  auto bad = PlanInstance(GcpTestSettings(), {std::nullopt, std::string("E2;rm -rf"), std::nullopt, std::nullopt});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  auto huge = PlanInstance(GcpTestSettings(), {std::nullopt, std::nullopt, std::nullopt, -1});
  EXPECT_EQ(huge.status().code(), StatusCode::kInvalidArgument);
}

TEST(InstancePlanTest, NamesAreCheckedBeforeTheyReachAUrl) {
  auto bad = PlanInstance(GcpTestSettings({"vm.name=Bad_Name"}), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("vm.name = \"Bad_Name\""), std::string::npos);
  EXPECT_FALSE(PlanInstance(GcpTestSettings({"cloud.gcp.network=../x"}), {}).ok());
  EXPECT_FALSE(PlanInstance(GcpTestSettings({"vm.tags=ok,Not Ok"}), {}).ok());
}

TEST(InstancePlanTest, FirewallRuleNameIsValidatedWithTheConfiguration) {
  EntryMap entries = DefaultEntries();
  for (const auto& o : fakegcp::GcpConfigOverrides({"cloud.gcp.firewall_rule=Allow SSH"})) {
    auto kv = ParseOverride(o);
    ASSERT_TRUE(kv.ok());
    entries[kv->first] = Entry{kv->second, Layer::kFlag, "--set"};
  }
  auto loaded = FinishConfig(entries, LoadOptions{}, ConfigPaths{}, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("cloud.gcp.firewall_rule = \"Allow SSH\" is not a firewall rule name"),
            std::string::npos)
      << loaded.status().message();
}

}  // namespace
}  // namespace cloudcoop::gcp
