#include "sandbox/netlink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/logging.h"

namespace cloudcoop::sandbox {

StatusOr<UniqueFd> SocketInNetns(int netns_fd, int domain, int type, int protocol) {
  UniqueFd self(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!self.valid()) {
    return ErrnoError(
               errno,
               "open /proc/thread-self/ns/net (to return after entering a sandbox's network namespace)")
        .WithFix("mount /proc");
  }
  if (setns(netns_fd, CLONE_NEWNET) != 0) {
    return ErrnoError(errno, "setns(CLONE_NEWNET) into the sandbox's network namespace")
        .WithFix("run as root (CAP_SYS_ADMIN) and pass a network namespace descriptor (/proc/PID/ns/net)");
  }
  UniqueFd fd(socket(domain, type | SOCK_CLOEXEC, protocol));
  int err = errno;
  if (setns(self.get(), CLONE_NEWNET) != 0) {
    // The thread now lives in the sandbox's namespace: continuing would configure the wrong
    // network. This cannot happen with the descriptor we hold; stop rather than guess.
    CC_LOG_ERROR("cannot return to the original network namespace: %s", std::strerror(errno));
    std::abort();
  }
  if (!fd.valid()) return ErrnoError(err, "socket() in the sandbox's network namespace");
  return fd;
}

}  // namespace cloudcoop::sandbox

namespace cloudcoop::sandbox::nl {
namespace {

constexpr size_t kReceiveBuffer = 64 * 1024;

size_t Align(size_t n) { return (n + 3) & ~size_t{3}; }

template <typename T>
bool ReadStruct(std::string_view data, T* out) {
  if (data.size() < sizeof(T)) return false;
  std::memcpy(out, data.data(), sizeof(T));
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Message

Message::Message(uint16_t type, uint16_t flags, std::string what) : what_(std::move(what)) {
  nlmsghdr h{};
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  buf_.assign(reinterpret_cast<const char*>(&h), sizeof(h));
}

void Message::Append(const void* data, size_t len) {
  buf_.append(static_cast<const char*>(data), len);
  buf_.resize(Align(buf_.size()), '\0');
}

void Message::Attr(uint16_t type, const void* data, size_t len) {
  nlattr a{};
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  a.nla_type = type;
  buf_.append(reinterpret_cast<const char*>(&a), sizeof(a));
  if (len > 0) buf_.append(static_cast<const char*>(data), len);
  buf_.resize(Align(buf_.size()), '\0');
}

void Message::AttrString(uint16_t type, std::string_view s) {
  std::string z(s);
  Attr(type, z.c_str(), z.size() + 1);
}

size_t Message::Nest(uint16_t type) {
  size_t start = buf_.size();
  Attr(type, nullptr, 0);
  return start;
}

void Message::EndNest(size_t start) {
  nlattr a{};
  std::memcpy(&a, buf_.data() + start, sizeof(a));
  a.nla_len = static_cast<uint16_t>(buf_.size() - start);
  std::memcpy(buf_.data() + start, &a, sizeof(a));
}

uint16_t Message::type() const {
  nlmsghdr h{};
  std::memcpy(&h, buf_.data(), sizeof(h));
  return h.nlmsg_type;
}

uint16_t Message::flags() const {
  nlmsghdr h{};
  std::memcpy(&h, buf_.data(), sizeof(h));
  return h.nlmsg_flags;
}

std::string_view Message::Finish(uint32_t seq) {
  nlmsghdr h{};
  std::memcpy(&h, buf_.data(), sizeof(h));
  h.nlmsg_len = static_cast<uint32_t>(buf_.size());
  h.nlmsg_seq = seq;
  std::memcpy(buf_.data(), &h, sizeof(h));
  return buf_;
}

// ---------------------------------------------------------------------------------------------
// Attrs

Attrs::Attrs(std::string_view payload, uint16_t max_type) : slots_(size_t{max_type} + 1) {
  while (payload.size() >= sizeof(nlattr)) {
    nlattr a{};
    std::memcpy(&a, payload.data(), sizeof(a));
    if (a.nla_len < sizeof(nlattr) || a.nla_len > payload.size()) break;
    uint16_t type = a.nla_type & NLA_TYPE_MASK;
    if (type <= max_type) slots_[type] = payload.substr(NLA_HDRLEN, a.nla_len - NLA_HDRLEN);
    size_t step = Align(a.nla_len);
    if (step >= payload.size()) break;
    payload.remove_prefix(step);
  }
}

std::optional<uint32_t> Attrs::U32(uint16_t type) const {
  std::string_view v = Get(type);
  if (v.size() < 4) return std::nullopt;
  uint32_t out;
  std::memcpy(&out, v.data(), 4);
  return out;
}

std::optional<uint8_t> Attrs::U8(uint16_t type) const {
  std::string_view v = Get(type);
  if (v.empty()) return std::nullopt;
  return static_cast<uint8_t>(v[0]);
}

std::string Attrs::String(uint16_t type) const {
  std::string_view v = Get(type);
  size_t nul = v.find('\0');
  return std::string(nul == std::string_view::npos ? v : v.substr(0, nul));
}

// ---------------------------------------------------------------------------------------------
// Socket

StatusOr<Socket> Socket::Open(int protocol) {
  UniqueFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol));
  if (!fd.valid()) {
    return ErrnoError(errno, "netlink: socket(AF_NETLINK, protocol " + std::to_string(protocol) + ")")
        .WithFix("the kernel must support netlink (CONFIG_NETFILTER_NETLINK for nftables)");
  }
  return Configure(std::move(fd), protocol);
}

StatusOr<Socket> Socket::Configure(UniqueFd fd, int protocol) {
  int one = 1;
  // Extended acks give the kernel's reason ("Nexthop has invalid gateway"); capped acks keep
  // error replies small. Both are optional: older kernels simply ignore them.
  (void)setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  (void)setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  timeval tv{5, 0};  // the kernel answers at once; a silent socket is a bug, not a wait
  (void)setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    return ErrnoError(errno, "netlink: bind of a protocol " + std::to_string(protocol) + " socket");
  }
  return Socket(std::move(fd));
}

StatusOr<Socket> Socket::OpenInNetns(int protocol, int netns_fd) {
  CC_ASSIGN_OR_RETURN(UniqueFd fd, SocketInNetns(netns_fd, AF_NETLINK, SOCK_RAW, protocol));
  return Configure(std::move(fd), protocol);
}

Status Socket::Send(std::vector<Message*>& msgs, uint32_t first_seq) {
  std::string out;
  for (size_t i = 0; i < msgs.size(); ++i) out.append(msgs[i]->Finish(first_seq + static_cast<uint32_t>(i)));
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = sendto(fd_.get(), out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError(errno, "netlink: send \"" + msgs.front()->what() + "\"");
  if (static_cast<size_t>(n) != out.size()) {
    return InternalError("netlink: short send of \"" + msgs.front()->what() + "\" (" + std::to_string(n) +
                         " of " + std::to_string(out.size()) + " bytes)");
  }
  return OkStatus();
}

StatusOr<std::vector<Reply>> Socket::Receive(const std::vector<Message*>& msgs, uint32_t first_seq, bool dump,
                                             bool* interrupted) {
  std::vector<Reply> replies;
  last_errno_ = 0;
  std::vector<char> buf(kReceiveBuffer);
  size_t acks = 0;
  Status first_error;
  const uint32_t end_seq = first_seq + static_cast<uint32_t>(msgs.size());
  for (;;) {
    ssize_t n = recv(fd_.get(), buf.data(), buf.size(), MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return DeadlineExceededError("netlink: no answer from the kernel within 5 s to \"" +
                                     msgs.front()->what() + "\"");
      }
      return ErrnoError(errno, "netlink: receive the answer to \"" + msgs.front()->what() + "\"");
    }
    if (static_cast<size_t>(n) > buf.size()) {
      return InternalError("netlink: an answer to \"" + msgs.front()->what() + "\" was larger than " +
                           std::to_string(buf.size()) + " bytes");
    }
    std::string_view data(buf.data(), static_cast<size_t>(n));
    while (data.size() >= sizeof(nlmsghdr)) {
      nlmsghdr h{};
      std::memcpy(&h, data.data(), sizeof(h));
      if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > data.size()) {
        return InternalError("netlink: malformed answer to \"" + msgs.front()->what() + "\"");
      }
      std::string_view payload = data.substr(sizeof(nlmsghdr), h.nlmsg_len - sizeof(nlmsghdr));
      size_t step = std::min(data.size(), Align(h.nlmsg_len));
      data.remove_prefix(step);
      if (h.nlmsg_seq < first_seq || h.nlmsg_seq >= end_seq) continue;  // stale, not ours
      const Message& m = *msgs[h.nlmsg_seq - first_seq];
      if (h.nlmsg_type == NLMSG_ERROR) {
        nlmsgerr e{};
        if (!ReadStruct(payload, &e))
          return InternalError("netlink: truncated error answer to \"" + m.what() + "\"");
        if (e.error == 0) {
          ++acks;
        } else {
          ++acks;
          if (first_error.ok()) {
            std::string ext;
            if (h.nlmsg_flags & NLM_F_ACK_TLVS) {
              size_t off = sizeof(nlmsgerr);
              if (!(h.nlmsg_flags & NLM_F_CAPPED)) off += Align(e.msg.nlmsg_len) - sizeof(nlmsghdr);
              if (off < payload.size()) {
                Attrs tlv(payload.substr(off), NLMSGERR_ATTR_MAX);
                std::string text = tlv.String(NLMSGERR_ATTR_MSG);
                if (!text.empty()) ext = " [kernel: " + text + "]";
              }
            }
            last_errno_ = -e.error;
            first_error = ErrnoError(-e.error, "netlink: " + m.what() + ext);
          }
        }
        if (dump) return first_error.ok() ? StatusOr<std::vector<Reply>>(std::move(replies)) : first_error;
        if (acks == msgs.size()) {
          if (!first_error.ok()) return first_error;
          return replies;
        }
        continue;
      }
      if (h.nlmsg_type == NLMSG_DONE) {
        if (h.nlmsg_flags & NLM_F_DUMP_INTR) *interrupted = true;
        int err = 0;
        if (payload.size() >= sizeof(int)) std::memcpy(&err, payload.data(), sizeof(int));
        if (err < 0) {
          last_errno_ = -err;
          return ErrnoError(-err, "netlink: " + m.what());
        }
        if (dump) return replies;
        continue;
      }
      if (h.nlmsg_flags & NLM_F_DUMP_INTR) *interrupted = true;
      replies.push_back(Reply{h.nlmsg_type, h.nlmsg_flags, std::string(payload)});
    }
  }
}

Status Socket::Transact(std::vector<Message>& batch) {
  if (batch.empty()) return OkStatus();
  std::vector<Message*> ptrs;
  for (auto& m : batch) ptrs.push_back(&m);
  uint32_t first = seq_;
  seq_ += static_cast<uint32_t>(batch.size());
  CC_RETURN_IF_ERROR(Send(ptrs, first));
  bool interrupted = false;
  auto r = Receive(ptrs, first, false, &interrupted);
  return r.status();
}

Status Socket::Transact(Message msg) {
  std::vector<Message> one;
  one.push_back(std::move(msg));
  return Transact(one);
}

StatusOr<std::vector<Reply>> Socket::Get(Message& request) {
  std::vector<Message*> ptrs{&request};
  uint32_t first = seq_++;
  CC_RETURN_IF_ERROR(Send(ptrs, first));
  bool interrupted = false;
  return Receive(ptrs, first, false, &interrupted);
}

StatusOr<std::vector<Reply>> Socket::Dump(Message& request) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<Message*> ptrs{&request};
    uint32_t first = seq_++;
    CC_RETURN_IF_ERROR(Send(ptrs, first));
    bool interrupted = false;
    auto r = Receive(ptrs, first, true, &interrupted);
    if (!r.ok() || !interrupted) return r;
  }
  return UnavailableError("netlink: \"" + request.what() + "\" was interrupted twice by concurrent changes")
      .WithFix("retry");
}

// ---------------------------------------------------------------------------------------------
// rtnetlink requests

namespace {
constexpr uint16_t kCreate = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
constexpr uint16_t kChange = NLM_F_REQUEST | NLM_F_ACK;

Message LinkMessage(uint16_t type, uint16_t flags, int ifindex, std::string what) {
  Message m(type, flags, std::move(what));
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  m.Header(ifi);
  return m;
}
}  // namespace

Message NewVeth(const std::string& host_name, const std::string& peer_name, int peer_netns_fd, uint32_t mtu) {
  Message m =
      LinkMessage(RTM_NEWLINK, kCreate, 0,
                  "create veth pair " + host_name + " <-> " + peer_name + " (in the sandbox's namespace)");
  m.AttrString(IFLA_IFNAME, host_name);
  if (mtu != 0) m.AttrU32(IFLA_MTU, mtu);
  size_t linkinfo = m.Nest(IFLA_LINKINFO);
  m.AttrString(IFLA_INFO_KIND, "veth");
  size_t data = m.Nest(IFLA_INFO_DATA);
  size_t peer = m.Nest(VETH_INFO_PEER);
  ifinfomsg peer_ifi{};
  peer_ifi.ifi_family = AF_UNSPEC;
  m.Header(peer_ifi);
  m.AttrString(IFLA_IFNAME, peer_name);
  m.AttrU32(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  if (mtu != 0) m.AttrU32(IFLA_MTU, mtu);
  m.EndNest(peer);
  m.EndNest(data);
  m.EndNest(linkinfo);
  return m;
}

Message DeleteLink(const std::string& name) {
  Message m = LinkMessage(RTM_DELLINK, kChange, 0, "delete link " + name);
  m.AttrString(IFLA_IFNAME, name);
  return m;
}

Message SetLinkUp(int ifindex, const std::string& name) {
  Message m(RTM_NEWLINK, kChange, "set link " + name + " up");
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  m.Header(ifi);
  return m;
}

Message SetAddrGenModeNone(int ifindex, const std::string& name) {
  Message m = LinkMessage(RTM_NEWLINK, kChange, ifindex, "turn off IPv6 address generation on " + name);
  size_t af = m.Nest(IFLA_AF_SPEC);
  size_t inet6 = m.Nest(AF_INET6);
  m.AttrU8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
  m.EndNest(inet6);
  m.EndNest(af);
  return m;
}

Message SetIpv4Forwarding(int ifindex, const std::string& name, bool on) {
  Message m = LinkMessage(RTM_NEWLINK, kChange, ifindex,
                          std::string(on ? "enable" : "disable") + " IPv4 forwarding on " + name);
  size_t af = m.Nest(IFLA_AF_SPEC);
  size_t inet = m.Nest(AF_INET);
  size_t conf = m.Nest(IFLA_INET_CONF);
  m.AttrU32(IPV4_DEVCONF_FORWARDING, on ? 1 : 0);
  m.EndNest(conf);
  m.EndNest(inet);
  m.EndNest(af);
  return m;
}

Message AddAddress(int ifindex, const std::string& name, const IpAddr& local, int prefix_len) {
  Message m(RTM_NEWADDR, kCreate,
            "add address " + local.ToString() + "/" + std::to_string(prefix_len) + " to " + name);
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(local.family());
  ifa.ifa_prefixlen = static_cast<uint8_t>(prefix_len);
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<uint32_t>(ifindex);
  m.Header(ifa);
  m.AttrAddr(IFA_LOCAL, local);
  m.AttrAddr(IFA_ADDRESS, local);
  return m;
}

namespace {
const char* RouteTypeName(RouteType t) {
  switch (t) {
    case RouteType::kUnicast: return "route";
    case RouteType::kProhibit: return "prohibit route";
    case RouteType::kUnreachable: return "unreachable route";
    case RouteType::kBlackhole: return "blackhole route";
  }
  return "route";
}
}  // namespace

Message AddRoute(const RouteSpec& route) {
  std::string what = std::string("add ") + RouteTypeName(route.type) + " " + route.dst.ToString();
  if (route.gateway) what += " via " + route.gateway->ToString();
  Message m(RTM_NEWROUTE, kCreate, what);
  rtmsg rt{};
  rt.rtm_family = static_cast<uint8_t>(route.dst.family());
  rt.rtm_dst_len = static_cast<uint8_t>(route.dst.len());
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_STATIC;
  switch (route.type) {
    case RouteType::kUnicast:
      rt.rtm_type = RTN_UNICAST;
      rt.rtm_scope = route.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
      break;
    case RouteType::kProhibit:
      rt.rtm_type = RTN_PROHIBIT;
      rt.rtm_scope = RT_SCOPE_UNIVERSE;
      break;
    case RouteType::kUnreachable:
      rt.rtm_type = RTN_UNREACHABLE;
      rt.rtm_scope = RT_SCOPE_UNIVERSE;
      break;
    case RouteType::kBlackhole:
      rt.rtm_type = RTN_BLACKHOLE;
      rt.rtm_scope = RT_SCOPE_UNIVERSE;
      break;
  }
  m.Header(rt);
  if (route.dst.len() > 0) m.AttrAddr(RTA_DST, route.dst.addr());
  if (route.gateway) m.AttrAddr(RTA_GATEWAY, *route.gateway);
  if (route.oif != 0) m.AttrU32(RTA_OIF, static_cast<uint32_t>(route.oif));
  return m;
}

Message GetLinkByName(const std::string& name) {
  Message m = LinkMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 0, "look up link " + name);
  m.AttrString(IFLA_IFNAME, name);
  return m;
}

Message DumpLinks() { return LinkMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 0, "list links"); }

Message DumpAddresses(int family) {
  Message m(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, "list addresses");
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(family);
  m.Header(ifa);
  return m;
}

Message DumpRoutes(int family) {
  Message m(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, "list routes");
  rtmsg rt{};
  rt.rtm_family = static_cast<uint8_t>(family);
  m.Header(rt);
  return m;
}

StatusOr<LinkInfo> ParseLink(const Reply& r) {
  ifinfomsg ifi{};
  if (r.type != RTM_NEWLINK || !ReadStruct(r.payload, &ifi))
    return InternalError("netlink: malformed link message");
  Attrs a(std::string_view(r.payload).substr(Align(sizeof(ifi))), IFLA_MAX);
  LinkInfo info;
  info.index = ifi.ifi_index;
  info.flags = ifi.ifi_flags;
  info.name = a.String(IFLA_IFNAME);
  info.mtu = a.U32(IFLA_MTU).value_or(0);
  if (a.Has(IFLA_LINKINFO)) {
    Attrs li(a.Get(IFLA_LINKINFO), IFLA_INFO_MAX);
    info.kind = li.String(IFLA_INFO_KIND);
  }
  return info;
}

StatusOr<AddrInfo> ParseAddress(const Reply& r) {
  ifaddrmsg ifa{};
  if (r.type != RTM_NEWADDR || !ReadStruct(r.payload, &ifa))
    return InternalError("netlink: malformed address message");
  Attrs a(std::string_view(r.payload).substr(Align(sizeof(ifa))), IFA_MAX);
  AddrInfo info;
  info.index = static_cast<int>(ifa.ifa_index);
  info.family = ifa.ifa_family;
  info.prefix_len = ifa.ifa_prefixlen;
  std::string_view v = a.Has(IFA_LOCAL) ? a.Get(IFA_LOCAL) : a.Get(IFA_ADDRESS);
  if (ifa.ifa_family == AF_INET && v.size() == 4) {
    info.local = IpAddr::V4Bytes(reinterpret_cast<const uint8_t*>(v.data()));
  } else if (ifa.ifa_family == AF_INET6 && v.size() == 16) {
    info.local = IpAddr::V6Bytes(reinterpret_cast<const uint8_t*>(v.data()));
  } else {
    return InternalError("netlink: address message without an address");
  }
  return info;
}

StatusOr<RouteInfo> ParseRoute(const Reply& r) {
  rtmsg rt{};
  if (r.type != RTM_NEWROUTE || !ReadStruct(r.payload, &rt))
    return InternalError("netlink: malformed route message");
  Attrs a(std::string_view(r.payload).substr(Align(sizeof(rt))), RTA_MAX);
  RouteInfo info;
  info.rtm_type = rt.rtm_type;
  info.table = a.U32(RTA_TABLE).value_or(rt.rtm_table);
  info.oif = static_cast<int>(a.U32(RTA_OIF).value_or(0));
  switch (rt.rtm_type) {
    case RTN_PROHIBIT: info.type = RouteType::kProhibit; break;
    case RTN_UNREACHABLE: info.type = RouteType::kUnreachable; break;
    case RTN_BLACKHOLE: info.type = RouteType::kBlackhole; break;
    default: info.type = RouteType::kUnicast; break;
  }
  auto addr_of = [&](std::string_view v) -> std::optional<IpAddr> {
    if (rt.rtm_family == AF_INET && v.size() == 4)
      return IpAddr::V4Bytes(reinterpret_cast<const uint8_t*>(v.data()));
    if (rt.rtm_family == AF_INET6 && v.size() == 16)
      return IpAddr::V6Bytes(reinterpret_cast<const uint8_t*>(v.data()));
    return std::nullopt;
  };
  std::optional<IpAddr> dst = addr_of(a.Get(RTA_DST));
  if (!dst) {
    uint8_t zero[16] = {};
    dst = rt.rtm_family == AF_INET ? IpAddr::V4Bytes(zero) : IpAddr::V6Bytes(zero);
  }
  info.dst = IpPrefix(*dst, rt.rtm_dst_len);
  info.gateway = addr_of(a.Get(RTA_GATEWAY));
  return info;
}

StatusOr<std::vector<LinkInfo>> ListLinks(Socket& s) {
  Message req = DumpLinks();
  CC_ASSIGN_OR_RETURN(auto replies, s.Dump(req));
  std::vector<LinkInfo> out;
  for (const auto& r : replies) {
    if (r.type != RTM_NEWLINK) continue;
    CC_ASSIGN_OR_RETURN(auto info, ParseLink(r));
    out.push_back(std::move(info));
  }
  return out;
}

StatusOr<std::optional<LinkInfo>> FindLink(Socket& s, const std::string& name) {
  Message req = GetLinkByName(name);
  auto replies = s.Get(req);
  if (!replies.ok()) {
    if (s.last_errno() == ENODEV || s.last_errno() == ENOENT) {
      return std::optional<LinkInfo>();
    }
    return replies.status();
  }
  for (const auto& r : *replies) {
    if (r.type == RTM_NEWLINK) {
      CC_ASSIGN_OR_RETURN(auto info, ParseLink(r));
      return std::optional<LinkInfo>(std::move(info));
    }
  }
  return std::optional<LinkInfo>();
}

StatusOr<std::vector<AddrInfo>> ListAddresses(Socket& s, int family) {
  Message req = DumpAddresses(family);
  CC_ASSIGN_OR_RETURN(auto replies, s.Dump(req));
  std::vector<AddrInfo> out;
  for (const auto& r : replies) {
    if (r.type != RTM_NEWADDR) continue;
    CC_ASSIGN_OR_RETURN(auto info, ParseAddress(r));
    out.push_back(info);
  }
  return out;
}

StatusOr<std::vector<RouteInfo>> ListRoutes(Socket& s, int family) {
  Message req = DumpRoutes(family);
  CC_ASSIGN_OR_RETURN(auto replies, s.Dump(req));
  std::vector<RouteInfo> out;
  for (const auto& r : replies) {
    if (r.type != RTM_NEWROUTE) continue;
    CC_ASSIGN_OR_RETURN(auto info, ParseRoute(r));
    if (info.table != RT_TABLE_MAIN) continue;
    out.push_back(info);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// nftables

StatusOr<std::optional<std::string>> NftTableComment(Socket& s, uint8_t family, const std::string& name) {
  Message req((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE, NLM_F_REQUEST | NLM_F_ACK,
              "read nftables table " + name);
  nfgenmsg g{};
  g.nfgen_family = family;
  g.version = NFNETLINK_V0;
  g.res_id = htons(0);
  req.Header(g);
  req.AttrString(NFTA_TABLE_NAME, name);
  auto replies = s.Get(req);
  if (!replies.ok()) {
    if (s.last_errno() == ENOENT) return std::optional<std::string>();
    return replies.status();
  }
  for (const auto& r : *replies) {
    if ((r.type & 0xff) != NFT_MSG_NEWTABLE || r.payload.size() < sizeof(nfgenmsg)) continue;
    Attrs a(std::string_view(r.payload).substr(Align(sizeof(nfgenmsg))), NFTA_TABLE_MAX);
    // libnftnl's user data: a list of (type u8, length u8, value); type 0 is the table comment.
    std::string_view udata = a.Get(NFTA_TABLE_USERDATA);
    while (udata.size() >= 2) {
      uint8_t type = static_cast<uint8_t>(udata[0]);
      uint8_t len = static_cast<uint8_t>(udata[1]);
      if (size_t{len} + 2 > udata.size()) break;
      std::string_view value = udata.substr(2, len);
      if (type == 0) {
        size_t nul = value.find('\0');
        return std::optional<std::string>(
            std::string(nul == std::string_view::npos ? value : value.substr(0, nul)));
      }
      udata.remove_prefix(size_t{len} + 2);
    }
    return std::optional<std::string>(std::string());
  }
  return std::optional<std::string>();
}

}  // namespace cloudcoop::sandbox::nl
