#include "cli/dashboard_audit.h"

#include <algorithm>

#include "audit/query.h"
#include "audit/record.h"
#include "core/clock.h"
#include "core/strings.h"

namespace cloudcoop::cli {
namespace {

std::string ValueText(const audit::FieldValue& v) {
  switch (v.kind()) {
    case audit::FieldValue::Kind::kNull: return "null";
    case audit::FieldValue::Kind::kBool: return v.as_bool() ? "true" : "false";
    case audit::FieldValue::Kind::kInt: return std::to_string(v.as_int());
    case audit::FieldValue::Kind::kString: return v.as_string();
    case audit::FieldValue::Kind::kList: {
      std::vector<std::string> words;
      for (const auto& item : v.as_list()) words.push_back(ShellQuoteForDisplay(ValueText(item)));
      return Join(words, " ");
    }
    case audit::FieldValue::Kind::kObject: {
      std::vector<std::string> parts;
      for (const auto& [k, item] : v.as_object()) parts.push_back(k + "=" + ValueText(item));
      return "{" + Join(parts, " ") + "}";
    }
  }
  return "";
}

// "k=v k2=v2" of the fields not already shown.
std::string Rest(const audit::Fields& fields, const std::vector<std::string>& shown) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : fields) {
    if (std::find(shown.begin(), shown.end(), k) != shown.end()) continue;
    parts.push_back(k + "=" + ValueText(v));
  }
  return Join(parts, " ");
}

std::string Field(const audit::Fields& fields, const std::string& key) {
  auto it = fields.find(key);
  return it == fields.end() ? std::string() : ValueText(it->second);
}

void Keep(std::deque<tui::AuditRecord>& q, tui::AuditRecord r, size_t keep) {
  q.push_back(std::move(r));
  while (q.size() > keep) q.pop_front();
}

}  // namespace

DashboardAuditFeed::DashboardAuditFeed(std::string dir, size_t keep)
    : keep_(keep), reader_(std::make_unique<audit::LogReader>(std::move(dir))) {}

DashboardAuditFeed::~DashboardAuditFeed() = default;

tui::AuditRecord DashboardAuditFeed::Convert(const audit::Record& rec) {
  tui::AuditRecord out;
  if (!ParseRfc3339(rec.time, &out.at)) out.at = SystemTime{};
  out.kind = std::string(audit::RecordTypeName(rec.type));
  const audit::Fields& f = rec.fields;
  std::string rest;
  switch (rec.type) {
    case audit::RecordType::kExec: {
      std::string argv = Field(f, "argv");
      out.detail = argv.empty() ? Field(f, "exe") : argv;
      rest = Rest(f, {"argv", "exe", "argv_truncated", "argc"});
      if (f.count("argv_truncated")) out.detail += " …(argv cut, " + Field(f, "argc") + " args)";
      break;
    }
    case audit::RecordType::kDenial:
      out.detail = Field(f, "what");
      rest = Rest(f, {"what"});
      break;
    case audit::RecordType::kLifecycle:
      out.detail = Field(f, "event");
      rest = Rest(f, {"event"});
      break;
    default:
      rest = Rest(f, {});
      break;
  }
  if (!rest.empty()) out.detail += (out.detail.empty() ? "" : "  ") + rest;
  return out;
}

StatusOr<std::vector<tui::AuditRecord>> DashboardAuditFeed::Records(const std::string& agent, int max) {
  std::lock_guard<std::mutex> lock(mu_);
  Status st = reader_->ReadNew(
      [&](const audit::Record& rec, std::string_view) {
        if (rec.agent.empty()) return;
        if (rec.type != audit::RecordType::kExec && rec.type != audit::RecordType::kDenial &&
            rec.type != audit::RecordType::kLifecycle) {
          return;
        }
        Keep(by_agent_[rec.agent], Convert(rec), keep_);
      },
      [&](const std::string& segment, uint64_t offset, const Status& why) {
        Keep(bad_, tui::AuditRecord{SystemTime{}, "BAD LINE", segment + " at byte " + std::to_string(offset) + ": " + why.message()},
             keep_);
      });
  if (!st.ok()) return st.Annotate("read the audit log for the dashboard");
  std::vector<tui::AuditRecord> out(bad_.begin(), bad_.end());
  const auto& mine = by_agent_[agent];
  out.insert(out.end(), mine.begin(), mine.end());
  if (max >= 0 && out.size() > static_cast<size_t>(max)) out.erase(out.begin(), out.end() - max);
  return out;
}

}  // namespace cloudcoop::cli
