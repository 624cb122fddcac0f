// cloudcoop sandbox kill NAME: SIGKILL every process of a sandbox (through its cgroup).
#include <ostream>

#include "cli/checks_all.h"
#include "cli/command.h"
#include "sandbox/control.h"

namespace cloudcoop::cli {
namespace {

int RunSandboxKill(Invocation& inv) {
  auto info = sandbox::FindSandbox(StateDirFromEnv(), inv.args()[0]);
  if (!info.ok()) return inv.Fail(info.status());
  if (!info->alive) {
    return inv.Fail(
        FailedPreconditionError("sandbox " + inv.args()[0] + " is not running (its supervisor is gone)")
            .WithFix("run `cloudcoop sandbox gc` to clean up what it left"));
  }
  Status s = sandbox::KillSandbox(info->record);
  if (!s.ok()) return inv.Fail(s);
  inv.out() << "killed every process of sandbox " << inv.args()[0] << "\n";
  return 0;
}

}  // namespace

extern const CommandSpec kSandboxKillCommand = {
    .name = "sandbox kill",
    .category = Category::kSandbox,
    .summary = "kill every process of a running sandbox (its supervisor records the exit)",
    .args = "NAME",
    .min_args = 1,
    .max_args = 1,
    .run = RunSandboxKill,
    .needs_root = true,
};

}  // namespace cloudcoop::cli
