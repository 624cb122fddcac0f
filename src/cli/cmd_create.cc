// cloudcoop create [--size S | --machine-type T] [--spot] [--max-uptime MIN] [--dry-run]: the hardened
// agent-host VM.
#include <ostream>

#include "cli/command.h"
#include "cli/gcp_cli.h"
#include "cloud/gcp/instance_plan.h"
#include "core/strings.h"

namespace cloudcoop::cli {
namespace {

int RunCreate(Invocation& inv) {
  auto settings = GcpSettingsFor(inv);
  if (!settings.ok()) return inv.Fail(settings.status());
  gcp::CreateOptions options;
  options.size = inv.Value("size");
  options.machine_type = inv.Value("machine-type");
  if (inv.Has("spot")) options.spot = true;
  if (auto minutes = inv.Value("max-uptime")) {
    auto v = ParseInt64(*minutes);
    if (!v) return inv.UsageError("--max-uptime " + *minutes + " is not a number of minutes");
    options.max_uptime_minutes = *v;
  }
  auto plan = gcp::PlanInstance(**settings, options);
  if (!plan.ok()) return inv.Fail(plan.status());
  if (inv.Has("dry-run")) {
    inv.out() << plan->BodyJson(/*pretty=*/true) << "\n";
    return 0;
  }
  return RunLifecycleChange(inv, **settings, [&](gcp::VmLifecycle& vm) { return vm.Create(*plan); });
}

}  // namespace

extern const CommandSpec kCreateCommand = {
    .name = "create",
    .category = Category::kCloud,
    .summary = "create the hardened agent-host VM (cloud.provider = gcp)",
    .flags = {{"size", FlagKind::kValue, "SIZE", "size preset (vm.sizes.*)", {"small", "medium", "large", "xlarge"}, 's'},
              {"machine-type", FlagKind::kValue, "TYPE", "explicit machine type, e.g. c4a-highcpu-8"},
              {"spot", FlagKind::kBool, "", "a Spot VM, stopped (not deleted) on preemption"},
              {"max-uptime", FlagKind::kValue, "MIN", "stop the VM after MIN minutes of uptime (0: never)"},
              {"dry-run", FlagKind::kBool, "", "print the instance body that would be sent, and stop"},
              {"json", FlagKind::kBool, "", "print the result as JSON"},
              AccessTokenFileFlag()},
    .description =
        "The VM runs as cloud.gcp.service_account (cloud-platform scope, roles do the restricting), has no\n"
        "external IP (SSH only through IAP), is a Shielded VM with OS Login on, project-wide SSH keys\n"
        "blocked, the serial port off and IP forwarding off, and is labelled managed-by=cloudcoop.\n"
        "Safe to re-run: an interrupted create is resumed with the same requestId, never duplicated;\n"
        "an existing VM is left alone.",
    .run = RunCreate,
};

}  // namespace cloudcoop::cli
