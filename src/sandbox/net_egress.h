// Network mode `egress` (the default): the sandbox gets its own network namespace with a route to the
// internet, and nothing else.
//
//   sandbox netns                       agent host netns                          outside
//   eth0 100.96.N.2/30 ── veth ── ccegN 100.96.N.1/30 ──(forward, masquerade)── uplink ── internet
//        default via .1             (a next hop only: nothing on the host answers the sandbox)
//        prohibit routes for every
//        denied range (EACCES)
//   lo 127.0.0.53:53  <- DNS relay sockets, made in the sandbox's namespace and served by the
//                        supervisor, which forwards from the host's namespace to the host's resolvers
//
// Layers, each enough on its own (tests check each alone):
//   1. Routes inside the sandbox's namespace: `prohibit` for private, link-local (the metadata server),
//      loopback, shared (CGNAT, other sandboxes, its own gateway), multicast and reserved ranges, the
//      host's own addresses, and all of IPv6. The agent has no CAP_NET_ADMIN and cannot change them.
//   2. The host's nftables table `inet cloudcoop` (installed once, atomically, idempotent): sandbox
//      traffic to the host itself is rejected (all of it: DNS is served on the sandbox's own
//      loopback); forwarded traffic to denied ranges, other sandboxes, IPv6 and DNS/DoT ports
//      anywhere is rejected; inbound connections to sandboxes are dropped; the rest is masqueraded.
//   3. The DNS relay refuses the metadata server's names and answers that point into denied ranges.
// IPv6: no address is ever generated on either end of the veth (addrgenmode none), so there is no
// link-local path to the host's IPv6 services either.
//
// Cost per sandbox: netlink only, in-process (no `ip`, no `nft`): one veth request, two batches and
// two look-ups; see docs/PERFORMANCE.md. Host preparation (the nftables table, forwarding on the
// uplinks) runs `nft -f -` once, as its own step (`cloudcoop sandbox prepare-host`,
// PrepareEgressHost); every setup checks it in-process and fails closed if it is missing or stale.
// Design and alternatives: docs/adr/0011-sandbox-egress-network.md.
//
// Phases (the launcher's checklist): the parent clones the child with CLONE_NEWNET; while the child
// waits, the parent calls EgressSandbox::Setup with the child's namespace, then Verify; the child
// execs; after it exits the parent calls Cleanup (also run by the destructor). Every failure path
// leaves nothing behind: no veth, no allocation record, no relay, no file.
#ifndef CLOUDCOOP_SANDBOX_NET_EGRESS_H_
#define CLOUDCOOP_SANDBOX_NET_EGRESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/process.h"
#include "core/status.h"
#include "sandbox/dns_relay.h"
#include "sandbox/net_addr.h"

namespace cloudcoop::sandbox {

// Host-side interface names are kEgressIfPrefix + slot ("cceg0" ... "cceg16383"); the firewall
// matches them by this prefix, so per-sandbox setup never touches nftables.
inline constexpr std::string_view kEgressIfPrefix = "cceg";
// The sandbox's side, inside its own namespace.
inline constexpr std::string_view kSandboxIfName = "eth0";
inline constexpr std::string_view kNftTable = "cloudcoop";
// The sandbox's resolver: the DNS relay's sockets on the sandbox's own loopback.
inline constexpr std::string_view kSandboxResolver = "127.0.0.53";
// The default pool: 100.96.0.0/16 lies in the RFC 6598 shared space (100.64.0.0/10), which GCE VPCs,
// docker (172.17/16), podman (10.88/16) and libvirt (192.168.122/24) do not use, and which is denied
// to sandboxes anyway. 16384 sandboxes of a /30 each.
inline constexpr std::string_view kDefaultEgressPool = "100.96.0.0/16";

struct EgressConfig {
  IpPrefix pool = *IpPrefix::Parse(kDefaultEgressPool);
  // Allocation records and their lock. A runtime directory (tmpfs) is best: the records mean nothing
  // after a reboot, and stale ones are reclaimed.
  std::string alloc_dir;
  // Denied on top of BuiltinDeniedPrefixes() and the pool (e.g. a VPC range outside RFC 1918).
  std::vector<IpPrefix> extra_denied;
  // Resolvers the DNS relay forwards to; empty: the nameservers of `resolv_conf_path`.
  std::vector<IpAddr> dns_upstreams;
  std::string resolv_conf_path = "/etc/resolv.conf";
  // When the host's nftables table is missing or stale, install it (runs `nft -f -` once). When
  // false, Setup fails instead and says how to prepare the host.
  bool auto_prepare_host = true;
  std::string nft_program = "nft";
  // The DNS relay runs on a thread of its own. When false, the owner drives it from its poll loop
  // (relay().FillPollFds / Process / NextTimeoutMs).
  bool relay_on_thread = true;
  // Tests only: leave out layer 1 (routes in the sandbox) to check that the host firewall alone
  // holds. Never set by the product.
  bool install_sandbox_routes = true;
  // Tests only: called before each setup step with its name; an error aborts the setup there.
  std::function<Status(std::string_view step)> fault_injection;
  // Told once when this setup had to prepare the host (what changed), for the user and the audit.
  std::function<void(const std::string&)> on_host_prepared;
};

// The config checked: pool a IPv4 prefix between /16 and /28, extra prefixes parsed. Names the field.
Status ValidateEgressConfig(const EgressConfig& config);

// Everything a sandbox may not reach, as prefixes: the built-in list, the pool (other sandboxes)
// and config.extra_denied. The host's own addresses are added at setup time.
std::vector<IpPrefix> EgressDeniedPrefixes(const EgressConfig& config);

// ---- addresses ----

struct EgressLease {
  int slot = -1;
  std::string host_ifname;  // "cceg5"
  IpAddr gateway;           // host side, 100.96.0.21
  IpAddr address;           // sandbox side, 100.96.0.22
  int prefix_len = 30;
};
// Number of /30 slots in the pool.
int EgressSlotCount(const IpPrefix& pool);
EgressLease EgressLeaseForSlot(const IpPrefix& pool, int slot);

// One allocation record (a file `slot-N` under alloc_dir).
struct EgressSlotRecord {
  int slot = -1;
  std::string sandbox;
  pid_t owner_pid = 0;
  uint64_t owner_start = 0;  // the owner's start time (/proc/PID/stat field 22), against pid reuse
};

// Takes the next free slot (next-fit, so a released address is not handed out again at once) under
// an exclusive lock on alloc_dir/lock. Records whose owner process is gone are reclaimed: their
// host-side veth (if any) is deleted first. Concurrent callers (threads or processes) never get
// the same slot.
StatusOr<EgressLease> AllocateEgressSlot(const EgressConfig& config, const std::string& sandbox);
Status ReleaseEgressSlot(const EgressConfig& config, int slot);
StatusOr<std::vector<EgressSlotRecord>> ListEgressSlots(const EgressConfig& config);
// Reclaims every slot whose owner is gone (deleting a leftover veth), for `sandbox gc`; returns how
// many. Allocation reclaims lazily as well, but only the slots it passes.
StatusOr<int> CollectStaleEgressSlots(const EgressConfig& config);

// ---- the host ----

// The nftables ruleset for the host: an atomic, idempotent replacement of table inet cloudcoop.
std::string EgressHostRuleset(const EgressConfig& config);
// The table's comment, which carries a hash of the ruleset: a stale table is detected in-process.
std::string EgressHostRulesetComment(const EgressConfig& config);

struct EgressHostState {
  bool table_current = false;  // table inet cloudcoop exists with this config's comment
  std::optional<std::string> table_comment;
  std::vector<std::string> uplinks;  // interfaces of the IPv4 default routes
  std::vector<std::string> uplinks_not_forwarding;
  uint32_t uplink_mtu = 0;             // the smallest uplink MTU (the veth gets it)
  std::vector<IpAddr> host_addresses;  // every IPv4 address of the host, outside the pool
  // Routes of the host that overlap the pool and are not a sandbox's own ("10.0.0.0/8 dev eth1"):
  // the pool would shadow or be shadowed by a real network.
  std::vector<std::string> pool_conflicts;
  bool ready() const {
    return table_current && !uplinks.empty() && uplinks_not_forwarding.empty() && pool_conflicts.empty();
  }
  std::string Describe() const;  // what is missing, for error messages
};
// Reads the host's state in-process (netlink, /proc/sys). Fails only when it cannot be read.
StatusOr<EgressHostState> InspectEgressHost(const EgressConfig& config);
// Installs the nftables table (`nft -f -`, argv only) and turns IPv4 forwarding on for each uplink
// (net.ipv4.conf.<uplink>.forwarding; the global switch is left alone). Idempotent; reads back.
Status PrepareEgressHost(const EgressConfig& config, ProcessRunner& runner);
// Removes the table (for uninstall and tests). Missing is fine.
Status RemoveEgressHostRules(const EgressConfig& config, ProcessRunner& runner);

// ---- one sandbox ----

class EgressSandbox {
 public:
  // Parent side, after the child was cloned into a new network namespace (`child_netns_fd`, e.g. an
  // open /proc/PID/ns/net) and while it waits: allocates a slot, creates the veth pair with its end
  // inside the child's namespace, configures both ends and the child's routes, starts the DNS relay
  // and writes the sandbox's resolv.conf. On any failure everything done so far is undone.
  static StatusOr<std::unique_ptr<EgressSandbox>> Setup(const EgressConfig& config, int child_netns_fd,
                                                        const std::string& sandbox_name,
                                                        ProcessRunner& runner = DefaultProcessRunner());
  ~EgressSandbox();
  EgressSandbox(const EgressSandbox&) = delete;
  EgressSandbox& operator=(const EgressSandbox&) = delete;

  // Reads the configuration back: in the child's namespace eth0 with its address and no IPv6
  // address, lo up, the default route and one prohibit route per denied prefix; on the host the
  // veth up with the gateway and forwarding on, and the firewall table current. kCheckFailed names
  // the first difference.
  Status Verify();
  // Deletes the veth pair (gone already if the child's namespace died), stops the relay, removes
  // the resolv.conf and releases the slot. Idempotent; reports the first error but tries every step.
  Status Cleanup();

  const EgressLease& lease() const { return lease_; }
  const std::vector<IpPrefix>& denied() const { return denied_; }
  // The sandbox's /etc/resolv.conf (nameserver 127.0.0.53) and where it was written (0644, for a
  // read-only bind mount over /etc/resolv.conf).
  std::string ResolvConf() const;
  const std::string& resolv_conf_path() const { return resolv_conf_path_; }
  // The sandbox's DNS relay (see EgressConfig::relay_on_thread).
  DnsRelay& relay() { return *relay_; }

 private:
  EgressSandbox() = default;
  Status SetupSteps(int child_netns_fd, ProcessRunner& runner);

  EgressConfig config_;
  std::string name_;
  EgressLease lease_;
  bool slot_held_ = false;
  bool link_created_ = false;
  UniqueFd child_netns_;
  std::vector<IpPrefix> denied_;
  std::unique_ptr<DnsRelay> relay_;
  std::string resolv_conf_path_;
};

// The /etc/resolv.conf of every egress sandbox: the relay on its own loopback, no search domains.
std::string SandboxResolvConf();

// The launcher's configuration: allocation records under <state_dir>/net, the host's resolvers
// from /etc/resolv.conf, the relay in the supervisor's poll loop (the supervisor is
// single-threaded), and no host preparation: an unprepared host fails closed and the error names
// `cloudcoop sandbox prepare-host`.
EgressConfig EgressConfigForStateDir(const std::string& state_dir);

// Network mode `none`: only the loopback device, brought up inside `child_netns_fd`.
Status SetupLoopbackOnly(int child_netns_fd);

// /etc/hosts for a sandbox: localhost and its own name only (GCE images list
// metadata.google.internal in the host's /etc/hosts).
std::string SandboxHostsFile(std::string_view hostname);

}  // namespace cloudcoop::sandbox

#endif  // CLOUDCOOP_SANDBOX_NET_EGRESS_H_
