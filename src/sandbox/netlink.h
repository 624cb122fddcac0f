// A small netlink client: rtnetlink (links, addresses, routes) and one nftables query, in-process.
//
// Per-sandbox network setup must not spawn `ip` (8 invocations cost 43.5 ms; see
// shared/reference/machine-notes.md section 9), so the sandbox code talks to the kernel directly. This
// file is the only place that builds netlink messages; everything is bounds-checked, and every error
// names the operation, the object, errno and the kernel's extended-ack text when it gives one.
//
// A Socket lives in the network namespace it was opened in: OpenInNetns() enters the target namespace
// on the calling thread only for the socket() call and returns to the original one.
#ifndef CLOUDCOOP_SANDBOX_NETLINK_H_
#define CLOUDCOOP_SANDBOX_NETLINK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/files.h"
#include "core/status.h"
#include "sandbox/net_addr.h"

namespace cloudcoop::sandbox {

// socket(domain, type | SOCK_CLOEXEC, protocol) created inside the network namespace `netns_fd`
// (the calling thread enters it only for the call; needs CAP_SYS_ADMIN over it). The socket stays
// in that namespace for its whole life, whoever uses it later.
StatusOr<UniqueFd> SocketInNetns(int netns_fd, int domain, int type, int protocol);

}  // namespace cloudcoop::sandbox

namespace cloudcoop::sandbox::nl {

// One netlink request under construction. `what` says what it does, for error messages
// ("add address 100.96.0.1/30 to cceg3").
class Message {
 public:
  Message(uint16_t type, uint16_t flags, std::string what);

  template <typename T>
  void Header(const T& header) {
    Append(&header, sizeof(header));
  }
  void Attr(uint16_t type, const void* data, size_t len);
  void AttrU8(uint16_t type, uint8_t v) { Attr(type, &v, 1); }
  void AttrU32(uint16_t type, uint32_t v) { Attr(type, &v, 4); }
  void AttrString(uint16_t type, std::string_view s);  // NUL-terminated
  void AttrAddr(uint16_t type, const IpAddr& a) { Attr(type, a.bytes(), a.size()); }
  // Nested attributes: `size_t n = Nest(T); ...; EndNest(n);`
  size_t Nest(uint16_t type);
  void EndNest(size_t start);

  uint16_t type() const;
  uint16_t flags() const;
  const std::string& what() const { return what_; }
  // The finished message (nlmsghdr first) with the given sequence number.
  std::string_view Finish(uint32_t seq);

 private:
  void Append(const void* data, size_t len);
  std::string buf_;
  std::string what_;
};

// Attributes of one message or one nest, indexed by type (NLA_F_NESTED masked off). Missing ones are
// empty views. Malformed lengths end the parse.
class Attrs {
 public:
  Attrs(std::string_view payload, uint16_t max_type);
  std::string_view Get(uint16_t type) const {
    return type < slots_.size() ? slots_[type] : std::string_view();
  }
  bool Has(uint16_t type) const { return !Get(type).empty(); }
  std::optional<uint32_t> U32(uint16_t type) const;
  std::optional<uint8_t> U8(uint16_t type) const;
  std::string String(uint16_t type) const;  // without the trailing NUL

 private:
  std::vector<std::string_view> slots_;
};

// One received message: type, flags and the payload after the nlmsghdr.
struct Reply {
  uint16_t type = 0;
  uint16_t flags = 0;
  std::string payload;
};

class Socket {
 public:
  // NETLINK_ROUTE or NETLINK_NETFILTER in the calling thread's network namespace.
  static StatusOr<Socket> Open(int protocol);
  // The same, in the network namespace `netns_fd` refers to (needs CAP_SYS_ADMIN over it).
  static StatusOr<Socket> OpenInNetns(int protocol, int netns_fd);

  Socket(Socket&&) = default;
  Socket& operator=(Socket&&) = default;

  // Sends every message in one sendmsg (each with NLM_F_REQUEST | NLM_F_ACK) and waits for one
  // acknowledgement per message. The kernel handles them in order; the first failure is returned.
  Status Transact(std::vector<Message>& batch);
  Status Transact(Message msg);
  // A request answered by data then an acknowledgement (RTM_GETLINK by name, NFT_MSG_GETTABLE).
  StatusOr<std::vector<Reply>> Get(Message& request);
  // NLM_F_DUMP: every reply message until NLMSG_DONE (retried once if the dump was interrupted).
  StatusOr<std::vector<Reply>> Dump(Message& request);

  int fd() const { return fd_.get(); }
  // The errno of the kernel's refusal in the last request (0 when it succeeded).
  int last_errno() const { return last_errno_; }

 private:
  explicit Socket(UniqueFd fd) : fd_(std::move(fd)) {}
  static StatusOr<Socket> Configure(UniqueFd fd, int protocol);
  Status Send(std::vector<Message*>& msgs, uint32_t first_seq);
  StatusOr<std::vector<Reply>> Receive(const std::vector<Message*>& msgs, uint32_t first_seq, bool dump,
                                       bool* interrupted);

  UniqueFd fd_;
  uint32_t seq_ = 1;
  int last_errno_ = 0;
};

// ---- rtnetlink requests ----

// A veth pair: `host_name` stays in the calling socket's namespace; the peer is created directly
// inside `peer_netns_fd` as `peer_name`. Both start down; `mtu` 0 keeps the default.
Message NewVeth(const std::string& host_name, const std::string& peer_name, int peer_netns_fd, uint32_t mtu);
Message DeleteLink(const std::string& name);
Message SetLinkUp(int ifindex, const std::string& name);
// No IPv6 link-local address is ever generated on the link (set before it goes up).
Message SetAddrGenModeNone(int ifindex, const std::string& name);
// net.ipv4.conf.<link>.forwarding, per device.
Message SetIpv4Forwarding(int ifindex, const std::string& name, bool on);
// `local` is the interface's address, `prefix_len` the subnet length (100.96.0.1 and 30).
Message AddAddress(int ifindex, const std::string& name, const IpAddr& local, int prefix_len);

enum class RouteType { kUnicast, kProhibit, kUnreachable, kBlackhole };
struct RouteSpec {
  IpPrefix dst;
  RouteType type = RouteType::kUnicast;
  std::optional<IpAddr> gateway;
  int oif = 0;  // output interface for unicast routes
};
Message AddRoute(const RouteSpec& route);
Message GetLinkByName(const std::string& name);
Message DumpLinks();
Message DumpAddresses(int family);  // AF_INET, AF_INET6 or AF_UNSPEC
Message DumpRoutes(int family);

struct LinkInfo {
  int index = 0;
  std::string name;
  unsigned flags = 0;  // IFF_*
  uint32_t mtu = 0;
  std::string kind;  // "veth", ... (empty for physical devices)
};
struct AddrInfo {
  int index = 0;
  int family = 0;
  IpAddr local;
  int prefix_len = 0;
};
struct RouteInfo {
  IpPrefix dst;
  RouteType type = RouteType::kUnicast;
  unsigned rtm_type = 0;  // RTN_*
  unsigned table = 0;
  std::optional<IpAddr> gateway;
  int oif = 0;
};

StatusOr<LinkInfo> ParseLink(const Reply& r);
StatusOr<AddrInfo> ParseAddress(const Reply& r);
StatusOr<RouteInfo> ParseRoute(const Reply& r);

// Convenience wrappers on a NETLINK_ROUTE socket.
StatusOr<std::vector<LinkInfo>> ListLinks(Socket& s);
StatusOr<std::optional<LinkInfo>> FindLink(Socket& s, const std::string& name);  // empty: no such link
StatusOr<std::vector<AddrInfo>> ListAddresses(Socket& s, int family);
StatusOr<std::vector<RouteInfo>> ListRoutes(Socket& s, int family);  // main table only

// ---- nftables (NETLINK_NETFILTER) ----

// The comment of nftables table `name` in `family` (NFPROTO_INET, ...); empty optional when the table
// does not exist; an empty string when it exists without a comment.
StatusOr<std::optional<std::string>> NftTableComment(Socket& s, uint8_t family, const std::string& name);

}  // namespace cloudcoop::sandbox::nl

#endif  // CLOUDCOOP_SANDBOX_NETLINK_H_
