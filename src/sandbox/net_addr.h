// IPv4/IPv6 addresses and prefixes for the sandbox network code: parsing, formatting, containment,
// and the classification of destinations a sandbox must never reach (net_egress.h uses it for routes
// and firewall rules, the DNS relay for its resolved-address check).
#ifndef CLOUDCOOP_SANDBOX_NET_ADDR_H_
#define CLOUDCOOP_SANDBOX_NET_ADDR_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cloudcoop::sandbox {

class IpAddr {
 public:
  IpAddr() = default;
  static IpAddr V4(uint32_t host_order);
  static IpAddr V4Bytes(const uint8_t bytes[4]);
  static IpAddr V6Bytes(const uint8_t bytes[16]);
  // "192.0.2.1", "2001:db8::1", "::ffff:169.254.169.254". No prefix, no port, no zone.
  static std::optional<IpAddr> Parse(std::string_view text);

  int family() const { return family_; }  // AF_INET or AF_INET6 (AF_UNSPEC when empty)
  bool is_v4() const { return family_ == AF_INET; }
  bool is_v6() const { return family_ == AF_INET6; }
  bool empty() const { return family_ == AF_UNSPEC; }
  const uint8_t* bytes() const { return bytes_.data(); }
  size_t size() const { return is_v4() ? 4 : 16; }
  uint32_t v4() const;  // host byte order; only for IPv4
  // The IPv4 address an IPv6 address stands for: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
  // (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002:AABB:CCDD::/48). Empty for anything else.
  std::optional<IpAddr> EmbeddedV4() const;
  std::string ToString() const;

  bool operator==(const IpAddr& o) const = default;

 private:
  int family_ = AF_UNSPEC;
  std::array<uint8_t, 16> bytes_{};
};

class IpPrefix {
 public:
  IpPrefix() = default;
  IpPrefix(IpAddr addr, int len);
  // "10.0.0.0/8", "fc00::/7"; a bare address is a host prefix (/32 or /128). Host bits must be zero.
  static StatusOr<IpPrefix> Parse(std::string_view text);

  const IpAddr& addr() const { return addr_; }
  int len() const { return len_; }
  int family() const { return addr_.family(); }
  bool Contains(const IpAddr& a) const;  // same family only
  bool Overlaps(const IpPrefix& o) const;
  std::string ToString() const;

  bool operator==(const IpPrefix& o) const = default;

 private:
  IpAddr addr_;
  int len_ = 0;
};

// Destinations no sandbox may reach, whatever the host: "this network", private (RFC 1918), shared
// address space (RFC 6598, which also holds Alibaba's metadata server), loopback, link-local (the
// cloud metadata server 169.254.169.254), IETF protocol assignments, multicast, reserved and
// broadcast; for IPv6 unspecified, loopback, IPv4-mapped, NAT64, unique-local (fc00::/7, holding
// GCE's fd20:ce::254 and AWS's fd00:ec2::254), link-local and multicast.
const std::vector<IpPrefix>& BuiltinDeniedPrefixes();

// True when `addr` lies in one of `denied`, also when it is an IPv6 form embedding such an IPv4
// address (see EmbeddedV4).
bool IsDenied(const IpAddr& addr, const std::vector<IpPrefix>& denied);

// A socket address for an IP and port (sockaddr_in or sockaddr_in6).
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  static SockAddr From(const IpAddr& addr, uint16_t port);
  static std::optional<SockAddr> FromSockaddr(const sockaddr* sa, socklen_t len);
  IpAddr ip() const;
  uint16_t port() const;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  std::string ToString() const;  // "192.0.2.1:53", "[2001:db8::1]:53"
};

}  // namespace cloudcoop::sandbox

#endif  // CLOUDCOOP_SANDBOX_NET_ADDR_H_
