// Removing sandbox cgroups on this host's real cgroupfs: a cleanup cut short is finished, and gc
// removes empty groups no record leads to, but never a young group or one with members. Root.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/files.h"
#include "sandbox/cgroup.h"
#include "sandbox/control.h"
#include "testing/test_util.h"

namespace cloudcoop::sandbox {
namespace {

class CgroupCleanupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (label root)";
    auto layout = cgroup::DetectLayout("/sys/fs/cgroup");
    ASSERT_TRUE(layout.ok()) << layout.status().ToString();
    layout_ = *layout;
  }

  void TearDown() override {
    for (auto& g : groups_) (void)g->CleanupInParent();
  }

  cgroup::Cgroup* Make(const std::string& name) {
    groups_.push_back(cgroup::Open(layout_, "cloudcoop", name));
    EXPECT_TRUE(groups_.back()->PrepareInParent({1, 64 << 20, 16}).ok());
    return groups_.back().get();
  }

  std::vector<std::string> Dirs(const cgroup::Cgroup& g) const {
    std::vector<std::string> out;
    for (const auto& [k, dir] : g.Paths()) out.push_back(dir);
    return out;
  }

  // kernfs keeps the times it is given: a group made "two minutes ago".
  static void Age(const std::string& dir) {
    struct timespec times[2];
    clock_gettime(CLOCK_REALTIME, &times[0]);
    times[0].tv_sec -= 120;
    times[1] = times[0];
    ASSERT_EQ(utimensat(AT_FDCWD, dir.c_str(), times, 0), 0) << dir;
  }

  std::string Unique(const std::string& what) const { return "cc-test-" + what + "-" + std::to_string(getpid()); }

  cgroup::Layout layout_;
  std::vector<std::unique_ptr<cgroup::Cgroup>> groups_;
  cloudcoop::testing::TempDir state;
};

TEST_F(CgroupCleanupTest, ACleanupCutShortIsFinishedWhateverHierarchyWentFirst) {
  cgroup::Cgroup* g = Make(Unique("cut"));
  std::vector<std::string> dirs = Dirs(*g);
  ASSERT_FALSE(dirs.empty());
  // A supervisor killed after its first rmdir.
  ASSERT_EQ(rmdir(dirs.front().c_str()), 0) << dirs.front();
  Status s = g->CleanupInParent();
  EXPECT_TRUE(s.ok()) << s.ToString();
  for (const auto& d : dirs) EXPECT_FALSE(PathExists(d)) << d << " was left behind";
}

TEST_F(CgroupCleanupTest, GcRemovesOldEmptyUnclaimedGroupsOnly) {
  cgroup::Cgroup* orphan = Make(Unique("orphan"));
  cgroup::Cgroup* young = Make(Unique("young"));
  cgroup::Cgroup* busy = Make(Unique("busy"));
  for (const auto& d : Dirs(*orphan)) Age(d);
  for (const auto& d : Dirs(*busy)) Age(d);
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  pid_t member = fork();
  ASSERT_GE(member, 0);
  if (member == 0) {
    close(go[1]);
    char c;
    (void)!read(go[0], &c, 1);  // until the test ends
    _exit(0);
  }
  close(go[0]);
  ASSERT_TRUE(busy->JoinFromParent(member).ok());

  auto report = CollectStale(state.path());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_GE(report->groups, 1);
  for (const auto& d : Dirs(*orphan)) EXPECT_FALSE(PathExists(d)) << d << ": an old, empty, unclaimed group stayed";
  for (const auto& d : Dirs(*young)) EXPECT_TRUE(PathExists(d)) << d << ": a group made a moment ago was removed";
  for (const auto& d : Dirs(*busy)) EXPECT_TRUE(PathExists(d)) << d << ": a group with a member was removed";

  close(go[1]);
  waitpid(member, nullptr, 0);
}

}  // namespace
}  // namespace cloudcoop::sandbox
