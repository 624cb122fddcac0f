// The DNS relay against a scripted upstream, all on loopback (127.0.0.0/8 only).
#include "sandbox/dns_relay.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "sandbox/dns_message.h"
#include "sandbox/net_egress.h"

namespace cloudcoop::sandbox {
namespace {

IpAddr A(const char* s) { return *IpAddr::Parse(s); }

std::string WithRecords(std::string_view q, const std::vector<std::pair<uint16_t, IpAddr>>& rrs,
                        uint16_t id_delta = 0) {
  std::string r(q);
  uint16_t id = static_cast<uint16_t>(dns::ParseHeader(q)->id + id_delta);
  r[0] = static_cast<char>(id >> 8);
  r[1] = static_cast<char>(id & 0xff);
  r[2] = static_cast<char>(0x81);
  r[3] = static_cast<char>(0x80);
  r[7] = static_cast<char>(rrs.size());
  for (const auto& [type, addr] : rrs) {
    r += std::string("\xc0\x0c", 2);
    r += static_cast<char>(0);
    r += static_cast<char>(type);
    r += std::string("\x00\x01\x00\x00\x00\x3c\x00", 7);
    r += static_cast<char>(addr.size());
    r.append(reinterpret_cast<const char*>(addr.bytes()), addr.size());
  }
  return r;
}

// A scripted resolver on 127.0.0.1:<port> (UDP and TCP). The handler returns the raw answer, or
// nothing to stay silent.
class FakeUpstream {
 public:
  using Handler = std::function<std::string(std::string_view query)>;
  explicit FakeUpstream(Handler h) : handler_(std::move(h)) {
    udp_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(udp_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    getsockname(udp_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    tcp_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    EXPECT_EQ(bind(tcp_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    listen(tcp_, 8);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    thread_.join();
    close(udp_);
    close(tcp_);
  }
  uint16_t port() const { return port_; }
  int queries() const { return queries_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd fds[2] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      if (poll(fds, 2, 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        char buf[4096];
        sockaddr_storage from{};
        socklen_t len = sizeof(from);
        ssize_t n = recvfrom(udp_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n > 0) {
          ++queries_;
          std::string a = handler_(std::string_view(buf, static_cast<size_t>(n)));
          if (!a.empty()) sendto(udp_, a.data(), a.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
      if (fds[1].revents & POLLIN) {
        int c = accept(tcp_, nullptr, nullptr);
        if (c < 0) continue;
        timeval tv{1, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        for (;;) {
          unsigned char lb[2];
          if (recv(c, lb, 2, MSG_WAITALL) != 2) break;
          std::string q((lb[0] << 8) | lb[1], '\0');
          if (recv(c, q.data(), q.size(), MSG_WAITALL) != static_cast<ssize_t>(q.size())) break;
          ++queries_;
          std::string a = handler_(q);
          if (a.empty()) continue;
          std::string framed = {static_cast<char>(a.size() >> 8), static_cast<char>(a.size() & 0xff)};
          framed += a;
          send(c, framed.data(), framed.size(), MSG_NOSIGNAL);
        }
        close(c);
      }
    }
  }
  Handler handler_;
  int udp_ = -1, tcp_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> queries_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Answered {
  bool got = false;
  dns::Header header;
  std::vector<IpAddr> addresses;
};

// Sends `q` from `src` (127.0.0.1 unless given) to the relay over UDP; waits up to `ms`.
Answered AskUdp(uint16_t port, const std::string& q, const char* src = nullptr, int ms = 3000) {
  Answered out;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (src != nullptr) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    inet_pton(AF_INET, src, &s.sin_addr);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&s), sizeof(s)), 0);
  }
  SockAddr to = SockAddr::From(A("127.0.0.2"), port);
  sendto(fd, q.data(), q.size(), 0, to.get(), to.len);
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, ms) == 1) {
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      auto r = dns::ParseResponse(std::string_view(buf, static_cast<size_t>(n)));
      if (r.ok()) {
        out.got = true;
        out.header = r->header;
        out.addresses = r->addresses;
      }
    }
  }
  close(fd);
  return out;
}

std::vector<Answered> AskTcp(uint16_t port, const std::vector<std::string>& queries) {
  std::vector<Answered> out;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  SockAddr to = SockAddr::From(A("127.0.0.2"), port);
  if (connect(fd, to.get(), to.len) != 0) {
    close(fd);
    return out;
  }
  std::string wire;
  for (const auto& q : queries) {
    wire += static_cast<char>(q.size() >> 8);
    wire += static_cast<char>(q.size() & 0xff);
    wire += q;
  }
  send(fd, wire.data(), wire.size(), MSG_NOSIGNAL);  // pipelined, like glibc's A + AAAA
  timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  for (size_t i = 0; i < queries.size(); ++i) {
    unsigned char lb[2];
    if (recv(fd, lb, 2, MSG_WAITALL) != 2) break;
    std::string r((lb[0] << 8) | lb[1], '\0');
    if (recv(fd, r.data(), r.size(), MSG_WAITALL) != static_cast<ssize_t>(r.size())) break;
    auto parsed = dns::ParseResponse(r);
    Answered a;
    if (parsed.ok()) {
      a.got = true;
      a.header = parsed->header;
      a.addresses = parsed->addresses;
    }
    out.push_back(a);
  }
  close(fd);
  return out;
}

class DnsRelayTest : public ::testing::Test {
 protected:
  // Answers from a small zone: example.test is fine, the others point where sandboxes may not go.
  static std::string Zone(std::string_view q) {
    auto question = dns::ParseQuery(q);
    if (!question.ok()) return "";
    const std::string& n = question->name;
    if (n == "example.test") return WithRecords(q, {{dns::kTypeA, A("203.0.113.10")}});
    if (n == "metadata.google.internal") return WithRecords(q, {{dns::kTypeA, A("169.254.169.254")}});
    if (n == "rebind.test")
      return WithRecords(q, {{dns::kTypeA, A("203.0.113.11")}, {dns::kTypeA, A("10.1.2.3")}});
    if (n == "loopback.test") return WithRecords(q, {{dns::kTypeA, A("127.0.0.1")}});
    if (n == "mapped.test") return WithRecords(q, {{dns::kTypeAaaa, A("::ffff:169.254.169.254")}});
    if (n == "pool.test") return WithRecords(q, {{dns::kTypeA, A("100.96.0.6")}});
    if (n == "wrongid.test") return WithRecords(q, {{dns::kTypeA, A("203.0.113.10")}}, 1);
    if (n == "garbage.test") return "\x01\x02garbage";
    if (n == "silent.test") return "";
    return dns::MakeErrorReply(q, dns::kRcodeNxDomain);
  }

  std::unique_ptr<DnsRelay> MakeRelay(std::vector<uint16_t> upstream_ports, bool thread = true) {
    DnsRelayOptions o;
    o.listen = A("127.0.0.2");
    o.port = 0;
    o.client = A("127.0.0.1");
    for (uint16_t p : upstream_ports) {
      (void)p;
      o.upstreams.push_back(A("127.0.0.1"));
    }
    o.upstream_port = upstream_ports.front();
    EgressConfig c;
    o.denied = EgressDeniedPrefixes(c);
    o.upstream_timeout = std::chrono::milliseconds(300);
    auto r = DnsRelay::Create(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return nullptr;
    if (thread) {
      EXPECT_TRUE((*r)->StartThread().ok());
    }
    return std::move(*r);
  }

  FakeUpstream upstream_{Zone};
};

TEST_F(DnsRelayTest, ForwardsAnAllowedName) {
  auto relay = MakeRelay({upstream_.port()});
  ASSERT_TRUE(relay);
  auto a = AskUdp(relay->port(), dns::MakeQuery(11, "example.test", dns::kTypeA));
  ASSERT_TRUE(a.got);
  EXPECT_EQ(a.header.id, 11);
  EXPECT_EQ(a.header.rcode(), dns::kRcodeNoError);
  ASSERT_EQ(a.addresses.size(), 1u);
  EXPECT_EQ(a.addresses[0].ToString(), "203.0.113.10");
  EXPECT_EQ(relay->stats().answered, 1u);
  auto nx = AskUdp(relay->port(), dns::MakeQuery(12, "unknown.test", dns::kTypeA));
  ASSERT_TRUE(nx.got);
  EXPECT_EQ(nx.header.rcode(), dns::kRcodeNxDomain);
}

TEST_F(DnsRelayTest, RefusesTheMetadataNameWithoutAskingUpstream) {
  auto relay = MakeRelay({upstream_.port()});
  ASSERT_TRUE(relay);
  for (const char* name : {"metadata.google.internal", "METADATA.google.internal", "metadata"}) {
    auto a = AskUdp(relay->port(), dns::MakeQuery(13, name, dns::kTypeA));
    ASSERT_TRUE(a.got) << name;
    EXPECT_EQ(a.header.rcode(), dns::kRcodeRefused) << name;
    EXPECT_TRUE(a.addresses.empty());
  }
  EXPECT_EQ(upstream_.queries(), 0);
  EXPECT_EQ(relay->stats().refused_name, 3u);
}

TEST_F(DnsRelayTest, RefusesAnswersPointingIntoDeniedRanges) {
  auto relay = MakeRelay({upstream_.port()});
  ASSERT_TRUE(relay);
  for (const char* name : {"rebind.test", "loopback.test", "pool.test"}) {
    auto a = AskUdp(relay->port(), dns::MakeQuery(14, name, dns::kTypeA));
    ASSERT_TRUE(a.got) << name;
    EXPECT_EQ(a.header.rcode(), dns::kRcodeRefused) << name;
    EXPECT_TRUE(a.addresses.empty()) << name;
  }
  auto mapped = AskUdp(relay->port(), dns::MakeQuery(15, "mapped.test", dns::kTypeAaaa));
  ASSERT_TRUE(mapped.got);
  EXPECT_EQ(mapped.header.rcode(), dns::kRcodeRefused);
  EXPECT_EQ(relay->stats().refused_answer, 4u);
}

TEST_F(DnsRelayTest, TcpWithPipelinedQueries) {
  auto relay = MakeRelay({upstream_.port()});
  ASSERT_TRUE(relay);
  auto answers = AskTcp(relay->port(), {dns::MakeQuery(21, "example.test", dns::kTypeA),
                                        dns::MakeQuery(22, "metadata.google.internal", dns::kTypeA),
                                        dns::MakeQuery(23, "rebind.test", dns::kTypeA)});
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0].header.id, 21);
  ASSERT_EQ(answers[0].addresses.size(), 1u);
  EXPECT_EQ(answers[0].addresses[0].ToString(), "203.0.113.10");
  EXPECT_EQ(answers[1].header.rcode(), dns::kRcodeRefused);
  EXPECT_EQ(answers[2].header.rcode(), dns::kRcodeRefused);
}

TEST_F(DnsRelayTest, IgnoresOtherSources) {
  auto relay = MakeRelay({upstream_.port()});
  ASSERT_TRUE(relay);
  auto a = AskUdp(relay->port(), dns::MakeQuery(31, "example.test", dns::kTypeA), "127.0.0.3", 500);
  EXPECT_FALSE(a.got);
  EXPECT_EQ(upstream_.queries(), 0);
  EXPECT_EQ(relay->stats().dropped, 1u);
}

TEST_F(DnsRelayTest, ServfailWhenUpstreamIsSilentOrBroken) {
  auto relay = MakeRelay({upstream_.port()});
  ASSERT_TRUE(relay);
  for (const char* name : {"silent.test", "garbage.test", "wrongid.test"}) {
    auto a = AskUdp(relay->port(), dns::MakeQuery(41, name, dns::kTypeA));
    ASSERT_TRUE(a.got) << name;
    EXPECT_EQ(a.header.rcode(), dns::kRcodeServFail) << name;
    EXPECT_TRUE(a.addresses.empty()) << name;
  }
}

TEST_F(DnsRelayTest, FailsOverToTheNextUpstream) {
  // The first upstream has no listener on the port (ICMP port unreachable): the second answers.
  DnsRelayOptions o;
  o.listen = A("127.0.0.2");
  o.port = 0;
  o.client = A("127.0.0.1");
  o.upstreams = {A("127.0.0.9"), A("127.0.0.1")};
  o.upstream_port = upstream_.port();
  o.upstream_timeout = std::chrono::milliseconds(300);
  auto relay = DnsRelay::Create(o);
  ASSERT_TRUE(relay.ok()) << relay.status().ToString();
  ASSERT_TRUE((*relay)->StartThread().ok());
  auto a = AskUdp((*relay)->port(), dns::MakeQuery(51, "example.test", dns::kTypeA));
  ASSERT_TRUE(a.got);
  EXPECT_EQ(a.header.rcode(), dns::kRcodeNoError);
  ASSERT_EQ(a.addresses.size(), 1u);
}

TEST_F(DnsRelayTest, RunsInTheOwnersPollLoop) {
  auto relay = MakeRelay({upstream_.port()}, /*thread=*/false);
  ASSERT_TRUE(relay);
  std::atomic<bool> done{false};
  Answered a;
  std::thread client([&] {
    a = AskUdp(relay->port(), dns::MakeQuery(61, "example.test", dns::kTypeA));
    done = true;
  });
  for (int i = 0; i < 500 && !done; ++i) {
    std::vector<pollfd> fds;
    relay->FillPollFds(&fds);
    int t = relay->NextTimeoutMs();
    poll(fds.data(), fds.size(), t < 0 || t > 10 ? 10 : t);
    relay->Process(fds);
  }
  client.join();
  ASSERT_TRUE(a.got);
  EXPECT_EQ(a.addresses.size(), 1u);
}

TEST(DnsRelayCreate, NamesTheAddressWhenThePortIsTaken) {
  DnsRelayOptions o;
  o.listen = A("127.0.0.2");
  o.port = 0;
  o.upstreams = {A("127.0.0.1")};
  auto first = DnsRelay::Create(o);
  ASSERT_TRUE(first.ok());
  // A second relay on the same address and port: SO_REUSEADDR lets UDP share, TCP listen does not.
  o.port = (*first)->port();
  auto second = DnsRelay::Create(o);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("127.0.0.2:" + std::to_string(o.port)), std::string::npos)
      << second.status().ToString();
  EXPECT_FALSE(second.status().fix().empty());
  o.upstreams.clear();
  EXPECT_FALSE(DnsRelay::Create(o).ok());
}

}  // namespace
}  // namespace cloudcoop::sandbox
