#include "testing/netns_topology.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "core/process.h"
#include "core/strings.h"

namespace cloudcoop::testing {
namespace {

std::atomic<int> g_topology_counter{0};

// ---- A fake authoritative DNS server, independent of the product's DNS code. ----

struct FakeRecord {
  const char* name;
  uint16_t type;
  const char* addr;
};
constexpr FakeRecord kFakeZone[] = {
    {"example.test", 1, NetnsTopology::kWebAddr},
    {"metadata.google.internal", 1, NetnsTopology::kMetadataAddr},
    {"rebind.test", 1, NetnsTopology::kVpcGateway},
    {"loopback.test", 1, "127.0.0.1"},
    {"mapped.test", 28, "::ffff:169.254.169.254"},
};

std::string FakeDnsAnswer(std::string_view q) {
  if (q.size() < 12) return "";
  size_t off = 12;
  std::string name;
  while (off < q.size()) {
    uint8_t len = static_cast<uint8_t>(q[off]);
    if (len == 0 || len > 63 || off + 1 + len > q.size()) break;
    if (!name.empty()) name += '.';
    for (size_t i = 0; i < len; ++i) name += static_cast<char>(std::tolower(static_cast<unsigned char>(q[off + 1 + i])));
    off += 1 + len;
  }
  if (off >= q.size() || q[off] != 0 || off + 5 > q.size()) return "";
  size_t qend = off + 5;
  uint16_t qtype = static_cast<uint16_t>((static_cast<uint8_t>(q[off + 1]) << 8) | static_cast<uint8_t>(q[off + 2]));
  std::string answers;
  int count = 0;
  bool known = false;
  for (const auto& r : kFakeZone) {
    if (name != r.name) continue;
    known = true;
    if (r.type != qtype) continue;
    uint8_t rdata[16];
    int family = r.type == 1 ? AF_INET : AF_INET6;
    if (inet_pton(family, r.addr, rdata) != 1) continue;
    size_t rdlen = r.type == 1 ? 4 : 16;
    answers += std::string("\xc0\x0c", 2);
    answers += static_cast<char>(0);
    answers += static_cast<char>(r.type);
    answers += std::string("\x00\x01\x00\x00\x00\x3c", 6);  // class IN, TTL 60
    answers += static_cast<char>(0);
    answers += static_cast<char>(rdlen);
    answers.append(reinterpret_cast<char*>(rdata), rdlen);
    ++count;
  }
  std::string out(q.substr(0, qend));
  out[2] = static_cast<char>(0x84 | (q[2] & 0x01));  // QR, AA, keep RD
  out[3] = static_cast<char>(0x80 | (known ? 0 : 3));  // RA; NXDOMAIN when unknown
  out[4] = 0;
  out[5] = 1;
  out[6] = 0;
  out[7] = static_cast<char>(count);
  out[8] = out[9] = out[10] = out[11] = 0;
  return out + answers;
}

void SetTimeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

bool ReadFull(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = recv(fd, buf + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

bool ProcessAlive(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

// ---------------------------------------------------------------------------------------------

ScopedNetns::ScopedNetns(int netns_fd) {
  self_.Reset(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  ok_ = self_.valid() && setns(netns_fd, CLONE_NEWNET) == 0;
}

ScopedNetns::~ScopedNetns() {
  if (ok_ && setns(self_.get(), CLONE_NEWNET) != 0) std::abort();
}

// ---------------------------------------------------------------------------------------------

StatusOr<std::unique_ptr<NetnsTopology>> NetnsTopology::Create() {
  // Sweep namespaces of test processes that died without cleaning up.
  if (auto entries = ListDir("/run/netns"); entries.ok()) {
    for (const auto& e : *entries) {
      if (!StartsWith(e, "cc-t")) continue;
      auto parts = Split(e.substr(4), '-');
      if (parts.size() != 3) continue;
      auto pid = ParseInt64(parts[0]);
      if (!pid || ProcessAlive(static_cast<pid_t>(*pid))) continue;
      ProcessSpec spec;
      spec.argv = {"ip", "netns", "del", e};
      (void)DefaultProcessRunner().Run(spec);
    }
  }
  std::unique_ptr<NetnsTopology> t(new NetnsTopology());
  std::string base = "cc-t" + std::to_string(getpid()) + "-" + std::to_string(g_topology_counter++);
  t->host_ns_ = base + "-host";
  t->inet_ns_ = base + "-inet";
  Status s = t->Build();
  if (!s.ok()) return s;  // the destructor removes what was made
  return t;
}

Status NetnsTopology::Ip(const std::vector<std::string>& args) {
  ProcessSpec spec;
  spec.argv = {"ip"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.timeout = std::chrono::seconds(20);
  CC_ASSIGN_OR_RETURN(auto r, DefaultProcessRunner().Run(spec));
  if (!r.success()) return InternalError("ip " + Join(args, " ") + ": " + r.Describe() + ": " + r.err);
  return OkStatus();
}

Status NetnsTopology::Build() {
  const std::string& h = host_ns_;
  const std::string& i = inet_ns_;
  CC_RETURN_IF_ERROR(Ip({"netns", "add", i}));
  CC_RETURN_IF_ERROR(Ip({"netns", "add", h}));
  CC_RETURN_IF_ERROR(Ip({"link", "add", "up0", "netns", h, "type", "veth", "peer", "name", "dn0", "netns", i}));
  CC_RETURN_IF_ERROR(Ip({"-n", h, "link", "set", "lo", "up"}));
  CC_RETURN_IF_ERROR(Ip({"-n", h, "addr", "add", std::string(kHostAddr) + "/24", "dev", "up0"}));
  CC_RETURN_IF_ERROR(Ip({"-n", h, "link", "set", "up0", "up"}));
  CC_RETURN_IF_ERROR(Ip({"-n", h, "route", "add", "default", "via", kVpcGateway}));
  CC_RETURN_IF_ERROR(Ip({"-n", i, "link", "set", "lo", "up"}));
  CC_RETURN_IF_ERROR(Ip({"-n", i, "addr", "add", std::string(kVpcGateway) + "/24", "dev", "dn0"}));
  CC_RETURN_IF_ERROR(Ip({"-n", i, "link", "set", "dn0", "up"}));
  for (const char* a : {kWebAddr, kMetadataAddr, kPublicResolver}) {
    CC_RETURN_IF_ERROR(Ip({"-n", i, "addr", "add", std::string(a) + "/32", "dev", "lo"}));
  }
  // No ICMP error rate limit on the agent host: a test probes many blocked destinations in a row
  // and must see each rejection (past a burst of 6 the kernel sends one per second per peer).
  CC_RETURN_IF_ERROR(Ip({"netns", "exec", h, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0"}));
  host_fd_.Reset(open(("/run/netns/" + h).c_str(), O_RDONLY | O_CLOEXEC));
  inet_fd_.Reset(open(("/run/netns/" + i).c_str(), O_RDONLY | O_CLOEXEC));
  if (!host_fd_.valid() || !inet_fd_.valid()) return ErrnoError(errno, "open /run/netns/" + h);

  auto http = [](const std::string& body, const std::string& extra) {
    return "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n" + extra + "Content-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  };
  CC_RETURN_IF_ERROR(AddListener(inet_fd(), "web", kWebAddr, 80, false, false, http(kWebBody, ""), nullptr));
  CC_RETURN_IF_ERROR(AddListener(inet_fd(), "metadata", kMetadataAddr, 80, false, false,
                                 http(std::string("{\"access_token\":\"") + kMetadataToken + "\"}", "Metadata-Flavor: Google\r\n"),
                                 nullptr));
  CC_RETURN_IF_ERROR(AddListener(inet_fd(), "vpc", kVpcGateway, 80, false, false, http("vpc-private-service", ""), nullptr));
  for (bool udp : {true, false}) {
    CC_RETURN_IF_ERROR(AddListener(inet_fd(), "dns-metadata", kMetadataAddr, 53, udp, true, "", nullptr));
    CC_RETURN_IF_ERROR(AddListener(inet_fd(), "dns-public", kPublicResolver, 53, udp, true, "", nullptr));
  }
  server_ = std::thread([this] { Serve(); });
  return OkStatus();
}

Status NetnsTopology::AddListener(int netns_fd, const std::string& name, const std::string& addr, uint16_t port, bool udp,
                                  bool dns, std::string http_response, uint16_t* bound_port) {
  auto l = std::make_unique<Listener>();
  l->name = name;
  l->udp = udp;
  l->dns = dns;
  l->http_response = std::move(http_response);
  {
    ScopedNetns in(netns_fd);
    if (!in.ok()) return ErrnoError(errno, "enter namespace for listener " + name);
    l->fd.Reset(socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
  }
  if (!l->fd.valid()) return ErrnoError(errno, "socket for listener " + name);
  int one = 1;
  setsockopt(l->fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) return InvalidArgumentError("bad listener address " + addr);
  if (bind(l->fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    return ErrnoError(errno, "bind listener " + name + " on " + addr + ":" + std::to_string(port));
  }
  if (!udp && listen(l->fd.get(), 64) != 0) return ErrnoError(errno, "listen " + name);
  if (bound_port != nullptr) {
    socklen_t len = sizeof(sa);
    getsockname(l->fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
    *bound_port = ntohs(sa.sin_port);
  }
  std::lock_guard<std::mutex> lock(mu_);
  counts_[name] += 0;
  listeners_.push_back(std::move(l));
  return OkStatus();
}

StatusOr<uint16_t> NetnsTopology::StartHostService(const std::string& name, const std::string& addr, uint16_t port) {
  uint16_t bound = 0;
  CC_RETURN_IF_ERROR(AddListener(host_fd(), name, addr, port, false, false, "host-service\n", &bound));
  return bound;
}

uint64_t NetnsTopology::Count(const std::string& server) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(server);
  return it == counts_.end() ? 0 : it->second;
}

void NetnsTopology::Serve() {
  while (!stop_) {
    std::vector<pollfd> fds;
    std::vector<Listener*> ls;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& l : listeners_) {
        fds.push_back({l->fd.get(), POLLIN, 0});
        ls.push_back(l.get());
      }
    }
    if (poll(fds.data(), fds.size(), 50) <= 0) continue;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (!(fds[k].revents & POLLIN)) continue;
      Listener& l = *ls[k];
      auto bump = [&] {
        std::lock_guard<std::mutex> lock(mu_);
        ++counts_[l.name];
      };
      if (l.udp) {
        char buf[4096];
        sockaddr_storage from{};
        socklen_t len = sizeof(from);
        ssize_t n = recvfrom(l.fd.get(), buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0) continue;
        bump();
        std::string ans = FakeDnsAnswer(std::string_view(buf, static_cast<size_t>(n)));
        if (!ans.empty()) sendto(l.fd.get(), ans.data(), ans.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        continue;
      }
      UniqueFd c(accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c.valid()) continue;
      SetTimeouts(c.get(), 1000);
      if (l.dns) {
        // One or more length-prefixed queries (glibc sends A and AAAA on one connection).
        for (int q = 0; q < 8; ++q) {
          char lenbuf[2];
          if (!ReadFull(c.get(), lenbuf, 2)) break;
          size_t len = (static_cast<uint8_t>(lenbuf[0]) << 8) | static_cast<uint8_t>(lenbuf[1]);
          std::string msg(len, '\0');
          if (!ReadFull(c.get(), msg.data(), len)) break;
          bump();
          std::string ans = FakeDnsAnswer(msg);
          std::string framed;
          framed += static_cast<char>(ans.size() >> 8);
          framed += static_cast<char>(ans.size() & 0xff);
          framed += ans;
          if (send(c.get(), framed.data(), framed.size(), MSG_NOSIGNAL) < 0) break;
        }
        continue;
      }
      bump();
      char buf[2048];
      (void)recv(c.get(), buf, sizeof(buf), 0);
      (void)send(c.get(), l.http_response.data(), l.http_response.size(), MSG_NOSIGNAL);
      shutdown(c.get(), SHUT_WR);
    }
  }
}

NetnsTopology::~NetnsTopology() {
  stop_ = true;
  if (server_.joinable()) server_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    listeners_.clear();
  }
  host_fd_.Reset();
  inet_fd_.Reset();
  for (const auto& ns : {host_ns_, inet_ns_}) {
    if (ns.empty() || !PathExists("/run/netns/" + ns)) continue;
    ProcessSpec spec;
    spec.argv = {"ip", "netns", "del", ns};
    (void)DefaultProcessRunner().Run(spec);
  }
}

// ---------------------------------------------------------------------------------------------

StatusOr<std::unique_ptr<NetnsChild>> NetnsChild::Start(bool new_netns) {
  int ready[2], go[2], out[2];
  if (pipe2(ready, O_CLOEXEC) != 0 || pipe2(go, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    return ErrnoError(errno, "pipe2 for a netns child");
  }
  pid_t pid = fork();
  if (pid < 0) return ErrnoError(errno, "fork a netns child");
  if (pid == 0) {
    // Only async-signal-safe calls from here on: the parent has threads.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Keep only our three pipe ends (as 3, 4, 5): other threads fork children at the same time,
    // and a stray copy of their pipe ends here would keep their pipes from ever reaching EOF.
    int r_fd = fcntl(ready[1], F_DUPFD, 100), g_fd = fcntl(go[0], F_DUPFD, 100), o_fd = fcntl(out[1], F_DUPFD, 100);
    if (r_fd < 0 || g_fd < 0 || o_fd < 0 || dup2(r_fd, 3) != 3 || dup2(g_fd, 4) != 4 || dup2(o_fd, 5) != 5) _exit(119);
    if (close_range(6, ~0U, 0) != 0) _exit(119);
    ready[1] = 3;
    go[0] = 4;
    out[1] = 5;
    if (unshare(CLONE_NEWNS | (new_netns ? CLONE_NEWNET : 0)) != 0) _exit(120);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(121);
    if (write(ready[1], "r", 1) != 1) _exit(122);
    static char buf[65536];
    size_t got = 0;
    for (;;) {
      ssize_t n = read(go[0], buf + got, sizeof(buf) - 1 - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
      if (got >= sizeof(buf) - 1) _exit(123);
    }
    if (got == 0) _exit(0);  // released without a program: the parent gave up
    buf[got] = '\0';
    char* fields[256];
    int nf = 0;
    for (size_t pos = 0; pos < got && nf < 255;) {
      fields[nf++] = buf + pos;
      pos += strlen(buf + pos) + 1;
    }
    fields[nf] = nullptr;
    if (nf < 2) _exit(124);
    if (fields[0][0] != '\0' && mount(fields[0], "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0) _exit(125);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    close(3);
    close(4);
    close(5);
    execv(fields[1], fields + 1);
    {
      // Report why (async-signal-safe: no printf).
      char msg[64] = "netns child: execv failed, errno ";
      size_t len = strlen(msg);
      int e = errno;
      char digits[8];
      int nd = 0;
      do {
        digits[nd++] = static_cast<char>('0' + e % 10);
        e /= 10;
      } while (e > 0 && nd < 7);
      while (nd > 0) msg[len++] = digits[--nd];
      msg[len++] = '\n';
      (void)!write(STDERR_FILENO, msg, len);
    }
    _exit(127);
  }
  close(ready[1]);
  close(go[0]);
  close(out[1]);
  std::unique_ptr<NetnsChild> c(new NetnsChild());
  c->pid_ = pid;
  c->go_.Reset(go[1]);
  c->output_.Reset(out[0]);
  UniqueFd ready_fd(ready[0]);
  char r = 0;
  ssize_t n;
  do {
    n = read(ready_fd.get(), &r, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) {
    int status = 0;
    waitpid(pid, &status, 0);
    c->pid_ = -1;
    return InternalError("netns child failed before it was ready (exit " + std::to_string(WEXITSTATUS(status)) + ")");
  }
  c->netns_fd_.Reset(open(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
  if (!c->netns_fd_.valid()) return ErrnoError(errno, "open the netns child's /proc/PID/ns/net");
  return c;
}

Status NetnsChild::Spawn(const std::vector<std::string>& argv) {
  if (!go_.valid()) return FailedPreconditionError("netns child already released");
  std::string msg;
  for (const auto& a : argv) {
    msg += a;
    msg += '\0';
  }
  CC_RETURN_IF_ERROR(WriteAll(go_.get(), msg, "netns child command"));
  go_.Reset();
  return OkStatus();
}

StatusOr<NetnsChild::Result> NetnsChild::Run(const std::vector<std::string>& argv, const std::string& resolv_conf,
                                             int timeout_sec) {
  std::vector<std::string> full = {resolv_conf};
  full.insert(full.end(), argv.begin(), argv.end());
  CC_RETURN_IF_ERROR(Spawn(full));
  Result r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_sec);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      Kill();
      return DeadlineExceededError("netns child did not finish within " + std::to_string(timeout_sec) + " s; output: " +
                                   r.output);
    }
    pollfd p{output_.get(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    ssize_t n = read(output_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    r.output.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

void NetnsChild::Kill() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

NetnsChild::~NetnsChild() {
  go_.Reset();
  Kill();
}

std::string NetProbePath() {
  const char* dir = std::getenv("CLOUDCOOP_BUILD_DIR");
  return std::string(dir != nullptr ? dir : "build") + "/testing/cc_net_probe";
}

std::vector<std::map<std::string, std::string>> ParseProbeOutput(const std::string& output) {
  std::vector<std::map<std::string, std::string>> out;
  for (const auto& line : Split(output, '\n', true)) {
    if (!StartsWith(line, "probe=")) continue;
    std::map<std::string, std::string> m;
    for (const auto& word : Split(line, ' ', true)) {
      size_t eq = word.find('=');
      if (eq != std::string::npos) m[word.substr(0, eq)] = word.substr(eq + 1);
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace cloudcoop::testing
