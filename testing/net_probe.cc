// cc_net_probe: network probes run inside a sandbox's network namespace by the tests.
//
//   cc_net_probe PROBE [, PROBE]...
//     tcp ADDR PORT            connect (2 s); when connected, send an HTTP GET and read the reply
//     dns-udp SERVER NAME TYPE one DNS query over UDP to SERVER:53 (TYPE: A or AAAA)
//     dns-tcp SERVER NAME TYPE the same over TCP
//     resolve NAME             getaddrinfo() through the sandbox's /etc/resolv.conf
//     listen ADDR PORT         listen and answer "sibling" to each connection, until killed
//     ifaddrs                  the namespace's interface addresses
//
// One line per probe: "probe=N cmd=tcp target=203.0.113.10:80 result=connected|error|timeout|answer|
// resolved|refused errno=EACCES ...". Values never contain spaces. Self-contained on purpose: it
// shares no code with the product it tests.
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int kTimeoutMs = 2000;

std::string ErrnoName(int e) {
  switch (e) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENETUNREACH: return "ENETUNREACH";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EINVAL: return "EINVAL";
    case ECONNRESET: return "ECONNRESET";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRINUSE: return "EADDRINUSE";
    default: return "E" + std::to_string(e);
  }
}

std::string Sanitize(std::string s) {
  for (char& c : s) {
    if (c == ' ' || c == '\r' || c == '\n' || c == '\t' || c == '=') c = '_';
  }
  return s;
}

// Parses "1.2.3.4", "::1", "fe80::1%eth0" into a sockaddr.
bool MakeAddr(const std::string& host, int port, sockaddr_storage* ss, socklen_t* len) {
  std::memset(ss, 0, sizeof(*ss));
  auto* in = reinterpret_cast<sockaddr_in*>(ss);
  if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(ss);
  std::string addr = host;
  std::string scope;
  if (size_t pct = host.find('%'); pct != std::string::npos) {
    addr = host.substr(0, pct);
    scope = host.substr(pct + 1);
  }
  if (inet_pton(AF_INET6, addr.c_str(), &in6->sin6_addr) != 1) return false;
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(static_cast<uint16_t>(port));
  if (!scope.empty()) in6->sin6_scope_id = if_nametoindex(scope.c_str());
  *len = sizeof(sockaddr_in6);
  return true;
}

// Connects with a timeout. Returns the fd, or -1 with *err = errno, or -2 on timeout.
int Connect(const std::string& host, int port, int type, int* err) {
  sockaddr_storage ss;
  socklen_t len;
  if (!MakeAddr(host, port, &ss, &len)) {
    *err = EINVAL;
    return -1;
  }
  int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) return fd;
  if (errno != EINPROGRESS) {
    *err = errno;
    close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  if (poll(&p, 1, kTimeoutMs) <= 0) {
    close(fd);
    return -2;
  }
  int so = 0;
  socklen_t solen = sizeof(so);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &solen);
  if (so != 0) {
    *err = so;
    close(fd);
    return -1;
  }
  return fd;
}

// Reads what arrives within the timeout (until EOF or `max` bytes). *err set on a socket error.
std::string ReadSome(int fd, size_t max, int* err, bool* timed_out) {
  std::string out;
  *timed_out = false;
  while (out.size() < max) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kTimeoutMs) <= 0) {
      *timed_out = true;
      break;
    }
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      *err = errno;
      break;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string ErrorFields(int fd_or_code, int err) {
  if (fd_or_code == -2) return "result=timeout";
  return "result=error errno=" + ErrnoName(err);
}

std::string ProbeTcp(const std::string& host, int port) {
  int err = 0;
  int fd = Connect(host, port, SOCK_STREAM, &err);
  if (fd < 0) return ErrorFields(fd, err);
  std::string req = "GET /computeMetadata/v1/instance/service-accounts/default/token HTTP/1.0\r\nHost: " + host +
                    "\r\nMetadata-Flavor: Google\r\n\r\n";
  (void)send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  int rerr = 0;
  bool timed_out = false;
  std::string reply = ReadSome(fd, 65536, &rerr, &timed_out);
  close(fd);
  std::string first_line = reply.substr(0, reply.find('\n'));
  std::string out = "result=connected bytes=" + std::to_string(reply.size()) + " reply=" + Sanitize(first_line);
  out += std::string(" token=") + (reply.find("FAKE-METADATA-TOKEN") != std::string::npos ? "1" : "0");
  out += std::string(" web=") + (reply.find("fake-internet-ok") != std::string::npos ? "1" : "0");
  return out;
}

std::string MakeQuery(const std::string& name, int qtype, uint16_t id) {
  std::string q;
  q += static_cast<char>(id >> 8);
  q += static_cast<char>(id & 0xff);
  q += std::string("\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10);
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q += static_cast<char>(dot - start);
    q += name.substr(start, dot - start);
    start = dot + 1;
  }
  q += '\0';
  q += static_cast<char>(0);
  q += static_cast<char>(qtype);
  q += std::string("\x00\x01", 2);
  return q;
}

// rcode, answer count and the A/AAAA addresses of a response (answer section only).
std::string DescribeAnswer(const std::string& r, uint16_t id) {
  if (r.size() < 12) return "result=error errno=short_answer";
  uint16_t rid = static_cast<uint16_t>((static_cast<uint8_t>(r[0]) << 8) | static_cast<uint8_t>(r[1]));
  int rcode = r[3] & 0xf;
  int an = (static_cast<uint8_t>(r[6]) << 8) | static_cast<uint8_t>(r[7]);
  std::string addrs;
  size_t off = 12;
  // Skip the question (uncompressed in answers to our own queries, or a pointer).
  while (off < r.size() && r[off] != 0 && (static_cast<uint8_t>(r[off]) & 0xc0) == 0) off += 1 + static_cast<uint8_t>(r[off]);
  off += ((off < r.size() && (static_cast<uint8_t>(r[off]) & 0xc0) == 0xc0) ? 2 : 1) + 4;
  for (int i = 0; i < an && off < r.size(); ++i) {
    while (off < r.size() && r[off] != 0 && (static_cast<uint8_t>(r[off]) & 0xc0) == 0) off += 1 + static_cast<uint8_t>(r[off]);
    off += (off < r.size() && (static_cast<uint8_t>(r[off]) & 0xc0) == 0xc0) ? 2 : 1;
    if (off + 10 > r.size()) break;
    int type = (static_cast<uint8_t>(r[off]) << 8) | static_cast<uint8_t>(r[off + 1]);
    int rdlen = (static_cast<uint8_t>(r[off + 8]) << 8) | static_cast<uint8_t>(r[off + 9]);
    off += 10;
    if (off + static_cast<size_t>(rdlen) > r.size()) break;
    char buf[INET6_ADDRSTRLEN] = {};
    if (type == 1 && rdlen == 4) inet_ntop(AF_INET, r.data() + off, buf, sizeof(buf));
    if (type == 28 && rdlen == 16) inet_ntop(AF_INET6, r.data() + off, buf, sizeof(buf));
    if (buf[0] != '\0') addrs += (addrs.empty() ? "" : ",") + std::string(buf);
    off += static_cast<size_t>(rdlen);
  }
  return "result=answer rcode=" + std::to_string(rcode) + " answers=" + std::to_string(an) +
         " id_ok=" + (rid == id ? "1" : "0") + " addrs=" + (addrs.empty() ? "-" : addrs);
}

std::string ProbeDns(const std::string& server, const std::string& name, const std::string& type, bool tcp) {
  int qtype = type == "AAAA" ? 28 : 1;
  uint16_t id = static_cast<uint16_t>(getpid() ^ 0x5a5a);
  std::string q = MakeQuery(name, qtype, id);
  int err = 0;
  int fd = Connect(server, 53, tcp ? SOCK_STREAM : SOCK_DGRAM, &err);
  if (fd < 0) return ErrorFields(fd, err);
  std::string wire = q;
  if (tcp) wire = std::string(1, static_cast<char>(q.size() >> 8)) + static_cast<char>(q.size() & 0xff) + q;
  if (send(fd, wire.data(), wire.size(), MSG_NOSIGNAL) < 0) {
    err = errno;
    close(fd);
    return "result=error errno=" + ErrnoName(err);
  }
  int rerr = 0;
  bool timed_out = false;
  std::string r;
  if (!tcp) {
    r = ReadSome(fd, 1, &rerr, &timed_out);  // one datagram
  } else {
    // The length prefix, then exactly that many bytes (the server keeps the connection open).
    r = ReadSome(fd, 2, &rerr, &timed_out);
    if (r.size() >= 2) {
      size_t want = 2 + ((static_cast<uint8_t>(r[0]) << 8) | static_cast<uint8_t>(r[1]));
      while (r.size() < want && rerr == 0 && !timed_out) r += ReadSome(fd, want - r.size(), &rerr, &timed_out);
      if (r.size() < want) r.clear();
    }
  }
  close(fd);
  if (rerr != 0) return "result=error errno=" + ErrnoName(rerr);
  if (r.empty()) return timed_out ? "result=timeout" : "result=error errno=closed";
  if (tcp) r = r.substr(2);
  return DescribeAnswer(r, id);
}

std::string ProbeResolve(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(name.c_str(), nullptr, &hints, &res);
  if (rc != 0) return "result=error gai=" + Sanitize(gai_strerror(rc));
  std::string addrs;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (a->ai_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, buf, sizeof(buf));
    else inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, buf, sizeof(buf));
    std::string s(buf);
    if (addrs.find(s) == std::string::npos) addrs += (addrs.empty() ? "" : ",") + s;
  }
  freeaddrinfo(res);
  return "result=resolved addrs=" + addrs;
}

int Listen(const std::string& host, int port) {
  sockaddr_storage ss;
  socklen_t len;
  if (!MakeAddr(host, port, &ss, &len)) return 2;
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 16) != 0) {
    (void)std::printf("probe=1 cmd=listen result=error errno=%s\n", ErrnoName(errno).c_str());
    return 1;
  }
  (void)std::printf("probe=1 cmd=listen result=listening\n");
  (void)std::fflush(stdout);
  for (;;) {
    int c = accept(fd, nullptr, nullptr);
    if (c < 0) continue;
    (void)!write(c, "sibling\n", 8);
    close(c);
  }
}

std::string ProbeIfaddrs() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "result=error errno=" + ErrnoName(errno);
  std::string out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    if (i->ifa_addr->sa_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof(buf));
    else if (i->ifa_addr->sa_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, buf, sizeof(buf));
    else continue;
    out += (out.empty() ? "" : ",") + std::string(i->ifa_name) + "/" + buf;
  }
  freeifaddrs(list);
  return "result=ok addrs=" + (out.empty() ? std::string("-") : out);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::vector<std::string>> probes(1);
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == ",") probes.emplace_back();
    else probes.back().push_back(argv[i]);
  }
  int n = 0;
  for (const auto& p : probes) {
    if (p.empty()) continue;
    ++n;
    const std::string& cmd = p[0];
    std::string target, fields;
    if (cmd == "tcp" && p.size() == 3) {
      target = p[1] + ":" + p[2];
      fields = ProbeTcp(p[1], std::stoi(p[2]));
    } else if ((cmd == "dns-udp" || cmd == "dns-tcp") && p.size() == 4) {
      target = p[1] + "/" + p[2] + "/" + p[3];
      fields = ProbeDns(p[1], p[2], p[3], cmd == "dns-tcp");
    } else if (cmd == "resolve" && p.size() == 2) {
      target = p[1];
      fields = ProbeResolve(p[1]);
    } else if (cmd == "listen" && p.size() == 3) {
      return Listen(p[1], std::stoi(p[2]));
    } else if (cmd == "ifaddrs") {
      target = "-";
      fields = ProbeIfaddrs();
    } else {
      (void)std::fprintf(stderr, "cc_net_probe: unknown probe or wrong arguments: %s\n", cmd.c_str());
      return 2;
    }
    (void)std::printf("probe=%d cmd=%s target=%s %s\n", n, cmd.c_str(), Sanitize(target).c_str(), fields.c_str());
    (void)std::fflush(stdout);
  }
  return 0;
}
