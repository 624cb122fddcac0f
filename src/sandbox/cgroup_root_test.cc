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
    // A test's own parent (the sandboxes' `cloudcoop` is shared and stays).
    for (const auto& [controller, mount] : layout_.controllers) rmdir(JoinPath(mount, parent_).c_str());
    if (!layout_.unified.empty()) rmdir(JoinPath(layout_.unified, parent_).c_str());
  }

  cgroup::Cgroup* Make(const std::string& name, const std::string& parent = "cloudcoop") {
    groups_.push_back(cgroup::Open(layout_, parent, name));
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
  // Groups under a parent of the test's own: other tests' gc runs sweep `cloudcoop` meanwhile.
  std::string parent_ = "cc-test-parent-" + std::to_string(getpid());
  std::vector<std::unique_ptr<cgroup::Cgroup>> groups_;
  cloudcoop::testing::TempDir state;
};

// The idle supervisor's tick reads two counters only; they are the real hierarchy's, as the full read's.
TEST_F(CgroupCleanupTest, TheLimitHitCountersAreTheFullUsagesOnes) {
  cgroup::Cgroup* g = Make(Unique("hits"));
  int go[2], done[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(done), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(1);
    // Past the group's pids limit (16): forks start failing, and pids.events counts each refusal.
    for (int i = 0; i < 40; ++i) {
      pid_t p = fork();
      if (p == 0) {
        for (;;) pause();
      }
    }
    if (write(done[1], "x", 1) != 1) _exit(1);
    for (;;) pause();
  }
  ASSERT_TRUE(g->JoinFromParent(child).ok());
  ASSERT_EQ(write(go[1], "g", 1), 1);
  char c;
  ASSERT_EQ(read(done[0], &c, 1), 1);
  auto hits = cgroup::LimitHitCounters::Open(*g);
  uint64_t oom = 99, pids = 99;
  bool read = hits.ok() && hits->Read(&oom, &pids);
  auto usage = g->ReadUsage();
  EXPECT_TRUE(g->KillAll().ok());
  waitpid(child, nullptr, 0);
  for (int fd : {go[0], go[1], done[0], done[1]}) close(fd);
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  ASSERT_TRUE(read);
  ASSERT_TRUE(usage.ok()) << usage.status().ToString();
  EXPECT_GT(pids, 0u) << "40 forks in a group limited to 16 processes";
  EXPECT_EQ(pids, usage->pids_max_hits);
  EXPECT_EQ(oom, usage->oom_kills);
}

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

TEST_F(CgroupCleanupTest, OldEmptyUnclaimedGroupsAreRemovedButNotYoungBusyOrClaimedOnes) {
  cgroup::Cgroup* orphan = Make(Unique("orphan"), parent_);
  cgroup::Cgroup* claimed = Make(Unique("claimed"), parent_);
  cgroup::Cgroup* young = Make(Unique("young"), parent_);
  cgroup::Cgroup* busy = Make(Unique("busy"), parent_);
  for (auto* g : {orphan, claimed, busy}) {
    for (const auto& d : Dirs(*g)) Age(d);
  }
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

  EXPECT_EQ(CollectOrphanGroups({Unique("claimed")}, parent_, kOrphanGroupMinAgeSeconds), 1);
  for (const auto& d : Dirs(*orphan)) EXPECT_FALSE(PathExists(d)) << d << ": an old, empty, unclaimed group stayed";
  for (const auto& d : Dirs(*claimed)) EXPECT_TRUE(PathExists(d)) << d << ": a group a record claims was removed";
  for (const auto& d : Dirs(*young)) EXPECT_TRUE(PathExists(d)) << d << ": a group made a moment ago was removed";
  for (const auto& d : Dirs(*busy)) EXPECT_TRUE(PathExists(d)) << d << ": a group with a member was removed";

  close(go[1]);
  waitpid(member, nullptr, 0);
}

TEST_F(CgroupCleanupTest, SandboxGcSweepsTheSandboxesParent) {
  cgroup::Cgroup* orphan = Make(Unique("gc-orphan"));
  for (const auto& d : Dirs(*orphan)) Age(d);
  auto report = CollectStale(state.path());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  // Gone (this gc or another test's, running meanwhile, took it).
  for (const auto& d : Dirs(*orphan)) EXPECT_FALSE(PathExists(d)) << d;
}

}  // namespace
}  // namespace cloudcoop::sandbox
