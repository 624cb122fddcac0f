// The GCP VM in the dashboard header: the decorator's cadence and failure handling (unit), and the
// real binary in tmux reading the VM from the fake GCP server (end to end, label tmux).
#include <gtest/gtest.h>

#include "cli/dashboard_vm.h"
#include "tui/fake_source.h"

namespace cloudcoop::cli {
namespace {

TEST(DashboardVmTest, VmIsReadAfterTheFirstSnapshotThenEveryInterval) {
  FakeClock clock;
  auto fake = std::make_unique<tui::FakeHostSource>(clock);
  int reads = 0;
  Status fail;
  VmReader read = [&]() -> StatusOr<tui::VmInfo> {
    ++reads;
    if (!fail.ok()) return fail;
    return tui::VmInfo{"cc-vm", "running", "us-central1-a", "c4a-highcpu-4", 0.05 * reads};
  };
  auto source = WithVmHeader(std::move(fake), read, clock, std::chrono::seconds(15));
  auto s1 = source->GetSnapshot();
  ASSERT_TRUE(s1.ok());
  EXPECT_FALSE(s1->host.vm.has_value()) << "the first screen does not wait for GCP";
  EXPECT_EQ(reads, 0);
  auto s2 = source->GetSnapshot();
  EXPECT_FALSE(s2->host.vm.has_value()) << "the read runs in the background, the snapshot does not wait";
  source->WaitIdle();
  EXPECT_EQ(reads, 1);
  s2 = source->GetSnapshot();
  ASSERT_TRUE(s2->host.vm.has_value());
  EXPECT_EQ(s2->host.vm->state, "running");
  EXPECT_EQ(reads, 1);
  clock.Advance(std::chrono::seconds(10));
  EXPECT_DOUBLE_EQ(*source->GetSnapshot()->host.vm->cost_per_hour, 0.05);
  EXPECT_EQ(reads, 1) << "not read again within the interval";
  clock.Advance(std::chrono::seconds(6));
  fail = UnavailableError("compute.instances.get: HTTP 503").WithFix("try again later");
  ASSERT_TRUE(source->GetSnapshot().ok());
  source->WaitIdle();
  EXPECT_EQ(reads, 2);
  auto s3 = source->GetSnapshot();
  ASSERT_TRUE(s3->host.vm.has_value()) << "the last known VM stays";
  ASSERT_EQ(s3->problems.size(), 1u);
  EXPECT_EQ(s3->problems[0], "VM status: compute.instances.get: HTTP 503 (fix: try again later)");
  // A later good read clears the problem.
  fail = OkStatus();
  clock.Advance(std::chrono::seconds(15));
  ASSERT_TRUE(source->GetSnapshot().ok());
  source->WaitIdle();
  auto s4 = source->GetSnapshot();
  EXPECT_TRUE(s4->problems.empty());
  EXPECT_DOUBLE_EQ(*s4->host.vm->cost_per_hour, 0.15);
  // Actions pass through to the agent host.
  EXPECT_EQ(source->Kill("nobody").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cloudcoop::cli
