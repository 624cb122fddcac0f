// The dashboard's changes are audited control actions: the real audit log (written by the audit
// Logger, read back with its reader) holds start and end of each, the form's
// sandbox switch shows as --unsandboxed, and a change whose start cannot be recorded is not made.
#include <gtest/gtest.h>

#include "audit/query.h"
#include "audit/record.h"
#include "cli/dashboard_audited.h"
#include "testing/test_util.h"
#include "tui/fake_source.h"

namespace cloudcoop::cli {
namespace {

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(DashboardAuditedTest, UnsandboxedAddAndKillAreRecordedBeforeAndAfter) {
  FakeClock clock;
  testing::TempDir tmp;
  auto fake_owned = std::make_unique<tui::FakeHostSource>(clock);
  tui::FakeHostSource* fake = fake_owned.get();
  audit::AuditTarget target = audit::AuditTarget::For(tmp.Sub("state"), AuditSettings{}, SecretSettings{});
  auto source = WithAuditedActions(std::move(fake_owned), target);

  tui::AddForm form;
  form.name = "risky";
  form.profile = "shell";
  form.unsandboxed = true;
  auto added = source->Add(form);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  ASSERT_EQ(fake->actions().size(), 1u);
  EXPECT_TRUE(Contains(fake->actions()[0], "UNSANDBOXED")) << "the switch reaches the host unchanged";
  ASSERT_TRUE(source->Kill("risky").ok());

  // The raw control records of the agent, as the audit log holds them.
  std::vector<std::string> lines;
  audit::LogReader reader(audit::AuditDirFor(tmp.Sub("state")));
  Status st = reader.ReadNew(
      [&](const audit::Record& rec, std::string_view line) {
        if (rec.agent == "risky" && rec.type == audit::RecordType::kControl) lines.emplace_back(line);
      },
      [&](const std::string& segment, uint64_t offset, const Status& why) {
        ADD_FAILURE() << segment << " at " << offset << ": " << why.ToString();
      });
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  ASSERT_EQ(lines.size(), 4u) << all;  // add start, add end, kill start, kill end
  EXPECT_TRUE(Contains(lines[0], "dashboard agent add")) << all;
  EXPECT_TRUE(Contains(lines[0], "--unsandboxed")) << all;
  EXPECT_TRUE(Contains(lines[0], "--profile=shell")) << all;
  EXPECT_TRUE(Contains(lines[1], "dashboard agent add")) << all;
  EXPECT_TRUE(Contains(lines[2], "dashboard agent kill")) << all;

  EXPECT_EQ(AddFormAuditArgs(tui::AddForm{.name = " safe "}), std::vector<std::string>{"safe"})
      << "no --unsandboxed unless switched";
}

TEST(DashboardAuditedTest, NoRecordNoChange) {
  FakeClock clock;
  testing::TempDir tmp;
  auto fake_owned = std::make_unique<tui::FakeHostSource>(clock);
  tui::FakeHostSource* fake = fake_owned.get();
  // The state directory lies under a regular file: nothing can be recorded there, not even as root.
  std::string blocker = tmp.Write("blocker", "");
  auto source = WithAuditedActions(std::move(fake_owned),
                                   audit::AuditTarget::For(blocker + "/state", AuditSettings{}, SecretSettings{}));
  tui::AddForm form;
  form.name = "risky";
  form.unsandboxed = true;
  auto added = source->Add(form);
  ASSERT_FALSE(added.ok());
  EXPECT_TRUE(Contains(added.status().message(), "dashboard agent add was not done: its start could not be recorded"))
      << added.status().ToString();
  EXPECT_FALSE(added.status().fix().empty());
  EXPECT_TRUE(fake->actions().empty()) << "the host was not asked";
  // Panic acts anyway and says it was not recorded.
  auto panicked = source->Panic("test");
  ASSERT_TRUE(panicked.ok()) << panicked.status().ToString();
  EXPECT_TRUE(Contains(*panicked, "NOT in the audit log")) << *panicked;
  ASSERT_EQ(fake->actions().size(), 1u);
}

}  // namespace
}  // namespace cloudcoop::cli
