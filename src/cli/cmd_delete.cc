// cloudcoop delete [--yes]: delete the stopped agent-host VM and its boot disk.
#include <ostream>

#include "cli/command.h"
#include "cli/gcp_cli.h"

namespace cloudcoop::cli {
namespace {

int RunDelete(Invocation& inv) {
  auto settings = GcpSettingsFor(inv);
  if (!settings.ok()) return inv.Fail(settings.status());
  const std::string& name = (*settings)->vm.name;
  return WithVmLifecycle(inv, **settings, [&](gcp::VmLifecycle& lifecycle) {
    // Look first, so the question is only asked when there is a stopped VM to delete.
    auto current = lifecycle.Get();
    if (!current.ok()) return inv.Fail(current.status());
    if (*current && (*current)->state() == gcp::VmState::kStopped && !inv.Has("yes")) {
      if (!inv.stdin_is_tty()) {
        return inv.Fail(InvalidArgumentError("refusing to delete VM " + name + " without confirmation (no terminal)")
                            .WithFix("re-run with --yes to delete it and its boot disk"));
      }
      if (!Confirm(inv, "Delete VM " + name + " in " + (*settings)->gcp.zone + " and its boot disk? Everything on it is lost.")) {
        inv.err() << "not deleted\n";
        return 1;
      }
    }
    return RunAuditedChange(inv, [&] { return lifecycle.Delete(); });
  });
}

}  // namespace

extern const CommandSpec kDeleteCommand = {
    .name = "delete",
    .category = Category::kCloud,
    .summary = "delete the stopped agent-host VM and its boot disk (asks first)",
    .flags = {{"yes", FlagKind::kBool, "", "do not ask (required without a terminal)", {}, 'y'},
              {"json", FlagKind::kBool, "", "print the result as JSON"},
              AccessTokenFileFlag()},
    .description = "The VM must be stopped first (cloudcoop stop). Deleting a VM that does not exist does nothing.",
    .run = RunDelete,
};

}  // namespace cloudcoop::cli
