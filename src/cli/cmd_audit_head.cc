// cloudcoop audit head: print the chain head (sequence number and hash) as JSON, to keep outside
// the agent host and give to `cloudcoop audit verify --head FILE` later.
#include <unistd.h>

#include <ostream>

#include "audit/control.h"
#include "audit/verify.h"
#include "cli/command.h"
#include "core/clock.h"
#include "core/paths.h"

namespace cloudcoop::cli {
namespace {

int RunAuditHead(Invocation& inv) {
  auto head = audit::CurrentHead(audit::AuditDirFor(StateDirFromEnv()));
  if (!head.ok()) return inv.Fail(head.status());
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  head->host = host;
  head->time = FormatRfc3339(DefaultClock().Now());
  inv.out() << audit::FormatSavedHead(*head) << "\n";
  return 0;
}

}  // namespace

extern const CommandSpec kAuditHeadCommand = {
    .name = "audit head",
    .category = Category::kAudit,
    .summary = "print the audit chain's head (seq and hash) to keep elsewhere",
    .flags = {{"json", FlagKind::kBool, "", "print JSON (the only format; accepted for consistency)"}},
    .description = "Prints {\"version\":1,\"seq\":N,\"hash\":\"...\",\"host\":\"...\",\"time\":\"...\"}. Keep it where\n"
                   "the agent host cannot write (another machine, a ticket); `cloudcoop audit verify --head\n"
                   "FILE` then proves that the log still holds that record unchanged.",
    .run = RunAuditHead,
};

}  // namespace cloudcoop::cli
