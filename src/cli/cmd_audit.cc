// cloudcoop audit [--agent NAME] [--type T] [--since TIME] [--until TIME] [--grep TEXT] [--json] [-f]:
// query the audit log, and follow it (-f) until interrupted.
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <csignal>
#include <ostream>

#include "audit/control.h"
#include "audit/query.h"
#include "cli/command.h"
#include "core/files.h"
#include "core/paths.h"

namespace cloudcoop::cli {
namespace {

volatile sig_atomic_t g_stop = 0;
void OnStopSignal(int) { g_stop = 1; }

// SIGINT and SIGTERM end the follow loop (poll returns EINTR: no SA_RESTART); restored on exit.
class StopSignals {
 public:
  StopSignals() {
    g_stop = 0;
    struct sigaction sa = {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_, old_term_;
};

StatusOr<audit::QueryFilter> FilterFromFlags(Invocation& inv) {
  audit::QueryFilter f;
  f.agent = inv.ValueOr("agent", "");
  if (auto t = inv.Value("type")) f.type = audit::ParseRecordType(*t);
  SystemTime now = DefaultClock().Now();
  if (auto s = inv.Value("since")) {
    CC_ASSIGN_OR_RETURN(f.since, audit::ParseTimeArg(*s, now));
  }
  if (auto u = inv.Value("until")) {
    CC_ASSIGN_OR_RETURN(f.until, audit::ParseTimeArg(*u, now));
  }
  if (f.since && f.until && *f.until <= *f.since) {
    return InvalidArgumentError("--until is not after --since: no record can match").WithFix("swap or widen the times");
  }
  f.grep = inv.ValueOr("grep", "");
  return f;
}

// Waits for the audit directory to change (inotify), at most one second, or for a stop signal.
void WaitForChange(int inotify_fd) {
  if (inotify_fd < 0) {
    usleep(200 * 1000);
    return;
  }
  struct pollfd p = {inotify_fd, POLLIN, 0};
  if (poll(&p, 1, 1000) > 0) {
    char buf[4096];
    while (read(inotify_fd, buf, sizeof buf) > 0) {
    }
  }
}

int RunAudit(Invocation& inv) {
  auto filter = FilterFromFlags(inv);
  if (!filter.ok()) return inv.Fail(filter.status());
  std::string dir = audit::AuditDirFor(StateDirFromEnv());
  audit::LogReader reader(dir);
  bool json = inv.json();
  auto on_record = [&](const audit::Record& r, std::string_view line) {
    if (!audit::MatchesFilter(*filter, r, line)) return;
    if (json) inv.out() << line << "\n";
    else inv.out() << audit::FormatRecordText(r) << "\n";
  };
  auto on_bad = [&](const std::string& seg, uint64_t off, const Status& why) {
    inv.err() << "cloudcoop: warning: skipped an unreadable record in " << seg << " at byte " << off << " ("
              << why.message() << "); run `cloudcoop audit verify`\n";
  };
  Status st = reader.ReadNew(on_record, on_bad);
  if (!st.ok()) return inv.Fail(st);
  if (!inv.Has("follow")) {
    if (!IsDirectory(dir)) inv.err() << "cloudcoop: no audit log at " << dir << " yet\n";
    return 0;
  }
  inv.out().flush();
  StopSignals signals;
  UniqueFd in(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  bool watching = false;
  while (!g_stop && inv.out().good()) {
    if (!watching && in.valid() && IsDirectory(dir)) {
      watching = inotify_add_watch(in.get(), dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) >= 0;
    }
    WaitForChange(watching ? in.get() : -1);
    st = reader.ReadNew(on_record, on_bad);
    if (!st.ok()) return inv.Fail(st);
    inv.out().flush();
  }
  return 0;
}

}  // namespace

extern const CommandSpec kAuditCommand = {
    .name = "audit",
    .category = Category::kAudit,
    .summary = "show and follow the tamper-evident audit log",
    .flags = {{"agent", FlagKind::kValue, "NAME", "only records about this agent"},
              {"type", FlagKind::kValue, "TYPE", "only records of this type",
               {"exec", "control", "lifecycle", "denial", "checkpoint", "recovery"}},
              {"since", FlagKind::kValue, "TIME", "from this time: RFC 3339, or an age such as 10m, 2h, 1d"},
              {"until", FlagKind::kValue, "TIME", "before this time: RFC 3339, or an age such as 10m, 2h, 1d"},
              {"grep", FlagKind::kValue, "TEXT", "only records whose stored line contains TEXT (case-insensitive)"},
              {"json", FlagKind::kBool, "", "print the stored records (one JSON object per line)"},
              {"follow", FlagKind::kBool, "", "keep printing new records until interrupted (Ctrl-C)", {}, 'f'}},
    .description = "The log is under $CLOUDCOOP_STATE_DIR/audit (default /var/lib/cloudcoop/audit). Records\n"
                   "are printed in sequence order. This command does not verify the chain; run\n"
                   "`cloudcoop audit verify` for that.",
    .run = RunAudit,
};

}  // namespace cloudcoop::cli
