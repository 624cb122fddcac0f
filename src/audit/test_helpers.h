// Helpers shared by the audit tests (test code only).
#ifndef CLOUDCOOP_AUDIT_TEST_HELPERS_H_
#define CLOUDCOOP_AUDIT_TEST_HELPERS_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "audit/logger.h"
#include "audit/verify.h"
#include "core/files.h"

namespace cloudcoop::audit::testing {

inline Event ExecEvent(int i, const std::string& agent = "web") {
  return {RecordType::kExec, agent, {{"kind", "agent"}, {"name", agent}},
          {{"argv", std::vector<std::string>{"/bin/echo", "n" + std::to_string(i)}}, {"i", i}, {"pid", 1000 + i}}};
}

inline std::unique_ptr<Logger> MustOpen(LoggerOptions options) {
  auto logger = Logger::Open(std::move(options));
  EXPECT_TRUE(logger.ok()) << logger.status().ToString();
  return logger.ok() ? std::move(*logger) : nullptr;
}

inline VerifyReport MustVerify(const std::string& dir, std::optional<SavedHead> saved = std::nullopt) {
  auto report = Verify({dir, saved});
  EXPECT_TRUE(report.ok()) << report.status().ToString();
  return report.ok() ? *report : VerifyReport{};
}

inline std::string ProblemText(const VerifyReport& r) {
  if (r.missing) return "missing";
  if (!r.problem) return "ok";
  return r.problem->segment + ":" + std::to_string(r.problem->line) + ": " + r.problem->message;
}

// Every segment file of the log, in order.
inline std::vector<std::string> Segments(const std::string& dir) {
  std::vector<std::string> out;
  auto names = ListDir(dir);
  if (!names.ok()) return out;
  for (const auto& n : *names) {
    if (ParseSegmentName(n)) out.push_back(JoinPath(dir, n));
  }
  return out;
}

// Concatenated content of every segment.
inline std::string AllRecords(const std::string& dir) {
  std::string all;
  for (const auto& s : Segments(dir)) all += *ReadFile(s);
  return all;
}

}  // namespace cloudcoop::audit::testing

#endif  // CLOUDCOOP_AUDIT_TEST_HELPERS_H_
