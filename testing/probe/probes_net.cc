// Probes: network (containment-tests.md rows 8, 17, 19, 21 and section 7). Only addresses that are
// safe to try from the current mode: in `none` nothing but loopback exists, so a connect to the
// metadata server or a private range fails locally (ENETUNREACH) without a packet leaving; in `host`
// those probes are skipped (they would reach the real network); in `egress` they run only when the
// harness says the sandbox's only way out leads to a fake internet it made (--arg fake_internet=1,
// testing/netns_topology.h), and two positive controls (the allowed web server and DNS) must work.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "testing/probe/probe.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

namespace cloudcoop::probe {
namespace {

// Non-blocking connect with a 1 s limit. Returns 0 on a completed handshake, else -1 and errno
// (ETIMEDOUT for the limit).
int ConnectTcp(const std::string& host, int port, int protocol = 0) {
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  if (host.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1) return errno = EINVAL, -1;
    len = sizeof *a;
    family = AF_INET6;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) return errno = EINVAL, -1;
    len = sizeof *a;
    family = AF_INET;
  }
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0) return -1;
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, 1000) == 0) {
      close(fd);
      return errno = ETIMEDOUT, -1;
    }
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    rc = err == 0 ? 0 : -1;
    errno = err;
  }
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

bool SplitHostPort(const std::string& hp, std::string* host, int* port) {
  size_t colon = hp.rfind(':');
  if (colon == std::string::npos) return false;
  *host = hp.substr(0, colon);
  if (host->size() > 1 && host->front() == '[') *host = host->substr(1, host->size() - 2);
  *port = std::atoi(hp.c_str() + colon + 1);
  return *port > 0;
}

// A service the harness runs outside this sandbox: refused in an isolated network namespace,
// reachable on purpose in host mode.
Outcome OutsideService(const Context& ctx, const std::string& arg, int protocol = 0) {
  std::string hp = ctx.Arg(arg), host;
  int port;
  if (hp.empty() || !SplitHostPort(hp, &host, &port)) return Skipped("no --arg " + arg + "=HOST:PORT");
  int rc = ConnectTcp(host, port, protocol);
  int err = errno;
  if (ctx.mode == "host") {
    return rc == 0 ? AllowedByMode(0, "host mode shares the host's loopback") : Blocked(err, "");
  }
  return Classify(rc, err,
                  {ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, ETIMEDOUT, EPERM, EACCES, EPROTONOSUPPORT});
}

// Whether loopback is the only interface (so nothing sent here can leave the machine).
bool OnlyLoopback() {
  struct if_nameindex* list = if_nameindex();
  if (list == nullptr) return false;
  int n = 0;
  bool lo = false;
  for (auto* p = list; p->if_index != 0; ++p, ++n) lo = lo || std::strcmp(p->if_name, "lo") == 0;
  if_freenameindex(list);
  return n == 1 && lo;
}

// Egress inside the harness's topology: every address the sandbox can reach is a test host.
bool FakeInternet(const Context& ctx) { return ctx.mode == "egress" && ctx.Arg("fake_internet") == "1"; }

// An address outside the host: tried only where no packet can reach the real network (mode none
// with only lo, or egress inside the fake internet). Egress blocks with EACCES (a prohibit route in
// the sandbox) or EHOSTUNREACH (the host's firewall); a completed handshake is a breach.
Outcome Unroutable(const Context& ctx, const std::string& host, int port) {
  if (FakeInternet(ctx)) {
    int rc = ConnectTcp(host, port);
    return Classify(rc, errno, {EACCES, EPERM, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT});
  }
  if (ctx.mode != "none") return Skipped("would reach the real network in mode " + ctx.mode);
  if (!OnlyLoopback()) return Reachable(0, "interfaces besides lo exist: not sending anything");
  int rc = ConnectTcp(host, port);
  return Classify(rc, errno, {ENETUNREACH, EHOSTUNREACH, ECONNREFUSED, EPERM, EACCES});
}

// Each "HOST:PORT" of a comma-separated --arg list must be unreachable (see Unroutable).
Outcome UnroutableList(const Context& ctx, const std::string& arg) {
  std::string list = ctx.Arg(arg);
  if (list.empty()) return Skipped("no --arg " + arg + "=HOST:PORT,...");
  Outcome last = Skipped("empty list");
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string hp = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? list.size() + 1 : comma + 1;
    std::string host;
    int port;
    if (!SplitHostPort(hp, &host, &port)) continue;
    Outcome o = Unroutable(ctx, host, port);
    o.detail = hp + (o.detail.empty() ? "" : ": " + o.detail);
    if (o.result != Result::kBlocked) return o;
    last = o;
  }
  return last;
}

// The sandbox's default gateway from /proc/net/route ("" when there is none).
std::string DefaultGateway() {
  FILE* f = std::fopen("/proc/net/route", "r");
  if (f == nullptr) return "";
  char line[256];
  std::string gw;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    char iface[32];
    unsigned dest = 1, gateway = 0;
    if (std::sscanf(line, "%31s %x %x", iface, &dest, &gateway) == 3 && dest == 0 && gateway != 0) {
      in_addr a{gateway};
      char buf[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &a, buf, sizeof buf);
      gw = buf;
      break;
    }
  }
  std::fclose(f);
  return gw;
}

// One DNS query for `name` (type A) to server:53 over UDP; the answer's rcode, or -1 with errno
// (ETIMEDOUT when nothing came back within 1 s).
int DnsQueryRcode(const std::string& server, const std::string& name) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  if (inet_pton(AF_INET, server.c_str(), &a.sin_addr) != 1) {
    close(fd);
    return errno = EINVAL, -1;
  }
  std::string q("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = std::min(name.find('.', start), name.size());
    q += static_cast<char>(dot - start);
    q += name.substr(start, dot - start);
    start = dot + 1;
  }
  q += std::string("\x00\x00\x01\x00\x01", 5);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || send(fd, q.data(), q.size(), 0) < 0) {
    int err = errno;
    close(fd);
    return errno = err, -1;
  }
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 1000) <= 0) {
    close(fd);
    return errno = ETIMEDOUT, -1;
  }
  char buf[512];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  int err = errno;
  close(fd);
  if (n < 4) return errno = (n < 0 ? err : EPROTO), -1;
  return buf[3] & 0xf;
}

}  // namespace

CC_PROBE(net_namespace, "network", "the network namespace is not the host's") {
  std::string host = ctx.Arg("host_ns_net");
  if (host.empty()) return Skipped("no --arg host_ns_net=INODE");
  struct stat st;
  if (stat("/proc/self/ns/net", &st) != 0) return Broken(errno, "stat /proc/self/ns/net");
  bool same = std::to_string(st.st_ino) == host;
  if (ctx.mode == "host")
    return same ? AllowedByMode(0, "host mode") : Reachable(0, "host mode without the host netns");
  return same ? Reachable(0, "the host's network namespace") : Blocked(0, "own network namespace");
}

CC_PROBE(net_interfaces, "network", "no interface but loopback (mode none)") {
  if (ctx.mode != "none") return Skipped("mode " + ctx.mode);
  struct if_nameindex* list = if_nameindex();
  if (list == nullptr) return Broken(errno, "if_nameindex");
  std::string names;
  int n = 0;
  for (auto* p = list; p->if_index != 0; ++p, ++n) names += std::string(" ") + p->if_name;
  if_freenameindex(list);
  return n == 1 && names == " lo" ? Blocked(0, "only lo") : Reachable(0, "interfaces:" + names);
}

CC_PROBE(host_loopback, "network", "connect to a host loopback service") {
  return OutsideService(ctx, "host_tcp");
}

CC_PROBE(sibling_listener, "network", "connect to another sandbox's loopback listener") {
  return OutsideService(ctx, "sibling_tcp");
}

CC_PROBE(mptcp, "network", "Multipath TCP to the host loopback service (Landlock TCP rules miss MPTCP)") {
  return OutsideService(ctx, "host_tcp", IPPROTO_MPTCP);
}

CC_PROBE(abstract_unix, "network", "connect to the host's abstract Unix socket") {
  std::string name = ctx.Arg("abstract");
  if (name.empty()) return Skipped("no --arg abstract=NAME");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Blocked(errno, "socket(AF_UNIX)");
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path + 1, name.data(), std::min(name.size(), sizeof a.sun_path - 2));
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&a), len);
  int err = errno;
  close(fd);
  return Classify(rc, err, {ECONNREFUSED, EPERM, EACCES});
}

CC_PROBE(metadata_ip, "network", "connect to the metadata server 169.254.169.254:80") {
  return Unroutable(ctx, "169.254.169.254", 80);
}

CC_PROBE(metadata_mapped_v6, "network", "connect to ::ffff:169.254.169.254 (IPv4-mapped)") {
  return Unroutable(ctx, "::ffff:169.254.169.254", 80);
}

CC_PROBE(metadata_name, "network", "resolve metadata.google.internal") {
  if (FakeInternet(ctx)) {
    addrinfo* res = nullptr;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo("metadata.google.internal", "80", &hints, &res);
    if (rc == 0) {
      freeaddrinfo(res);
      return Reachable(0, "the name resolved");
    }
    return Blocked(0, gai_strerror(rc));
  }
  if (ctx.mode != "none") return Skipped("would reach the real resolver in mode " + ctx.mode);
  if (!OnlyLoopback()) return Reachable(0, "interfaces besides lo exist: not resolving");
  addrinfo* res = nullptr;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo("metadata.google.internal", "80", &hints, &res);
  if (rc == 0) {
    freeaddrinfo(res);
    return Reachable(0, "the name resolved");
  }
  return Blocked(0, gai_strerror(rc));
}

CC_PROBE(private_range, "network", "connect to a private address (10.0.0.1:80)") {
  return Unroutable(ctx, "10.0.0.1", 80);
}

CC_PROBE(raw_dns, "network", "send a DNS query straight to 8.8.8.8:53") {
  if (FakeInternet(ctx)) {
    // A resolver on the fake internet, which answers anyone who reaches it.
    std::string server = ctx.Arg("public_dns");
    if (server.empty()) return Skipped("no --arg public_dns=ADDRESS");
    int rc = DnsQueryRcode(server, "example.test");
    if (rc >= 0) return Reachable(0, server + " answered (rcode " + std::to_string(rc) + ")");
    return Classify(-1, errno, {EACCES, EPERM, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT}, server);
  }
  if (ctx.mode != "none") return Skipped("would reach the real network in mode " + ctx.mode);
  if (!OnlyLoopback()) return Reachable(0, "interfaces besides lo exist: not sending anything");
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Blocked(errno, "socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  inet_pton(AF_INET, "8.8.8.8", &a.sin_addr);
  char q[12] = {};
  ssize_t rc = sendto(fd, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int err = errno;
  close(fd);
  return Classify(rc, err, {ENETUNREACH, EHOSTUNREACH, EPERM, EACCES});
}

CC_PROBE(metadata_aws_v6, "network", "connect to [fd00:ec2::254]:80 (another cloud's metadata server)") {
  return Unroutable(ctx, "fd00:ec2::254", 80);
}

CC_PROBE(metadata_resolver, "network", "ask the metadata server's resolver (169.254.169.254:53) directly") {
  if (!FakeInternet(ctx)) return Unroutable(ctx, "169.254.169.254", 53);
  int rc = DnsQueryRcode("169.254.169.254", "example.test");
  if (rc >= 0) return Reachable(0, "169.254.169.254:53 answered");
  return Classify(-1, errno, {EACCES, EPERM, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT});
}

CC_PROBE(private_ranges, "network", "connect to 172.16.0.1, 192.168.0.1, 100.64.0.1 and 169.254.0.1") {
  std::string list = "172.16.0.1:80,192.168.0.1:80,100.64.0.1:80,169.254.0.1:80";
  Context c = ctx;
  c.args["private_list"] = list;
  return UnroutableList(c, "private_list");
}

CC_PROBE(host_interfaces, "network", "connect to the host's own addresses (its service ports)") {
  if (ctx.mode == "host") return Skipped("host mode shares the host's addresses");
  return UnroutableList(ctx, "host_addrs");
}

CC_PROBE(host_gateway, "network", "connect to the host through the sandbox's gateway (its service port)") {
  if (!FakeInternet(ctx)) return Skipped("egress only");
  std::string gw = DefaultGateway();
  std::string port = ctx.Arg("host_port");
  if (gw.empty()) return Broken(0, "no default route in egress mode");
  if (port.empty()) return Skipped("no --arg host_port=PORT");
  return Unroutable(ctx, gw, std::atoi(port.c_str()));
}

CC_PROBE(rebinding_name, "network",
         "resolve a public name that points into a private range (DNS rebinding)") {
  if (!FakeInternet(ctx)) return Skipped("egress only (needs the fake internet's resolver)");
  addrinfo* res = nullptr;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo("rebind.test", "80", &hints, &res);
  if (rc == 0) {
    freeaddrinfo(res);
    return Reachable(0, "rebind.test resolved");
  }
  return Blocked(0, gai_strerror(rc));
}

CC_PROBE(internet_allowed, "network", "positive control: the allowed internet host answers (egress)") {
  if (!FakeInternet(ctx)) return Skipped("egress only");
  std::string hp = ctx.Arg("web"), host;
  int port;
  if (hp.empty() || !SplitHostPort(hp, &host, &port)) return Skipped("no --arg web=HOST:PORT");
  int rc = ConnectTcp(host, port);
  return rc == 0 ? Ok(hp + " connected") : Broken(errno, hp + " did not connect");
}

CC_PROBE(dns_allowed, "network",
         "positive control: an internet name resolves through the sandbox's resolver") {
  if (!FakeInternet(ctx)) return Skipped("egress only");
  addrinfo* res = nullptr;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo("example.test", "80", &hints, &res);
  if (rc != 0) return Broken(0, std::string("example.test: ") + gai_strerror(rc));
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, buf, sizeof buf);
  freeaddrinfo(res);
  std::string want = ctx.Arg("web").substr(0, ctx.Arg("web").rfind(':'));
  return want == buf ? Ok(std::string("example.test -> ") + buf)
                     : Broken(0, std::string("example.test -> ") + buf);
}

}  // namespace cloudcoop::probe
