// cloudcoop sandbox prepare-host: the one-time host preparation for network mode egress.
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/command.h"
#include "core/process.h"
#include "core/strings.h"
#include "sandbox/net_egress.h"

namespace cloudcoop::cli {
namespace {

nlohmann::json StateJson(const sandbox::EgressHostState& st) {
  return {{"ready", st.ready()},
          {"table_current", st.table_current},
          {"table_comment", st.table_comment.value_or("")},
          {"uplinks", st.uplinks},
          {"uplinks_not_forwarding", st.uplinks_not_forwarding},
          {"pool_conflicts", st.pool_conflicts},
          {"problems", st.ready() ? "" : st.Describe()}};
}

int RunSandboxPrepareHost(Invocation& inv) {
  if (inv.Has("check") && inv.Has("remove")) return inv.UsageError("--check and --remove exclude each other");
  sandbox::EgressConfig config;
  config.alloc_dir = "/run/cloudcoop/net";  // not used here; the pool and deny list are the defaults
  if (inv.Has("remove")) {
    Status s = sandbox::RemoveEgressHostRules(config, DefaultProcessRunner());
    if (!s.ok()) return inv.Fail(s);
    if (!inv.json()) inv.out() << "removed the nftables table inet cloudcoop (forwarding on the uplinks is left as it is)\n";
  } else if (!inv.Has("check")) {
    Status s = sandbox::PrepareEgressHost(config, DefaultProcessRunner());
    if (!s.ok()) return inv.Fail(s);
  }
  auto st = sandbox::InspectEgressHost(config);
  if (!st.ok()) return inv.Fail(st.status());
  if (inv.json()) {
    inv.out() << StateJson(*st).dump(2) << "\n";
  } else if (!inv.Has("remove")) {
    inv.out() << "egress host: " << (st->ready() ? "ready" : "NOT ready: " + st->Describe()) << "\n";
    inv.out() << "  firewall: nftables table inet cloudcoop "
              << (st->table_current ? "current" : st->table_comment ? "stale" : "missing") << "\n";
    inv.out() << "  uplinks (IPv4 forwarding on): " << (st->uplinks.empty() ? "none" : Join(st->uplinks, ", ")) << "\n";
  }
  if (inv.Has("check") && !st->ready()) {
    return ExitCodeFor(CheckFailedError("egress host not ready"));
  }
  return 0;
}

}  // namespace

extern const CommandSpec kSandboxPrepareHostCommand = {
    .name = "sandbox prepare-host",
    .category = Category::kSandbox,
    .summary = "prepare this host for network mode egress (firewall table, forwarding), once",
    .args = "",
    .min_args = 0,
    .max_args = 0,
    .flags =
        {
            {"check", FlagKind::kBool, "", "only report whether the host is ready (exit 3 when not)"},
            {"remove", FlagKind::kBool, "", "delete the nftables table inet cloudcoop"},
            {"json", FlagKind::kBool, "", "print the host's state as JSON"},
        },
    .description =
        "Network mode egress needs the host to forward and filter sandbox traffic. This installs the\n"
        "nftables table inet cloudcoop (an atomic replacement; sandboxes may not reach the host, the\n"
        "metadata server, private, shared or link-local ranges, other sandboxes, IPv6 or DNS servers other\n"
        "than their own relay; the rest is masqueraded) and turns on IPv4 forwarding on the interfaces of\n"
        "the default routes only (net.ipv4.conf.<uplink>.forwarding; the global switch is left alone).\n"
        "Idempotent. Starting a sandbox never does this by itself: an unprepared host refuses egress\n"
        "sandboxes and says so. See docs/adr/0011-sandbox-egress-network.md.",
    .run = RunSandboxPrepareHost,
    .needs_root = true,
};

}  // namespace cloudcoop::cli
