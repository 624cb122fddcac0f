// The dashboard's runtime: the input loop on the main thread (keys, resizes, drawing), a refresh
// thread that takes snapshots and loads transcripts and audit records, and one thread per operation
// (add, kill, restart, panic, fetching the attach argv), so the screen never waits for the host.
// Results come back to the input loop as events (model.h); only the main thread touches the model
// and the terminal.
#ifndef CLOUDCOOP_TUI_DASHBOARD_H_
#define CLOUDCOOP_TUI_DASHBOARD_H_

#include <string>

#include "core/clock.h"
#include "core/process.h"
#include "core/status.h"
#include "tui/source.h"

namespace cloudcoop::tui {

struct DashboardOptions {
  int refresh_interval_sec = 1;
  bool color = true;  // already false when NO_COLOR is set or tui.color = false
  std::string hostname_hint;
  // Benchmarks only: append one line per frame and per snapshot (times and CPU) to this file.
  std::string trace_path;
  Clock* clock = nullptr;            // default: the real clock
  ProcessRunner* runner = nullptr;   // runs the attach argv; default: the real runner
};

// Runs until the user quits. Fails only when the terminal cannot be used.
Status RunDashboard(HostSource& source, const DashboardOptions& options);

}  // namespace cloudcoop::tui

#endif  // CLOUDCOOP_TUI_DASHBOARD_H_
