// cloudcoop audit verify [--head FILE] [--json]: check the whole hash chain, the head and
// retention checkpoints; exit 3 with the first bad record on any tampering.
#include <nlohmann/json.hpp>
#include <ostream>

#include "audit/control.h"
#include "audit/verify.h"
#include "cli/command.h"
#include "core/files.h"
#include "core/paths.h"

namespace cloudcoop::cli {
namespace {

nlohmann::json ReportJson(const std::string& dir, const audit::VerifyReport& r) {
  nlohmann::json j = {{"dir", dir},
                      {"ok", r.ok()},
                      {"missing", r.missing},
                      {"records", r.records},
                      {"segments", r.segments},
                      {"first_seq", r.first_seq},
                      {"last_seq", r.last_seq},
                      {"last_hash", r.last_hash},
                      {"head", {{"seq", r.head.seq}, {"hash", r.head.hash}, {"segment", r.head.segment}, {"end", r.head.end}}},
                      {"after_head", r.after_head},
                      {"saved_head_checked", r.saved_head_checked},
                      {"notes", r.notes}};
  if (r.problem) {
    j["problem"] = {{"segment", r.problem->segment},
                    {"line", r.problem->line},
                    {"offset", r.problem->offset},
                    {"seq", r.problem->seq},
                    {"message", r.problem->message}};
  }
  return j;
}

void PrintText(std::ostream& out, std::ostream& err, const std::string& dir, const audit::VerifyReport& r) {
  if (r.missing) {
    err << "cloudcoop: audit verify: no audit log at " << dir << " (nothing was recorded, or it was removed)\n";
    return;
  }
  if (r.problem) {
    const auto& p = *r.problem;
    err << "cloudcoop: audit verify: FAILED at the first bad record:\n  ";
    if (!p.segment.empty()) {
      err << dir << "/" << p.segment;
      if (p.line) err << " line " << p.line << " (byte " << p.offset << ")";
      if (p.seq) err << ", seq " << p.seq;
      err << ": ";
    }
    err << p.message << "\n  fix: keep " << dir << " as evidence; compare with a head saved by `cloudcoop audit head`\n";
    return;
  }
  out << "audit log " << dir << " verifies: " << r.records << " record" << (r.records == 1 ? "" : "s");
  if (r.records > 0) out << " (seq " << r.first_seq << ".." << r.last_seq << ")";
  out << " in " << r.segments << " segment" << (r.segments == 1 ? "" : "s") << "; head at seq " << r.head.seq << "\n";
  if (r.after_head > 0) {
    out << "  " << r.after_head << " record(s) after the head are complete and chained but not yet anchored "
        << "(a batch being written, or an interrupted write: `cloudcoop audit recover` anchors them)\n";
  }
  if (r.saved_head_checked) out << "  the saved head matches the log\n";
  for (const auto& n : r.notes) out << "  note: " << n << "\n";
}

int RunAuditVerify(Invocation& inv) {
  std::string dir = audit::AuditDirFor(StateDirFromEnv());
  audit::VerifyOptions options{dir, std::nullopt};
  if (auto file = inv.Value("head")) {
    auto text = ReadFile(*file);
    if (!text.ok()) return inv.Fail(text.status().Annotate("audit verify --head"));
    auto saved = audit::ParseSavedHead(*text);
    if (!saved.ok()) return inv.Fail(saved.status());
    options.saved = *saved;
  }
  auto report = audit::Verify(options);
  if (!report.ok()) return inv.Fail(report.status());
  if (inv.json()) {
    inv.out() << ReportJson(dir, *report).dump(2) << "\n";
  } else {
    PrintText(inv.out(), inv.err(), dir, *report);
  }
  return report->ok() ? 0 : 3;
}

}  // namespace

extern const CommandSpec kAuditVerifyCommand = {
    .name = "audit verify",
    .category = Category::kAudit,
    .summary = "verify the audit log's hash chain and head (exit 3 on any tampering)",
    .flags = {{"head", FlagKind::kValue, "FILE", "also check a head saved earlier with `cloudcoop audit head`"},
              {"json", FlagKind::kBool, "", "print the report as JSON"}},
    .description = "Checks every record (canonical form, sequence, hash of the previous record), the head\n"
                   "(so a cut-off tail is found), retention checkpoints, quarantined torn records and,\n"
                   "with --head, that the log still contains the saved head's record unchanged. Anyone\n"
                   "who can write the audit directory could rewrite log and head together; a head saved\n"
                   "elsewhere is what detects that.",
    .run = RunAuditVerify,
};

}  // namespace cloudcoop::cli
