#include "core/files.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace cloudcoop {
namespace {

using testing::TempDir;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(FilesTest, AtomicWriteCreatesPrivateFile) {
  TempDir dir;
  std::string path = dir.Sub("a.toml");
  ASSERT_TRUE(WriteFileAtomic(path, "hello").ok());
  EXPECT_EQ(*ReadFile(path), "hello");
  EXPECT_EQ(ModeOf(path), 0600u);
}

TEST(FilesTest, AtomicWriteReplacesAndLeavesNoTemporaries) {
  TempDir dir;
  std::string path = dir.Sub("a");
  ASSERT_TRUE(WriteFileAtomic(path, "one").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "two", 0644).ok());
  EXPECT_EQ(*ReadFile(path), "two");
  EXPECT_EQ(ModeOf(path), 0644u);
  auto names = ListDir(dir.path());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"a"});
}

TEST(FilesTest, AtomicWriteIntoMissingDirectoryFailsCleanly) {
  TempDir dir;
  Status st = WriteFileAtomic(dir.Sub("missing/a"), "x");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("create temporary file"), std::string::npos);
  EXPECT_FALSE(PathExists(dir.Sub("missing")));
}

TEST(FilesTest, ReadersNeverSeeATornFile) {
  // A child rewrites the file in a loop while the parent reads it: every read is one of the two
  // complete contents.
  TempDir dir;
  std::string path = dir.Sub("f");
  std::string a(100000, 'a'), b(100000, 'b');
  ASSERT_TRUE(WriteFileAtomic(path, a).ok());
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < 200; ++i) {
      if (!WriteFileAtomic(path, i % 2 ? a : b).ok()) _exit(1);
    }
    _exit(0);
  }
  for (int i = 0; i < 400; ++i) {
    auto content = ReadFile(path);
    ASSERT_TRUE(content.ok());
    ASSERT_TRUE(*content == a || *content == b) << "torn read of size " << content->size();
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(FilesTest, MakeDirsCreatesPrivateTree) {
  TempDir dir;
  std::string deep = dir.Sub("x/y/z");
  ASSERT_TRUE(MakeDirs(deep).ok());
  EXPECT_TRUE(IsDirectory(deep));
  EXPECT_EQ(ModeOf(dir.Sub("x")), 0700u);
  EXPECT_EQ(ModeOf(deep), 0700u);
  EXPECT_TRUE(MakeDirs(deep).ok());  // idempotent
  dir.Write("file", "x");
  Status st = MakeDirs(dir.Sub("file"));
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
}

TEST(FilesTest, RemoveTreeDoesNotFollowSymlinks) {
  TempDir dir, outside;
  outside.Write("keep", "precious");
  dir.Write("t/a/b", "x");
  ASSERT_EQ(symlink(outside.path().c_str(), dir.Sub("t/link").c_str()), 0);
  ASSERT_TRUE(RemoveTree(dir.Sub("t")).ok());
  EXPECT_FALSE(PathExists(dir.Sub("t")));
  EXPECT_EQ(*ReadFile(outside.Sub("keep")), "precious");
  EXPECT_TRUE(RemoveTree(dir.Sub("t")).ok());  // missing is fine
}

TEST(FilesTest, PathHelpers) {
  EXPECT_EQ(Dirname("/a/b/c"), "/a/b");
  EXPECT_EQ(Dirname("/a"), "/");
  EXPECT_EQ(Dirname("a"), ".");
  EXPECT_EQ(Basename("/a/b/c/"), "c");
  EXPECT_EQ(JoinPath("/a", "b"), "/a/b");
  EXPECT_EQ(JoinPath("/a/", "/abs"), "/abs");
}

TEST(FilesTest, FileLockSerialises) {
  TempDir dir;
  std::string lock = dir.Sub("lock");
  std::string counter = dir.Sub("counter");
  ASSERT_TRUE(WriteFileAtomic(counter, "0").ok());
  // Four processes each increment a counter 50 times under the lock: no update is lost.
  std::vector<pid_t> pids;
  for (int p = 0; p < 4; ++p) {
    pid_t pid = fork();
    if (pid == 0) {
      for (int i = 0; i < 50; ++i) {
        auto held = FileLock::Acquire(lock);
        if (!held.ok()) _exit(1);
        int v = std::stoi(*ReadFile(counter));
        if (!WriteFileAtomic(counter, std::to_string(v + 1)).ok()) _exit(1);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(*ReadFile(counter), "200");
}

}  // namespace
}  // namespace cloudcoop
