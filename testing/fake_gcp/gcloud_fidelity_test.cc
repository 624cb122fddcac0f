// Fidelity of the fake GCP, checked with an independent client: the real `gcloud` (label gcloud).
// gcloud must accept what the fake answers and show what cloudcoop created, and the instance body
// cloudcoop sends must use the same field names and value types as the body gcloud sends for the
// equivalent flags. Each gcloud call costs 1-2 s, so these tests are few and do a lot each.
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/build_info.h"
#include "core/process.h"
#include "core/strings.h"
#include "testing/fake_gcp/fake_gcp_server.h"
#include "testing/fake_gcp/fixture.h"
#include "testing/test_util.h"

namespace cloudcoop::fakegcp {
namespace {

using nlohmann::json;
using testing::ScopedEnv;

class GcloudFidelityTest : public ::testing::Test {
 protected:
  GcloudFidelityTest() : server(&gcp) {
    SeedStandardProject(gcp);
    token_file = dir.Write("token", std::string(kToken) + "\n");
    config = dir.Write("cloudcoop.toml", GcpConfigToml());
    for (const auto& [k, v] : server.EndpointEnv()) envs.push_back(std::make_unique<ScopedEnv>(k, v));
    envs.push_back(std::make_unique<ScopedEnv>("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", token_file));
    envs.push_back(std::make_unique<ScopedEnv>("CLOUDCOOP_STATE_DIR", dir.Sub("state")));
  }
  void SetUp() override {
    if (FindOnPath("gcloud").empty()) GTEST_FAIL() << "gcloud is not installed (google-cloud-cli); these tests need it";
  }

  ProcessResult Gcloud(std::vector<std::string> args) {
    ProcessSpec spec;
    spec.argv = {"gcloud"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.argv.insert(spec.argv.end(), {"--project", kProject, "--quiet"});
    spec.env = {{"CLOUDSDK_CONFIG", dir.Sub("gcloud-config")},
                {"CLOUDSDK_CORE_DISABLE_PROMPTS", "1"},
                {"CLOUDSDK_CORE_DISABLE_USAGE_REPORTING", "true"},
                {"CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK", "true"},
                {"CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", token_file},
                {"HOME", dir.Sub("home")},
                {"GOOGLE_APPLICATION_CREDENTIALS", std::nullopt}};
    for (const auto& [k, v] : server.EndpointEnv()) spec.env[k] = v;
    spec.timeout = std::chrono::seconds(120);
    auto r = DefaultProcessRunner().Run(spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ProcessResult{};
  }
  testing::CliResult Cloudcoop(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", config});
    return testing::RunCliInProcess(args);
  }

  FakeGcp gcp;
  FakeGcpServer server;
  testing::TempDir dir;
  std::string token_file;
  std::string config;
  std::vector<std::unique_ptr<ScopedEnv>> envs;
};

TEST_F(GcloudFidelityTest, GcloudSeesWhatCloudcoopCreatedAndManages) {
  auto created = Cloudcoop({"create"});
  ASSERT_EQ(created.rc, 0) << created.err;

  // describe
  ProcessResult d = Gcloud({"compute", "instances", "describe", kVmName, "--zone", kZone, "--format=json"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  json in = json::parse(d.out);
  EXPECT_EQ(in["name"], kVmName);
  EXPECT_EQ(in["status"], "RUNNING");
  EXPECT_FALSE(in["networkInterfaces"][0].contains("accessConfigs"));
  EXPECT_EQ(in["shieldedInstanceConfig"]["enableVtpm"], true);
  EXPECT_EQ(in["serviceAccounts"][0]["email"], kServiceAccount);
  EXPECT_EQ(in["labels"]["managed-by"], "cloudcoop");

  // list in one zone, and aggregated over every zone (needs the aggregated route, else gcloud
  // prints a warning and still exits 0)
  ProcessResult list = Gcloud({"compute", "instances", "list", "--zones", kZone, "--format=value(name,status)"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("cloudcoop-agents\tRUNNING"), std::string::npos) << list.out;
  ProcessResult all = Gcloud({"compute", "instances", "list", "--format=value(name,zone.basename())"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("cloudcoop-agents\tus-central1-a"), std::string::npos) << all.out;
  EXPECT_EQ(all.err.find("WARNING"), std::string::npos) << all.err;
  EXPECT_GE(gcp.CountRequests("GET", "/aggregated/instances"), 1);

  // firewall rules
  ASSERT_EQ(Cloudcoop({"firewall", "ensure"}).rc, 0);
  ProcessResult fw = Gcloud({"compute", "firewall-rules", "list", "--format=json"});
  ASSERT_EQ(fw.exit_code, 0) << fw.err;
  json rules = json::parse(fw.out);
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0]["name"], "cloudcoop-allow-iap-ssh");
  EXPECT_EQ(rules[0]["sourceRanges"], json::array({"35.235.240.0/20"}));

  // delete with gcloud (its operation wait must work against the fake), then cloudcoop sees it gone
  ASSERT_EQ(Cloudcoop({"stop"}).rc, 0);
  ProcessResult del = Gcloud({"compute", "instances", "delete", kVmName, "--zone", kZone});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  auto status = Cloudcoop({"status", "--json"});
  ASSERT_EQ(status.rc, 0);
  EXPECT_EQ(json::parse(status.out)["exists"], false);

  // a missing instance: a Google-style 404 that gcloud reports as an error
  ProcessResult missing = Gcloud({"compute", "instances", "describe", kVmName, "--zone", kZone, "--format=json"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("ERROR: (gcloud.compute.instances.describe)"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("was not found"), std::string::npos) << missing.err;
}

// Field paths of a JSON value with their types; array elements share one path ("disks[]").
void Flatten(const json& j, const std::string& path, std::map<std::string, std::string>* out) {
  if (j.is_object()) {
    (*out)[path.empty() ? "." : path] = "object";
    for (auto it = j.begin(); it != j.end(); ++it) Flatten(it.value(), path + "." + it.key(), out);
  } else if (j.is_array()) {
    (*out)[path] = "array";
    for (const auto& e : j) Flatten(e, path + "[]", out);
  } else {
    (*out)[path] = j.type_name();
  }
}

std::map<std::string, std::string> MetadataItems(const json& body) {
  std::map<std::string, std::string> items;
  for (const auto& it : body["metadata"]["items"]) items[it["key"]] = it["value"];
  return items;
}

std::string Last(const std::string& url) { return url.substr(url.rfind('/') + 1); }

// The bodies of instances.insert calls, in order.
std::vector<json> InsertBodies(const FakeGcp& gcp) {
  std::vector<json> out;
  for (const auto& r : gcp.Requests()) {
    if (r.method == "POST" && r.path == "/compute/v1/projects/test-project/zones/us-central1-a/instances") {
      out.push_back(json::parse(r.body));
    }
  }
  return out;
}

TEST_F(GcloudFidelityTest, CreateBodyMatchesGcloudsForTheEquivalentFlags) {
  ASSERT_EQ(Cloudcoop({"create", "--spot", "--max-uptime", "60"}).rc, 0);
  json ours = InsertBodies(gcp).front();
  ASSERT_EQ(Cloudcoop({"stop"}).rc, 0);
  ASSERT_EQ(Cloudcoop({"delete", "--yes"}).rc, 0);

  std::string script;
  for (const auto& it : ours["metadata"]["items"]) {
    if (it["key"] == "startup-script") script = it["value"];
  }
  std::string script_file = dir.Write("startup.sh", script);
  ProcessResult r = Gcloud({"compute", "instances", "create", kVmName, "--zone", kZone,
                            "--machine-type", "c4a-highcpu-4",
                            "--image", "projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-arm64",
                            "--boot-disk-size", "50GB", "--boot-disk-type", "hyperdisk-balanced",
                            "--network", kNetwork, "--subnet", "cloudcoop-subnet", "--no-address",
                            "--service-account", kServiceAccount, "--scopes", "cloud-platform",
                            "--shielded-secure-boot", "--shielded-vtpm", "--shielded-integrity-monitoring",
                            "--metadata",
                            std::string("enable-oslogin=TRUE,block-project-ssh-keys=TRUE,serial-port-enable=FALSE,"
                                        "enable-guest-attributes=TRUE,cloudcoop-version=") + kVersion,
                            "--metadata-from-file", "startup-script=" + script_file,
                            "--labels", "managed-by=cloudcoop", "--tags", "cloudcoop-agent-host",
                            "--provisioning-model", "SPOT", "--instance-termination-action", "STOP",
                            "--max-run-duration", "60m", "--no-restart-on-failure", "--maintenance-policy", "TERMINATE",
                            "--format=json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto bodies = InsertBodies(gcp);
  ASSERT_EQ(bodies.size(), 2u);
  json theirs = bodies.back();

  // Same field names with the same value types, for every field cloudcoop sends.
  std::map<std::string, std::string> a, b;
  Flatten(ours, "", &a);
  Flatten(theirs, "", &b);
  for (const auto& [path, type] : a) {
    auto it = b.find(path);
    if (it == b.end()) {
      ADD_FAILURE() << "cloudcoop sends " << path << " (" << type << "); gcloud does not";
      continue;
    }
    EXPECT_EQ(type, it->second) << "type of " << path;
  }
  // And the same meaning where both say the same thing.
  EXPECT_EQ(MetadataItems(ours), MetadataItems(theirs));
  EXPECT_EQ(ours["labels"], theirs["labels"]);
  EXPECT_EQ(ours["tags"], theirs["tags"]);
  EXPECT_EQ(ours["serviceAccounts"], theirs["serviceAccounts"]);
  EXPECT_EQ(ours["shieldedInstanceConfig"], theirs["shieldedInstanceConfig"]);
  EXPECT_EQ(ours["canIpForward"], theirs["canIpForward"]);
  EXPECT_EQ(ours["scheduling"], theirs["scheduling"]);
  EXPECT_EQ(Last(ours["machineType"]), Last(theirs["machineType"]));
  EXPECT_EQ(ours["disks"][0]["initializeParams"]["diskSizeGb"], theirs["disks"][0]["initializeParams"]["diskSizeGb"]);
  EXPECT_EQ(Last(ours["disks"][0]["initializeParams"]["diskType"]), Last(theirs["disks"][0]["initializeParams"]["diskType"]));
  EXPECT_EQ(Last(ours["networkInterfaces"][0]["network"]), Last(theirs["networkInterfaces"][0]["network"]));
  EXPECT_EQ(Last(ours["networkInterfaces"][0]["subnetwork"]), Last(theirs["networkInterfaces"][0]["subnetwork"]));
  EXPECT_FALSE(theirs["networkInterfaces"][0].contains("accessConfigs"));
}

}  // namespace
}  // namespace cloudcoop::fakegcp
