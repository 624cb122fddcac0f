#include "policy/checks.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "core/strings.h"

namespace cloudcoop::policy {

std::string_view CheckResultName(CheckResult r) {
  switch (r) {
    case CheckResult::kPass: return "PASS";
    case CheckResult::kFail: return "FAIL";
    case CheckResult::kWarn: return "WARN";
    case CheckResult::kNotApplicable: return "N/A";
  }
  return "?";
}

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kLow: return "low";
    case Severity::kMedium: return "medium";
    case Severity::kHigh: return "high";
    case Severity::kCritical: return "critical";
  }
  return "?";
}

void CheckRegistry::Add(CheckSpec spec) { checks_.push_back(std::move(spec)); }

std::vector<CheckReport> CheckRegistry::Run(const CheckContext& ctx, std::string_view prefix) const {
  std::vector<CheckReport> reports;
  for (const auto& spec : checks_) {
    if (!prefix.empty() && !StartsWith(spec.id, prefix)) continue;
    reports.push_back({&spec, spec.run(ctx)});
  }
  return reports;
}

std::string FormatChecksTable(const std::vector<CheckReport>& reports, bool color) {
  size_t id_w = 2, covers_w = 6;
  auto covers_of = [](const CheckSpec& spec) {
    std::string covers = spec.checklist;
    if (!spec.cis.empty()) covers += covers.empty() ? spec.cis : " " + spec.cis;
    return covers;
  };
  for (const auto& r : reports) {
    id_w = std::max(id_w, r.spec->id.size());
    covers_w = std::max(covers_w, covers_of(*r.spec).size());
  }
  auto pad = [](std::string s, size_t w) {
    if (s.size() < w) s += std::string(w - s.size(), ' ');
    return s;
  };
  std::string out = pad("RESULT", 7) + pad("ID", id_w + 2) + pad("SEVERITY", 10) + pad("COVERS", covers_w + 2) + "TITLE\n";
  std::map<CheckResult, int> counts;
  for (const auto& r : reports) {
    counts[r.outcome.result]++;
    std::string result(CheckResultName(r.outcome.result));
    std::string shown = pad(result, 7);
    if (color) {
      const char* c = r.outcome.result == CheckResult::kPass   ? "\033[32m"
                      : r.outcome.result == CheckResult::kFail ? "\033[31m"
                      : r.outcome.result == CheckResult::kWarn ? "\033[33m"
                                                               : "\033[2m";
      shown = std::string(c) + result + "\033[0m" + std::string(7 - result.size(), ' ');
    }
    out += shown + pad(r.spec->id, id_w + 2) + pad(std::string(SeverityName(r.spec->severity)), 10) +
           pad(covers_of(*r.spec), covers_w + 2) + r.spec->title + "\n";
    if (!r.outcome.message.empty()) out += "       " + r.outcome.message + "\n";
    if (!r.outcome.fix.empty() && (r.outcome.result == CheckResult::kFail || r.outcome.result == CheckResult::kWarn)) {
      out += "       fix: " + r.outcome.fix + "\n";
    }
  }
  out += "\n" + std::to_string(counts[CheckResult::kPass]) + " passed, " + std::to_string(counts[CheckResult::kFail]) +
         " failed, " + std::to_string(counts[CheckResult::kWarn]) + " warnings, " +
         std::to_string(counts[CheckResult::kNotApplicable]) + " not applicable\n";
  return out;
}

std::string FormatChecksJson(const std::vector<CheckReport>& reports) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : reports) {
    arr.push_back({{"id", r.spec->id},
                   {"title", r.spec->title},
                   {"checklist", r.spec->checklist},
                   {"cis", r.spec->cis},
                   {"severity", SeverityName(r.spec->severity)},
                   {"result", CheckResultName(r.outcome.result)},
                   {"message", r.outcome.message},
                   {"fix", r.outcome.fix}});
  }
  return nlohmann::json({{"checks", arr}}).dump(2);
}

std::string FormatChecksSarif(const std::vector<CheckReport>& reports, std::string_view version) {
  nlohmann::json rules = nlohmann::json::array();
  nlohmann::json results = nlohmann::json::array();
  for (size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    std::string level = r.spec->severity >= Severity::kHigh ? "error" : "warning";
    nlohmann::json props = {{"checklist", r.spec->checklist}, {"severity", SeverityName(r.spec->severity)}};
    if (!r.spec->cis.empty()) props["cis"] = r.spec->cis;
    rules.push_back({{"id", r.spec->id},
                     {"name", r.spec->id},
                     {"shortDescription", {{"text", r.spec->title}}},
                     {"defaultConfiguration", {{"level", level}}},
                     {"properties", props}});
    std::string kind = "fail";
    std::string result_level = "none";
    switch (r.outcome.result) {
      case CheckResult::kPass: kind = "pass"; break;
      case CheckResult::kNotApplicable: kind = "notApplicable"; break;
      case CheckResult::kFail: result_level = level; break;
      case CheckResult::kWarn: result_level = "warning"; break;
    }
    std::string text = r.outcome.message;
    if (!r.outcome.fix.empty()) text += " Fix: " + r.outcome.fix;
    results.push_back({{"ruleId", r.spec->id},
                       {"ruleIndex", i},
                       {"kind", kind},
                       {"level", result_level},
                       {"message", {{"text", text.empty() ? r.spec->title : text}}}});
  }
  nlohmann::json run = {{"tool", {{"driver", {{"name", "cloudcoop"}, {"version", version}, {"informationUri", "https://github.com/cloud-coop/cloudcoop"}, {"rules", rules}}}}},
                        {"results", results}};
  nlohmann::json sarif = {{"version", "2.1.0"},
                          {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
                          {"runs", nlohmann::json::array({run})}};
  return sarif.dump(2);
}

}  // namespace cloudcoop::policy
