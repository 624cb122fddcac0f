// Network mode egress through the real `cloudcoop sandbox run`, on an agent host that is itself a
// namespace this test creates, whose only route leads to a fake internet (testing/netns_topology.h:
// a web server, a metadata server with its resolver, a public resolver). `cloudcoop` runs with a
// test resolv.conf bound over the host's (the metadata server's resolver, as on GCE), so no packet
// is ever addressed to the real network. Each test tries to get out and fails if it succeeds; the
// positive controls (the allowed web server, DNS) must work.
#include <linux/netlink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "core/files.h"
#include "core/process.h"
#include "core/strings.h"
#include "sandbox/control.h"
#include "sandbox/net_egress.h"
#include "sandbox/netlink.h"
#include "sandbox/state.h"
#include "testing/netns_topology.h"
#include "testing/sandbox_harness.h"
#include "testing/test_util.h"

namespace cloudcoop::sandbox {
namespace {

using testing::NetnsChild;
using testing::NetnsTopology;

bool WaitFor(const std::function<bool()>& cond, int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

class EgressContainment : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "these tests need root";
    auto t = NetnsTopology::Create();
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    topo_ = std::move(*t);
    in_host_ = std::make_unique<testing::ScopedNetns>(topo_->host_fd());
    ASSERT_TRUE(in_host_->ok());
    chmod(tmp_.path().c_str(), 0755);
    state_ = tmp_.Sub("state");
    ws_ = tmp_.Sub("ws");
    ASSERT_EQ(mkdir(ws_.c_str(), 0777), 0);
    chmod(ws_.c_str(), 0777);
    resolv_ =
        tmp_.Write("host-resolv.conf", std::string("nameserver ") + NetnsTopology::kMetadataAddr + "\n");
    env_ = std::make_unique<testing::ScopedEnv>("CLOUDCOOP_STATE_DIR", state_);
    auto any = topo_->StartHostService("host-any", "0.0.0.0", 0);
    auto lo = topo_->StartHostService("host-loopback", "127.0.0.1", 0);
    ASSERT_TRUE(any.ok() && lo.ok());
    any_port_ = std::to_string(*any);
    lo_port_ = std::to_string(*lo);
  }

  void TearDown() override {
    // Sandboxes started by a test are gone with their NetnsChild (the supervisor is killed, the
    // sandbox dies with it); this removes what a killed supervisor left (cgroups, records, slots).
    (void)CollectStale(state_);
    env_.reset();
    in_host_.reset();
    topo_.reset();  // the namespaces, and with them every veth and the nftables table
  }

  // `cloudcoop ARGS` on the agent host, with the test's resolv.conf as the host's.
  NetnsChild::Result Cloudcoop(const std::vector<std::string>& args, int timeout = 120) {
    auto child = NetnsChild::Start(/*new_netns=*/false);
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    if (!child.ok()) return {};
    std::vector<std::string> argv = {testing::BinaryPath()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = (*child)->Run(argv, resolv_, timeout);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : NetnsChild::Result{};
  }

  // A `cloudcoop sandbox run` that keeps running in the background (killed with its NetnsChild).
  std::unique_ptr<NetnsChild> Background(const std::vector<std::string>& args) {
    auto child = NetnsChild::Start(/*new_netns=*/false);
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    if (!child.ok()) return nullptr;
    std::vector<std::string> argv = {resolv_, testing::BinaryPath()};
    argv.insert(argv.end(), args.begin(), args.end());
    Status s = (*child)->Spawn(argv);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::move(*child);
  }

  bool Running(const std::string& name) {
    auto info = FindSandbox(state_, name);
    return info.ok() && info->record.phase == "running";
  }

  void ExpectNothingLeft() {
    auto rt = nl::Socket::Open(NETLINK_ROUTE);
    ASSERT_TRUE(rt.ok());
    auto links = nl::ListLinks(*rt);
    ASSERT_TRUE(links.ok());
    for (const auto& l : *links)
      EXPECT_FALSE(StartsWith(l.name, kEgressIfPrefix)) << "left behind: " << l.name;
    auto slots = ListEgressSlots(EgressConfigForStateDir(state_));
    ASSERT_TRUE(slots.ok());
    EXPECT_TRUE(slots->empty()) << slots->size() << " slot record(s) left behind";
    auto records = state::List(state_);
    ASSERT_TRUE(records.ok());
    EXPECT_TRUE(records->empty()) << records->size() << " running record(s) left behind";
  }

  testing::TempDir tmp_;
  std::unique_ptr<NetnsTopology> topo_;
  std::unique_ptr<testing::ScopedNetns> in_host_;
  std::unique_ptr<testing::ScopedEnv> env_;
  std::string state_, ws_, resolv_, any_port_, lo_port_;
};

void ExpectResult(const testing::ProbeRun& run, const std::string& probe, const std::string& result,
                  const std::string& err = "") {
  auto it = run.by_name.find(probe);
  ASSERT_NE(it, run.by_name.end()) << "probe " << probe << " did not run";
  EXPECT_EQ(it->second.result, result) << probe << ": " << it->second.detail;
  if (!err.empty()) {
    EXPECT_EQ(it->second.err, err) << probe << ": " << it->second.detail;
  }
}

// Probe number `probe_no` of cc_net_probe's output ({} when missing).
std::map<std::string, std::string> NetProbeLine(const std::string& output, const std::string& probe_no) {
  for (const auto& m : testing::ParseProbeOutput(output)) {
    auto it = m.find("probe");
    if (it != m.end() && it->second == probe_no) return m;
  }
  return {};
}

std::string Field(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? "" : it->second;
}

TEST_F(EgressContainment, AnUnpreparedHostRefusesEgressAndSaysHow) {
  auto r = Cloudcoop({"sandbox", "run", "--net", "egress", "--", "true"});
  EXPECT_EQ(r.exit_code, 125) << r.output;
  EXPECT_NE(r.output.find("sandbox layer netns: network mode egress: this host is not prepared"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("cloudcoop sandbox prepare-host"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--net none"), std::string::npos) << r.output;
  // Fail closed, never a fallback: nothing ran, nothing was changed on the host.
  auto table = InspectEgressHost(EgressConfigForStateDir(state_));
  ASSERT_TRUE(table.ok());
  EXPECT_FALSE(table->table_current) << "starting a sandbox must never prepare the host";
  ExpectNothingLeft();
}

TEST_F(EgressContainment, NoBreachInModeEgress) {
  auto prep = Cloudcoop({"sandbox", "prepare-host"});
  ASSERT_EQ(prep.exit_code, 0) << prep.output;

  // A sibling egress sandbox listening on every address of its own namespace.
  std::string sibling = testing::UniqueSandboxName("sib");
  auto sib = Background({"sandbox", "run", "--name", sibling, "--net", "egress", "--ro-bind",
                         testing::ProbeDir(), "--", testing::ProbeBinary(), "listen", "8080", "0.0.0.0"});
  ASSERT_NE(sib, nullptr);
  std::string sib_addr;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto slots = ListEgressSlots(EgressConfigForStateDir(state_));
        if (!Running(sibling) || !slots.ok() || slots->size() != 1) return false;
        sib_addr =
            EgressLeaseForSlot(EgressConfigForStateDir(state_).pool, (*slots)[0].slot).address.ToString();
        return true;
      },
      60))
      << "the sibling did not start";
  // Control: the sibling's listener is live, seen from inside its own namespace.
  auto info = FindSandbox(state_, sibling);
  ASSERT_TRUE(info.ok());
  bool live = WaitFor(
      [&] {
        ProcessSpec spec;
        spec.argv = {"nsenter",
                     "--net=/proc/" + std::to_string(info->record.init_pid) + "/ns/net",
                     testing::NetProbePath(),
                     "tcp",
                     sib_addr,
                     "8080"};
        auto out = DefaultProcessRunner().Run(spec);
        return out.ok() && out->out.find("result=connected") != std::string::npos;
      },
      20);
  ASSERT_TRUE(live) << "the sibling's listener is not reachable even from its own namespace";

  std::vector<std::string> args = {"sandbox",     "run",
                                   "--name",      testing::UniqueSandboxName("probe"),
                                   "--net",       "egress",
                                   "--workspace", ws_,
                                   "--ro-bind",   testing::ProbeDir(),
                                   "--memory",    "512M",
                                   "--pids",      "128",
                                   "--",          testing::ProbeBinary(),
                                   "--mode",      "egress"};
  for (const auto& kv : std::vector<std::string>{
           "fake_internet=1", std::string("web=") + NetnsTopology::kWebAddr + ":80",
           std::string("public_dns=") + NetnsTopology::kPublicResolver,
           std::string("host_addrs=") + NetnsTopology::kHostAddr + ":" + any_port_, "host_port=" + any_port_,
           "host_tcp=127.0.0.1:" + lo_port_, "sibling_tcp=" + sib_addr + ":8080", "workspace=" + ws_}) {
    args.push_back("--arg");
    args.push_back(kv);
  }
  for (const auto& h : testing::HostNamespaceArgs()) args.push_back(h);
  auto r = Cloudcoop(args);
  testing::ProbeRun run = testing::ParseProbeOutput(r.output, r.exit_code);
  ASSERT_EQ(run.rc, 0) << run.Problems() << r.output;
  EXPECT_EQ(run.breaches, 0) << run.Problems();
  EXPECT_EQ(run.broken, 0) << run.Problems();

  ExpectResult(run, "net_namespace", "blocked");
  ExpectResult(run, "internet_allowed", "ok");
  ExpectResult(run, "dns_allowed", "ok");
  ExpectResult(run, "metadata_ip", "blocked", "EACCES");
  ExpectResult(run, "metadata_mapped_v6", "blocked", "EACCES");
  ExpectResult(run, "metadata_aws_v6", "blocked", "EACCES");
  ExpectResult(run, "metadata_resolver", "blocked", "EACCES");
  ExpectResult(run, "metadata_name", "blocked");
  ExpectResult(run, "rebinding_name", "blocked");
  ExpectResult(run, "private_range", "blocked", "EACCES");
  ExpectResult(run, "private_ranges", "blocked", "EACCES");
  ExpectResult(run, "raw_dns", "blocked", "EHOSTUNREACH");
  ExpectResult(run, "host_interfaces", "blocked", "EACCES");
  ExpectResult(run, "host_gateway", "blocked", "EACCES");
  ExpectResult(run, "host_loopback", "blocked", "ECONNREFUSED");
  ExpectResult(run, "sibling_listener", "blocked", "EACCES");

  // Nothing blocked ever arrived; the allowed paths did.
  EXPECT_EQ(topo_->Count("metadata"), 0u);
  EXPECT_EQ(topo_->Count("vpc"), 0u);
  EXPECT_EQ(topo_->Count("dns-public"), 0u);
  EXPECT_EQ(topo_->Count("host-any"), 0u);
  EXPECT_EQ(topo_->Count("host-loopback"), 0u);
  EXPECT_GE(topo_->Count("web"), 1u);
  EXPECT_GE(topo_->Count("dns-metadata"), 1u);  // the relay, on the host's behalf

  // The kill switch takes the sibling down; its supervisor releases everything.
  auto kill = Cloudcoop({"sandbox", "kill", sibling});
  EXPECT_EQ(kill.exit_code, 0) << kill.output;
  EXPECT_TRUE(WaitFor([&] { return !FindSandbox(state_, sibling).ok(); }, 30));
  EXPECT_TRUE(WaitFor(
      [&] {
        auto slots = ListEgressSlots(EgressConfigForStateDir(state_));
        return slots.ok() && slots->empty();
      },
      30));
  sib.reset();
  ExpectNothingLeft();
}

// The sandbox's resolver is its relay (its resolv.conf is generated), which answers internet names
// and refuses the metadata server's, over UDP and TCP; the web host is reachable and the metadata
// server is not, by address or by name.
TEST_F(EgressContainment, TheDnsRelayRefusesMetadataNamesAndTheWebWorks) {
  ASSERT_EQ(Cloudcoop({"sandbox", "prepare-host"}).exit_code, 0);
  std::string resolver(kSandboxResolver);
  // cc_net_probe's probes, numbered from 1 in its output.
  std::vector<std::vector<std::string>> probes = {
      {"dns-udp", resolver, "example.test", "A"},                                   // 1
      {"dns-udp", resolver, "metadata.google.internal", "A"},                       // 2
      {"dns-tcp", resolver, "metadata.google.internal", "A"},                       // 3
      {"dns-udp", resolver, "metadata", "A"},                                       // 4
      {"resolve", "metadata.google.internal"},                                      // 5
      {"resolve", "example.test"},                                                  // 6
      {"tcp", NetnsTopology::kWebAddr, "80"},                                       // 7
      {"tcp", NetnsTopology::kMetadataAddr, "80"},                                  // 8
      {"dns-udp", NetnsTopology::kMetadataAddr, "metadata.google.internal", "A"}};  // 9
  std::vector<std::string> args = {
      "sandbox", "run", "--net", "egress", "--ro-bind", testing::ProbeDir(), "--", testing::NetProbePath()};
  for (size_t i = 0; i < probes.size(); ++i) {
    if (i > 0) args.push_back(",");
    args.insert(args.end(), probes[i].begin(), probes[i].end());
  }
  auto r = Cloudcoop(args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto p1 = NetProbeLine(r.output, "1");
  EXPECT_EQ(Field(p1, "result"), "answer") << r.output;
  EXPECT_EQ(Field(p1, "rcode"), "0") << r.output;
  EXPECT_NE(Field(p1, "addrs").find(NetnsTopology::kWebAddr), std::string::npos) << r.output;
  for (const char* n : {"2", "3", "4"}) {
    auto p = NetProbeLine(r.output, n);
    EXPECT_EQ(Field(p, "rcode"), "5") << "probe " << n << " expected REFUSED: " << r.output;
  }
  EXPECT_NE(Field(NetProbeLine(r.output, "5"), "result"), "resolved") << r.output;
  EXPECT_EQ(Field(NetProbeLine(r.output, "6"), "result"), "resolved") << r.output;
  EXPECT_EQ(Field(NetProbeLine(r.output, "7"), "result"), "connected") << r.output;
  auto p8 = NetProbeLine(r.output, "8");
  EXPECT_EQ(Field(p8, "result"), "error") << r.output;
  EXPECT_EQ(Field(p8, "errno"), "EACCES") << r.output;
  auto p9 = NetProbeLine(r.output, "9");
  EXPECT_NE(Field(p9, "result"), "answer") << r.output;
  EXPECT_EQ(Field(p9, "errno"), "EACCES") << r.output;
  EXPECT_EQ(topo_->Count("metadata"), 0u);
  EXPECT_GE(topo_->Count("web"), 1u);

  // The resolv.conf the sandbox sees is the generated one, not the host's.
  auto cat = Cloudcoop({"sandbox", "run", "--net", "egress", "--", "/bin/cat", "/etc/resolv.conf"});
  EXPECT_EQ(cat.exit_code, 0) << cat.output;
  EXPECT_NE(cat.output.find("nameserver " + resolver), std::string::npos) << cat.output;
  EXPECT_EQ(cat.output.find(NetnsTopology::kMetadataAddr), std::string::npos) << cat.output;
  ExpectNothingLeft();
}

TEST_F(EgressContainment, KillingTheSupervisorLeavesNothingAfterGc) {
  ASSERT_EQ(Cloudcoop({"sandbox", "prepare-host"}).exit_code, 0);
  std::string name = testing::UniqueSandboxName("sup");
  auto sup = Background({"sandbox", "run", "--name", name, "--net", "egress", "--", "sleep", "60"});
  ASSERT_NE(sup, nullptr);
  ASSERT_TRUE(WaitFor([&] { return Running(name); }, 60));
  auto slots = ListEgressSlots(EgressConfigForStateDir(state_));
  ASSERT_TRUE(slots.ok());
  ASSERT_EQ(slots->size(), 1u);
  sup.reset();  // SIGKILL to the supervisor: the sandbox dies with it, its namespace and veth too
  auto gc = Cloudcoop({"sandbox", "gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.output;
  EXPECT_NE(gc.output.find("1 egress address slot(s)"), std::string::npos) << gc.output;
  EXPECT_TRUE(WaitFor(
      [&] {
        auto rt = nl::Socket::Open(NETLINK_ROUTE);
        if (!rt.ok()) return false;
        auto links = nl::ListLinks(*rt);
        if (!links.ok()) return false;
        for (const auto& l : *links) {
          if (StartsWith(l.name, kEgressIfPrefix)) return false;
        }
        return true;
      },
      10));
  ExpectNothingLeft();
}

}  // namespace
}  // namespace cloudcoop::sandbox
