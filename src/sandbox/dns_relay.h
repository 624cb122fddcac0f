// The DNS relay a sandbox in `egress` mode talks to.
//
// A sandbox cannot use the host's resolver directly: on GCE that is the metadata server itself
// (169.254.169.254), elsewhere usually a private address, and both are unreachable from the sandbox
// by design. Each egress sandbox therefore gets its own relay. Its listening sockets (UDP and TCP
// 127.0.0.53:53) live inside the sandbox's network namespace, created there by the supervisor, so
// the sandbox reaches its resolver over its own loopback and needs no path to the host at all; the
// relay forwards from the host's namespace to the host's resolvers and checks both directions:
//   - standard queries only (and, when configured, only from one source address);
//   - names of the cloud metadata server are refused (REFUSED), whatever upstream would say;
//   - answers that hand out a denied address (private, link-local/metadata, loopback, the host's
//     own, other sandboxes', IPv4-mapped forms of those) are refused as a whole (DNS rebinding);
//   - answers must match the query's id and question, and come from the upstream it was sent to.
//
// The relay is owned by the sandbox's supervisor (which lives in the host's network namespace):
// it can run inside the supervisor's own poll loop (FillPollFds / Process / NextTimeoutMs) or on
// a thread of its own (StartThread). It costs two sockets while idle.
#ifndef CLOUDCOOP_SANDBOX_DNS_RELAY_H_
#define CLOUDCOOP_SANDBOX_DNS_RELAY_H_

#include <poll.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/files.h"
#include "core/status.h"
#include "sandbox/dns_message.h"
#include "sandbox/net_addr.h"

namespace cloudcoop::sandbox {

struct DnsRelayOptions {
  IpAddr listen;  // 127.0.0.53 inside the sandbox's namespace
  uint16_t port = 53;
  // The network namespace the listening sockets are created in (the sandbox's); -1: the caller's.
  // Upstream sockets are always created in the caller's (the host's) namespace.
  int listen_netns_fd = -1;
  IpAddr client;                  // the only source answered; empty: any
  std::vector<IpAddr> upstreams;  // the host's resolvers, tried in order
  uint16_t upstream_port = 53;
  std::vector<IpPrefix> denied;  // answers handing out these addresses are refused
  std::chrono::milliseconds upstream_timeout{2000};
  std::chrono::milliseconds tcp_idle_timeout{10000};
  size_t max_pending = 64;  // queries in flight to upstream
  size_t max_tcp_clients = 16;
};

struct DnsRelayStats {
  uint64_t queries = 0;         // well-formed queries from the sandbox
  uint64_t answered = 0;        // upstream answers passed on
  uint64_t refused_name = 0;    // blocked names
  uint64_t refused_answer = 0;  // answers with a denied address
  uint64_t failed = 0;          // SERVFAIL: upstream silent, unreachable or malformed
  uint64_t dropped = 0;         // from a foreign source, malformed, or over the limits
};

// The nameservers of a resolv.conf ("nameserver 10.0.0.2" lines), in order.
StatusOr<std::vector<IpAddr>> ParseResolvConfNameservers(std::string_view text, std::string_view path);

class DnsRelay {
 public:
  using Clock = std::chrono::steady_clock;

  // Binds UDP and TCP `listen:port`. Fails (naming the address and errno) when either is taken.
  static StatusOr<std::unique_ptr<DnsRelay>> Create(DnsRelayOptions options);
  ~DnsRelay();
  DnsRelay(const DnsRelay&) = delete;
  DnsRelay& operator=(const DnsRelay&) = delete;

  // For the owner's poll loop: append the descriptors to watch, poll, then hand the same vector to
  // Process. NextTimeoutMs is the poll timeout (-1: none pending).
  void FillPollFds(std::vector<pollfd>* fds) const;
  void Process(const std::vector<pollfd>& fds);
  int NextTimeoutMs() const;

  // Or let the relay run its own loop on a thread until Stop() (or destruction).
  Status StartThread();
  void Stop();

  DnsRelayStats stats() const;
  const DnsRelayOptions& options() const { return options_; }
  uint16_t port() const { return port_; }  // the bound port (options.port, or the kernel's pick for 0)

 private:
  struct Origin {
    bool tcp = false;
    SockAddr client;    // UDP
    uint64_t conn = 0;  // TCP client id
  };
  struct Upstream {
    UniqueFd fd;
    bool tcp = false;
    bool connected = false;
    std::string query;  // as received
    std::string out;    // bytes still to send (TCP)
    std::string in;     // bytes received (TCP)
    size_t index = 0;   // which upstream
    Clock::time_point deadline;
    Origin origin;
    dns::Question question;
    uint16_t id = 0;
  };
  struct TcpClient {
    UniqueFd fd;
    std::string in, out;
    bool busy = false;     // a query of this connection is upstream
    bool closing = false;  // peer closed its side
    Clock::time_point deadline;
  };

  explicit DnsRelay(DnsRelayOptions options) : options_(std::move(options)) {}
  void OnUdpQuery();
  void OnTcpAccept();
  void OnTcpClient(uint64_t id, short revents);
  void OnUpstream(Upstream& u, short revents, bool* done);
  void HandleQuery(std::string_view query, const Origin& origin);
  bool StartUpstream(Upstream u);
  void FinishUpstream(Upstream& u, std::string_view response);
  void Reply(const Origin& origin, std::string_view msg);
  void ExpireTimeouts();
  void PumpTcpClient(uint64_t id);
  void RunLoop();

  DnsRelayOptions options_;
  UniqueFd udp_, tcp_;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<Upstream>> upstreams_;
  std::map<uint64_t, TcpClient> clients_;
  uint64_t next_client_ = 1;

  std::atomic<uint64_t> queries_{0}, answered_{0}, refused_name_{0}, refused_answer_{0}, failed_{0},
      dropped_{0};

  UniqueFd wake_;
  std::thread thread_;
};

}  // namespace cloudcoop::sandbox

#endif  // CLOUDCOOP_SANDBOX_DNS_RELAY_H_
