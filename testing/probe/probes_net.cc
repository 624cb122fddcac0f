// Probes: network (containment-tests.md rows 8, 17, 19, 21 and section 7). Only addresses that are
// safe to try from the current mode: in `none` nothing but loopback exists, so a connect to the
// metadata server or a private range fails locally (ENETUNREACH) without a packet leaving; in `host`
// those probes are skipped (they would reach the real network), and in `egress` they need the test
// topology with a fake internet (testing/ network fixtures; added with the egress mode).
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

// An address outside the host: tried only where no packet can leave (mode none, and only lo).
Outcome Unroutable(const Context& ctx, const std::string& host, int port) {
  if (ctx.mode != "none") return Skipped("would reach the real network in mode " + ctx.mode);
  if (!OnlyLoopback()) return Reachable(0, "interfaces besides lo exist: not sending anything");
  int rc = ConnectTcp(host, port);
  return Classify(rc, errno, {ENETUNREACH, EHOSTUNREACH, ECONNREFUSED, EPERM, EACCES});
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

}  // namespace cloudcoop::probe
