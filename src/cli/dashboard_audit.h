// The dashboard's `e` screen over the audit log: the exec, denial and lifecycle records of one
// agent, read incrementally (one reader for the whole log, following rotation), newest last.
#ifndef CLOUDCOOP_CLI_DASHBOARD_AUDIT_H_
#define CLOUDCOOP_CLI_DASHBOARD_AUDIT_H_

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "tui/source.h"

namespace cloudcoop::audit {
class LogReader;
struct Record;
}

namespace cloudcoop::cli {

class DashboardAuditFeed {
 public:
  // `dir`: the audit directory (<state dir>/audit); `keep`: records kept per agent.
  explicit DashboardAuditFeed(std::string dir, size_t keep = 2000);
  ~DashboardAuditFeed();

  // Reads what was written since the last call, then returns the agent's last `max` records.
  // Lines that do not parse are returned too (kind "BAD LINE"): a damaged log is never hidden.
  StatusOr<std::vector<tui::AuditRecord>> Records(const std::string& agent, int max);

  // One record as the dashboard shows it (exposed for tests).
  static tui::AuditRecord Convert(const audit::Record& record);

 private:
  std::mutex mu_;
  size_t keep_;
  std::unique_ptr<audit::LogReader> reader_;
  std::map<std::string, std::deque<tui::AuditRecord>> by_agent_;
  std::deque<tui::AuditRecord> bad_;
};

}  // namespace cloudcoop::cli

#endif  // CLOUDCOOP_CLI_DASHBOARD_AUDIT_H_
