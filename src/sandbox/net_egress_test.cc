// Pure logic of the egress network mode: addresses, denied ranges, DNS messages, the host ruleset,
// slot allocation (with concurrent threads and processes). No network namespace needed.
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "core/files.h"
#include "core/strings.h"
#include "sandbox/dns_message.h"
#include "sandbox/dns_relay.h"
#include "sandbox/net_addr.h"
#include "sandbox/net_egress.h"
#include "testing/test_util.h"

namespace cloudcoop::sandbox {
namespace {

IpAddr A(const char* s) {
  auto a = IpAddr::Parse(s);
  EXPECT_TRUE(a.has_value()) << s;
  return a.value_or(IpAddr());
}

TEST(NetAddr, ParsesAndFormats) {
  EXPECT_EQ(A("100.96.0.1").ToString(), "100.96.0.1");
  EXPECT_EQ(A("FD00:EC2::254").ToString(), "fd00:ec2::254");
  EXPECT_FALSE(IpAddr::Parse("100.96.0.256"));
  EXPECT_FALSE(IpAddr::Parse("metadata.google.internal"));
  EXPECT_FALSE(IpAddr::Parse(""));
  EXPECT_EQ(A("10.0.0.1").v4(), 0x0a000001u);
}

TEST(NetAddr, PrefixParsingNamesTheProblemAndTheFix) {
  auto p = IpPrefix::Parse("10.1.2.3/8");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().fix().find("10.0.0.0/8"), std::string::npos) << p.status().ToString();
  EXPECT_FALSE(IpPrefix::Parse("10.0.0.0/33").ok());
  EXPECT_FALSE(IpPrefix::Parse("10.0.0.0/x").ok());
  EXPECT_FALSE(IpPrefix::Parse("nonsense/8").ok());
  EXPECT_EQ(IpPrefix::Parse("169.254.169.254")->len(), 32);
  EXPECT_EQ(IpPrefix::Parse("fc00::/7")->ToString(), "fc00::/7");
}

TEST(NetAddr, ContainsAndOverlaps) {
  auto p = *IpPrefix::Parse("100.64.0.0/10");
  EXPECT_TRUE(p.Contains(A("100.96.3.2")));
  EXPECT_TRUE(p.Contains(A("100.127.255.255")));
  EXPECT_FALSE(p.Contains(A("100.128.0.0")));
  EXPECT_FALSE(p.Contains(A("::ffff:100.96.3.2")));  // other family: callers decode (IsDenied)
  EXPECT_TRUE(p.Overlaps(*IpPrefix::Parse("100.96.0.0/16")));
  EXPECT_FALSE(p.Overlaps(*IpPrefix::Parse("100.128.0.0/16")));
}

TEST(NetAddr, EmbeddedIpv4Forms) {
  EXPECT_EQ(A("::ffff:169.254.169.254").EmbeddedV4()->ToString(), "169.254.169.254");
  EXPECT_EQ(A("64:ff9b::a9fe:a9fe").EmbeddedV4()->ToString(), "169.254.169.254");
  EXPECT_EQ(A("2002:a9fe:a9fe::1").EmbeddedV4()->ToString(), "169.254.169.254");
  EXPECT_EQ(A("::a9fe:a9fe").EmbeddedV4()->ToString(), "169.254.169.254");
  EXPECT_FALSE(A("::1").EmbeddedV4());
  EXPECT_FALSE(A("2001:db8::1").EmbeddedV4());
  EXPECT_FALSE(A("10.0.0.1").EmbeddedV4());
}

TEST(NetAddr, DeniedDestinations) {
  EgressConfig c;
  auto denied = EgressDeniedPrefixes(c);
  for (const char* bad : {"169.254.169.254",
                          "10.128.0.2",
                          "172.17.0.1",
                          "192.168.1.1",
                          "100.64.0.1",
                          "100.100.100.200",
                          "127.0.0.1",
                          "0.0.0.0",
                          "224.0.0.1",
                          "255.255.255.255",
                          "100.96.0.6",
                          "::1",
                          "::",
                          "::ffff:169.254.169.254",
                          "::ffff:10.0.0.1",
                          "64:ff9b::a9fe:a9fe",
                          "2002:a00:1::",
                          "fd00:ec2::254",
                          "fd20:ce::254",
                          "fc00::1",
                          "fe80::1",
                          "ff02::1"}) {
    EXPECT_TRUE(IsDenied(A(bad), denied)) << bad;
  }
  for (const char* ok : {"203.0.113.10", "8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "142.250.1.1"}) {
    EXPECT_FALSE(IsDenied(A(ok), denied)) << ok;
  }
  c.extra_denied.push_back(*IpPrefix::Parse("203.0.113.0/24"));
  EXPECT_TRUE(IsDenied(A("203.0.113.10"), EgressDeniedPrefixes(c)));
}

TEST(NetAddr, SockAddrRoundTrip) {
  SockAddr s = SockAddr::From(A("2001:db8::1"), 53);
  EXPECT_EQ(s.ToString(), "[2001:db8::1]:53");
  EXPECT_EQ(s.port(), 53);
  EXPECT_EQ(SockAddr::From(A("100.96.0.1"), 53).ToString(), "100.96.0.1:53");
}

// ---- DNS messages ----

TEST(DnsMessage, ParsesAQuery) {
  std::string q = dns::MakeQuery(0x1234, "Example.TEST", dns::kTypeA);
  auto parsed = dns::ParseQuery(q);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->name, "example.test");
  EXPECT_EQ(parsed->qtype, dns::kTypeA);
  EXPECT_EQ(parsed->qclass, dns::kClassIn);
  EXPECT_EQ(dns::ParseHeader(q)->id, 0x1234);
}

TEST(DnsMessage, RejectsMalformedQueries) {
  EXPECT_FALSE(dns::ParseQuery("short").ok());
  std::string q = dns::MakeQuery(1, "example.test", dns::kTypeA);
  std::string two = q;
  two[5] = 2;  // qdcount 2
  EXPECT_FALSE(dns::ParseQuery(two).ok());
  std::string response = q;
  response[2] |= static_cast<char>(0x80);
  EXPECT_FALSE(dns::ParseQuery(response).ok());
  std::string truncated = q.substr(0, q.size() - 3);
  EXPECT_FALSE(dns::ParseQuery(truncated).ok());
  std::string update = q;
  update[2] = static_cast<char>(5 << 3);  // opcode UPDATE
  EXPECT_FALSE(dns::ParseQuery(update).ok());
}

// A response to `q` with the given records appended (each a name pointer to the question).
std::string Answer(const std::string& q, const std::vector<std::pair<uint16_t, std::string>>& rrs,
                   int section_an = -1) {
  std::string r = q;
  r[2] = static_cast<char>(0x81);
  r[3] = static_cast<char>(0x80);
  int an = section_an < 0 ? static_cast<int>(rrs.size()) : section_an;
  r[7] = static_cast<char>(an);
  r[11] = static_cast<char>(rrs.size() - an);  // the rest as additional records
  for (const auto& [type, rdata] : rrs) {
    r += std::string("\xc0\x0c", 2);
    r += static_cast<char>(type >> 8);
    r += static_cast<char>(type & 0xff);
    r += std::string("\x00\x01\x00\x00\x00\x3c", 6);
    r += static_cast<char>(rdata.size() >> 8);
    r += static_cast<char>(rdata.size() & 0xff);
    r += rdata;
  }
  return r;
}

std::string V4(const char* a) { return std::string(reinterpret_cast<const char*>(A(a).bytes()), 4); }
std::string V6(const char* a) { return std::string(reinterpret_cast<const char*>(A(a).bytes()), 16); }

TEST(DnsMessage, CollectsAddressesFromEverySection) {
  std::string q = dns::MakeQuery(7, "example.test", dns::kTypeA);
  std::string r =
      Answer(q, {{dns::kTypeA, V4("203.0.113.10")}, {dns::kTypeAaaa, V6("::ffff:169.254.169.254")}}, 1);
  auto parsed = dns::ParseResponse(r);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->addresses.size(), 2u);
  EXPECT_EQ(parsed->addresses[0].ToString(), "203.0.113.10");
  EXPECT_EQ(parsed->addresses[1].ToString(), "::ffff:169.254.169.254");
  EXPECT_EQ(parsed->records.size(), 2u);
  EXPECT_EQ(parsed->question.name, "example.test");
}

TEST(DnsMessage, RejectsBadRecordsAndPointerLoops) {
  std::string q = dns::MakeQuery(7, "example.test", dns::kTypeA);
  EXPECT_FALSE(dns::ParseResponse(Answer(q, {{dns::kTypeA, "abc"}})).ok());  // A not 4 bytes
  std::string r = Answer(q, {{dns::kTypeA, V4("203.0.113.10")}});
  EXPECT_FALSE(dns::ParseResponse(r.substr(0, r.size() - 2)).ok());
  // A record whose name points at itself.
  std::string loop = q;
  loop[2] = static_cast<char>(0x81);
  loop[7] = 1;
  size_t self = loop.size();
  loop += static_cast<char>(0xc0 | (self >> 8));
  loop += static_cast<char>(self & 0xff);
  loop += std::string("\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04", 10) + V4("1.2.3.4");
  EXPECT_FALSE(dns::ParseResponse(loop).ok());
  // A forward pointer.
  std::string fwd = loop;
  fwd[self] = static_cast<char>(0xc0);
  fwd[self + 1] = static_cast<char>(200);
  EXPECT_FALSE(dns::ParseResponse(fwd).ok());
  // Two labels pointing at each other: bounded by the jump limit.
  std::string ping = dns::MakeQuery(7, "a", dns::kTypeA);
  ping[2] = static_cast<char>(0x81);
  ping[7] = 1;
  size_t p1 = ping.size();
  ping += std::string("\x01x", 2);
  ping += static_cast<char>(0xc0);
  ping += static_cast<char>(p1);  // points back to its own label: x.x.x.x...
  ping += std::string("\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04", 10) + V4("1.2.3.4");
  EXPECT_FALSE(dns::ParseResponse(ping).ok());
  // A name longer than 255 bytes.
  std::string longname;
  for (int i = 0; i < 50; ++i) longname += "abcdef.";
  EXPECT_FALSE(dns::ParseQuery(dns::MakeQuery(1, longname, dns::kTypeA)).ok());
}

TEST(DnsMessage, ErrorReplyEchoesTheQuestion) {
  std::string q = dns::MakeQuery(0xbeef, "metadata.google.internal", dns::kTypeA);
  std::string r = dns::MakeErrorReply(q, dns::kRcodeRefused);
  auto h = dns::ParseHeader(r);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->id, 0xbeef);
  EXPECT_TRUE(h->qr());
  EXPECT_EQ(h->rcode(), dns::kRcodeRefused);
  EXPECT_EQ(h->qdcount, 1);
  EXPECT_EQ(h->ancount, 0);
  auto parsed = dns::ParseResponse(r);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->question.name, "metadata.google.internal");
  EXPECT_EQ(dns::MakeErrorReply("xx", dns::kRcodeServFail), "");
}

TEST(DnsMessage, BlockedNames) {
  for (const char* n :
       {"metadata.google.internal", "METADATA.Google.Internal.", "computemetadata.metadata.google.internal",
        "metadata", "metadata.", "metadata.goog", "x.metadata.goog"}) {
    EXPECT_TRUE(dns::IsBlockedName(n)) << n;
  }
  for (const char* n :
       {"example.test", "google.internal", "notmetadata.goog", "metadata.example.com", "internal"}) {
    EXPECT_FALSE(dns::IsBlockedName(n)) << n;
  }
}

TEST(DnsRelayConfig, ParsesResolvConf) {
  auto ns = ParseResolvConfNameservers(
      "# comment\nsearch c.proj.internal google.internal\nnameserver 169.254.169.254\n"
      "nameserver   fe80::1%eth0\n; other\noptions ndots:2\n",
      "/etc/resolv.conf");
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  ASSERT_EQ(ns->size(), 2u);
  EXPECT_EQ((*ns)[0].ToString(), "169.254.169.254");
  EXPECT_EQ((*ns)[1].ToString(), "fe80::1");
  auto none = ParseResolvConfNameservers("search x\n", "/x/resolv.conf");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("/x/resolv.conf"), std::string::npos);
  EXPECT_FALSE(none.status().fix().empty());
  EXPECT_FALSE(ParseResolvConfNameservers("nameserver bogus\n", "/etc/resolv.conf").ok());
}

// ---- config, leases, ruleset ----

TEST(EgressConfig, Validation) {
  EgressConfig c;
  c.alloc_dir = "/run/cloudcoop/net";
  EXPECT_TRUE(ValidateEgressConfig(c).ok());
  c.pool = *IpPrefix::Parse("fd00::/64");
  EXPECT_FALSE(ValidateEgressConfig(c).ok());
  c.pool = *IpPrefix::Parse("100.0.0.0/8");
  auto s = ValidateEgressConfig(c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("100.0.0.0/8"), std::string::npos);
  c.pool = *IpPrefix::Parse("100.96.0.0/16");
  c.alloc_dir = "relative/dir";
  EXPECT_FALSE(ValidateEgressConfig(c).ok());
}

TEST(EgressLease, SlotsMapToDisjointSubnets) {
  auto pool = *IpPrefix::Parse(kDefaultEgressPool);
  EXPECT_EQ(EgressSlotCount(pool), 16384);
  EXPECT_EQ(EgressSlotCount(*IpPrefix::Parse("100.96.0.0/28")), 4);
  auto l0 = EgressLeaseForSlot(pool, 0);
  EXPECT_EQ(l0.host_ifname, "cceg0");
  EXPECT_EQ(l0.gateway.ToString(), "100.96.0.1");
  EXPECT_EQ(l0.address.ToString(), "100.96.0.2");
  auto l5 = EgressLeaseForSlot(pool, 5);
  EXPECT_EQ(l5.gateway.ToString(), "100.96.0.21");
  EXPECT_EQ(l5.address.ToString(), "100.96.0.22");
  auto last = EgressLeaseForSlot(pool, 16383);
  EXPECT_EQ(last.host_ifname, "cceg16383");
  EXPECT_LE(last.host_ifname.size(), 15u);  // IFNAMSIZ - 1
  EXPECT_EQ(last.address.ToString(), "100.96.255.254");
  EXPECT_TRUE(pool.Contains(last.address));
}

TEST(EgressRuleset, DeniesWhatTheIssueLists) {
  EgressConfig c;
  std::string r = EgressHostRuleset(c);
  // Atomic replacement: create-if-missing, delete, recreate in one transaction.
  EXPECT_NE(r.find("table inet cloudcoop {}\ndelete table inet cloudcoop\n"), std::string::npos);
  for (const char* p :
       {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "100.96.0.0/16",
        "127.0.0.0/8", "fc00::/7", "fe80::/10", "fd00:ec2::254", "::ffff:0.0.0.0/96"}) {
    EXPECT_NE(r.find(p), std::string::npos) << p;
  }
  // Nothing of the host is open to a sandbox, not even DNS (its resolver is on its own loopback).
  EXPECT_NE(r.find("hook input priority filter; policy accept;\n\t\tiifname \"cceg*\" counter reject"),
            std::string::npos);
  EXPECT_EQ(r.find("accept\n\t}\n\tchain forward"), std::string::npos);
  EXPECT_NE(r.find("th dport { 53, 853 }"), std::string::npos);
  EXPECT_NE(r.find("meta nfproto ipv6 counter reject"), std::string::npos);
  EXPECT_NE(r.find("oifname \"cceg*\" counter drop"), std::string::npos);
  EXPECT_NE(r.find("masquerade"), std::string::npos);
  EXPECT_NE(r.find(EgressHostRulesetComment(c)), std::string::npos);
  // The ruleset is not a shell script and never names an interface of a particular sandbox.
  EXPECT_EQ(r.find("cceg0"), std::string::npos);
}

TEST(EgressRuleset, CommentChangesWithTheRules) {
  EgressConfig a, b;
  EXPECT_EQ(EgressHostRulesetComment(a), EgressHostRulesetComment(b));
  b.extra_denied.push_back(*IpPrefix::Parse("198.18.0.0/15"));
  EXPECT_NE(EgressHostRulesetComment(a), EgressHostRulesetComment(b));
  EXPECT_LE(EgressHostRulesetComment(a).size(), 127u);  // nftables comment limit
  EXPECT_TRUE(StartsWith(EgressHostRulesetComment(a), "cloudcoop egress v1 "));
}

TEST(EgressHosts, HostsFileHasNoMetadataName) {
  std::string h = SandboxHostsFile("agent-1");
  EXPECT_NE(h.find("agent-1"), std::string::npos);
  EXPECT_EQ(h.find("metadata"), std::string::npos);
}

// ---- allocation ----

class EgressAllocation : public ::testing::Test {
 protected:
  void SetUp() override { config_.alloc_dir = dir_.Sub("net"); }
  testing::TempDir dir_;
  EgressConfig config_;
};

TEST_F(EgressAllocation, NextFitNeverHandsOutAReleasedSlotAtOnce) {
  auto a = AllocateEgressSlot(config_, "a");
  auto b = AllocateEgressSlot(config_, "b");
  auto c = AllocateEgressSlot(config_, "c");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << a.status().ToString();
  EXPECT_EQ(a->slot, 0);
  EXPECT_EQ(b->slot, 1);
  EXPECT_EQ(c->slot, 2);
  ASSERT_TRUE(ReleaseEgressSlot(config_, 1).ok());
  auto d = AllocateEgressSlot(config_, "d");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->slot, 3);
  auto records = ListEgressSlots(config_);
  ASSERT_TRUE(records.ok());
  std::set<std::string> names;
  for (const auto& r : *records) {
    names.insert(r.sandbox);
    EXPECT_EQ(r.owner_pid, getpid());
  }
  EXPECT_EQ(names, (std::set<std::string>{"a", "c", "d"}));
  // The directory is private.
  struct stat st;
  ASSERT_EQ(stat(config_.alloc_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(EgressAllocation, ExhaustionIsAClearError) {
  config_.pool = *IpPrefix::Parse("100.96.0.0/28");
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(AllocateEgressSlot(config_, "s" + std::to_string(i)).ok());
  auto full = AllocateEgressSlot(config_, "s4");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(full.status().message().find("100.96.0.0/28"), std::string::npos);
  EXPECT_FALSE(full.status().fix().empty());
  // Released slots are found again after wrapping around.
  ASSERT_TRUE(ReleaseEgressSlot(config_, 2).ok());
  auto again = AllocateEgressSlot(config_, "s5");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->slot, 2);
}

TEST_F(EgressAllocation, RefusesBadNames) {
  for (const char* bad : {"", "-x", "a b", "a/b", "../x", "x;y"}) {
    auto r = AllocateEgressSlot(config_, bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST_F(EgressAllocation, ConcurrentThreadsNeverCollide) {
  constexpr int kThreads = 8, kEach = 15;
  std::vector<std::vector<int>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto l = AllocateEgressSlot(config_, "t" + std::to_string(t) + "-" + std::to_string(i));
        if (l.ok()) got[t].push_back(l->slot);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<int> all;
  size_t total = 0;
  for (const auto& v : got) {
    total += v.size();
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(total, size_t{kThreads * kEach});
  EXPECT_EQ(all.size(), total);
  EXPECT_EQ(ListEgressSlots(config_)->size(), total);
}

TEST_F(EgressAllocation, ConcurrentProcessesNeverCollide) {
  constexpr int kProcs = 4, kEach = 10;
  int results[2], hold[2];
  ASSERT_EQ(pipe(results), 0);
  ASSERT_EQ(pipe(hold), 0);
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(results[0]);
      close(hold[1]);
      for (int i = 0; i < kEach; ++i) {
        auto l = AllocateEgressSlot(config_, "p" + std::to_string(p) + "-" + std::to_string(i));
        int slot = l.ok() ? l->slot : -1;
        (void)!write(results[1], &slot, sizeof(slot));
      }
      char c;
      (void)!read(hold[0], &c, 1);  // stay alive (owning the records) until the parent has checked
      _exit(0);
    }
    pids.push_back(pid);
  }
  close(results[1]);
  close(hold[0]);
  std::vector<int> slots;
  int slot;
  while (slots.size() < size_t{kProcs * kEach} && read(results[0], &slot, sizeof(slot)) == sizeof(slot))
    slots.push_back(slot);
  std::set<int> unique(slots.begin(), slots.end());
  EXPECT_EQ(slots.size(), size_t{kProcs * kEach});
  EXPECT_EQ(unique.size(), slots.size());
  EXPECT_EQ(unique.count(-1), 0u);
  auto records = ListEgressSlots(config_);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), slots.size());
  close(hold[1]);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  close(results[0]);
}

}  // namespace
}  // namespace cloudcoop::sandbox
