// cloudcoop resize SIZE: change the agent-host VM's machine type (stop, setMachineType, start).
#include "cli/command.h"
#include "cli/gcp_cli.h"
#include "cloud/gcp/instance_plan.h"

namespace cloudcoop::cli {
namespace {

int RunResize(Invocation& inv) {
  auto settings = GcpSettingsFor(inv);
  if (!settings.ok()) return inv.Fail(settings.status());
  const std::string& arg = inv.args()[0];
  // A preset name (small, medium, ...) or a machine type (anything with a dash).
  std::optional<std::string> size, type;
  if (arg.find('-') == std::string::npos) size = arg;
  else type = arg;
  auto machine_type = gcp::ResolveMachineType((*settings)->vm, size, type);
  if (!machine_type.ok()) return inv.Fail(machine_type.status());
  return RunLifecycleChange(inv, **settings, [&](gcp::VmLifecycle& vm) { return vm.Resize(*machine_type); });
}

}  // namespace

extern const CommandSpec kResizeCommand = {
    .name = "resize",
    .category = Category::kCloud,
    .summary = "change the VM's machine type: stop, resize, start again if it was running",
    .args = "SIZE",
    .min_args = 1,
    .max_args = 1,
    .flags = {{"json", FlagKind::kBool, "", "print the result as JSON"}, AccessTokenFileFlag()},
    .description = "SIZE is a preset (small, medium, large, xlarge: vm.sizes.*) or a machine type such as\n"
                   "c4a-highcpu-16. A running VM is stopped, resized and started again; a stopped VM stays\n"
                   "stopped. A VM that is starting or stopping must settle first.",
    .run = RunResize,
};

}  // namespace cloudcoop::cli
