// The checks registry behind `cloudcoop check`. A check has a stable id, a title, the item of the
// security checklist and the CIS GCP benchmark id it covers (shared/reference/security-checks.md),
// a severity, and a function that returns pass / fail / warn / not-applicable with a message and a
// fix. A check that cannot read its input fails with the reason; it never passes by default.
#ifndef CLOUDCOOP_POLICY_CHECKS_H_
#define CLOUDCOOP_POLICY_CHECKS_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cloudcoop {
class LoadedConfig;
}
namespace cloudcoop::gcp {
class LiveReader;
}

namespace cloudcoop::policy {

enum class CheckResult { kPass, kFail, kWarn, kNotApplicable };
enum class Severity { kLow, kMedium, kHigh, kCritical };

std::string_view CheckResultName(CheckResult r);  // PASS, FAIL, WARN, N/A
std::string_view SeverityName(Severity s);        // low, medium, high, critical

struct CheckOutcome {
  CheckResult result = CheckResult::kFail;
  std::string message;
  std::string fix;
};

inline CheckOutcome Pass(std::string message) { return {CheckResult::kPass, std::move(message), ""}; }
inline CheckOutcome Fail(std::string message, std::string fix) {
  return {CheckResult::kFail, std::move(message), std::move(fix)};
}
inline CheckOutcome Warn(std::string message, std::string fix) {
  return {CheckResult::kWarn, std::move(message), std::move(fix)};
}
inline CheckOutcome NotApplicable(std::string message) {
  return {CheckResult::kNotApplicable, std::move(message), ""};
}

// What a check may look at. Modules add the services their checks need.
struct CheckContext {
  const LoadedConfig* config = nullptr;  // null when the configuration did not load
  Status config_status;                  // why it did not
  std::string state_dir;                 // the agent host's state directory
  gcp::LiveReader* gcp = nullptr;        // live GCP state for the gcp.* checks (null: they fail)
};

struct CheckSpec {
  std::string id;         // stable, dotted: "config.sa-dedicated", "sandbox.tiocsti"
  std::string title;
  std::string checklist;  // the product checklist item: "SA-1", "IAP-1", "containment 15"
  std::string cis;        // "cis_4.0:4.1" or empty
  Severity severity = Severity::kMedium;
  std::function<CheckOutcome(const CheckContext&)> run;
};

struct CheckReport {
  const CheckSpec* spec;
  CheckOutcome outcome;
};

class CheckRegistry {
 public:
  void Add(CheckSpec spec);
  const std::vector<CheckSpec>& checks() const { return checks_; }
  // Runs the checks whose id starts with `prefix` (all when empty), in registration order.
  std::vector<CheckReport> Run(const CheckContext& ctx, std::string_view prefix) const;

 private:
  std::vector<CheckSpec> checks_;
};

// The configuration-level checks (config_checks.cc).
void RegisterConfigChecks(CheckRegistry& registry);

// Output formats for `cloudcoop check`.
std::string FormatChecksTable(const std::vector<CheckReport>& reports, bool color);
std::string FormatChecksJson(const std::vector<CheckReport>& reports);
std::string FormatChecksSarif(const std::vector<CheckReport>& reports, std::string_view version);

}  // namespace cloudcoop::policy

#endif  // CLOUDCOOP_POLICY_CHECKS_H_
