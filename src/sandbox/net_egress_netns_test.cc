// Egress network mode end to end. Every test runs the "agent host" inside a namespace of its own
// whose only route leads to a fake internet (testing/netns_topology.h): no packet reaches the real
// network, and the real host's routes, sysctls and firewall are never touched.
//
// Blocked probes must fail with the errno of the layer that blocks them (EACCES: a prohibit route
// in the sandbox; EHOSTUNREACH: the host firewall's reject), and the server they aimed at must
// have seen nothing. Each blocked target is first shown to be live from the host itself.
#include <fcntl.h>
#include <linux/netlink.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "core/files.h"
#include "core/process.h"
#include "core/strings.h"
#include "sandbox/net_egress.h"
#include "sandbox/netlink.h"
#include "testing/netns_topology.h"
#include "testing/test_util.h"

namespace cloudcoop::sandbox {
namespace {

using testing::NetnsChild;
using testing::NetnsTopology;
using Probe = std::map<std::string, std::string>;

class EgressNetns : public ::testing::Test {
 protected:
  struct Box {
    std::unique_ptr<NetnsChild> child;
    std::unique_ptr<EgressSandbox> net;
  };

  void SetUp() override {
    auto t = NetnsTopology::Create();
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    topo_ = std::move(*t);
    in_host_ = std::make_unique<testing::ScopedNetns>(topo_->host_fd());
    ASSERT_TRUE(in_host_->ok());
    config_.alloc_dir = dir_.Sub("net");
    // As on GCE: the host's resolver is the metadata server itself.
    config_.dns_upstreams = {*IpAddr::Parse(NetnsTopology::kMetadataAddr)};
    config_.auto_prepare_host = false;
    Status s = PrepareEgressHost(config_, DefaultProcessRunner());
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto p1 = topo_->StartHostService("host-loopback", "127.0.0.1", 0);
    auto p2 = topo_->StartHostService("host-any", "0.0.0.0", 0);
    ASSERT_TRUE(p1.ok() && p2.ok());
    loopback_port_ = std::to_string(*p1);
    any_port_ = std::to_string(*p2);
  }

  void TearDown() override {
    in_host_.reset();
    topo_.reset();
  }

  Box MakeBox(const std::string& name, const EgressConfig& config) {
    Box b;
    auto c = NetnsChild::Start();
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return b;
    b.child = std::move(*c);
    auto n = EgressSandbox::Setup(config, b.child->netns_fd(), name);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok()) return b;
    b.net = std::move(*n);
    Status v = b.net->Verify();
    EXPECT_TRUE(v.ok()) << v.ToString();
    return b;
  }
  Box MakeBox(const std::string& name) { return MakeBox(name, config_); }

  // Runs the probes inside the box (its resolv.conf bound over /etc/resolv.conf).
  std::vector<Probe> RunProbes(Box& b, const std::vector<std::vector<std::string>>& probes) {
    std::vector<std::string> argv = {testing::NetProbePath()};
    for (const auto& p : probes) {
      if (argv.size() > 1) argv.push_back(",");
      argv.insert(argv.end(), p.begin(), p.end());
    }
    auto r = b.child->Run(argv, b.net ? b.net->resolv_conf_path() : "", 120);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->exit_code, 0) << r->output;
    auto out = testing::ParseProbeOutput(r->output);
    EXPECT_EQ(out.size(), probes.size()) << r->output;
    out.resize(probes.size());
    return out;
  }

  // The same probes from the agent host itself (controls: the targets are live).
  std::vector<Probe> RunProbesOnHost(const std::vector<std::vector<std::string>>& probes) {
    ProcessSpec spec;
    spec.argv = {testing::NetProbePath()};
    for (const auto& p : probes) {
      if (spec.argv.size() > 1) spec.argv.push_back(",");
      spec.argv.insert(spec.argv.end(), p.begin(), p.end());
    }
    spec.timeout = std::chrono::seconds(60);
    auto r = DefaultProcessRunner().Run(spec);
    EXPECT_TRUE(r.ok() && r->success()) << (r.ok() ? r->out + r->err : r.status().ToString());
    auto out = r.ok() ? testing::ParseProbeOutput(r->out) : std::vector<Probe>{};
    out.resize(probes.size());
    return out;
  }

  // What must be gone once every sandbox was cleaned up.
  void ExpectNothingLeft() {
    auto rt = nl::Socket::Open(NETLINK_ROUTE);
    ASSERT_TRUE(rt.ok());
    auto links = nl::ListLinks(*rt);
    ASSERT_TRUE(links.ok());
    for (const auto& l : *links)
      EXPECT_FALSE(StartsWith(l.name, kEgressIfPrefix)) << "left behind: link " << l.name;
    auto addrs = nl::ListAddresses(*rt, AF_INET);
    ASSERT_TRUE(addrs.ok());
    for (const auto& a : *addrs)
      EXPECT_FALSE(config_.pool.Contains(a.local)) << "left behind: " << a.local.ToString();
    if (IsDirectory(config_.alloc_dir)) {
      auto entries = ListDir(config_.alloc_dir);
      ASSERT_TRUE(entries.ok());
      for (const auto& e : *entries) EXPECT_FALSE(StartsWith(e, "slot-")) << "left behind: " << e;
    }
  }

  static void ExpectBlocked(const Probe& p, const std::set<std::string>& errnos) {
    EXPECT_EQ(p.count("result") ? p.at("result") : "", "error") << "BREACH? " << Describe(p);
    EXPECT_TRUE(p.count("errno") && errnos.count(p.at("errno"))) << Describe(p);
  }
  static void ExpectRefused(const Probe& p) {
    EXPECT_EQ(p.count("result") ? p.at("result") : "", "answer") << Describe(p);
    EXPECT_EQ(p.count("rcode") ? p.at("rcode") : "", "5") << "expected REFUSED: " << Describe(p);
    EXPECT_EQ(p.count("addrs") ? p.at("addrs") : "", "-") << Describe(p);
  }
  static std::string Describe(const Probe& p) {
    std::string s;
    for (const auto& [k, v] : p) s += k + "=" + v + " ";
    return s;
  }

  testing::TempDir dir_;
  std::unique_ptr<NetnsTopology> topo_;
  std::unique_ptr<testing::ScopedNetns> in_host_;
  EgressConfig config_;
  std::string loopback_port_, any_port_;
};

TEST_F(EgressNetns, InternetAndDnsWork) {
  {
    Box b = MakeBox("web");
    ASSERT_TRUE(b.net);
    auto r = RunProbes(b, {{"tcp", NetnsTopology::kWebAddr, "80"},
                           {"dns-udp", std::string(kSandboxResolver), "example.test", "A"},
                           {"dns-tcp", std::string(kSandboxResolver), "example.test", "A"},
                           {"resolve", "example.test"},
                           {"ifaddrs"}});
    EXPECT_EQ(r[0]["result"], "connected") << Describe(r[0]);
    EXPECT_EQ(r[0]["web"], "1");
    EXPECT_EQ(r[1]["result"], "answer") << Describe(r[1]);
    EXPECT_EQ(r[1]["addrs"], NetnsTopology::kWebAddr);
    EXPECT_EQ(r[2]["addrs"], NetnsTopology::kWebAddr) << Describe(r[2]);
    EXPECT_EQ(r[3]["result"], "resolved") << Describe(r[3]);
    EXPECT_EQ(r[3]["addrs"], NetnsTopology::kWebAddr);
    // No IPv6 address on eth0 (no link-local path to the host), its own IPv4 address only.
    EXPECT_EQ(r[4]["addrs"], "lo/127.0.0.1,eth0/" + b.net->lease().address.ToString() + ",lo/::1")
        << Describe(r[4]);
    EXPECT_GE(topo_->Count("web"), 1u);
    EXPECT_GE(topo_->Count("dns-metadata"), 3u);  // the relay reached the host's resolver
    auto stats = b.net->relay().stats();
    EXPECT_GE(stats.answered, 3u);
    auto text = ReadFile(b.net->resolv_conf_path());
    ASSERT_TRUE(text.ok());
    EXPECT_NE(text->find("nameserver 127.0.0.53"), std::string::npos);
    EXPECT_EQ(*text, SandboxResolvConf());
    EXPECT_EQ(text->find("search"), std::string::npos);
  }
  ExpectNothingLeft();
}

TEST_F(EgressNetns, MetadataServerIsUnreachableByAddressAndName) {
  auto control = RunProbesOnHost({{"tcp", NetnsTopology::kMetadataAddr, "80"}});
  ASSERT_EQ(control[0]["token"], "1") << "the fake metadata server is not live: " << Describe(control[0]);
  uint64_t before = topo_->Count("metadata");
  {
    Box b = MakeBox("meta");
    ASSERT_TRUE(b.net);
    auto r = RunProbes(b, {{"tcp", NetnsTopology::kMetadataAddr, "80"},
                           {"tcp", "::ffff:169.254.169.254", "80"},
                           {"tcp", "fd00:ec2::254", "80"},
                           {"tcp", "fd20:ce::254", "80"},
                           {"tcp", "169.254.170.2", "80"},
                           {"dns-udp", std::string(kSandboxResolver), "metadata.google.internal", "A"},
                           {"dns-tcp", std::string(kSandboxResolver), "metadata.google.internal", "A"},
                           {"dns-udp", std::string(kSandboxResolver), "metadata", "A"},
                           {"resolve", "metadata.google.internal"},
                           {"dns-udp", NetnsTopology::kMetadataAddr, "example.test", "A"}});
    for (int i : {0, 1, 2, 3, 4, 9}) ExpectBlocked(r[i], {"EACCES"});
    for (int i : {5, 6, 7}) ExpectRefused(r[i]);
    EXPECT_EQ(r[8]["result"], "error") << Describe(r[8]);
    for (const auto& p : r) EXPECT_NE(p.count("token") ? p.at("token") : "0", "1") << "metadata token leaked";
    EXPECT_GE(b.net->relay().stats().refused_name, 3u);
  }
  EXPECT_EQ(topo_->Count("metadata"), before);
  ExpectNothingLeft();
}

TEST_F(EgressNetns, DnsAnswersIntoDeniedRangesAreRefused) {
  Box b = MakeBox("rebind");
  ASSERT_TRUE(b.net);
  auto r = RunProbes(b, {{"dns-udp", std::string(kSandboxResolver), "rebind.test", "A"},
                         {"dns-udp", std::string(kSandboxResolver), "loopback.test", "A"},
                         {"dns-udp", std::string(kSandboxResolver), "mapped.test", "AAAA"},
                         {"resolve", "rebind.test"}});
  for (int i : {0, 1, 2}) ExpectRefused(r[i]);
  EXPECT_EQ(r[3]["result"], "error") << Describe(r[3]);
  EXPECT_GE(b.net->relay().stats().refused_answer, 3u);
}

TEST_F(EgressNetns, HostAddressesAndServicesAreUnreachable) {
  auto control =
      RunProbesOnHost({{"tcp", NetnsTopology::kHostAddr, any_port_}, {"tcp", "127.0.0.1", loopback_port_}});
  ASSERT_EQ(control[0]["result"], "connected") << Describe(control[0]);
  ASSERT_EQ(control[1]["result"], "connected") << Describe(control[1]);
  uint64_t any_before = topo_->Count("host-any"), lo_before = topo_->Count("host-loopback");
  {
    Box b = MakeBox("host");
    ASSERT_TRUE(b.net);
    std::string gw = b.net->lease().gateway.ToString();
    auto r = RunProbes(b, {{"tcp", NetnsTopology::kHostAddr, any_port_},
                           {"tcp", gw, any_port_},
                           {"tcp", gw, "53"},
                           {"dns-udp", gw, "example.test", "A"},
                           {"tcp", "127.0.0.1", loopback_port_},
                           {"tcp", "::1", loopback_port_},
                           {"tcp", "127.0.0.1", any_port_}});
    for (int i : {0, 1, 2, 3}) ExpectBlocked(r[i], {"EACCES"});
    // Loopback is the sandbox's own: nothing listens there.
    for (int i : {4, 5, 6}) ExpectBlocked(r[i], {"ECONNREFUSED"});
  }
  EXPECT_EQ(topo_->Count("host-any"), any_before);
  EXPECT_EQ(topo_->Count("host-loopback"), lo_before);
}

TEST_F(EgressNetns, PrivateRangesAndOtherResolversAreUnreachable) {
  auto control = RunProbesOnHost({{"tcp", NetnsTopology::kVpcGateway, "80"},
                                  {"dns-udp", NetnsTopology::kPublicResolver, "example.test", "A"}});
  ASSERT_EQ(control[0]["result"], "connected") << Describe(control[0]);
  ASSERT_EQ(control[1]["addrs"], NetnsTopology::kWebAddr) << Describe(control[1]);
  uint64_t vpc_before = topo_->Count("vpc"), dns_before = topo_->Count("dns-public");
  {
    Box b = MakeBox("private");
    ASSERT_TRUE(b.net);
    auto r = RunProbes(b, {{"tcp", NetnsTopology::kVpcGateway, "80"},
                           {"tcp", "10.0.0.1", "80"},
                           {"tcp", "172.16.0.1", "80"},
                           {"tcp", "192.168.0.1", "80"},
                           {"tcp", "100.64.0.1", "80"},
                           {"tcp", "100.100.100.200", "80"},
                           {"tcp", "fc00::1", "80"},
                           {"tcp", "fe80::1%eth0", "80"},
                           {"dns-udp", NetnsTopology::kPublicResolver, "example.test", "A"},
                           {"dns-tcp", NetnsTopology::kPublicResolver, "example.test", "A"}});
    for (int i = 0; i < 7; ++i) ExpectBlocked(r[i], {"EACCES"});
    ExpectBlocked(r[7], {"EACCES", "ENETUNREACH", "EADDRNOTAVAIL", "EINVAL"});
    // A public resolver is "internet": the host firewall rejects DNS to anything but the relay.
    ExpectBlocked(r[8], {"EHOSTUNREACH"});
    ExpectBlocked(r[9], {"EHOSTUNREACH"});
  }
  EXPECT_EQ(topo_->Count("vpc"), vpc_before);
  EXPECT_EQ(topo_->Count("dns-public"), dns_before);
}

TEST_F(EgressNetns, OtherSandboxesAreUnreachable) {
  Box a = MakeBox("alpha");
  Box b = MakeBox("beta");
  ASSERT_TRUE(a.net && b.net);
  EXPECT_NE(a.net->lease().slot, b.net->lease().slot);
  std::string b_addr = b.net->lease().address.ToString();
  ASSERT_TRUE(b.child->Spawn({"", testing::NetProbePath(), "listen", b_addr, "8080"}).ok());
  // Control: the listener is live, seen from inside beta's own namespace (bounded wait for it to
  // start). The host cannot check: a sandbox cannot even answer the host.
  Probe control;
  for (int i = 0; i < 50 && control["result"] != "connected"; ++i) {
    ProcessSpec spec;
    spec.argv = {"nsenter",
                 "--net=/proc/" + std::to_string(b.child->pid()) + "/ns/net",
                 testing::NetProbePath(),
                 "tcp",
                 b_addr,
                 "8080"};
    auto out = DefaultProcessRunner().Run(spec);
    if (out.ok()) {
      auto parsed = testing::ParseProbeOutput(out->out);
      if (!parsed.empty()) control = parsed[0];
    }
    if (control["result"] != "connected") usleep(50 * 1000);
  }
  ASSERT_EQ(control["result"], "connected") << Describe(control);
  auto r = RunProbes(a, {{"tcp", b_addr, "8080"},
                         {"tcp", b.net->lease().gateway.ToString(), "8080"},
                         {"dns-udp", b_addr, "example.test", "A"}});
  for (const auto& p : r) ExpectBlocked(p, {"EACCES"});
}

TEST_F(EgressNetns, HostFirewallAloneHolds) {
  // Layer 2 on its own: no prohibit routes inside the sandbox.
  EgressConfig c = config_;
  c.install_sandbox_routes = false;
  Box other = MakeBox("other", c);
  Box b = MakeBox("fwonly", c);
  ASSERT_TRUE(b.net && other.net);
  uint64_t meta = topo_->Count("metadata"), vpc = topo_->Count("vpc"), any = topo_->Count("host-any");
  std::string gw = b.net->lease().gateway.ToString();
  auto r = RunProbes(b, {{"tcp", NetnsTopology::kMetadataAddr, "80"},
                         {"tcp", "::ffff:169.254.169.254", "80"},
                         {"tcp", NetnsTopology::kVpcGateway, "80"},
                         {"tcp", NetnsTopology::kHostAddr, any_port_},
                         {"tcp", gw, any_port_},
                         {"tcp", other.net->lease().gateway.ToString(), any_port_},
                         {"tcp", other.net->lease().address.ToString(), "8080"},
                         {"dns-udp", NetnsTopology::kPublicResolver, "example.test", "A"},
                         {"dns-udp", NetnsTopology::kMetadataAddr, "example.test", "A"},
                         {"tcp", NetnsTopology::kWebAddr, "80"}});
  for (int i = 0; i < 9; ++i) ExpectBlocked(r[i], {"EHOSTUNREACH"});
  EXPECT_EQ(r[9]["result"], "connected") << Describe(r[9]);
  EXPECT_EQ(topo_->Count("metadata"), meta);
  EXPECT_EQ(topo_->Count("vpc"), vpc);
  EXPECT_EQ(topo_->Count("host-any"), any);
}

TEST_F(EgressNetns, SandboxRoutesAloneHoldAndVerifyNoticesTheMissingFirewall) {
  // Layer 1 on its own: the host's table is removed after setup.
  Box b = MakeBox("routesonly");
  ASSERT_TRUE(b.net);
  ASSERT_TRUE(RemoveEgressHostRules(config_, DefaultProcessRunner()).ok());
  Status v = b.net->Verify();
  EXPECT_EQ(v.code(), StatusCode::kCheckFailed) << v.ToString();
  EXPECT_NE(v.message().find("inet cloudcoop"), std::string::npos) << v.ToString();
  uint64_t meta = topo_->Count("metadata"), any = topo_->Count("host-any");
  std::string gw = b.net->lease().gateway.ToString();
  auto r = RunProbes(b, {{"tcp", NetnsTopology::kMetadataAddr, "80"},
                         {"tcp", NetnsTopology::kVpcGateway, "80"},
                         {"tcp", NetnsTopology::kHostAddr, any_port_},
                         {"tcp", gw, any_port_},
                         {"tcp", "fd00:ec2::254", "80"}});
  for (const auto& p : r) ExpectBlocked(p, {"EACCES"});
  EXPECT_EQ(topo_->Count("metadata"), meta);
  EXPECT_EQ(topo_->Count("host-any"), any);
}

TEST_F(EgressNetns, VerifyNoticesARemovedRoute) {
  Box b = MakeBox("tamper");
  ASSERT_TRUE(b.net);
  ProcessSpec spec;
  spec.argv = {"nsenter",
               "--net=/proc/" + std::to_string(b.child->pid()) + "/ns/net",
               "ip",
               "route",
               "del",
               "prohibit",
               "169.254.0.0/16"};
  auto r = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(r.ok() && r->success()) << (r.ok() ? r->err : r.status().ToString());
  Status v = b.net->Verify();
  EXPECT_EQ(v.code(), StatusCode::kCheckFailed);
  EXPECT_NE(v.message().find("169.254.0.0/16"), std::string::npos) << v.ToString();
}

TEST_F(EgressNetns, ConcurrentSetupsNeverCollide) {
  constexpr int kBoxes = 6;
  std::vector<Box> boxes(kBoxes);
  std::vector<std::thread> threads;
  // The children come from this thread (they die with the thread that forked them); the
  // network setups run concurrently.
  for (auto& b : boxes) {
    auto c = NetnsChild::Start();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    b.child = std::move(*c);
  }
  for (int i = 0; i < kBoxes; ++i) {
    threads.emplace_back([&, i] {
      auto n = EgressSandbox::Setup(config_, boxes[i].child->netns_fd(), "box" + std::to_string(i));
      if (n.ok())
        boxes[i].net = std::move(*n);
      else
        ADD_FAILURE() << n.status().ToString();
    });
  }
  for (auto& t : threads) t.join();
  std::set<int> slots;
  for (auto& b : boxes) {
    ASSERT_TRUE(b.net);
    EXPECT_TRUE(b.net->Verify().ok());
    slots.insert(b.net->lease().slot);
  }
  EXPECT_EQ(slots.size(), size_t{kBoxes});
  // Each one works.
  for (int i : {0, kBoxes - 1}) {
    auto r = RunProbes(boxes[i], {{"tcp", NetnsTopology::kWebAddr, "80"}});
    EXPECT_EQ(r[0]["result"], "connected") << Describe(r[0]);
  }
  // Concurrent teardown.
  threads.clear();
  for (auto& b : boxes) {
    threads.emplace_back([&b] {
      b.child.reset();
      Status s = b.net->Cleanup();
      EXPECT_TRUE(s.ok()) << s.ToString();
      b.net.reset();
    });
  }
  for (auto& t : threads) t.join();
  ExpectNothingLeft();
}

TEST_F(EgressNetns, CleanupAfterTheSandboxDiedLeavesNothing) {
  Box b = MakeBox("dies");
  ASSERT_TRUE(b.net);
  std::string resolv = b.net->resolv_conf_path();
  b.child.reset();  // SIGKILL: its namespace and the veth inside it go away
  Status s = b.net->Cleanup();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(b.net->Cleanup().ok());  // idempotent
  EXPECT_FALSE(PathExists(resolv));
  b.net.reset();
  ExpectNothingLeft();
}

TEST_F(EgressNetns, AFailureAtAnyStepLeavesNothing) {
  for (const char* step : {"validate", "host", "allocate", "veth", "host-side", "sandbox-side", "dns-relay",
                           "resolv-conf", "done"}) {
    SCOPED_TRACE(step);
    EgressConfig c = config_;
    c.fault_injection = [step](std::string_view s) {
      return s == step ? InternalError(std::string("injected failure at ") + step) : OkStatus();
    };
    auto child = NetnsChild::Start();
    ASSERT_TRUE(child.ok());
    auto n = EgressSandbox::Setup(c, (*child)->netns_fd(), "fault");
    ASSERT_FALSE(n.ok());
    EXPECT_NE(n.status().message().find(std::string("injected failure at ") + step), std::string::npos);
    ExpectNothingLeft();
    // Nothing left in the sandbox's namespace either: its end of the veth went with the pair.
    auto rt = nl::Socket::OpenInNetns(NETLINK_ROUTE, (*child)->netns_fd());
    ASSERT_TRUE(rt.ok());
    auto links = nl::ListLinks(*rt);
    ASSERT_TRUE(links.ok());
    for (const auto& l : *links) EXPECT_NE(l.name, std::string(kSandboxIfName));
  }
  // And the next setup works.
  Box b = MakeBox("after-faults");
  ASSERT_TRUE(b.net);
}

TEST_F(EgressNetns, ARealKernelRefusalLeavesNothingAndSaysWhy) {
  auto child = NetnsChild::Start();
  ASSERT_TRUE(child.ok());
  // The sandbox's namespace already has an eth0: the veth cannot be created.
  ProcessSpec spec;
  spec.argv = {"nsenter", "--net=/proc/" + std::to_string((*child)->pid()) + "/ns/net",
               "ip",      "link",
               "add",     "eth0",
               "type",    "veth",
               "peer",    "name",
               "eth0peer"};  // (this kernel has no dummy driver)
  auto r = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(r.ok() && r->success());
  auto n = EgressSandbox::Setup(config_, (*child)->netns_fd(), "clash");
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("create veth pair"), std::string::npos) << n.status().ToString();
  EXPECT_NE(n.status().message().find("EEXIST"), std::string::npos) << n.status().ToString();
  EXPECT_FALSE(n.status().fix().empty());
  ExpectNothingLeft();
}

TEST_F(EgressNetns, UnpreparedHostFailsClosedOrIsPrepared) {
  ASSERT_TRUE(RemoveEgressHostRules(config_, DefaultProcessRunner()).ok());
  {
    auto child = NetnsChild::Start();
    ASSERT_TRUE(child.ok());
    auto n = EgressSandbox::Setup(config_, (*child)->netns_fd(), "unprepared");
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(n.status().message().find("inet cloudcoop is missing"), std::string::npos)
        << n.status().ToString();
    EXPECT_NE(n.status().message().find("network mode egress"), std::string::npos) << n.status().ToString();
    EXPECT_NE(n.status().fix().find("cloudcoop sandbox prepare-host"), std::string::npos);
    EXPECT_NE(n.status().fix().find("--net none"), std::string::npos);
    ExpectNothingLeft();
  }
  auto st = InspectEgressHost(config_);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->ready());
  // With preparation allowed, the first sandbox installs the table (once) and works.
  EgressConfig c = config_;
  c.auto_prepare_host = true;
  std::vector<std::string> told;
  c.on_host_prepared = [&told](const std::string& what) { told.push_back(what); };
  Box b = MakeBox("prepares", c);
  ASSERT_TRUE(b.net);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_NE(told[0].find("inet cloudcoop"), std::string::npos) << told[0];
  EXPECT_NE(told[0].find("up0"), std::string::npos) << told[0];
  Box again = MakeBox("prepared-already", c);
  EXPECT_EQ(told.size(), 1u);  // once
  st = InspectEgressHost(config_);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->ready()) << st->Describe();
  auto r = RunProbes(b, {{"tcp", NetnsTopology::kWebAddr, "80"}});
  EXPECT_EQ(r[0]["result"], "connected");
}

TEST_F(EgressNetns, PreparationIsIdempotentAndForwardsOnlyOnUplinks) {
  ASSERT_TRUE(PrepareEgressHost(config_, DefaultProcessRunner()).ok());
  ASSERT_TRUE(PrepareEgressHost(config_, DefaultProcessRunner()).ok());
  auto st = InspectEgressHost(config_);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->ready()) << st->Describe();
  EXPECT_EQ(st->uplinks, std::vector<std::string>{"up0"});
  // The global switch stays off: forwarding is per device (uplink and sandbox veths).
  auto global = ReadFile("/proc/sys/net/ipv4/ip_forward");
  ASSERT_TRUE(global.ok());
  EXPECT_EQ(Trim(*global), "0");
  // A stale table (another config) is noticed in-process.
  EgressConfig other = config_;
  other.extra_denied.push_back(*IpPrefix::Parse("198.18.0.0/15"));
  auto st2 = InspectEgressHost(other);
  ASSERT_TRUE(st2.ok());
  EXPECT_FALSE(st2->table_current);
  EXPECT_NE(st2->Describe().find("stale"), std::string::npos);
}

TEST_F(EgressNetns, APoolThatOverlapsAHostNetworkIsRefused) {
  EgressConfig c = config_;
  c.pool = *IpPrefix::Parse("10.77.0.0/24");  // the agent host's own VPC subnet
  Status s = PrepareEgressHost(c, DefaultProcessRunner());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("10.77.0.0/24 dev up0"), std::string::npos) << s.ToString();
  EXPECT_FALSE(s.fix().empty());
  auto child = NetnsChild::Start();
  ASSERT_TRUE(child.ok());
  c.auto_prepare_host = true;
  auto n = EgressSandbox::Setup(c, (*child)->netns_fd(), "overlap");
  ASSERT_FALSE(n.ok());
  ExpectNothingLeft();
}

TEST_F(EgressNetns, StaleRecordsAndOrphanLinksAreReclaimed) {
  // A record whose owner is dead, with its link still present; and an orphan link with no record.
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  ASSERT_TRUE(MakeDirs(config_.alloc_dir).ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(config_.alloc_dir, "slot-0"),
                              "sandbox=ghost\nowner_pid=" + std::to_string(dead) + "\nowner_start=1\n")
                  .ok());
  ASSERT_TRUE(
      topo_->Ip({"-n", topo_->host_ns(), "link", "add", "cceg0", "type", "veth", "peer", "name", "xpeer0"})
          .ok());
  ASSERT_TRUE(
      topo_->Ip({"-n", topo_->host_ns(), "link", "add", "cceg1", "type", "veth", "peer", "name", "xpeer1"})
          .ok());
  Box a = MakeBox("reuses-0");
  ASSERT_TRUE(a.net);
  EXPECT_EQ(a.net->lease().slot, 0);
  Box b = MakeBox("reuses-1");
  ASSERT_TRUE(b.net);
  EXPECT_EQ(b.net->lease().slot, 1);
  auto r = RunProbes(b, {{"tcp", NetnsTopology::kWebAddr, "80"}});
  EXPECT_EQ(r[0]["result"], "connected");
}

TEST_F(EgressNetns, GarbageCollectionReclaimsDeadOwnersOnly) {
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  Box live = MakeBox("live");
  ASSERT_TRUE(live.net);
  int live_slot = live.net->lease().slot;
  int ghost = live_slot + 7;
  ASSERT_TRUE(WriteFileAtomic(JoinPath(config_.alloc_dir, "slot-" + std::to_string(ghost)),
                              "sandbox=ghost\nowner_pid=" + std::to_string(dead) + "\nowner_start=1\n")
                  .ok());
  ASSERT_TRUE(
      WriteFileAtomic(JoinPath(config_.alloc_dir, "slot-" + std::to_string(ghost) + ".resolv.conf"), "x")
          .ok());
  std::string ifname = EgressLeaseForSlot(config_.pool, ghost).host_ifname;
  ASSERT_TRUE(
      topo_->Ip({"-n", topo_->host_ns(), "link", "add", ifname, "type", "veth", "peer", "name", "xghost"})
          .ok());
  auto n = CollectStaleEgressSlots(config_);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  auto records = ListEgressSlots(config_);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].slot, live_slot);
  EXPECT_FALSE(PathExists(JoinPath(config_.alloc_dir, "slot-" + std::to_string(ghost) + ".resolv.conf")));
  auto rt = nl::Socket::Open(NETLINK_ROUTE);
  ASSERT_TRUE(rt.ok());
  auto gone = nl::FindLink(*rt, ifname);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  EXPECT_TRUE(live.net->Verify().ok());  // the live sandbox is untouched
}

TEST_F(EgressNetns, PrepareHostCommand) {
  // The real binary, run from (and so acting on) the agent host namespace.
  ASSERT_TRUE(RemoveEgressHostRules(config_, DefaultProcessRunner()).ok());
  auto check = testing::RunBinary({"sandbox", "prepare-host", "--check", "--json"});
  EXPECT_EQ(check.rc, 3) << check.out << check.err;
  EXPECT_NE(check.out.find("\"ready\": false"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("inet cloudcoop is missing"), std::string::npos) << check.out;
  auto prep = testing::RunBinary({"sandbox", "prepare-host"});
  EXPECT_EQ(prep.rc, 0) << prep.out << prep.err;
  EXPECT_NE(prep.out.find("egress host: ready"), std::string::npos) << prep.out;
  EXPECT_NE(prep.out.find("up0"), std::string::npos) << prep.out;
  auto again = testing::RunBinary({"sandbox", "prepare-host", "--check"});
  EXPECT_EQ(again.rc, 0) << again.out << again.err;
  auto st = InspectEgressHost(config_);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->ready()) << st->Describe();
  auto both = testing::RunBinary({"sandbox", "prepare-host", "--check", "--remove"});
  EXPECT_EQ(both.rc, 2);
  auto removed = testing::RunBinary({"sandbox", "prepare-host", "--remove"});
  EXPECT_EQ(removed.rc, 0) << removed.err;
  EXPECT_EQ(testing::RunBinary({"sandbox", "prepare-host", "--check"}).rc, 3);
}

TEST_F(EgressNetns, NoneModeHasOnlyLoopback) {
  auto child = NetnsChild::Start();
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE(SetupLoopbackOnly((*child)->netns_fd()).ok());
  auto r = (*child)->Run({testing::NetProbePath(), "tcp", NetnsTopology::kWebAddr, "80", ",", "tcp",
                          "127.0.0.1", loopback_port_, ",", "ifaddrs"});
  ASSERT_TRUE(r.ok());
  auto p = testing::ParseProbeOutput(r->output);
  ASSERT_EQ(p.size(), 3u) << r->output;
  ExpectBlocked(p[0], {"ENETUNREACH"});
  ExpectBlocked(p[1], {"ECONNREFUSED"});
  EXPECT_EQ(p[2]["addrs"], "lo/127.0.0.1,lo/::1");
}

}  // namespace
}  // namespace cloudcoop::sandbox
