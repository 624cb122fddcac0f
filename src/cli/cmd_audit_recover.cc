// cloudcoop audit recover: after a crash, anchor complete records written after the head and
// quarantine a torn last line (with a recovery record), as the next writer would.
#include <nlohmann/json.hpp>
#include <ostream>

#include "audit/logger.h"
#include "cli/audit_action.h"
#include "cli/command.h"

namespace cloudcoop::cli {
namespace {

int RunAuditRecover(Invocation& inv) {
  audit::AuditTarget target = AuditTargetFor(inv);
  auto logger = audit::Logger::Open(target.Options());
  if (!logger.ok()) return inv.Fail(logger.status());
  auto report = (*logger)->Recover();
  if (!report.ok()) return inv.Fail(report.status());
  if (inv.json()) {
    nlohmann::json j = {{"anchored", report->found_after_head},
                        {"torn_tail", report->torn_tail},
                        {"quarantine", report->quarantine},
                        {"torn_bytes", report->torn_bytes},
                        {"head_slot_rewritten", report->head_slot_rewritten}};
    inv.out() << j.dump(2) << "\n";
    return 0;
  }
  if (report->found_after_head == 0 && !report->torn_tail && !report->head_slot_rewritten) {
    inv.out() << "nothing to recover: the log ends where its head says\n";
    return 0;
  }
  if (report->found_after_head > 0) inv.out() << "anchored " << report->found_after_head << " complete record(s) written after the head\n";
  if (report->torn_tail) {
    inv.out() << "quarantined a torn record (" << report->torn_bytes << " bytes) in " << target.dir << "/"
              << report->quarantine << " and recorded it\n";
  }
  if (report->head_slot_rewritten) inv.out() << "rewrote a damaged head slot\n";
  return 0;
}

}  // namespace

extern const CommandSpec kAuditRecoverCommand = {
    .name = "audit recover",
    .category = Category::kAudit,
    .summary = "finish an append interrupted by a crash (anchor or quarantine what it left)",
    .flags = {{"json", FlagKind::kBool, "", "print what was done as JSON"}},
    .description = "Every writer does this itself before it appends; this command does it without\n"
                   "appending anything else. Damage it cannot explain (records cut off or changed) is\n"
                   "refused: run `cloudcoop audit verify`.",
    .run = RunAuditRecover,
};

}  // namespace cloudcoop::cli
