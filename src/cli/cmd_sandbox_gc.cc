// cloudcoop sandbox gc: remove what killed supervisors left (records, cgroups, uid allocations).
#include <ostream>

#include "cli/checks_all.h"
#include "cli/command.h"
#include "core/strings.h"
#include "sandbox/control.h"

namespace cloudcoop::cli {
namespace {

int RunSandboxGc(Invocation& inv) {
  auto report = sandbox::CollectStale(StateDirFromEnv());
  if (!report.ok()) return inv.Fail(report.status());
  inv.out() << "removed " << report->records.size() << " stale sandbox record(s)"
            << (report->records.empty() ? "" : " (" + Join(report->records, ", ") + ")") << ", "
            << report->uids << " unheld uid allocation(s), " << report->net_slots << " egress address slot(s) and "
            << report->groups << " orphaned cgroup(s)\n";
  return 0;
}

}  // namespace

extern const CommandSpec kSandboxGcCommand = {
    .name = "sandbox gc",
    .category = Category::kSandbox,
    .summary = "clean up after sandboxes whose supervisor was killed",
    .run = RunSandboxGc,
    .needs_root = true,
};

}  // namespace cloudcoop::cli
