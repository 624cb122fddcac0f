// cloudcoop stop: stop the agent-host VM and wait until it has stopped.
#include "cli/command.h"
#include "cli/gcp_cli.h"

namespace cloudcoop::cli {
namespace {

int RunStop(Invocation& inv) {
  auto settings = GcpSettingsFor(inv);
  if (!settings.ok()) return inv.Fail(settings.status());
  return RunLifecycleChange(inv, **settings, [](gcp::VmLifecycle& vm) { return vm.Stop(); });
}

}  // namespace

extern const CommandSpec kStopCommand = {
    .name = "stop",
    .category = Category::kCloud,
    .summary = "stop the agent-host VM and wait until it has stopped",
    .flags = {{"json", FlagKind::kBool, "", "print the result as JSON"}, AccessTokenFileFlag()},
    .description = "Nothing happens when it is already stopped or stopping; a VM that is starting must finish\n"
                   "first. Stopping can take 90 s or more on a busy VM. The boot disk is kept (and billed).",
    .run = RunStop,
};

}  // namespace cloudcoop::cli
