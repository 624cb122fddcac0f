#include "sandbox/net_egress.h"

#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "core/files.h"
#include "core/logging.h"
#include "core/strings.h"
#include "sandbox/netlink.h"

namespace cloudcoop::sandbox {
namespace {

constexpr int kSlotPrefixLen = 30;

Status ValidSandboxName(const std::string& name) {
  auto ok_char = [](char ch, bool first) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (!first && (ch == '.' || ch == '_' || ch == '-'));
  };
  bool ok = !name.empty() && name.size() <= 64;
  for (size_t i = 0; ok && i < name.size(); ++i) ok = ok_char(name[i], i == 0);
  if (!ok) {
    return InvalidArgumentError("egress network: sandbox name \"" + name + "\" is not allowed")
        .WithFix("use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit");
  }
  return OkStatus();
}

// The start time of a process (field 22 of /proc/PID/stat), 0 when it does not exist.
uint64_t ProcessStartTime(pid_t pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return 0;
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  auto fields = Split(std::string_view(*stat).substr(close + 1), ' ', true);
  // fields[0] is field 3 (state); starttime is field 22.
  if (fields.size() < 20) return 0;
  auto v = ParseInt64(fields[19]);
  return v ? static_cast<uint64_t>(*v) : 0;
}

bool OwnerAlive(const EgressSlotRecord& r) {
  if (r.owner_pid <= 0) return false;
  uint64_t start = ProcessStartTime(r.owner_pid);
  return start != 0 && start == r.owner_start;
}

std::string SlotPath(const EgressConfig& c, int slot) {
  return JoinPath(c.alloc_dir, "slot-" + std::to_string(slot));
}
std::string ResolvPath(const EgressConfig& c, int slot) {
  return JoinPath(c.alloc_dir, "slot-" + std::to_string(slot) + ".resolv.conf");
}

std::optional<EgressSlotRecord> ParseRecord(int slot, std::string_view text) {
  EgressSlotRecord r;
  r.slot = slot;
  for (const auto& line : Split(text, '\n', true)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "sandbox") r.sandbox = value;
    if (key == "owner_pid") r.owner_pid = static_cast<pid_t>(ParseInt64(value).value_or(0));
    if (key == "owner_start") r.owner_start = static_cast<uint64_t>(ParseInt64(value).value_or(0));
  }
  return r;
}

// Records are runtime state (they mean nothing after a reboot) written under the allocation lock,
// so a plain exclusive create is enough: no reader sees a partial file, and the fsync of
// WriteFileAtomic would cost milliseconds on every sandbox start for nothing.
Status WriteRecordFile(const std::string& path, std::string_view data, mode_t mode) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return ErrnoError(errno, "egress network: create " + path);
  Status s = fchmod(fd.get(), mode) == 0 ? WriteAll(fd.get(), data, path)
                                         : ErrnoError(errno, "egress network: chmod " + path);
  if (!s.ok()) (void)unlink(path.c_str());  // never leave a half-written claim behind
  return s;
}

StatusOr<std::map<int, EgressSlotRecord>> ReadRecords(const EgressConfig& c) {
  std::map<int, EgressSlotRecord> out;
  CC_ASSIGN_OR_RETURN(auto entries, ListDir(c.alloc_dir));
  for (const auto& e : entries) {
    if (!StartsWith(e, "slot-") || EndsWith(e, ".resolv.conf")) continue;
    auto n = ParseInt64(std::string_view(e).substr(5));
    if (!n || *n < 0 || *n >= EgressSlotCount(c.pool)) continue;
    auto text = ReadFile(JoinPath(c.alloc_dir, e));
    if (!text.ok()) continue;
    if (auto r = ParseRecord(static_cast<int>(*n), *text)) out[r->slot] = *r;
  }
  return out;
}

StatusOr<std::string> ReadSysctl(const std::string& path) {
  auto v = ReadFile(path);
  if (!v.ok()) return v.status();
  return std::string(Trim(*v));
}

Status WriteSysctl(const std::string& path, std::string_view value) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "egress network: open " + path);
  return WriteAll(fd.get(), value, path);
}

// FNV-1a, 64 bits: a fingerprint of the ruleset to notice a stale table, not a security measure.
std::string Fingerprint(std::string_view text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  (void)std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string RulesetBody(const EgressConfig& config) {
  std::vector<std::string> v4, v6;
  for (const auto& p : EgressDeniedPrefixes(config)) (p.addr().is_v4() ? v4 : v6).push_back(p.ToString());
  // fd00:ec2::254 (AWS) lies inside fc00::/7; listed for whoever reads the live ruleset.
  v6.push_back("fd00:ec2::254");
  std::string ifs = std::string(kEgressIfPrefix) + "*";
  std::string reject = "counter reject with icmpx admin-prohibited";
  std::string out;
  out += "\tset denied_v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\tauto-merge\n\t\telements = { " +
         Join(v4, ", ") + " }\n\t}\n";
  out += "\tset denied_v6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t\tauto-merge\n\t\telements = { " +
         Join(v6, ", ") + " }\n\t}\n";
  // Sandbox -> the host itself: nothing. Its resolver lives on its own loopback (see dns_relay.h),
  // so no port of the host (its VPC address, the gateway, another sandbox's gateway) is open to it.
  out += "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n";
  out += "\t\tiifname \"" + ifs + "\" " + reject + "\n\t}\n";
  // Sandbox -> elsewhere: no denied range, no other sandbox, no IPv6, no DNS or DNS-over-TLS to
  // any resolver but the relay. Nothing may open a connection to a sandbox.
  out += "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n";
  out += "\t\tiifname \"" + ifs + "\" jump sandbox_out\n";
  out += "\t\toifname \"" + ifs + "\" ct state established,related accept\n";
  out += "\t\toifname \"" + ifs + "\" counter drop\n\t}\n";
  out += "\tchain sandbox_out {\n";
  out += "\t\tct state invalid counter drop\n";
  out += "\t\toifname \"" + ifs + "\" " + reject + "\n";
  out += "\t\tip daddr @denied_v4 " + reject + "\n";
  out += "\t\tip6 daddr @denied_v6 " + reject + "\n";
  out += "\t\tmeta nfproto ipv6 " + reject + "\n";
  out += "\t\tmeta l4proto { tcp, udp } th dport { 53, 853 } " + reject + "\n\t}\n";
  out += "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n";
  out += "\t\tiifname \"" + ifs + "\" oifname != \"" + ifs + "\" masquerade\n\t}\n";
  return out;
}

Status Step(const EgressConfig& c, std::string_view step) {
  if (c.fault_injection) return c.fault_injection(step);
  return OkStatus();
}

std::vector<IpPrefix> SandboxRoutes(const std::vector<IpPrefix>& denied, bool v6) {
  std::vector<IpPrefix> out;
  for (const auto& p : denied) {
    if (p.addr().is_v6() == v6) out.push_back(p);
  }
  if (v6) out.push_back(*IpPrefix::Parse("::/0"));
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Config

Status ValidateEgressConfig(const EgressConfig& config) {
  if (!config.pool.addr().is_v4() || config.pool.len() < 16 || config.pool.len() > 28) {
    return InvalidArgumentError("egress network: address pool " + config.pool.ToString() +
                                " must be an IPv4 prefix between /16 and /28")
        .WithFix("use the default " + std::string(kDefaultEgressPool) + " or another unused IPv4 range");
  }
  if (config.alloc_dir.empty() || config.alloc_dir[0] != '/') {
    return InvalidArgumentError("egress network: the allocation directory \"" + config.alloc_dir +
                                "\" is not an absolute path")
        .WithFix("pass a runtime directory such as /run/cloudcoop/net");
  }
  return OkStatus();
}

std::vector<IpPrefix> EgressDeniedPrefixes(const EgressConfig& config) {
  std::vector<IpPrefix> out = BuiltinDeniedPrefixes();
  out.push_back(config.pool);
  for (const auto& p : config.extra_denied) out.push_back(p);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Addresses and allocation

int EgressSlotCount(const IpPrefix& pool) { return 1 << (kSlotPrefixLen - pool.len()); }

EgressLease EgressLeaseForSlot(const IpPrefix& pool, int slot) {
  EgressLease l;
  l.slot = slot;
  l.host_ifname = std::string(kEgressIfPrefix) + std::to_string(slot);
  uint32_t base = pool.addr().v4() + static_cast<uint32_t>(slot) * 4;
  l.gateway = IpAddr::V4(base + 1);
  l.address = IpAddr::V4(base + 2);
  l.prefix_len = kSlotPrefixLen;
  return l;
}

namespace {
// A slot whose owner died without cleaning up (caller holds the lock). The veth normally died with
// the sandbox's namespace; if the namespace outlived its supervisor, cut it off before the
// addresses are reused.
Status ReclaimSlot(const EgressConfig& config, const EgressSlotRecord& held, std::optional<nl::Socket>* rt) {
  if (!*rt) {
    CC_ASSIGN_OR_RETURN(auto s, nl::Socket::Open(NETLINK_ROUTE));
    rt->emplace(std::move(s));
  }
  std::string ifname = EgressLeaseForSlot(config.pool, held.slot).host_ifname;
  Status del = (*rt)->Transact(nl::DeleteLink(ifname));
  if (!del.ok() && (*rt)->last_errno() != ENODEV) return del;
  CC_LOG_INFO("egress network: reclaimed slot %d of sandbox %s (owner %d is gone)", held.slot,
              held.sandbox.c_str(), held.owner_pid);
  (void)unlink(ResolvPath(config, held.slot).c_str());
  std::string path = SlotPath(config, held.slot);
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    return ErrnoError(errno, "egress network: remove stale record " + path);
  return OkStatus();
}
}  // namespace

StatusOr<EgressLease> AllocateEgressSlot(const EgressConfig& config, const std::string& sandbox) {
  CC_RETURN_IF_ERROR(ValidateEgressConfig(config));
  CC_RETURN_IF_ERROR(ValidSandboxName(sandbox));
  CC_RETURN_IF_ERROR(MakeDirs(config.alloc_dir, 0700));
  CC_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(JoinPath(config.alloc_dir, "lock")));
  const int count = EgressSlotCount(config.pool);
  const std::string next_path = JoinPath(config.alloc_dir, "next");
  int cursor = 0;
  if (auto text = ReadFile(next_path); text.ok()) {
    cursor = static_cast<int>(std::clamp<int64_t>(ParseInt64(Trim(*text)).value_or(0), 0, count - 1));
  }
  const std::string record = "sandbox=" + sandbox + "\nowner_pid=" + std::to_string(getpid()) +
                             "\nowner_start=" + std::to_string(ProcessStartTime(getpid())) + "\n";
  std::optional<nl::Socket> rt;
  // Next-fit from the cursor: an exclusive create claims a slot, so a typical allocation touches
  // one file whatever the number of sandboxes.
  for (int i = 0; i < count; ++i) {
    const int slot = (cursor + i) % count;
    const std::string path = SlotPath(config, slot);
    Status claimed = WriteRecordFile(path, record, 0600);
    if (!claimed.ok() && claimed.code() != StatusCode::kAlreadyExists) return claimed;
    if (!claimed.ok()) {
      auto text = ReadFile(path);
      auto held = ParseRecord(slot, text.ok() ? *text : "");
      if (OwnerAlive(*held)) continue;
      Status reclaimed = ReclaimSlot(config, *held, &rt);
      if (!reclaimed.ok()) {
        CC_LOG_WARN("egress network: cannot reclaim slot %d of dead owner %d: %s", slot, held->owner_pid,
                    reclaimed.ToString().c_str());
        continue;
      }
      CC_RETURN_IF_ERROR(WriteRecordFile(path, record, 0600));
    }
    // The cursor only spreads reuse; losing it is harmless.
    (void)unlink(next_path.c_str());
    (void)WriteRecordFile(next_path, std::to_string((slot + 1) % count) + "\n", 0600);
    return EgressLeaseForSlot(config.pool, slot);
  }
  return ResourceExhaustedError("egress network: all " + std::to_string(count) +
                                " sandbox address slots of pool " + config.pool.ToString() + " are in use")
      .WithFix("stop sandboxes that are no longer needed, or configure a larger pool");
}

Status ReleaseEgressSlot(const EgressConfig& config, int slot) {
  CC_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(JoinPath(config.alloc_dir, "lock")));
  if (unlink(SlotPath(config, slot).c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "egress network: release slot record " + SlotPath(config, slot));
  }
  return OkStatus();
}

StatusOr<int> CollectStaleEgressSlots(const EgressConfig& config) {
  if (!IsDirectory(config.alloc_dir)) return 0;
  CC_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(JoinPath(config.alloc_dir, "lock")));
  CC_ASSIGN_OR_RETURN(auto records, ReadRecords(config));
  std::optional<nl::Socket> rt;
  int n = 0;
  for (const auto& [slot, r] : records) {
    if (OwnerAlive(r)) continue;
    CC_RETURN_IF_ERROR(ReclaimSlot(config, r, &rt));
    ++n;
  }
  // Resolver files without a record (their record was reclaimed by an older version, or a crash
  // hit between the two unlinks).
  CC_ASSIGN_OR_RETURN(auto entries, ListDir(config.alloc_dir));
  for (const auto& e : entries) {
    if (!EndsWith(e, ".resolv.conf")) continue;
    auto slot =
        ParseInt64(std::string_view(e).substr(5, e.size() - 5 - std::string_view(".resolv.conf").size()));
    if (slot && !records.count(static_cast<int>(*slot))) (void)unlink(JoinPath(config.alloc_dir, e).c_str());
  }
  return n;
}

StatusOr<std::vector<EgressSlotRecord>> ListEgressSlots(const EgressConfig& config) {
  if (!IsDirectory(config.alloc_dir)) return std::vector<EgressSlotRecord>();
  CC_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(JoinPath(config.alloc_dir, "lock")));
  CC_ASSIGN_OR_RETURN(auto records, ReadRecords(config));
  std::vector<EgressSlotRecord> out;
  for (auto& [slot, r] : records) out.push_back(r);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The host

std::string EgressHostRulesetComment(const EgressConfig& config) {
  return "cloudcoop egress v1 " + Fingerprint(RulesetBody(config));
}

std::string EgressHostRuleset(const EgressConfig& config) {
  std::string t = std::string(kNftTable);
  std::string out =
      "# Generated by cloudcoop (src/sandbox/net_egress.cc); replaced as a whole, do not edit.\n";
  out += "table inet " + t + " {}\ndelete table inet " + t + "\n";
  out += "table inet " + t + " {\n\tcomment \"" + EgressHostRulesetComment(config) + "\"\n";
  out += RulesetBody(config);
  out += "}\n";
  return out;
}

std::string EgressHostState::Describe() const {
  std::vector<std::string> missing;
  if (!table_comment)
    missing.push_back("the nftables table inet cloudcoop is missing");
  else if (!table_current)
    missing.push_back("the nftables table inet cloudcoop is stale (\"" + *table_comment + "\")");
  if (uplinks.empty()) missing.push_back("the host has no IPv4 default route (no uplink)");
  for (const auto& u : uplinks_not_forwarding) missing.push_back("IPv4 forwarding is off on uplink " + u);
  for (const auto& c : pool_conflicts)
    missing.push_back("the sandbox address pool overlaps the host's route " + c);
  return missing.empty() ? "ready" : Join(missing, "; ");
}

StatusOr<EgressHostState> InspectEgressHost(const EgressConfig& config) {
  EgressHostState st;
  {
    auto nf = nl::Socket::Open(NETLINK_NETFILTER);
    if (!nf.ok()) return nf.status();
    CC_ASSIGN_OR_RETURN(st.table_comment, nl::NftTableComment(*nf, NFPROTO_INET, std::string(kNftTable)));
    st.table_current = st.table_comment && *st.table_comment == EgressHostRulesetComment(config);
  }
  CC_ASSIGN_OR_RETURN(auto rt, nl::Socket::Open(NETLINK_ROUTE));
  CC_ASSIGN_OR_RETURN(auto routes, nl::ListRoutes(rt, AF_INET));
  CC_ASSIGN_OR_RETURN(auto links, nl::ListLinks(rt));
  std::map<int, nl::LinkInfo> by_index;
  for (const auto& l : links) by_index[l.index] = l;
  for (const auto& r : routes) {
    if (r.dst.len() == 0 || !r.dst.Overlaps(config.pool)) continue;
    auto it = by_index.find(r.oif);
    std::string dev = it == by_index.end() ? "" : it->second.name;
    if (StartsWith(dev, kEgressIfPrefix) && config.pool.len() <= r.dst.len())
      continue;  // a sandbox's own /30
    st.pool_conflicts.push_back(r.dst.ToString() + (dev.empty() ? "" : " dev " + dev));
  }
  for (const auto& r : routes) {
    if (r.dst.len() != 0 || r.rtm_type != RTN_UNICAST || r.oif == 0) continue;
    auto it = by_index.find(r.oif);
    if (it == by_index.end()) continue;
    const auto& link = it->second;
    if (std::find(st.uplinks.begin(), st.uplinks.end(), link.name) != st.uplinks.end()) continue;
    st.uplinks.push_back(link.name);
    if (link.mtu != 0) st.uplink_mtu = st.uplink_mtu == 0 ? link.mtu : std::min(st.uplink_mtu, link.mtu);
    auto fwd = ReadSysctl("/proc/sys/net/ipv4/conf/" + link.name + "/forwarding");
    if (!fwd.ok() || *fwd != "1") st.uplinks_not_forwarding.push_back(link.name);
  }
  CC_ASSIGN_OR_RETURN(auto addrs, nl::ListAddresses(rt, AF_INET));
  for (const auto& a : addrs) {
    if (config.pool.Contains(a.local)) continue;
    if (std::find(st.host_addresses.begin(), st.host_addresses.end(), a.local) == st.host_addresses.end()) {
      st.host_addresses.push_back(a.local);
    }
  }
  return st;
}

Status PrepareEgressHost(const EgressConfig& config, ProcessRunner& runner) {
  CC_RETURN_IF_ERROR(ValidateEgressConfig(config));
  CC_ASSIGN_OR_RETURN(auto before, InspectEgressHost(config));
  if (!before.table_current) {
    ProcessSpec spec;
    spec.argv = {config.nft_program, "-f", "-"};
    spec.stdin_data = EgressHostRuleset(config);
    spec.timeout = std::chrono::seconds(30);
    auto r = runner.Run(spec);
    if (!r.ok()) {
      return FailedPreconditionError("egress network: cannot run `" + config.nft_program +
                                     "` to install the host firewall: " + r.status().message())
          .WithFix("install nftables (apt-get install nftables); scripts/install-deps does it");
    }
    if (!r->success()) {
      return FailedPreconditionError(
                 "egress network: `nft -f -` refused the host firewall table inet cloudcoop (" +
                 r->Describe() + "): " + std::string(Trim(r->err)))
          .WithFix(
              "the kernel needs nf_tables with fib, reject, masquerade and conntrack support (Debian kernels "
              "have them)");
    }
  }
  if (!before.pool_conflicts.empty()) {
    return FailedPreconditionError("egress network: the sandbox address pool " + config.pool.ToString() +
                                   " overlaps the host's route " + before.pool_conflicts.front())
        .WithFix("configure another pool for sandboxes (an unused IPv4 /16 to /28)");
  }
  if (before.uplinks.empty()) {
    return FailedPreconditionError(
               "egress network: the host has no IPv4 default route, so sandboxes would have nowhere to go")
        .WithFix("give the host a default route, or run sandboxes with --net none");
  }
  for (const auto& u : before.uplinks_not_forwarding) {
    // Per device, not net.ipv4.ip_forward: the host forwards only between its uplinks and the
    // sandbox veths (which get forwarding at creation), not between every interface it has.
    CC_RETURN_IF_ERROR(WriteSysctl("/proc/sys/net/ipv4/conf/" + u + "/forwarding", "1"));
  }
  CC_ASSIGN_OR_RETURN(auto after, InspectEgressHost(config));
  if (!after.ready()) {
    return CheckFailedError("egress network: the host is still not ready after preparation: " +
                            after.Describe())
        .WithFix("check that nothing else rewrites nftables or sysctls at the same time");
  }
  CC_LOG_INFO("egress network: host prepared (uplinks %s)", Join(after.uplinks, ", ").c_str());
  return OkStatus();
}

Status RemoveEgressHostRules(const EgressConfig& config, ProcessRunner& runner) {
  ProcessSpec spec;
  spec.argv = {config.nft_program, "-f", "-"};
  spec.stdin_data =
      "table inet " + std::string(kNftTable) + " {}\ndelete table inet " + std::string(kNftTable) + "\n";
  spec.timeout = std::chrono::seconds(30);
  CC_ASSIGN_OR_RETURN(auto r, runner.Run(spec));
  if (!r.success()) {
    return InternalError("egress network: `nft -f -` could not delete table inet cloudcoop (" + r.Describe() +
                         "): " + std::string(Trim(r.err)));
  }
  return OkStatus();
}

// ---------------------------------------------------------------------------------------------
// One sandbox

StatusOr<std::unique_ptr<EgressSandbox>> EgressSandbox::Setup(const EgressConfig& config, int child_netns_fd,
                                                              const std::string& sandbox_name,
                                                              ProcessRunner& runner) {
  std::unique_ptr<EgressSandbox> sb(new EgressSandbox());
  sb->config_ = config;
  sb->name_ = sandbox_name;
  Status s = sb->SetupSteps(child_netns_fd, runner);
  if (!s.ok()) {
    Status c = sb->Cleanup();
    if (!c.ok())
      CC_LOG_ERROR("egress network: cleanup after a failed setup also failed: %s", c.ToString().c_str());
    return s;
  }
  return sb;
}

Status EgressSandbox::SetupSteps(int child_netns_fd, ProcessRunner& runner) {
  const EgressConfig& c = config_;
  CC_RETURN_IF_ERROR(Step(c, "validate"));
  CC_RETURN_IF_ERROR(ValidateEgressConfig(c));
  CC_RETURN_IF_ERROR(ValidSandboxName(name_));

  CC_RETURN_IF_ERROR(Step(c, "host"));
  CC_ASSIGN_OR_RETURN(auto host, InspectEgressHost(c));
  if (!host.ready()) {
    if (!c.auto_prepare_host) {
      return FailedPreconditionError("network mode egress: this host is not prepared for egress sandboxes (" +
                                     host.Describe() + ")")
          .WithFix(
              "run `cloudcoop sandbox prepare-host` once as root (it installs the nftables table inet "
              "cloudcoop "
              "and turns on IPv4 forwarding on the uplinks), or pass --net none");
    }
    std::string before = host.Describe();
    CC_RETURN_IF_ERROR(PrepareEgressHost(c, runner));
    CC_ASSIGN_OR_RETURN(host, InspectEgressHost(c));
    if (c.on_host_prepared) {
      c.on_host_prepared("prepared this host for egress sandboxes (was: " + before +
                         "): nftables table inet cloudcoop, IPv4 forwarding on " + Join(host.uplinks, ", "));
    }
  }

  std::vector<IpAddr> upstreams = c.dns_upstreams;
  if (upstreams.empty()) {
    auto text = ReadFile(c.resolv_conf_path);
    if (!text.ok()) {
      return text.status()
          .Annotate("egress network: reading the host's resolvers")
          .WithFix("make " + c.resolv_conf_path + " readable, or configure the resolvers explicitly");
    }
    CC_ASSIGN_OR_RETURN(upstreams, ParseResolvConfNameservers(*text, c.resolv_conf_path));
  }

  denied_ = EgressDeniedPrefixes(c);
  for (const auto& a : host.host_addresses) {
    if (!IsDenied(a, denied_)) denied_.emplace_back(a, 32);
  }

  CC_RETURN_IF_ERROR(Step(c, "allocate"));
  CC_ASSIGN_OR_RETURN(lease_, AllocateEgressSlot(c, name_));
  slot_held_ = true;
  // The gateway is only a next hop: the sandbox may not address it (its /30 is more specific than
  // the pool's prohibit route, so it gets one of its own; forwarding through it is unaffected).
  denied_.emplace_back(lease_.gateway, 32);

  child_netns_.Reset(fcntl(child_netns_fd, F_DUPFD_CLOEXEC, 3));
  if (!child_netns_.valid())
    return ErrnoError(errno, "egress network: duplicate the sandbox's network namespace descriptor");

  CC_RETURN_IF_ERROR(Step(c, "veth"));
  CC_ASSIGN_OR_RETURN(auto host_rt, nl::Socket::Open(NETLINK_ROUTE));
  const std::string& hif = lease_.host_ifname;
  const std::string sif(kSandboxIfName);
  Status created = host_rt.Transact(nl::NewVeth(hif, sif, child_netns_.get(), host.uplink_mtu));
  if (!created.ok() && host_rt.last_errno() == EEXIST) {
    // A link without an allocation record is an orphan (records outlive their links): remove it.
    auto existing = nl::FindLink(host_rt, hif);
    if (existing.ok() && existing->has_value()) {
      CC_LOG_WARN("egress network: removing orphaned link %s", hif.c_str());
      CC_RETURN_IF_ERROR(host_rt.Transact(nl::DeleteLink(hif)));
      created = host_rt.Transact(nl::NewVeth(hif, sif, child_netns_.get(), host.uplink_mtu));
    }
  }
  if (!created.ok()) {
    return created.WithFix(host_rt.last_errno() == EEXIST
                               ? "the sandbox's namespace already has an " + sif +
                                     " device; give it a fresh network namespace"
                               : "run as root with the veth driver available (CONFIG_VETH)");
  }
  link_created_ = true;

  CC_RETURN_IF_ERROR(Step(c, "host-side"));
  CC_ASSIGN_OR_RETURN(auto hlink, nl::FindLink(host_rt, hif));
  if (!hlink) return InternalError("egress network: link " + hif + " vanished right after it was created");
  {
    std::vector<nl::Message> batch;
    batch.push_back(nl::SetAddrGenModeNone(hlink->index, hif));
    batch.push_back(nl::SetIpv4Forwarding(hlink->index, hif, true));
    batch.push_back(nl::AddAddress(hlink->index, hif, lease_.gateway, lease_.prefix_len));
    batch.push_back(nl::SetLinkUp(hlink->index, hif));
    CC_RETURN_IF_ERROR(host_rt.Transact(batch));
  }

  CC_RETURN_IF_ERROR(Step(c, "sandbox-side"));
  CC_ASSIGN_OR_RETURN(auto child_rt, nl::Socket::OpenInNetns(NETLINK_ROUTE, child_netns_.get()));
  CC_ASSIGN_OR_RETURN(auto slink, nl::FindLink(child_rt, sif));
  if (!slink) return InternalError("egress network: " + sif + " did not appear in the sandbox's namespace");
  {
    std::vector<nl::Message> batch;
    batch.push_back(nl::SetAddrGenModeNone(slink->index, sif));
    batch.push_back(nl::AddAddress(slink->index, sif, lease_.address, lease_.prefix_len));
    batch.push_back(nl::SetLinkUp(slink->index, sif));
    batch.push_back(nl::SetLinkUp(1, "lo"));
    batch.push_back(
        nl::AddRoute({*IpPrefix::Parse("0.0.0.0/0"), nl::RouteType::kUnicast, lease_.gateway, slink->index}));
    if (c.install_sandbox_routes) {
      for (bool v6 : {false, true}) {
        for (const auto& p : SandboxRoutes(denied_, v6))
          batch.push_back(nl::AddRoute({p, nl::RouteType::kProhibit, {}, 0}));
      }
    }
    CC_RETURN_IF_ERROR(child_rt.Transact(batch));
  }

  CC_RETURN_IF_ERROR(Step(c, "dns-relay"));
  DnsRelayOptions ro;
  ro.listen = *IpAddr::Parse(kSandboxResolver);
  ro.listen_netns_fd = child_netns_.get();  // lo is up by now, so 127.0.0.53 exists there
  ro.upstreams = upstreams;
  ro.denied = denied_;
  CC_ASSIGN_OR_RETURN(relay_, DnsRelay::Create(ro));
  if (c.relay_on_thread) CC_RETURN_IF_ERROR(relay_->StartThread());

  CC_RETURN_IF_ERROR(Step(c, "resolv-conf"));
  resolv_conf_path_ = ResolvPath(c, lease_.slot);
  (void)unlink(resolv_conf_path_.c_str());
  Status w = WriteRecordFile(resolv_conf_path_, ResolvConf(), 0644);
  if (!w.ok()) {
    resolv_conf_path_.clear();
    return w;
  }
  CC_RETURN_IF_ERROR(Step(c, "done"));
  CC_LOG_DEBUG("egress network: sandbox %s on %s (%s via %s)", name_.c_str(), hif.c_str(),
               lease_.address.ToString().c_str(), lease_.gateway.ToString().c_str());
  return OkStatus();
}

std::string SandboxResolvConf() {
  // No search domains: GCE's (c.PROJECT.internal google.internal) would turn "metadata" into the
  // metadata server's name. The relay refuses those names anyway.
  return "# Generated by cloudcoop: this sandbox's DNS relay, on its own loopback.\nnameserver " +
         std::string(kSandboxResolver) + "\noptions timeout:2 attempts:2\n";
}

EgressConfig EgressConfigForStateDir(const std::string& state_dir) {
  EgressConfig c;
  c.alloc_dir = JoinPath(state_dir, "net");
  c.relay_on_thread = false;
  // Changing a host's firewall and forwarding is an explicit, one-time step
  // (`cloudcoop sandbox prepare-host`), never a side effect of starting a sandbox.
  c.auto_prepare_host = false;
  return c;
}

std::string EgressSandbox::ResolvConf() const { return SandboxResolvConf(); }

Status EgressSandbox::Verify() {
  if (!link_created_ || !child_netns_.valid()) {
    return FailedPreconditionError("egress network: verify called on a sandbox that is not set up");
  }
  auto fail = [&](const std::string& what) {
    return CheckFailedError("egress network: sandbox " + name_ + ": " + what)
        .WithFix("the sandbox must not start; report this as a bug if it repeats");
  };
  const std::string sif(kSandboxIfName);
  CC_ASSIGN_OR_RETURN(auto child_rt, nl::Socket::OpenInNetns(NETLINK_ROUTE, child_netns_.get()));
  CC_ASSIGN_OR_RETURN(auto links, nl::ListLinks(child_rt));
  int sidx = 0;
  for (const auto& l : links) {
    if (l.name == "lo" && !(l.flags & IFF_UP)) return fail("lo is down");
    if (l.name == sif) {
      if (!(l.flags & IFF_UP)) return fail(sif + " is down");
      sidx = l.index;
    } else if (l.name != "lo" && (l.flags & IFF_UP)) {
      // Fallback tunnel devices (tunl0, sit0, ...) appear in every namespace when their modules
      // are loaded; down, and with no CAP_NET_ADMIN to raise them, they carry nothing.
      return fail("unexpected device " + l.name + " is up in the sandbox's namespace");
    }
  }
  if (sidx == 0) return fail(sif + " is missing");
  CC_ASSIGN_OR_RETURN(auto addrs, nl::ListAddresses(child_rt, AF_UNSPEC));
  bool has_addr = false;
  for (const auto& a : addrs) {
    if (a.index != sidx) continue;
    if (a.family == AF_INET6) return fail(sif + " has an IPv6 address " + a.local.ToString());
    if (a.local == lease_.address && a.prefix_len == lease_.prefix_len)
      has_addr = true;
    else
      return fail(sif + " has an unexpected address " + a.local.ToString());
  }
  if (!has_addr) return fail(sif + " lacks " + lease_.address.ToString());
  for (bool v6 : {false, true}) {
    CC_ASSIGN_OR_RETURN(auto routes, nl::ListRoutes(child_rt, v6 ? AF_INET6 : AF_INET));
    auto has = [&](const IpPrefix& dst, nl::RouteType type) {
      return std::any_of(routes.begin(), routes.end(),
                         [&](const nl::RouteInfo& r) { return r.dst == dst && r.type == type; });
    };
    if (!v6) {
      bool default_ok = std::any_of(routes.begin(), routes.end(), [&](const nl::RouteInfo& r) {
        return r.dst.len() == 0 && r.type == nl::RouteType::kUnicast && r.gateway &&
               *r.gateway == lease_.gateway;
      });
      if (!default_ok) return fail("the default route via " + lease_.gateway.ToString() + " is missing");
    }
    for (const auto& r : routes) {
      if (r.type != nl::RouteType::kUnicast) continue;
      bool expected = v6 ? r.dst == *IpPrefix::Parse("::1/128")
                         : (r.dst.len() == 0 ||
                            r.dst == IpPrefix(IpAddr::V4(lease_.address.v4() & ~3u), lease_.prefix_len));
      if (!expected) return fail("unexpected route " + r.dst.ToString() + " in the sandbox's namespace");
    }
    if (config_.install_sandbox_routes) {
      for (const auto& p : SandboxRoutes(denied_, v6)) {
        if (!has(p, nl::RouteType::kProhibit))
          return fail("the prohibit route for " + p.ToString() + " is missing");
      }
    }
  }
  CC_ASSIGN_OR_RETURN(auto host_rt, nl::Socket::Open(NETLINK_ROUTE));
  CC_ASSIGN_OR_RETURN(auto hlink, nl::FindLink(host_rt, lease_.host_ifname));
  if (!hlink) return fail("the host side " + lease_.host_ifname + " is missing");
  if (!(hlink->flags & IFF_UP)) return fail("the host side " + lease_.host_ifname + " is down");
  auto fwd = ReadSysctl("/proc/sys/net/ipv4/conf/" + lease_.host_ifname + "/forwarding");
  if (!fwd.ok() || *fwd != "1") return fail("forwarding is off on " + lease_.host_ifname);
  CC_ASSIGN_OR_RETURN(auto haddrs, nl::ListAddresses(host_rt, AF_UNSPEC));
  bool has_gw = false;
  for (const auto& a : haddrs) {
    if (a.index != hlink->index) continue;
    if (a.family == AF_INET6) return fail(lease_.host_ifname + " has an IPv6 address " + a.local.ToString());
    if (a.local == lease_.gateway) has_gw = true;
  }
  if (!has_gw) return fail(lease_.host_ifname + " lacks the gateway address " + lease_.gateway.ToString());
  CC_ASSIGN_OR_RETURN(auto nf, nl::Socket::Open(NETLINK_NETFILTER));
  CC_ASSIGN_OR_RETURN(auto comment, nl::NftTableComment(nf, NFPROTO_INET, std::string(kNftTable)));
  if (!comment || *comment != EgressHostRulesetComment(config_))
    return fail("the host firewall table inet cloudcoop is missing or stale");
  return OkStatus();
}

Status EgressSandbox::Cleanup() {
  Status first;
  auto note = [&first](Status s) {
    if (!s.ok() && first.ok()) first = std::move(s);
  };
  relay_.reset();
  if (link_created_) {
    auto rt = nl::Socket::Open(NETLINK_ROUTE);
    if (!rt.ok()) {
      note(rt.status());
    } else {
      Status del = rt->Transact(nl::DeleteLink(lease_.host_ifname));
      // ENODEV: the veth went with the sandbox's namespace.
      if (del.ok() || rt->last_errno() == ENODEV)
        link_created_ = false;
      else
        note(del);
    }
  }
  if (!resolv_conf_path_.empty()) {
    if (unlink(resolv_conf_path_.c_str()) == 0 || errno == ENOENT)
      resolv_conf_path_.clear();
    else
      note(ErrnoError(errno, "egress network: remove " + resolv_conf_path_));
  }
  // The slot goes back only once its link is gone, so its names and addresses are never shared.
  if (slot_held_ && !link_created_) {
    Status r = ReleaseEgressSlot(config_, lease_.slot);
    if (r.ok()) slot_held_ = false;
    note(r);
  }
  child_netns_.Reset();
  return first;
}

EgressSandbox::~EgressSandbox() {
  Status s = Cleanup();
  if (!s.ok()) CC_LOG_ERROR("egress network: cleanup of sandbox %s: %s", name_.c_str(), s.ToString().c_str());
}

Status SetupLoopbackOnly(int child_netns_fd) {
  CC_ASSIGN_OR_RETURN(auto rt, nl::Socket::OpenInNetns(NETLINK_ROUTE, child_netns_fd));
  return rt.Transact(nl::SetLinkUp(1, "lo"));
}

std::string SandboxHostsFile(std::string_view hostname) {
  std::string h(hostname);
  return "127.0.0.1\tlocalhost\n127.0.1.1\t" + h + "\n::1\tlocalhost ip6-localhost ip6-loopback\n";
}

}  // namespace cloudcoop::sandbox
