// FreezeAll and KillAll (panic's two halves) against a process the cgroup freezer already holds:
// such a process never shows 'T', and the sweep must neither wait for it to nor lose it. Root: the
// process runs as an uid of its own, in a v1 freezer group the test makes and removes.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "core/files.h"
#include "node/procs.h"

namespace cloudcoop::node {
namespace {

constexpr const char* kFreezerRoot = "/sys/fs/cgroup/freezer";

// cgroupfs files are written in place, never replaced.
bool WriteControl(const std::string& path, const std::string& value) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  close(fd);
  return ok;
}

class FrozenProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (label root)";
    if (!IsDirectory(kFreezerRoot)) GTEST_SKIP() << "no cgroup v1 freezer on this host";
    uid_ = 1890000000u + static_cast<uint32_t>(getpid() % 100000);
    group_ = std::string(kFreezerRoot) + "/cc-procs-test-" + std::to_string(getpid());
    ASSERT_EQ(mkdir(group_.c_str(), 0755), 0) << group_;
  }

  void TearDown() override {
    if (child_ > 0) {
      (void)WriteControl(group_ + "/freezer.state", "THAWED");
      kill(child_, SIGKILL);
      waitpid(child_, nullptr, 0);
    }
    if (!group_.empty()) rmdir(group_.c_str());
  }

  // A child that drops to uid_ and sleeps, moved into the group and frozen there.
  void StartFrozenChild() {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    child_ = fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      close(ready[0]);
      if (setgid(uid_) != 0 || setuid(uid_) != 0) _exit(3);
      (void)!write(ready[1], "x", 1);
      for (;;) pause();
    }
    close(ready[1]);
    char c = 0;
    ASSERT_EQ(read(ready[0], &c, 1), 1) << "the child could not drop to its uid";
    close(ready[0]);
    ASSERT_TRUE(WriteControl(group_ + "/cgroup.procs", std::to_string(child_)));
    ASSERT_TRUE(WriteControl(group_ + "/freezer.state", "FROZEN"));
    bool frozen = false;
    for (int i = 0; i < 500 && !frozen; ++i) {
      auto state = ReadFile(group_ + "/freezer.state");
      frozen = state.ok() && state->rfind("FROZEN", 0) == 0;
      if (!frozen) usleep(2000);
    }
    ASSERT_TRUE(frozen) << "the freezer did not freeze the child";
  }

  std::function<bool(uint32_t)> Mine() const {
    uint32_t uid = uid_;
    return [uid](uint32_t u) { return u == uid; };
  }

  uint32_t uid_ = 0;
  std::string group_;
  pid_t child_ = -1;
};

TEST_F(FrozenProcessTest, FreezeAllCountsAFrozenProcessAsStoppedWithoutWaitingForIt) {
  StartFrozenChild();
  StopReport report;
  FreezeAll(Mine(), std::chrono::seconds(5), &report);
  EXPECT_EQ(report.frozen, 1);
  // One round signals it, the next finds nothing new: a sweep that waited for 'T' would go on
  // until the deadline (it never comes: the freezer holds the process before it can stop).
  EXPECT_LE(report.rounds, 3) << "the sweep kept re-signalling a process the freezer holds";

  ASSERT_TRUE(WriteControl(group_ + "/freezer.state", "THAWED"));
  KillAll(Mine(), std::chrono::seconds(5), &report);
  EXPECT_TRUE(report.survivors.empty());
  EXPECT_EQ(report.killed, 1);
  int status = 0;
  ASSERT_EQ(waitpid(child_, &status, 0), child_);
  child_ = -1;
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  EXPECT_TRUE(ScanProcesses(Mine()).empty());
}

}  // namespace
}  // namespace cloudcoop::node
