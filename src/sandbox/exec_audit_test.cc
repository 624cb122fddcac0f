// What exec capture reads from a caller, without a sandbox: a forked child stands in for the
// stopped caller (its memory has the parent's addresses), a directory tree for the sandbox's root.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/files.h"
#include "core/strings.h"
#include "gtest/gtest.h"
#include "sandbox/exec_audit.h"
#include "testing/test_util.h"

namespace cloudcoop::sandbox::exec_audit {
namespace {

using ::cloudcoop::testing::TempDir;

// A child that waits until killed; reaped (and killed if still there) on destruction.
class PausedChild {
 public:
  PausedChild() {
    pid_ = fork();
    if (pid_ == 0) {
      for (;;) pause();
    }
  }
  ~PausedChild() { Reap(); }
  void Reap() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
};

// ppid and uid as /proc/<pid>/status gives them.
void StatusIds(int pid, int64_t* ppid, int64_t* uid) {
  auto st = ReadFile("/proc/" + std::to_string(pid) + "/status");
  ASSERT_TRUE(st.ok());
  for (const auto& line : Split(*st, '\n', true)) {
    if (StartsWith(line, "PPid:")) *ppid = std::strtoll(line.c_str() + 5, nullptr, 10);
    if (StartsWith(line, "Uid:")) *uid = std::strtoll(line.c_str() + 4, nullptr, 10);
  }
}

TEST(ExecAuditCollectTest, CallerIdsAreTheProcessTablesAndAGoneCallerIsReported) {
  PausedChild child;
  ASSERT_GT(child.pid(), 0);
  int64_t ppid = -1, uid = -1;
  ASSERT_TRUE(ReadCallerIds(child.pid(), &ppid, &uid));
  EXPECT_EQ(ppid, getpid());
  EXPECT_EQ(uid, static_cast<int64_t>(getuid()));
  int64_t want_ppid = -2, want_uid = -2;
  StatusIds(child.pid(), &want_ppid, &want_uid);
  EXPECT_EQ(ppid, want_ppid);
  EXPECT_EQ(uid, want_uid);
  int pid = child.pid();
  child.Reap();
  EXPECT_FALSE(ReadCallerIds(pid, &ppid, &uid)) << "reaped";
}

// An exec from a thread other than the main one is notified with the thread's id.
TEST(ExecAuditCollectTest, CallerIdsOfAThreadAreItsProcesssParentAndUser) {
  int tid = 0;
  bool done = false;
  std::thread t([&] {
    tid = static_cast<int>(syscall(SYS_gettid));
    while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) usleep(1000);
  });
  while (__atomic_load_n(&tid, __ATOMIC_ACQUIRE) == 0) usleep(1000);
  int64_t ppid = -1, uid = -1;
  bool ok = ReadCallerIds(tid, &ppid, &uid);
  __atomic_store_n(&done, true, __ATOMIC_RELEASE);
  t.join();
  ASSERT_TRUE(ok);
  EXPECT_NE(tid, getpid());
  EXPECT_EQ(ppid, getppid());
  EXPECT_EQ(uid, static_cast<int64_t>(getuid()));
}

TEST(ExecAuditCollectTest, PathAndArgvAreReadFromTheCallersMemory) {
  // Built before the fork: the child has them at the same addresses.
  // One argument crossing a page boundary, one longer than the bound.
  std::unique_ptr<char, decltype(&free)> owned(static_cast<char*>(aligned_alloc(4096, 2 * 4096)), &free);
  char* pages = owned.get();
  ASSERT_NE(pages, nullptr);
  std::string crossing(1000, 'c');
  memcpy(pages + 4000, crossing.c_str(), crossing.size() + 1);
  std::string long_arg(3 * 4096 + 17, 'x');
  const char* path = "./run/../bin/tool";
  const char* argv[] = {"tool", "two words", "", pages + 4000, long_arg.c_str(), nullptr};
  PausedChild child;
  ASSERT_GT(child.pid(), 0);
  uint64_t args[6] = {reinterpret_cast<uint64_t>(path), reinterpret_cast<uint64_t>(argv), 0, 0, 0, 0};
  Captured c;
  ASSERT_TRUE(CollectExec(child.pid(), __NR_execve, args, &c));
  EXPECT_EQ(c.info.pid, child.pid());
  EXPECT_EQ(c.info.ppid, getpid());
  EXPECT_EQ(c.info.via, "execve");
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(c.info.cwd, cwd);
  // Joined with the cwd, "." dropped, ".." kept (resolving it would need the file system).
  EXPECT_EQ(c.info.exe, std::string(cwd == std::string("/") ? "" : cwd) + "/run/../bin/tool");
  ASSERT_EQ(c.info.argv.size(), 5u);
  EXPECT_EQ(c.info.argv[0], "tool");
  EXPECT_EQ(c.info.argv[1], "two words");
  EXPECT_EQ(c.info.argv[2], "");
  EXPECT_TRUE(c.info.argv[3] == crossing) << c.info.argv[3].size() << " bytes";
  // Read one byte past the bound, so that the record marks the cut.
  EXPECT_EQ(c.info.argv[4].size(), audit::kMaxArgBytes + 1);
  EXPECT_TRUE(long_arg.compare(0, c.info.argv[4].size(), c.info.argv[4]) == 0);

  child.Reap();
  Captured gone;
  EXPECT_FALSE(CollectExec(INT_MAX - 1, __NR_execve, args, &gone)) << "no such process";
}

// The strings come in one batched read (ReadArgv): every edge of it must read as one string at a
// time did. An unreadable pointer in the middle (the kernel stops the batch there), strings of
// exactly the first chunk's size and around it, one ending right at a page whose next page is not
// mapped, and more arguments than are kept.
TEST(ExecAuditCollectTest, ArgvEdgesOfTheBatchedReadAreReadWhole) {
  long page = sysconf(_SC_PAGESIZE);
  // A mapped page followed by one that is not.
  auto page_before_a_hole = [page]() -> char* {
    void* p = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || munmap(static_cast<char*>(p) + page, page) != 0) return nullptr;
    return static_cast<char*>(p);
  };
  char* tail_page = page_before_a_hole();
  char* edge_page = page_before_a_hole();
  ASSERT_NE(tail_page, nullptr);
  ASSERT_NE(edge_page, nullptr);
  // "tail" ends with its NUL at the last byte of its page; "edge" has no NUL before the hole.
  std::string tail(40, 't');
  memcpy(tail_page + page - tail.size() - 1, tail.c_str(), tail.size() + 1);
  std::string edge(20, 'e');
  memcpy(edge_page + page - edge.size(), edge.data(), edge.size());
  std::string s255(255, 'a'), s256(256, 'b'), s257(257, 'c'), s600(600, 'd');
  std::vector<const char*> argv = {"cc1", s255.c_str(), reinterpret_cast<const char*>(8), s256.c_str(),
                                   s257.c_str(), tail_page + page - tail.size() - 1, s600.c_str(),
                                   edge_page + page - edge.size()};
  // A string cut by a hole keeps what could be read, as a read one string at a time did.
  std::vector<std::string> want = {"cc1", s255, "", s256, s257, tail, s600, edge};
  std::vector<std::string> many;
  for (size_t i = 0; i < audit::kMaxArgs + 40; ++i) many.push_back("arg" + std::to_string(i));
  for (const auto& m : many) argv.push_back(m.c_str());
  argv.push_back(nullptr);
  PausedChild child;
  ASSERT_GT(child.pid(), 0);
  const char* path = "/bin/cc1";
  uint64_t args[6] = {reinterpret_cast<uint64_t>(path), reinterpret_cast<uint64_t>(argv.data()), 0, 0, 0, 0};
  Captured c;
  ASSERT_TRUE(CollectExec(child.pid(), __NR_execve, args, &c));
  ASSERT_EQ(c.info.argv.size(), argv.size() - 1) << "argc counts every argument";
  for (size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(c.info.argv[i] == want[i]) << "argument " << i;
  // The first kMaxArgs + 1 are read, the rest only counted.
  for (size_t i = want.size(); i < c.info.argv.size(); ++i) {
    const std::string expect = i <= audit::kMaxArgs ? many[i - want.size()] : "";
    EXPECT_EQ(c.info.argv[i], expect) << "argument " << i;
  }
  munmap(tail_page, page);
  munmap(edge_page, page);
}

TEST(ExecAuditCollectTest, MissingPathsAreLookedUpInsideTheSandboxsRoot) {
  TempDir root;
  root.Write("usr/bin/tool", "#!/bin/sh\n");
  ASSERT_EQ(symlink("usr/bin", root.Sub("bin").c_str()), 0);
  ASSERT_EQ(symlink("/usr/bin/tool", root.Sub("abs").c_str()), 0);  // absolute: inside the root
  // Exists on the host, not in this root: found only if the lookup escaped the root.
  ASSERT_TRUE(PathExists("/proc/self"));
  ASSERT_EQ(symlink("/proc/self", root.Sub("host").c_str()), 0);
  UniqueFd dir(open(root.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir.valid());

  EXPECT_FALSE(PathMissing(dir.get(), "/usr/bin/tool"));
  EXPECT_FALSE(PathMissing(dir.get(), "/bin/tool"));
  EXPECT_FALSE(PathMissing(dir.get(), "/abs"));
  EXPECT_TRUE(PathMissing(dir.get(), "/usr/bin/other"));
  EXPECT_TRUE(PathMissing(dir.get(), "/usr/bin/tool/sub")) << "ENOTDIR";
  EXPECT_TRUE(PathMissing(dir.get(), "/host")) << "resolved outside the root";
  EXPECT_TRUE(PathMissing(dir.get(), "/../../proc/self")) << "climbed out of the root";
  // Not decidable: reported as not missing.
  EXPECT_FALSE(PathMissing(-1, "/usr/bin/other"));
  EXPECT_FALSE(PathMissing(dir.get(), "relative/path"));
  EXPECT_FALSE(PathMissing(dir.get(), ""));
}

}  // namespace
}  // namespace cloudcoop::sandbox::exec_audit
