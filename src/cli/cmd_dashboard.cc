// cloudcoop dashboard (and `cloudcoop` with no arguments): the terminal UI over every agent.
// Without a terminal it prints a one-line hint and the status instead.
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <ostream>

#include "cli/audit_action.h"
#include "cli/command.h"
#include "cli/dashboard_audited.h"
#include "cli/dashboard_source.h"
#include "cli/dashboard_vm.h"
#include "config/loader.h"
#include "tui/dashboard.h"
#include "tui/fake_source.h"

namespace cloudcoop::cli {
namespace {

// Test-only: the tests that drive the real binary in tmux point this at a fixture of fake agents
// (src/tui/fake_source.cc). Never set in normal use.
constexpr const char* kFixtureEnv = "CLOUDCOOP_TEST_DASHBOARD_FIXTURE";
// Benchmark-only: frame and snapshot timings are appended to this file (bench/bench_dashboard.sh).
constexpr const char* kTraceEnv = "CLOUDCOOP_BENCH_DASHBOARD_TRACE";

int ShowStatusInstead(Invocation& inv) {
  const CommandSpec* status = FindCommand("status");
  if (status == nullptr) status = FindCommand("agent list");
  inv.err() << "cloudcoop: no terminal, so no dashboard; "
            << (status != nullptr ? "showing `cloudcoop " + std::string(status->name) + "`" : std::string("showing the commands"))
            << " (run `cloudcoop` in a terminal for the dashboard)\n";
  if (status == nullptr) {
    PrintMainHelp(inv.out());
    return 0;
  }
  Invocation sub(*status, inv.in(), inv.out(), inv.err(), inv.stdin_is_tty());
  for (const char* global : {"config", "set", "verbose"}) {
    if (inv.Has(global)) sub.mutable_flags()[global] = inv.Values(global);
  }
  return status->run(sub);
}

bool UsesTestFixture() {
  const char* fixture = std::getenv(kFixtureEnv);
  return fixture != nullptr && *fixture != '\0';
}

StatusOr<std::unique_ptr<tui::HostSource>> OpenSource(Invocation& inv) {
  if (UsesTestFixture()) {
    const char* fixture = std::getenv(kFixtureEnv);
    CC_ASSIGN_OR_RETURN(auto fake, tui::FakeHostSource::FromFixture(fixture, DefaultClock()));
    return std::unique_ptr<tui::HostSource>(std::move(fake));
  }
  // The local agent host (provider gcp: the VM's agents come with the remote node client; until
  // then the header shows the VM and the table this machine's agents).
  auto config = inv.Config();
  if (!config.ok()) return config.status();
  return NewLocalDashboardSource((*config)->settings(), AuditTargetFor(inv));
}

// How often the header's VM facts are read from GCP.
constexpr Duration kVmEvery = std::chrono::seconds(15);

int RunDashboardCommand(Invocation& inv) {
  if (isatty(STDIN_FILENO) != 1 || isatty(STDOUT_FILENO) != 1) return ShowStatusInstead(inv);
  auto config = inv.Config();
  if (!config.ok()) return inv.Fail(config.status());
  const TuiSettings& tui_settings = (*config)->settings().tui;
  tui::DashboardOptions options;
  options.refresh_interval_sec = static_cast<int>(tui_settings.refresh_interval_sec);
  const char* no_color = std::getenv("NO_COLOR");
  options.color = tui_settings.color && (no_color == nullptr || *no_color == '\0');
  if (const char* trace = std::getenv(kTraceEnv)) options.trace_path = trace;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) options.hostname_hint = std::string("local host ") + host;
  auto source = OpenSource(inv);
  if (!source.ok()) return inv.Fail(source.status());
  std::unique_ptr<tui::HostSource> shown = std::move(*source);
  // Every change made from the dashboard is an audited control action (no record, no change; the
  // form's sandbox switch is recorded as --unsandboxed). Not the test fixture's fake host: its
  // changes are pretend ones, kept in its own action log, and must not reach the real audit log.
  if (!UsesTestFixture()) shown = WithAuditedActions(std::move(shown), AuditTargetFor(inv));
  if ((*config)->settings().provider == "gcp") {
    // The configured VM in the header. Without credentials the dashboard still opens and says why.
    auto reader = GcpVmReader(inv, (*config)->settings());
    VmReader read = reader.ok() ? *reader : VmReader([st = reader.status()]() -> StatusOr<tui::VmInfo> { return st; });
    shown = WithVmHeader(std::move(shown), std::move(read), DefaultClock(), kVmEvery);
  }
  Status st = tui::RunDashboard(*shown, options);
  if (!st.ok()) return inv.Fail(st);
  return 0;
}

}  // namespace

extern const CommandSpec kDashboardCommand = {
    .name = "dashboard",
    .aliases = {"tui"},
    .category = Category::kAgents,
    .summary = "watch and drive every agent in a terminal UI (what `cloudcoop` alone opens)",
    .description =
        "A live table of the agents (state, uptime, CPU, memory, processes, network, last output) with\n"
        "keys to add (a), kill (k), restart (r), connect (Enter or c; detach to come back), read the\n"
        "output (l) and the exec log (e), filter (/), sort (s), panic (!), help (?) and quit (q).\n"
        "Refreshes every tui.refresh_interval_sec seconds; NO_COLOR or tui.color=false turn colour off.\n"
        "Without a terminal it prints a hint and the status instead.",
    .run = RunDashboardCommand,
};

}  // namespace cloudcoop::cli
