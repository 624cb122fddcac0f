// cloudcoop check [--json|--sarif] [--only PREFIX]: the automated security checklist.
#include <unistd.h>

#include <cstdlib>
#include <ostream>

#include "cli/command.h"
#include "cli/checks_all.h"
#include "cloud/gcp/gcp_checks.h"
#include "config/loader.h"
#include "core/build_info.h"

namespace cloudcoop::cli {
namespace {

int RunCheck(Invocation& inv) {
  if (inv.Has("json") && inv.Has("sarif")) return inv.UsageError("choose one of --json and --sarif");
  policy::CheckRegistry registry;
  RegisterAllChecks(registry);
  policy::CheckContext ctx;
  auto config = inv.Config();
  if (config.ok()) {
    ctx.config = *config;
  } else {
    ctx.config_status = config.status();
  }
  ctx.state_dir = StateDirFromEnv();
  gcp::LiveReader gcp_reader(gcp::LiveReader::DefaultFactory());  // reads GCP only if a gcp.* check runs
  ctx.gcp = &gcp_reader;
  std::string prefix = inv.ValueOr("only", "");
  auto reports = registry.Run(ctx, prefix);
  if (reports.empty()) {
    return inv.Fail(InvalidArgumentError("check --only " + prefix + ": no check id starts with that")
                        .WithFix("run `cloudcoop check` to see every check id"));
  }
  if (inv.Has("sarif")) {
    inv.out() << policy::FormatChecksSarif(reports, kVersion) << "\n";
  } else if (inv.json()) {
    inv.out() << policy::FormatChecksJson(reports) << "\n";
  } else {
    bool color = isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
    inv.out() << policy::FormatChecksTable(reports, color);
  }
  for (const auto& r : reports) {
    if (r.outcome.result == policy::CheckResult::kFail) return 3;
  }
  return 0;
}

}  // namespace

extern const CommandSpec kCheckCommand = {
    .name = "check",
    .category = Category::kSecurity,
    .summary = "run the automated security checklist (exit 3 when a check fails)",
    .flags = {{"json", FlagKind::kBool, "", "print JSON"},
              {"sarif", FlagKind::kBool, "", "print SARIF 2.1.0 (for code-scanning dashboards)"},
              {"only", FlagKind::kValue, "PREFIX", "run only the checks whose id starts with PREFIX (e.g. config.)"}},
    .description = "Each check names the checklist item and CIS GCP benchmark id it covers. A check that\n"
                   "cannot read what it inspects fails; it never passes by default.",
    .run = RunCheck,
};

}  // namespace cloudcoop::cli
