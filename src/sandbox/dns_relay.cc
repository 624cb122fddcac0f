#include "sandbox/dns_relay.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "core/logging.h"
#include "core/strings.h"
#include "sandbox/netlink.h"

namespace cloudcoop::sandbox {
namespace {

constexpr size_t kMaxMessage = 65535;

std::string LengthPrefixed(std::string_view msg) {
  std::string out;
  out.push_back(static_cast<char>((msg.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(msg.size() & 0xff));
  out.append(msg);
  return out;
}

// A complete length-prefixed message at the front of `buf`, removed from it; empty if incomplete.
std::optional<std::string> TakeTcpMessage(std::string* buf) {
  if (buf->size() < 2) return std::nullopt;
  size_t len = (static_cast<uint8_t>((*buf)[0]) << 8) | static_cast<uint8_t>((*buf)[1]);
  if (buf->size() < 2 + len) return std::nullopt;
  std::string msg = buf->substr(2, len);
  buf->erase(0, 2 + len);
  return msg;
}

}  // namespace

StatusOr<std::vector<IpAddr>> ParseResolvConfNameservers(std::string_view text, std::string_view path) {
  std::vector<IpAddr> out;
  for (const auto& raw : Split(text, '\n')) {
    std::string_view line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    auto words = Split(line, ' ', true);
    if (words.size() >= 2 && words[0] == "nameserver") {
      std::string_view addr = words[1];
      if (size_t pct = addr.find('%'); pct != std::string_view::npos)
        addr = addr.substr(0, pct);  // fe80::1%eth0
      auto ip = IpAddr::Parse(addr);
      if (!ip) {
        return InvalidArgumentError(std::string(path) + ": \"" + std::string(line) +
                                    "\" is not a nameserver address")
            .WithFix("fix the nameserver line in " + std::string(path));
      }
      out.push_back(*ip);
    }
  }
  if (out.empty()) {
    return FailedPreconditionError("DNS relay: " + std::string(path) +
                                   " names no nameserver, so sandboxes in egress mode cannot resolve names")
        .WithFix("add a `nameserver ADDRESS` line to " + std::string(path) +
                 " or pass the resolvers explicitly");
  }
  return out;
}

StatusOr<std::unique_ptr<DnsRelay>> DnsRelay::Create(DnsRelayOptions options) {
  if (options.listen.empty()) return InvalidArgumentError("DNS relay: no listen address given");
  if (options.upstreams.empty()) {
    return InvalidArgumentError("DNS relay: no upstream resolver given")
        .WithFix("pass the host's nameservers");
  }
  std::unique_ptr<DnsRelay> relay(new DnsRelay(std::move(options)));
  const auto& o = relay->options_;
  SockAddr addr = SockAddr::From(o.listen, o.port);
  int one = 1;

  auto make_socket = [&](int type) -> StatusOr<UniqueFd> {
    if (o.listen_netns_fd >= 0) {
      auto fd = SocketInNetns(o.listen_netns_fd, o.listen.family(), type | SOCK_NONBLOCK, 0);
      if (!fd.ok()) return fd.status().Annotate("DNS relay: creating its socket in the sandbox's namespace");
      return fd;
    }
    UniqueFd fd(socket(o.listen.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return ErrnoError(errno, "DNS relay: socket()");
    return fd;
  };
  CC_ASSIGN_OR_RETURN(relay->udp_, make_socket(SOCK_DGRAM));
  (void)setsockopt(relay->udp_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(relay->udp_.get(), addr.get(), addr.len) != 0) {
    return ErrnoError(errno, "DNS relay: bind UDP " + addr.ToString())
        .WithFix(
            "stop the program that holds port 53 on every address (e.g. a DNS server bound to 0.0.0.0 "
            "without SO_REUSEADDR)");
  }
  if (o.port == 0) {  // tests: take the port the kernel picked for UDP for TCP as well
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    getsockname(relay->udp_.get(), reinterpret_cast<sockaddr*>(&ss), &len);
    addr = *SockAddr::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  }
  relay->port_ = addr.port();
  CC_ASSIGN_OR_RETURN(relay->tcp_, make_socket(SOCK_STREAM));
  (void)setsockopt(relay->tcp_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(relay->tcp_.get(), addr.get(), addr.len) != 0) {
    return ErrnoError(errno, "DNS relay: bind TCP " + addr.ToString())
        .WithFix("stop the program that holds TCP port 53 on every address");
  }
  if (listen(relay->tcp_.get(), 16) != 0)
    return ErrnoError(errno, "DNS relay: listen on TCP " + addr.ToString());
  return relay;
}

DnsRelay::~DnsRelay() { Stop(); }

DnsRelayStats DnsRelay::stats() const {
  DnsRelayStats s;
  s.queries = queries_;
  s.answered = answered_;
  s.refused_name = refused_name_;
  s.refused_answer = refused_answer_;
  s.failed = failed_;
  s.dropped = dropped_;
  return s;
}

void DnsRelay::FillPollFds(std::vector<pollfd>* fds) const {
  fds->push_back({udp_.get(), POLLIN, 0});
  if (clients_.size() < options_.max_tcp_clients) fds->push_back({tcp_.get(), POLLIN, 0});
  for (const auto& [id, c] : clients_) {
    short ev = 0;
    if (!c.closing && c.in.size() < kMaxMessage + 2) ev |= POLLIN;
    if (!c.out.empty()) ev |= POLLOUT;
    fds->push_back({c.fd.get(), ev, 0});
  }
  for (const auto& u : upstreams_) {
    short ev = POLLIN;
    if (u->tcp && (!u->connected || !u->out.empty())) ev = POLLOUT;
    fds->push_back({u->fd.get(), ev, 0});
  }
}

int DnsRelay::NextTimeoutMs() const {
  std::optional<Clock::time_point> next;
  for (const auto& u : upstreams_) next = next ? std::min(*next, u->deadline) : u->deadline;
  for (const auto& [id, c] : clients_) next = next ? std::min(*next, c.deadline) : c.deadline;
  if (!next) return -1;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*next - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms + 1, 0, 60000));
}

void DnsRelay::Process(const std::vector<pollfd>& fds) {
  std::unordered_map<int, short> ready;
  for (const auto& p : fds) {
    if (p.revents != 0) ready[p.fd] |= p.revents;
  }
  auto revents_of = [&](int fd) -> short {
    auto it = ready.find(fd);
    return it == ready.end() ? 0 : it->second;
  };
  if (revents_of(udp_.get()) & POLLIN) OnUdpQuery();
  if (revents_of(tcp_.get()) & POLLIN) OnTcpAccept();
  // Upstreams first (their answers may free TCP clients), on a snapshot: handlers add and remove.
  std::vector<Upstream*> snapshot;
  for (auto& u : upstreams_) snapshot.push_back(u.get());
  for (Upstream* u : snapshot) {
    short ev = revents_of(u->fd.get());
    if (ev == 0) continue;
    bool done = false;
    OnUpstream(*u, ev, &done);
    if (done) {
      upstreams_.erase(std::remove_if(upstreams_.begin(), upstreams_.end(),
                                      [u](const std::unique_ptr<Upstream>& p) { return p.get() == u; }),
                       upstreams_.end());
    }
  }
  std::vector<std::pair<uint64_t, int>> client_fds;
  for (const auto& [id, c] : clients_) client_fds.emplace_back(id, c.fd.get());
  for (const auto& [id, fd] : client_fds) {
    short ev = revents_of(fd);
    if (ev != 0 && clients_.count(id)) OnTcpClient(id, ev);
  }
  ExpireTimeouts();
}

void DnsRelay::OnUdpQuery() {
  std::string buf(kMaxMessage, '\0');
  for (int i = 0; i < 16; ++i) {  // bounded: other work gets its turn
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    ssize_t n =
        recvfrom(udp_.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) return;
    auto src = SockAddr::FromSockaddr(reinterpret_cast<sockaddr*>(&from), from_len);
    if (!src || (!options_.client.empty() && !(src->ip() == options_.client))) {
      ++dropped_;
      continue;
    }
    Origin origin;
    origin.client = *src;
    HandleQuery(std::string_view(buf.data(), static_cast<size_t>(n)), origin);
  }
}

void DnsRelay::OnTcpAccept() {
  sockaddr_storage from{};
  socklen_t from_len = sizeof(from);
  UniqueFd fd(
      accept4(tcp_.get(), reinterpret_cast<sockaddr*>(&from), &from_len, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!fd.valid()) return;
  auto src = SockAddr::FromSockaddr(reinterpret_cast<sockaddr*>(&from), from_len);
  if (!src || (!options_.client.empty() && !(src->ip() == options_.client)) ||
      clients_.size() >= options_.max_tcp_clients) {
    ++dropped_;
    return;  // closes
  }
  TcpClient c;
  c.fd = std::move(fd);
  c.deadline = Clock::now() + options_.tcp_idle_timeout;
  clients_.emplace(next_client_++, std::move(c));
}

void DnsRelay::OnTcpClient(uint64_t id, short revents) {
  TcpClient& c = clients_.at(id);
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    char buf[4096];
    ssize_t n = recv(c.fd.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      c.deadline = Clock::now() + options_.tcp_idle_timeout;
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      c.closing = true;
      if (n < 0) c.out.clear();  // reset by peer: nobody to answer
    }
  }
  PumpTcpClient(id);
}

void DnsRelay::PumpTcpClient(uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  TcpClient& c = it->second;
  while (!c.busy) {
    auto msg = TakeTcpMessage(&c.in);
    if (!msg) break;
    Origin origin;
    origin.tcp = true;
    origin.conn = id;
    HandleQuery(*msg, origin);  // may answer at once (appending to c.out) or set c.busy
    it = clients_.find(id);
    if (it == clients_.end()) return;
  }
  if (!c.out.empty()) {
    ssize_t n = send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<size_t>(n));
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      c.closing = true;
      c.out.clear();
    }
  }
  bool oversized = c.in.size() > kMaxMessage + 2;
  if (oversized || (c.closing && !c.busy && c.out.empty())) clients_.erase(id);
}

void DnsRelay::HandleQuery(std::string_view query, const Origin& origin) {
  auto q = dns::ParseQuery(query);
  if (!q.ok()) {
    ++dropped_;
    // Answer malformed-but-readable queries so the client does not wait; ignore garbage.
    if (dns::ParseHeader(query).ok() && !dns::ParseHeader(query)->qr())
      Reply(origin, dns::MakeErrorReply(query, dns::kRcodeFormErr));
    return;
  }
  ++queries_;
  if (dns::IsBlockedName(q->name)) {
    ++refused_name_;
    CC_LOG_INFO("DNS relay: refused %s (the cloud metadata server's name)", q->name.c_str());
    Reply(origin, dns::MakeErrorReply(query, dns::kRcodeRefused));
    return;
  }
  if (upstreams_.size() >= options_.max_pending) {
    ++failed_;
    Reply(origin, dns::MakeErrorReply(query, dns::kRcodeServFail));
    return;
  }
  Upstream u;
  u.query = std::string(query);
  u.origin = origin;
  u.question = *q;
  u.id = dns::ParseHeader(query)->id;
  u.tcp = origin.tcp;
  u.index = 0;
  if (origin.tcp) {
    auto it = clients_.find(origin.conn);
    if (it != clients_.end()) it->second.busy = true;
  }
  if (!StartUpstream(std::move(u))) {
    // StartUpstream answered SERVFAIL itself.
  }
}

bool DnsRelay::StartUpstream(Upstream u) {
  while (u.index < options_.upstreams.size()) {
    const IpAddr& server = options_.upstreams[u.index];
    SockAddr to = SockAddr::From(server, options_.upstream_port);
    UniqueFd fd(
        socket(server.family(), (u.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.valid()) {
      int rc = connect(fd.get(), to.get(), to.len);
      if (rc == 0 || (u.tcp && errno == EINPROGRESS)) {
        u.fd = std::move(fd);
        u.connected = !u.tcp || rc == 0;
        u.in.clear();
        u.deadline = Clock::now() + options_.upstream_timeout;
        if (u.tcp) {
          u.out = LengthPrefixed(u.query);
        } else if (send(u.fd.get(), u.query.data(), u.query.size(), 0) < 0) {
          CC_LOG_DEBUG("DNS relay: send to %s failed: %s", to.ToString().c_str(), std::strerror(errno));
          ++u.index;
          continue;
        }
        upstreams_.push_back(std::make_unique<Upstream>(std::move(u)));
        return true;
      }
      CC_LOG_DEBUG("DNS relay: connect to %s failed: %s", to.ToString().c_str(), std::strerror(errno));
    }
    ++u.index;
  }
  ++failed_;
  Reply(u.origin, dns::MakeErrorReply(u.query, dns::kRcodeServFail));
  return false;
}

void DnsRelay::OnUpstream(Upstream& u, short revents, bool* done) {
  auto retry_next = [&] {
    Upstream next;
    next.query = u.query;
    next.origin = u.origin;
    next.question = u.question;
    next.id = u.id;
    next.tcp = u.tcp;
    next.index = u.index + 1;
    *done = true;
    StartUpstream(std::move(next));
  };
  if (!u.tcp) {
    char buf[kMaxMessage];
    ssize_t n = recv(u.fd.get(), buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      retry_next();  // ICMP port unreachable and friends
      return;
    }
    std::string_view resp(buf, static_cast<size_t>(n));
    auto r = dns::ParseResponse(resp);
    if (r.ok() && (r->header.id != u.id || !(r->question == u.question)))
      return;  // not our answer; keep waiting
    *done = true;
    FinishUpstream(u, resp);
    return;
  }
  if (!u.connected) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(u.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      retry_next();
      return;
    }
    u.connected = true;
  }
  if (!u.out.empty() && (revents & POLLOUT)) {
    ssize_t n = send(u.fd.get(), u.out.data(), u.out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      retry_next();
      return;
    }
    if (n > 0) u.out.erase(0, static_cast<size_t>(n));
    return;
  }
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    char buf[4096];
    ssize_t n = recv(u.fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      retry_next();
      return;
    }
    u.in.append(buf, static_cast<size_t>(n));
    if (auto msg = TakeTcpMessage(&u.in)) {
      *done = true;
      FinishUpstream(u, *msg);
    }
  }
}

void DnsRelay::FinishUpstream(Upstream& u, std::string_view response) {
  auto r = dns::ParseResponse(response);
  if (!r.ok() || r->header.id != u.id || !(r->question == u.question)) {
    ++failed_;
    CC_LOG_INFO("DNS relay: unusable answer for %s: %s", u.question.name.c_str(),
                r.ok() ? "id or question mismatch" : r.status().message().c_str());
    Reply(u.origin, dns::MakeErrorReply(u.query, dns::kRcodeServFail));
    return;
  }
  for (const auto& a : r->addresses) {
    if (IsDenied(a, options_.denied)) {
      ++refused_answer_;
      CC_LOG_INFO("DNS relay: refused the answer for %s: it points to %s, which sandboxes may not reach",
                  u.question.name.c_str(), a.ToString().c_str());
      Reply(u.origin, dns::MakeErrorReply(u.query, dns::kRcodeRefused));
      return;
    }
  }
  ++answered_;
  Reply(u.origin, response);
}

void DnsRelay::Reply(const Origin& origin, std::string_view msg) {
  if (msg.empty()) return;
  if (!origin.tcp) {
    (void)sendto(udp_.get(), msg.data(), msg.size(), 0, origin.client.get(), origin.client.len);
    return;
  }
  auto it = clients_.find(origin.conn);
  if (it == clients_.end()) return;
  it->second.out += LengthPrefixed(msg);
  it->second.busy = false;
  it->second.deadline = Clock::now() + options_.tcp_idle_timeout;
}

void DnsRelay::ExpireTimeouts() {
  auto now = Clock::now();
  std::vector<std::unique_ptr<Upstream>> expired;
  for (auto it = upstreams_.begin(); it != upstreams_.end();) {
    if ((*it)->deadline <= now) {
      expired.push_back(std::move(*it));
      it = upstreams_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& u : expired) {
    Upstream next;
    next.query = u->query;
    next.origin = u->origin;
    next.question = u->question;
    next.id = u->id;
    next.tcp = u->tcp;
    next.index = u->index + 1;
    StartUpstream(std::move(next));
  }
  std::vector<uint64_t> ids;
  for (const auto& [id, c] : clients_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = clients_.find(id);
    if (it == clients_.end()) continue;
    if (!it->second.out.empty() || it->second.busy) PumpTcpClient(id);
    it = clients_.find(id);
    if (it != clients_.end() && it->second.deadline <= now) clients_.erase(it);
  }
}

Status DnsRelay::StartThread() {
  if (thread_.joinable()) return FailedPreconditionError("DNS relay: the thread already runs");
  wake_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_.valid()) return ErrnoError(errno, "DNS relay: eventfd");
  thread_ = std::thread([this] { RunLoop(); });
  return OkStatus();
}

void DnsRelay::Stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof(one));
  thread_.join();
}

void DnsRelay::RunLoop() {
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    FillPollFds(&fds);
    fds.push_back({wake_.get(), POLLIN, 0});
    int rc = poll(fds.data(), fds.size(), NextTimeoutMs());
    if (rc < 0 && errno != EINTR) {
      CC_LOG_ERROR("DNS relay: poll failed: %s; the relay stops", std::strerror(errno));
      return;
    }
    if (fds.back().revents & POLLIN) return;
    Process(fds);
  }
}

}  // namespace cloudcoop::sandbox
