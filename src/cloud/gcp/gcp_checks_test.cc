// The live gcp.* checks against the in-process fake (security-checks.md section 11 fixtures).
#include "cloud/gcp/gcp_checks.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "cloud/gcp/compute.h"
#include "cloud/gcp/firewall_policy.h"
#include "cloud/gcp/instance_plan.h"
#include "testing/fake_gcp/fixture.h"

namespace cloudcoop::gcp {
namespace {

using fakegcp::Fault;
using fakegcp::InProcessGcp;
using fakegcp::kServiceAccount;
using fakegcp::kVmName;
using fakegcp::kZone;
using nlohmann::json;
using policy::CheckResult;

class GcpChecksTest : public ::testing::Test {
 protected:
  GcpChecksTest() : config(fakegcp::GcpTestConfig()) { RegisterGcpChecks(registry); }

  // Runs one check with a fresh reader (nothing cached between calls).
  policy::CheckOutcome Run(const std::string& id) {
    LiveReader reader([this](const Settings&) { return StatusOr<std::unique_ptr<GcpClients>>(f.NewClients()); });
    policy::CheckContext ctx;
    ctx.config = &config;
    ctx.gcp = &reader;
    auto reports = registry.Run(ctx, id);
    EXPECT_EQ(reports.size(), 1u) << id;
    return reports.empty() ? policy::CheckOutcome{} : reports[0].outcome;
  }
  // The hardened VM as `cloudcoop create` makes it, then `mutate` applied to its JSON.
  void PutVm(const std::function<void(json&)>& mutate = nullptr) {
    json vm = json::parse((*PlanInstance(f.settings, {})).BodyJson());
    vm["status"] = "RUNNING";
    vm["networkInterfaces"][0]["networkIP"] = "10.0.0.2";
    if (mutate) mutate(vm);
    f.gcp.PutInstanceJson(kZone, vm.dump());
  }
  void SetMeta(json& vm, const std::string& key, const std::string& value) {
    for (auto& it : vm["metadata"]["items"]) {
      if (it["key"] == key) {
        it["value"] = value;
        return;
      }
    }
    vm["metadata"]["items"].push_back({{"key", key}, {"value", value}});
  }
  void DropMeta(json& vm, const std::string& key) {
    json kept = json::array();
    for (auto& it : vm["metadata"]["items"]) {
      if (it["key"] != key) kept.push_back(it);
    }
    vm["metadata"]["items"] = kept;
  }

  InProcessGcp f;
  LoadedConfig config;
  policy::CheckRegistry registry;
};

TEST_F(GcpChecksTest, EveryCheckIsRegisteredWithChecklistAndCisIds) {
  std::map<std::string, std::string> expected = {
      {"gcp.sa-dedicated", "SA-1"},          {"gcp.no-external-ip", "NET-1"},   {"gcp.shielded-vm", "VM-1"},
      {"gcp.os-login", "IAP-3"},             {"gcp.project-ssh-keys-blocked", "IAP-4"},
      {"gcp.serial-port-off", "IAP-5"},      {"gcp.ip-forwarding-off", "NET-6"}, {"gcp.firewall-iap", "IAP-1"},
      {"gcp.firewall-no-open-ingress", "IAP-2"}, {"gcp.sa-no-user-keys", "ROT-1"}, {"gcp.sa-roles", "SA-3"},
      {"gcp.default-network", "NET-3"}};
  for (const auto& spec : registry.checks()) {
    ASSERT_TRUE(expected.count(spec.id)) << spec.id;
    EXPECT_EQ(spec.checklist, expected[spec.id]);
    EXPECT_EQ(spec.cis.rfind("cis_4.0:", 0), 0u) << spec.id;
    expected.erase(spec.id);
  }
  EXPECT_TRUE(expected.empty());
}

TEST_F(GcpChecksTest, LocalProviderIsNotApplicableAndReadsNothing) {
  LoadedConfig local = fakegcp::GcpTestConfig({"cloud.provider=local"});
  bool factory_called = false;
  LiveReader reader([&](const Settings&) {
    factory_called = true;
    return StatusOr<std::unique_ptr<GcpClients>>(f.NewClients());
  });
  policy::CheckContext ctx;
  ctx.config = &local;
  ctx.gcp = &reader;
  for (const auto& r : registry.Run(ctx, "gcp.")) EXPECT_EQ(r.outcome.result, CheckResult::kNotApplicable) << r.spec->id;
  EXPECT_FALSE(factory_called);
}

TEST_F(GcpChecksTest, HardenedVmPassesEverything) {
  PutVm();
  f.gcp.PutFirewallJson(json::parse(FirewallJson(DesiredIapRule(f.settings))).dump());
  policy::CheckContext ctx;
  LiveReader reader([this](const Settings&) { return StatusOr<std::unique_ptr<GcpClients>>(f.NewClients()); });
  ctx.config = &config;
  ctx.gcp = &reader;
  for (const auto& r : registry.Run(ctx, "gcp.")) {
    EXPECT_EQ(r.outcome.result, CheckResult::kPass) << r.spec->id << ": " << r.outcome.message;
  }
  // Each resource was read once for the whole run.
  EXPECT_EQ(f.gcp.CountRequests("GET", "/instances/cloudcoop-agents"), 1);
  EXPECT_EQ(f.gcp.CountRequests("GET", "/global/firewalls"), 1);
}

TEST_F(GcpChecksTest, UnreadableApiFailsWithTheReason) {
  PutVm();
  Fault denied;
  denied.http_status = 403;
  denied.reason = "forbidden";
  denied.message = "Required 'compute.instances.get' permission for 'projects/test-project/zones/us-central1-a/instances/cloudcoop-agents'";
  denied.times = -1;
  f.gcp.AddFault(denied);
  auto r = Run("gcp.no-external-ip");
  EXPECT_EQ(r.result, CheckResult::kFail);
  EXPECT_NE(r.message.find("cannot read VM cloudcoop-agents: "), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("permission compute.instances.get is missing"), std::string::npos) << r.message;
  EXPECT_EQ(Run("gcp.sa-roles").result, CheckResult::kFail);
  EXPECT_EQ(Run("gcp.firewall-iap").result, CheckResult::kFail);
}

TEST_F(GcpChecksTest, MissingVmMakesInstanceChecksNotApplicable) {
  EXPECT_EQ(Run("gcp.shielded-vm").result, CheckResult::kNotApplicable);
  EXPECT_EQ(Run("gcp.firewall-iap").result, CheckResult::kFail);  // project-level checks still run
}

TEST_F(GcpChecksTest, ServiceAccountInEverySlot) {
  PutVm([](json& vm) {
    vm["serviceAccounts"].push_back({{"email", "123456789012-compute@developer.gserviceaccount.com"}, {"scopes", json::array()}});
  });
  auto r = Run("gcp.sa-dedicated");
  EXPECT_EQ(r.result, CheckResult::kFail);
  EXPECT_NE(r.message.find("default service account 123456789012-compute@developer.gserviceaccount.com"), std::string::npos);
  PutVm([](json& vm) { vm["serviceAccounts"][0]["email"] = "gke-node@test-project.iam.gserviceaccount.com"; });
  EXPECT_EQ(Run("gcp.sa-dedicated").result, CheckResult::kFail);
  PutVm([](json& vm) { vm.erase("serviceAccounts"); });
  EXPECT_EQ(Run("gcp.sa-dedicated").result, CheckResult::kFail);
}

TEST_F(GcpChecksTest, ExternalAddressesIncludingIpv6) {
  PutVm([](json& vm) { vm["networkInterfaces"][0]["accessConfigs"] = json::array({{{"type", "ONE_TO_ONE_NAT"}, {"natIP", "203.0.113.7"}}}); });
  auto r = Run("gcp.no-external-ip");
  EXPECT_EQ(r.result, CheckResult::kFail);
  EXPECT_NE(r.message.find("203.0.113.7"), std::string::npos);
  PutVm([](json& vm) { vm["networkInterfaces"][0]["ipv6AccessConfigs"] = json::array({{{"type", "DIRECT_IPV6"}}}); });
  r = Run("gcp.no-external-ip");
  EXPECT_EQ(r.result, CheckResult::kFail);
  EXPECT_NE(r.message.find("IPv6"), std::string::npos);
}

TEST_F(GcpChecksTest, ShieldedVmNeedsAllThree) {
  PutVm([](json& vm) { vm["shieldedInstanceConfig"]["enableVtpm"] = false; });
  auto r = Run("gcp.shielded-vm");
  EXPECT_EQ(r.result, CheckResult::kFail);
  EXPECT_NE(r.message.find("vTPM"), std::string::npos);
}

TEST_F(GcpChecksTest, MetadataBooleansAreCaseNormalised) {
  for (const char* yes : {"TRUE", "true", "1", "True"}) {
    PutVm([&](json& vm) { SetMeta(vm, "enable-oslogin", yes); SetMeta(vm, "serial-port-enable", yes); });
    EXPECT_EQ(Run("gcp.os-login").result, CheckResult::kPass) << yes;
    EXPECT_EQ(Run("gcp.serial-port-off").result, CheckResult::kFail) << yes;  // prowler misses "TRUE"
  }
  PutVm([&](json& vm) { SetMeta(vm, "block-project-ssh-keys", "false"); });
  EXPECT_EQ(Run("gcp.project-ssh-keys-blocked").result, CheckResult::kFail);
  PutVm([&](json& vm) { DropMeta(vm, "block-project-ssh-keys"); });
  EXPECT_EQ(Run("gcp.project-ssh-keys-blocked").result, CheckResult::kFail);  // a missing key fails
}

TEST_F(GcpChecksTest, InstanceOverridesProjectAndEffectiveValuesComeFirst) {
  PutVm([&](json& vm) { DropMeta(vm, "enable-oslogin"); DropMeta(vm, "serial-port-enable"); });
  f.gcp.SetProjectMetadata({{"enable-oslogin", "TRUE"}, {"serial-port-enable", "true"}});
  auto r = Run("gcp.os-login");
  EXPECT_EQ(r.result, CheckResult::kPass);
  EXPECT_NE(r.message.find("project metadata"), std::string::npos);
  EXPECT_EQ(Run("gcp.serial-port-off").result, CheckResult::kFail);
  PutVm([&](json& vm) { SetMeta(vm, "enable-oslogin", "FALSE"); });  // the instance sets FALSE: fails
  EXPECT_EQ(Run("gcp.os-login").result, CheckResult::kFail);
  // Effective values (computed by the API) take precedence over the items.
  f.gcp.options().effective_metadata = true;
  PutVm([&](json& vm) { SetMeta(vm, "enable-oslogin", "FALSE"); });
  r = Run("gcp.os-login");
  EXPECT_EQ(r.result, CheckResult::kFail);
  EXPECT_NE(r.message.find("effective instance metadata"), std::string::npos);
  PutVm([&](json& vm) { vm["resourceStatus"] = {{"effectiveInstanceMetadata", {{"enableOsloginMetadataValue", true}}}}; SetMeta(vm, "enable-oslogin", "FALSE"); });
  f.gcp.options().effective_metadata = false;
  EXPECT_EQ(Run("gcp.os-login").result, CheckResult::kPass);
}

TEST_F(GcpChecksTest, IpForwarding) {
  PutVm([](json& vm) { vm["canIpForward"] = true; });
  EXPECT_EQ(Run("gcp.ip-forwarding-off").result, CheckResult::kFail);
}

TEST_F(GcpChecksTest, FirewallChecks) {
  PutVm();
  auto missing = Run("gcp.firewall-iap");
  EXPECT_EQ(missing.result, CheckResult::kFail);
  EXPECT_EQ(missing.fix, "cloudcoop firewall ensure");
  f.gcp.PutFirewallJson(json::parse(FirewallJson(DesiredIapRule(f.settings))).dump());
  EXPECT_EQ(Run("gcp.firewall-iap").result, CheckResult::kPass);
  EXPECT_EQ(Run("gcp.firewall-no-open-ingress").result, CheckResult::kPass);
  f.gcp.PutFirewallJson(R"({"name":"default-allow-ssh","network":"projects/test-project/global/networks/cloudcoop-vpc",
      "sourceRanges":["0.0.0.0/0"],"allowed":[{"IPProtocol":"tcp","ports":["22"]}]})");
  auto open = Run("gcp.firewall-no-open-ingress");
  EXPECT_EQ(open.result, CheckResult::kFail);
  EXPECT_NE(open.message.find("default-allow-ssh"), std::string::npos);
  EXPECT_NE(open.fix.find("--fix"), std::string::npos);
}

TEST_F(GcpChecksTest, UserManagedKeys) {
  f.gcp.AddServiceAccountKey(kServiceAccount, "sys", "SYSTEM_MANAGED");
  EXPECT_EQ(Run("gcp.sa-no-user-keys").result, CheckResult::kPass);
  f.gcp.AddServiceAccountKey(kServiceAccount, "k123", "USER_MANAGED");
  auto r = Run("gcp.sa-no-user-keys");
  EXPECT_EQ(r.result, CheckResult::kFail);
  EXPECT_NE(r.message.find("k123"), std::string::npos);
}

TEST_F(GcpChecksTest, RolesIncludingConditionalBindings) {
  EXPECT_EQ(Run("gcp.sa-roles").result, CheckResult::kPass);
  std::string member = std::string("serviceAccount:") + kServiceAccount;
  f.gcp.SetIamPolicyJson(R"({"version":3,"bindings":[{"role":"roles/logging.logWriter","members":[")" + member +
                         R"("]},{"role":"roles/compute.instanceAdmin.v1","members":[")" + member +
                         R"("],"condition":{"title":"temp","expression":"true"}}]})");
  auto r = Run("gcp.sa-roles");
  EXPECT_EQ(r.result, CheckResult::kFail);
  EXPECT_NE(r.message.find("roles/compute.instanceAdmin.v1"), std::string::npos);
  f.gcp.SetIamPolicyJson(R"({"version":1,"bindings":[{"role":"roles/secretmanager.secretAccessor","members":[")" + member + R"("]}]})");
  r = Run("gcp.sa-roles");
  EXPECT_EQ(r.result, CheckResult::kFail);
  EXPECT_NE(r.message.find("at project level"), std::string::npos);
  f.gcp.SetIamPolicyJson(R"({"version":1,"bindings":[{"role":"roles/storage.objectCreator","members":[")" + member + R"("]}]})");
  EXPECT_EQ(Run("gcp.sa-roles").result, CheckResult::kFail);
}

TEST_F(GcpChecksTest, DefaultNetwork) {
  EXPECT_EQ(Run("gcp.default-network").result, CheckResult::kPass);
  f.gcp.PutNetwork("default", true);
  EXPECT_EQ(Run("gcp.default-network").result, CheckResult::kFail);
}

TEST_F(GcpChecksTest, GcloudDefaultCreateBodyFailsTheChecks) {
  // The body `gcloud compute instances create` sends without hardening flags (gcp-rest.md 11.3).
  f.gcp.PutInstanceJson(kZone, R"({"name":"cloudcoop-agents","status":"RUNNING","canIpForward":false,
    "networkInterfaces":[{"network":"projects/test-project/global/networks/default","accessConfigs":[{"type":"ONE_TO_ONE_NAT","natIP":"203.0.113.9"}]}],
    "serviceAccounts":[{"email":"123456789012-compute@developer.gserviceaccount.com","scopes":["https://www.googleapis.com/auth/devstorage.read_only"]}],
    "metadata":{"items":[{"key":"enable-oslogin","value":"TRUE"}]},"shieldedInstanceConfig":{"enableSecureBoot":true}})");
  EXPECT_EQ(Run("gcp.sa-dedicated").result, CheckResult::kFail);
  EXPECT_EQ(Run("gcp.no-external-ip").result, CheckResult::kFail);
  EXPECT_EQ(Run("gcp.shielded-vm").result, CheckResult::kFail);
  EXPECT_EQ(Run("gcp.project-ssh-keys-blocked").result, CheckResult::kFail);
  EXPECT_EQ(Run("gcp.os-login").result, CheckResult::kPass);
}

}  // namespace
}  // namespace cloudcoop::gcp
