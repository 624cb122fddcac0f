// cloudcoop start: start the stopped agent-host VM and wait until it runs.
#include "cli/command.h"
#include "cli/gcp_cli.h"

namespace cloudcoop::cli {
namespace {

int RunStart(Invocation& inv) {
  auto settings = GcpSettingsFor(inv);
  if (!settings.ok()) return inv.Fail(settings.status());
  return RunLifecycleChange(inv, **settings, [](gcp::VmLifecycle& vm) { return vm.Start(); });
}

}  // namespace

extern const CommandSpec kStartCommand = {
    .name = "start",
    .category = Category::kCloud,
    .summary = "start the stopped agent-host VM and wait until it runs",
    .flags = {{"json", FlagKind::kBool, "", "print the result as JSON"}, AccessTokenFileFlag()},
    .description = "Nothing happens when it already runs or is starting; a VM that is stopping must finish first.",
    .run = RunStart,
};

}  // namespace cloudcoop::cli
