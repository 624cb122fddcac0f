#include "sandbox/net_addr.h"

#include <arpa/inet.h>

#include <cstring>

#include "core/strings.h"

namespace cloudcoop::sandbox {

IpAddr IpAddr::V4(uint32_t host_order) {
  IpAddr a;
  a.family_ = AF_INET;
  a.bytes_[0] = static_cast<uint8_t>(host_order >> 24);
  a.bytes_[1] = static_cast<uint8_t>(host_order >> 16);
  a.bytes_[2] = static_cast<uint8_t>(host_order >> 8);
  a.bytes_[3] = static_cast<uint8_t>(host_order);
  return a;
}

IpAddr IpAddr::V4Bytes(const uint8_t bytes[4]) {
  IpAddr a;
  a.family_ = AF_INET;
  std::memcpy(a.bytes_.data(), bytes, 4);
  return a;
}

IpAddr IpAddr::V6Bytes(const uint8_t bytes[16]) {
  IpAddr a;
  a.family_ = AF_INET6;
  std::memcpy(a.bytes_.data(), bytes, 16);
  return a;
}

std::optional<IpAddr> IpAddr::Parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  IpAddr a;
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), a.bytes_.data()) != 1) return std::nullopt;
    a.family_ = AF_INET;
  } else {
    if (inet_pton(AF_INET6, s.c_str(), a.bytes_.data()) != 1) return std::nullopt;
    a.family_ = AF_INET6;
  }
  return a;
}

uint32_t IpAddr::v4() const {
  return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) | bytes_[3];
}

std::optional<IpAddr> IpAddr::EmbeddedV4() const {
  if (!is_v6()) return std::nullopt;
  const uint8_t* b = bytes_.data();
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr uint8_t kCompat[12] = {};
  static constexpr uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kMapped, 12) == 0 || std::memcmp(b, kNat64, 12) == 0) return V4Bytes(b + 12);
  // ::a.b.c.d (deprecated IPv4-compatible); :: and ::1 are left to the IPv6 list.
  if (std::memcmp(b, kCompat, 12) == 0 && (b[12] | b[13] | b[14]) != 0) return V4Bytes(b + 12);
  if (b[0] == 0x20 && b[1] == 0x02) return V4Bytes(b + 2);  // 6to4
  return std::nullopt;
}

std::string IpAddr::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family_ == AF_UNSPEC) return "<none>";
  inet_ntop(family_, bytes_.data(), buf, sizeof(buf));
  return buf;
}

IpPrefix::IpPrefix(IpAddr addr, int len) : addr_(addr), len_(len) {}

namespace {
bool PrefixMatch(const uint8_t* a, const uint8_t* b, int len) {
  int full = len / 8;
  if (std::memcmp(a, b, full) != 0) return false;
  int rest = len % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}
}  // namespace

StatusOr<IpPrefix> IpPrefix::Parse(std::string_view text) {
  std::string_view addr_text = text;
  std::optional<int> len;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr_text = text.substr(0, slash);
    auto n = ParseInt64(text.substr(slash + 1));
    if (!n || *n < 0 || *n > 128) {
      return InvalidArgumentError("network prefix \"" + std::string(text) +
                                  "\": the length after '/' is not a number")
          .WithFix("write a prefix such as 100.96.0.0/16 or fc00::/7");
    }
    len = static_cast<int>(*n);
  }
  auto addr = IpAddr::Parse(addr_text);
  if (!addr) {
    return InvalidArgumentError("network prefix \"" + std::string(text) + "\": \"" + std::string(addr_text) +
                                "\" is not an IPv4 or IPv6 address")
        .WithFix("write a prefix such as 100.96.0.0/16 or fc00::/7");
  }
  int max = addr->is_v4() ? 32 : 128;
  int l = len.value_or(max);
  if (l > max) {
    return InvalidArgumentError("network prefix \"" + std::string(text) + "\": length " + std::to_string(l) +
                                " is longer than the address (" + std::to_string(max) + " bits)")
        .WithFix("use a length between 0 and " + std::to_string(max));
  }
  // Host bits must be zero: "10.1.2.3/8" is almost always a typo for 10.0.0.0/8.
  uint8_t masked[16] = {};
  std::memcpy(masked, addr->bytes(), addr->size());
  for (int bit = l; bit < max; ++bit) masked[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  if (std::memcmp(masked, addr->bytes(), addr->size()) != 0) {
    IpAddr fixed = addr->is_v4() ? IpAddr::V4Bytes(masked) : IpAddr::V6Bytes(masked);
    return InvalidArgumentError("network prefix \"" + std::string(text) + "\" has bits set after the first " +
                                std::to_string(l))
        .WithFix("write " + fixed.ToString() + "/" + std::to_string(l));
  }
  return IpPrefix(*addr, l);
}

bool IpPrefix::Contains(const IpAddr& a) const {
  if (a.family() != addr_.family() || addr_.empty()) return false;
  return PrefixMatch(a.bytes(), addr_.bytes(), len_);
}

bool IpPrefix::Overlaps(const IpPrefix& o) const {
  if (o.family() != family()) return false;
  return PrefixMatch(addr_.bytes(), o.addr_.bytes(), std::min(len_, o.len_));
}

std::string IpPrefix::ToString() const { return addr_.ToString() + "/" + std::to_string(len_); }

const std::vector<IpPrefix>& BuiltinDeniedPrefixes() {
  static const std::vector<IpPrefix> kList = [] {
    std::vector<IpPrefix> out;
    for (const char* p : {
             "0.0.0.0/8",       // "this network"
             "10.0.0.0/8",      // RFC 1918 (GCE VPC subnets)
             "100.64.0.0/10",   // RFC 6598 shared space (CGNAT, Alibaba metadata 100.100.100.200)
             "127.0.0.0/8",     // loopback
             "169.254.0.0/16",  // link-local: metadata.google.internal = 169.254.169.254
             "172.16.0.0/12",   // RFC 1918 (docker's 172.17.0.0/16)
             "192.0.0.0/24",    // IETF protocol assignments
             "192.168.0.0/16",  // RFC 1918
             "224.0.0.0/4",     // multicast
             "240.0.0.0/4",     // reserved, and 255.255.255.255
             "::/127",          // unspecified and loopback
             "::ffff:0:0/96",   // IPv4-mapped
             "64:ff9b::/96",    // NAT64
             "fc00::/7",        // unique-local: fd20:ce::254 (GCE), fd00:ec2::254 (AWS)
             "fe80::/10",       // link-local
             "ff00::/8",        // multicast
         }) {
      out.push_back(*IpPrefix::Parse(p));
    }
    return out;
  }();
  return kList;
}

bool IsDenied(const IpAddr& addr, const std::vector<IpPrefix>& denied) {
  for (const auto& p : denied) {
    if (p.Contains(addr)) return true;
  }
  if (auto v4 = addr.EmbeddedV4()) {
    for (const auto& p : denied) {
      if (p.Contains(*v4)) return true;
    }
  }
  return false;
}

SockAddr SockAddr::From(const IpAddr& addr, uint16_t port) {
  SockAddr s;
  if (addr.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&s.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, addr.bytes(), 4);
    s.len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&s.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, addr.bytes(), 16);
    s.len = sizeof(sockaddr_in6);
  }
  return s;
}

std::optional<SockAddr> SockAddr::FromSockaddr(const sockaddr* sa, socklen_t len) {
  if (sa == nullptr) return std::nullopt;
  if ((sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) ||
      (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6))) {
    SockAddr s;
    s.len = sa->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::memcpy(&s.storage, sa, s.len);
    return s;
  }
  return std::nullopt;
}

IpAddr SockAddr::ip() const {
  if (storage.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    return IpAddr::V4Bytes(reinterpret_cast<const uint8_t*>(&in->sin_addr));
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
  return IpAddr::V6Bytes(reinterpret_cast<const uint8_t*>(&in6->sin6_addr));
}

uint16_t SockAddr::port() const {
  if (storage.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
}

std::string SockAddr::ToString() const {
  IpAddr a = ip();
  if (a.is_v6()) return "[" + a.ToString() + "]:" + std::to_string(port());
  return a.ToString() + ":" + std::to_string(port());
}

}  // namespace cloudcoop::sandbox
