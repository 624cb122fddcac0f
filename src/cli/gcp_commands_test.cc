// The cloud commands end to end: the CLI (in-process, or the built binary) with the real libcurl
// transport against the fake GCP server on loopback.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <thread>

#include "core/files.h"
#include "core/process.h"
#include "core/strings.h"
#include "testing/fake_gcp/fake_gcp_server.h"
#include "testing/fake_gcp/fixture.h"
#include "testing/test_util.h"

extern char** environ;

namespace cloudcoop::cli {
namespace {

using fakegcp::FakeGcp;
using fakegcp::FakeGcpServer;
using fakegcp::Fault;
using fakegcp::FaultKind;
using fakegcp::kVmName;
using fakegcp::kZone;
using nlohmann::json;
using testing::CliResult;
using testing::RunCliInProcess;
using testing::ScopedEnv;

class GcpCommandsTest : public ::testing::Test {
 protected:
  GcpCommandsTest() : server(&gcp) {
    fakegcp::SeedStandardProject(gcp);
    token_file = dir.Write("token", std::string(fakegcp::kToken) + "\n");
    config = dir.Write("cloudcoop.toml", fakegcp::GcpConfigToml());
    for (const auto& [k, v] : Env()) envs.push_back(std::make_unique<ScopedEnv>(k, v));
    for (const char* unset : {"GOOGLE_APPLICATION_CREDENTIALS", "GCE_METADATA_HOST", "CLOUDSDK_CONFIG"}) {
      envs.push_back(std::make_unique<ScopedEnv>(unset, std::nullopt));
    }
  }
  std::map<std::string, std::string> Env() {
    auto env = server.EndpointEnv();
    env["CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"] = token_file;
    env["CLOUDCOOP_STATE_DIR"] = dir.Sub("state");
    return env;
  }
  CliResult Run(std::vector<std::string> args, const std::string& stdin_text = "", bool tty = false) {
    args.insert(args.begin(), {"--config", config});
    return RunCliInProcess(args, stdin_text, tty);
  }
  std::string VmStatus() {
    auto in = gcp.InstanceJson(kZone, kVmName);
    return in ? json::parse(*in)["status"].get<std::string>() : "<none>";
  }

  FakeGcp gcp;
  FakeGcpServer server;
  testing::TempDir dir;
  std::string token_file;
  std::string config;
  std::vector<std::unique_ptr<ScopedEnv>> envs;
};

TEST_F(GcpCommandsTest, StatusWithTheLocalProvider) {
  std::string local = dir.Write("local.toml", "cloud.provider = \"local\"\n");
  auto r = RunCliInProcess({"--config", local, "status"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("this machine (cloud.provider = local)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cloudcoop agent list"), std::string::npos);
  auto j = RunCliInProcess({"--config", local, "status", "--json"});
  EXPECT_EQ(json::parse(j.out)["provider"], "local");
  EXPECT_TRUE(gcp.Requests().empty());
}

TEST_F(GcpCommandsTest, VmCommandsRefuseTheLocalProvider) {
  std::string local = dir.Write("local.toml", "cloud.provider = \"local\"\n");
  for (std::string cmd : {"create", "start", "stop", "delete"}) {
    auto r = RunCliInProcess({"--config", local, cmd});
    EXPECT_EQ(r.rc, 2) << cmd;
    EXPECT_NE(r.err.find("manages a GCP agent host, but cloud.provider = local"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(gcp.Requests().empty());
}

TEST_F(GcpCommandsTest, InvalidConfigNeverReachesTheApi) {
  std::string bad = dir.Write("bad.toml", "cloud.provider = \"gcp\"\ncloud.gcp.project = \"test-project\"\n"
                                          "cloud.gcp.service_account = \"123456789012-compute@developer.gserviceaccount.com\"\n");
  auto r = RunCliInProcess({"--config", bad, "status"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("default service account"), std::string::npos) << r.err;
  EXPECT_TRUE(gcp.Requests().empty());
}

TEST_F(GcpCommandsTest, CreateDryRunPrintsTheBodyOnly) {
  auto r = Run({"create", "--dry-run", "--spot", "--size", "medium"});
  ASSERT_EQ(r.rc, 0) << r.err;
  json body = json::parse(r.out);
  EXPECT_EQ(body["machineType"], "zones/us-central1-a/machineTypes/c4a-highcpu-8");
  EXPECT_EQ(body["scheduling"]["provisioningModel"], "SPOT");
  EXPECT_TRUE(gcp.Requests().empty());
}

TEST_F(GcpCommandsTest, LifecycleEndToEnd) {
  auto status = Run({"status"});
  EXPECT_EQ(status.rc, 0) << status.err;
  EXPECT_NE(status.out.find("not found"), std::string::npos);

  auto create = Run({"create", "--max-uptime", "60"});
  ASSERT_EQ(create.rc, 0) << create.err;
  EXPECT_NE(create.out.find("created cloudcoop-agents (c4a-highcpu-4, us-central1-a): running"), std::string::npos);
  // Without a terminal, progress is plain lines on stderr.
  EXPECT_NE(create.err.find("creating cloudcoop-agents (c4a-highcpu-4) ...\n"), std::string::npos) << create.err;
  EXPECT_NE(create.err.find("  operation DONE\n"), std::string::npos);
  EXPECT_NE(create.err.find("  done after "), std::string::npos);

  auto js = Run({"status", "--json"});
  ASSERT_EQ(js.rc, 0) << js.err;
  json j = json::parse(js.out);
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["zone"], kZone);
  EXPECT_EQ(j["machine_type"], "c4a-highcpu-4");
  EXPECT_EQ(j["spot"], false);
  EXPECT_EQ(j["external_ips"], json::array());
  EXPECT_EQ(j["max_run_duration_seconds"], 3600);
  EXPECT_TRUE(j["uptime_seconds"].is_number());
  EXPECT_TRUE(j["cost_per_hour_usd"].is_number());
  EXPECT_EQ(j["provisioning"]["status"], "pending");

  gcp.SetGuestAttribute(kZone, kVmName, "provision-status", "running");
  gcp.SetGuestAttribute(kZone, kVmName, "provision-progress", "2/3 install tmux and git");
  auto text = Run({"status"});
  EXPECT_NE(text.out.find("provisioning  ◐ running: 2/3 install tmux and git"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("external IP   none (SSH through IAP)"), std::string::npos);

  EXPECT_EQ(Run({"create"}).rc, 0);  // exists: nothing to do
  EXPECT_EQ(gcp.InstanceCount(), 1);
  EXPECT_EQ(Run({"start"}).rc, 0);  // already running
  auto stop = Run({"stop", "--json"});
  ASSERT_EQ(stop.rc, 0) << stop.err;
  EXPECT_EQ(json::parse(stop.out)["vm"]["state"], "stopped");
  EXPECT_EQ(VmStatus(), "TERMINATED");
  auto resize = Run({"resize", "large"});
  ASSERT_EQ(resize.rc, 0) << resize.err;
  EXPECT_NE(resize.out.find("from c4a-highcpu-4 to c4a-highcpu-16 (still stopped"), std::string::npos) << resize.out;
  ASSERT_EQ(Run({"start"}).rc, 0);
  EXPECT_EQ(VmStatus(), "RUNNING");
  auto running_delete = Run({"delete", "--yes"});
  EXPECT_EQ(running_delete.rc, 1);
  EXPECT_NE(running_delete.err.find("stop it first: cloudcoop stop"), std::string::npos);
  ASSERT_EQ(Run({"stop"}).rc, 0);
  auto del = Run({"delete", "--yes"});
  ASSERT_EQ(del.rc, 0) << del.err;
  EXPECT_EQ(gcp.InstanceCount(), 0);
  EXPECT_EQ(Run({"delete", "--yes"}).rc, 0);  // nothing to delete

  // Every change was recorded in the audit log as a control action, with its outcome.
  auto audit = Run({"audit", "--type", "control", "--json"});
  ASSERT_EQ(audit.rc, 0) << audit.err;
  for (const char* action : {"\"create\"", "\"stop\"", "\"resize\"", "\"start\"", "\"delete\""}) {
    EXPECT_NE(audit.out.find(action), std::string::npos) << action << "\n" << audit.out;
  }
}

TEST_F(GcpCommandsTest, NoAuditRecordNoChange) {
  dir.Write("state/audit", "not a directory\n");  // the audit log cannot be written
  auto r = Run({"create"});
  EXPECT_NE(r.rc, 0);
  EXPECT_EQ(gcp.CountRequests("POST", "/instances"), 0) << r.err;
  EXPECT_EQ(gcp.InstanceCount(), 0);
}

TEST_F(GcpCommandsTest, StateRulesSayWaitWhileTransitioning) {
  ASSERT_EQ(Run({"create"}).rc, 0);
  gcp.SetInstanceStatus(kZone, kVmName, "STOPPING");
  auto start = Run({"start"});
  EXPECT_EQ(start.rc, 1);
  EXPECT_NE(start.err.find("VM cloudcoop-agents is stopping"), std::string::npos) << start.err;
  EXPECT_NE(start.err.find("fix: wait until it has settled"), std::string::npos);
  EXPECT_EQ(Run({"stop"}).rc, 0);  // already stopping: nothing to do
}

TEST_F(GcpCommandsTest, DeleteAsksOnATerminal) {
  ASSERT_EQ(Run({"create"}).rc, 0);
  ASSERT_EQ(Run({"stop"}).rc, 0);
  auto no_tty = Run({"delete"});
  EXPECT_EQ(no_tty.rc, 2);
  EXPECT_NE(no_tty.err.find("re-run with --yes"), std::string::npos);
  auto declined = Run({"delete"}, "no\n", /*tty=*/true);
  EXPECT_EQ(declined.rc, 1);
  EXPECT_NE(declined.err.find("Delete VM cloudcoop-agents in us-central1-a and its boot disk?"), std::string::npos);
  EXPECT_EQ(gcp.InstanceCount(), 1);
  auto accepted = Run({"delete"}, "yes\n", /*tty=*/true);
  EXPECT_EQ(accepted.rc, 0) << accepted.err;
  EXPECT_EQ(gcp.InstanceCount(), 0);
}

TEST_F(GcpCommandsTest, RetriesThenSuccess) {
  Fault f;
  f.http_status = 429;
  f.reason = "rateLimitExceeded";
  f.message = "Rate Limit Exceeded";
  f.times = 2;
  gcp.AddFault(f);
  auto r = Run({"status"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(gcp.CountRequests("GET", "/instances/cloudcoop-agents"), 3);
}

TEST_F(GcpCommandsTest, DroppedConnectionsAreRetried) {
  Fault f;
  f.kind = FaultKind::kDrop;
  f.times = 1;
  gcp.AddFault(f);
  auto r = Run({"status"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(gcp.CountRequests("GET", "/instances/cloudcoop-agents"), 2);
}

TEST_F(GcpCommandsTest, RetriesExhaustedIsAClearError) {
  Fault f;
  f.times = -1;
  gcp.AddFault(f);
  auto r = Run({"status"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("compute.instances.get cloudcoop-agents: gave up after 5 attempts"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HTTP 503: The service is currently unavailable."), std::string::npos);
  EXPECT_NE(r.err.find("fix: Google Cloud kept answering with a transient error"), std::string::npos);
}

TEST_F(GcpCommandsTest, PermissionDeniedNamesThePermission) {
  Fault f;
  f.http_status = 403;
  f.reason = "forbidden";
  f.message = "Required 'compute.instances.create' permission for 'projects/test-project/zones/us-central1-a/instances/cloudcoop-agents'";
  f.method = "POST";
  gcp.AddFault(f);
  auto r = Run({"create"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("permission compute.instances.create is missing"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a role that includes compute.instances.create"), std::string::npos);
  EXPECT_EQ(gcp.InstanceCount(), 0);
}

TEST_F(GcpCommandsTest, NotFoundForStart) {
  auto r = Run({"start"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("VM cloudcoop-agents does not exist in us-central1-a"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fix: create it: cloudcoop create"), std::string::npos);
}

TEST_F(GcpCommandsTest, QuotaOperationErrorIsSurfaced) {
  Fault f;
  f.kind = FaultKind::kOperationError;
  f.method = "POST";
  f.path_contains = "/instances";
  gcp.AddFault(f);
  auto r = Run({"create"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("QUOTA_EXCEEDED: Quota 'CPUS' exceeded."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fix: request a higher quota"), std::string::npos);
  EXPECT_EQ(gcp.InstanceCount(), 0);
}

TEST_F(GcpCommandsTest, FirewallStatusAndEnsure) {
  gcp.PutFirewallJson(R"({"name":"allow-ssh-world","network":"projects/test-project/global/networks/cloudcoop-vpc",
      "sourceRanges":["0.0.0.0/0"],"allowed":[{"IPProtocol":"tcp","ports":["22"]}]})");
  auto status = Run({"firewall", "status"});
  EXPECT_EQ(status.rc, 3);
  EXPECT_NE(status.out.find("cloudcoop-allow-iap-ssh: ✗ missing"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("✗ allow-ssh-world: opens SSH to the internet"), std::string::npos);

  // --fix without a terminal or --yes refuses before changing anything.
  auto refused = Run({"firewall", "ensure", "--fix"});
  EXPECT_EQ(refused.rc, 2);
  EXPECT_EQ(gcp.FirewallNames(), std::vector<std::string>{"allow-ssh-world"});

  auto ensure = Run({"firewall", "ensure"});
  EXPECT_EQ(ensure.rc, 3);  // the world-open rule is still there
  EXPECT_NE(ensure.out.find("IAP rule cloudcoop-allow-iap-ssh: created"), std::string::npos) << ensure.out;
  EXPECT_NE(ensure.out.find("not deleted (re-run with --fix): allow-ssh-world"), std::string::npos);

  auto declined = Run({"firewall", "ensure", "--fix"}, "n\n", /*tty=*/true);
  EXPECT_EQ(declined.rc, 3);
  EXPECT_NE(declined.err.find("Delete firewall rule allow-ssh-world"), std::string::npos);
  EXPECT_EQ(gcp.FirewallNames().size(), 2u);

  auto fixed = Run({"firewall", "ensure", "--fix", "--yes", "--json"});
  ASSERT_EQ(fixed.rc, 0) << fixed.err << fixed.out;
  json j = json::parse(fixed.out);
  EXPECT_EQ(j["deleted"], json::array({"allow-ssh-world"}));
  EXPECT_EQ(j["iap_rule_action"], "unchanged");
  EXPECT_EQ(j["compliant"], true);
  EXPECT_EQ(gcp.FirewallNames(), std::vector<std::string>{"cloudcoop-allow-iap-ssh"});
  json rule = json::parse(gcp.Bodies("POST", "/global/firewalls").front());
  EXPECT_EQ(rule["sourceRanges"], json::array({"35.235.240.0/20"}));
  EXPECT_EQ(rule["targetServiceAccounts"], json::array({fakegcp::kServiceAccount}));
  EXPECT_EQ(rule["logConfig"]["enable"], true);
  EXPECT_EQ(Run({"firewall", "status"}).rc, 0);
}

TEST_F(GcpCommandsTest, FirewallEnsureRepairsAWidenedIapRule) {
  gcp.PutFirewallJson(R"({"name":"cloudcoop-allow-iap-ssh","network":"projects/test-project/global/networks/cloudcoop-vpc",
      "sourceRanges":["35.235.240.0/20","0.0.0.0/0"],"allowed":[{"IPProtocol":"tcp","ports":["22"]}],
      "targetTags":["cloudcoop-agent-host"],"logConfig":{"enable":false}})");
  auto r = Run({"firewall", "ensure"});
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("IAP rule cloudcoop-allow-iap-ssh: updated"), std::string::npos);
  json patch = json::parse(gcp.Bodies("PATCH", "/global/firewalls/cloudcoop-allow-iap-ssh").back());
  EXPECT_EQ(patch["sourceRanges"], json::array({"35.235.240.0/20"}));
  EXPECT_EQ(patch["targetTags"], json::array());
}

TEST_F(GcpCommandsTest, LiveChecks) {
  ASSERT_EQ(Run({"create"}).rc, 0);
  ASSERT_EQ(Run({"firewall", "ensure"}).rc, 0);
  auto pass = Run({"check", "--only", "gcp."});
  EXPECT_EQ(pass.rc, 0) << pass.out;
  EXPECT_NE(pass.out.find("12 passed, 0 failed"), std::string::npos) << pass.out;
  Fault denied;
  denied.http_status = 403;
  denied.reason = "forbidden";
  denied.message = "Permission 'iam.serviceAccountKeys.list' denied on resource (or it may not exist).";
  denied.path_contains = "/keys";
  denied.times = -1;
  gcp.AddFault(denied);
  auto fail = Run({"check", "--only", "gcp.sa-no-user-keys", "--json"});
  EXPECT_EQ(fail.rc, 3);
  EXPECT_NE(fail.out.find("cannot read the keys of agent-sandbox@test-project.iam.gserviceaccount.com"), std::string::npos)
      << fail.out;
  EXPECT_NE(fail.out.find("iam.serviceAccountKeys.list"), std::string::npos);
}

// ---- the built binary ----

// Starts the binary with extra environment; the caller waits or kills it.
pid_t Spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& extra, const std::string& log) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.push_back(*e);
  for (const auto& [k, v] : extra) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string bin = testing::BinaryPath();
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

TEST_F(GcpCommandsTest, CreateKilledMidwayAndRerunCreatesExactlyOneInstance) {
  // GCP accepts the insert but the operation runs long and the instance is not visible yet.
  gcp.options().hide_instance_until_done = true;
  gcp.options().operation_polls = 1000000;
  pid_t pid = Spawn({"--config", config, "create"}, Env(), dir.Sub("first.log"));
  ASSERT_GT(pid, 0);
  bool sent = false;
  for (int i = 0; i < 3000 && !sent; ++i) {  // at most 30 s
    sent = gcp.CountRequests("POST", "/zones/us-central1-a/instances") > 0 &&
           gcp.CountRequests("POST", "/operations/") > 0;
    if (!sent) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  ASSERT_TRUE(sent) << *ReadFile(dir.Sub("first.log"));
  ASSERT_TRUE(WIFSIGNALED(wstatus));
  EXPECT_EQ(gcp.InstanceCount(), 1);  // accepted, still hidden
  // The interrupted create left its requestId behind.
  auto state = ListDir(dir.Sub("state/gcp"));
  ASSERT_TRUE(state.ok());
  EXPECT_NE(std::find(state->begin(), state->end(), "create-test-project-us-central1-a-cloudcoop-agents.pending"),
            state->end());
  gcp.FinishOperationsAfter(1);
  gcp.options().operation_polls = 1;

  auto again = testing::RunBinary({"--config", config, "create"}, Env());
  EXPECT_EQ(again.rc, 0) << again.err;
  EXPECT_NE(again.out.find("created cloudcoop-agents"), std::string::npos) << again.out;
  EXPECT_EQ(gcp.InstanceCount(), 1);
  std::set<std::string> request_ids;
  int inserts = 0;
  for (const auto& r : gcp.Requests()) {
    if (r.method == "POST" && r.path == "/compute/v1/projects/test-project/zones/us-central1-a/instances") {
      ++inserts;
      request_ids.insert(r.query.at("requestId"));
    }
  }
  EXPECT_EQ(inserts, 2);
  EXPECT_EQ(request_ids.size(), 1u) << "the re-run must re-send the same requestId";
  EXPECT_EQ(VmStatus(), "RUNNING");
  auto left = ListDir(dir.Sub("state/gcp"));
  ASSERT_TRUE(left.ok());
  for (const auto& name : *left) EXPECT_FALSE(EndsWith(name, ".pending")) << name;
}

TEST_F(GcpCommandsTest, SpinnerOnATerminal) {
  if (FindOnPath("script").empty()) GTEST_SKIP() << "util-linux script is not installed";
  gcp.options().operation_polls = 4;
  // `script` gives the binary a pseudo-terminal, so stderr is a TTY.
  std::string cmd = testing::BinaryPath() + " --config " + config + " create";
  ProcessSpec spec;
  spec.argv = {"script", "-qec", cmd, "/dev/null"};
  for (const auto& [k, v] : Env()) spec.env[k] = v;
  spec.timeout = std::chrono::seconds(60);
  auto r = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->out;
  EXPECT_NE(r->out.find("\r✓ creating cloudcoop-agents (c4a-highcpu-4)"), std::string::npos) << r->out;
  bool spun = false;
  for (const char* frame : {"\r⠋ creating", "\r⠙ creating", "\r⠹ creating"}) spun = spun || r->out.find(frame) != std::string::npos;
  EXPECT_TRUE(spun) << r->out;
  EXPECT_NE(r->out.find("\x1b[K"), std::string::npos);
}

}  // namespace
}  // namespace cloudcoop::cli
