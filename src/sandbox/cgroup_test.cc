// cgroup back-ends without root: v2 against a directory that mimics cgroupfs (this machine has no
// usable cgroup v2 controllers), v1 mount discovery from mountinfo text. The real v1 back-end is
// exercised by the root tests (sandbox_root_test).
#include "sandbox/cgroup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "core/files.h"
#include "core/strings.h"
#include "sandbox/cgroup_backends.h"
#include "sandbox/layers.h"
#include "testing/test_util.h"

namespace cloudcoop::sandbox::cgroup {
namespace {

using ::cloudcoop::testing::TempDir;

// A directory that behaves like cgroup2 where it matters: mkdir populates the interface files,
// rmdir refuses a group with members, cgroup.procs appends, cgroup.kill empties the group,
// cgroup.freeze updates cgroup.events, subtree_control accepts only controllers the parent has,
// memory.max is rounded down to pages, and a bad value is EINVAL.
class MimicCgroup2Fs : public CgroupFs {
 public:
  explicit MimicCgroup2Fs(std::string root) : root_(std::move(root)) {
    PopulateCore(root_);
    Put(JoinPath(root_, "cgroup.controllers"), "cpu memory pids hugetlb\n");
  }

  Status MakeDir(const std::string& path) override {
    bool existed = IsDirectory(path);
    CC_RETURN_IF_ERROR(CgroupFs::MakeDir(path));
    if (!existed) {
      PopulateCore(path);
      for (const auto& c : Enabled(Dirname(path))) PopulateController(path, c);
    }
    return OkStatus();
  }

  Status RemoveDir(const std::string& path) override {
    auto procs = ReadFile(JoinPath(path, "cgroup.procs"));
    if (procs.ok() && !Trim(*procs).empty()) return Kernel(EBUSY, "rmdir", path);
    auto names = ListDir(path);
    if (names.ok()) {
      for (const auto& n : *names) unlink(JoinPath(path, n).c_str());
    }
    return CgroupFs::RemoveDir(path);
  }

  // cgroup.controllers of a child is whatever its parent enables, at any moment.
  StatusOr<std::string> Read(const std::string& path) override {
    if (Basename(path) == "cgroup.controllers" && Dirname(path) != root_) {
      return Join(Enabled(Dirname(Dirname(path))), " ") + "\n";
    }
    return CgroupFs::Read(path);
  }

  Status Write(const std::string& path, const std::string& value) override {
    written_.push_back(Basename(path) + "=" + value);
    std::string dir = Dirname(path), name = Basename(path);
    if (!Exists(path)) return Kernel(ENOENT, "open", path);
    if (name == "cgroup.procs") return Append(path, value + "\n");
    if (name == "cgroup.kill") return Set(JoinPath(dir, "cgroup.procs"), "");
    if (name == "cgroup.freeze") {
      CC_RETURN_IF_ERROR(Set(path, value + "\n"));
      return Set(JoinPath(dir, "cgroup.events"), "populated 1\nfrozen " + value + "\n");
    }
    if (name == "cgroup.subtree_control") return EnableControllers(dir, value);
    if (name == "memory.max" || name == "pids.max" || name == "memory.swap.max") {
      auto v = ParseInt64(value);
      if (!v.has_value() && value != "max") return Kernel(EINVAL, "write", path);
      if (name == "memory.max" && v.has_value()) return Set(path, std::to_string(*v & ~int64_t{4095}) + "\n");
    }
    return Set(path, value + "\n");
  }

  const std::vector<std::string>& written() const { return written_; }

 private:
  // What the kernel's write(2) would return, formatted the way the real CgroupFs reports it.
  static Status Kernel(int err, const char* call, const std::string& path) {
    return LayerErrno(Layer::kCgroup, call, path, err, "(mimic cgroupfs)");
  }

  std::vector<std::string> Enabled(const std::string& dir) {
    auto text = ReadFile(JoinPath(dir, "cgroup.subtree_control"));
    return Split(text.ok() ? std::string(Trim(*text)) : "", ' ', true);
  }

  void PopulateCore(const std::string& dir) {
    Put(JoinPath(dir, "cgroup.controllers"), "\n");
    Put(JoinPath(dir, "cgroup.subtree_control"), "\n");
    Put(JoinPath(dir, "cgroup.procs"), "");
    Put(JoinPath(dir, "cgroup.events"), "populated 0\nfrozen 0\n");
    Put(JoinPath(dir, "cgroup.freeze"), "0\n");
    Put(JoinPath(dir, "cgroup.kill"), "");
  }

  void PopulateController(const std::string& dir, const std::string& c) {
    if (c == "memory") {
      Put(JoinPath(dir, "memory.max"), "max\n");
      Put(JoinPath(dir, "memory.swap.max"), "max\n");
      Put(JoinPath(dir, "memory.current"), "12288\n");
      Put(JoinPath(dir, "memory.peak"), "40960\n");
      Put(JoinPath(dir, "memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
    } else if (c == "pids") {
      Put(JoinPath(dir, "pids.max"), "max\n");
      Put(JoinPath(dir, "pids.current"), "2\n");
      Put(JoinPath(dir, "pids.events"), "max 7\n");
    } else if (c == "cpu") {
      Put(JoinPath(dir, "cpu.max"), "max 100000\n");
      Put(JoinPath(dir, "cpu.stat"),
          "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\nnr_periods 50\nnr_throttled 20\n");
    }
  }

  Status EnableControllers(const std::string& dir, const std::string& value) {
    auto available = Read(JoinPath(dir, "cgroup.controllers"));
    std::set<std::string> have, enabled;
    for (const auto& x : Split(available.ok() ? std::string(Trim(*available)) : "", ' ', true))
      have.insert(x);
    for (const auto& x : Enabled(dir)) enabled.insert(x);
    for (const auto& tok : Split(value, ' ', true)) {
      if (tok.size() < 2 || (tok[0] != '+' && tok[0] != '-'))
        return Kernel(EINVAL, "write", dir + "/cgroup.subtree_control");
      std::string c = tok.substr(1);
      if (!have.count(c)) return Kernel(ENOENT, "write", dir + "/cgroup.subtree_control (" + c + ")");
      if (tok[0] == '+' && enabled.insert(c).second) {
        auto children = ListDir(dir);
        for (const auto& child : children.ok() ? *children : std::vector<std::string>{}) {
          if (IsDirectory(JoinPath(dir, child))) PopulateController(JoinPath(dir, child), c);
        }
      }
      if (tok[0] == '-') enabled.erase(c);
    }
    return Set(JoinPath(dir, "cgroup.subtree_control"), Join({enabled.begin(), enabled.end()}, " ") + "\n");
  }

  // Plain writes (no fsync): the mimic is a scratch directory.
  static Status Set(const std::string& path, const std::string& content) {
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) return ErrnoError(errno, "open " + path);
    return WriteAll(fd.get(), content, path);
  }
  static void Put(const std::string& path, const std::string& content) { (void)Set(path, content); }
  static Status Append(const std::string& path, const std::string& content) {
    auto old = ReadFile(path);
    return Set(path, (old.ok() ? *old : "") + content);
  }

  std::string root_;
  std::vector<std::string> written_;
};

class CgroupV2Test : public ::testing::Test {
 protected:
  TempDir tmp;
  std::string root = tmp.Sub("cgroup2");
  void SetUp() override { ASSERT_EQ(mkdir(root.c_str(), 0755), 0); }
};

TEST_F(CgroupV2Test, CreatesTheGroupEnablesControllersAndWritesLimits) {
  MimicCgroup2Fs fs(root);
  Layout layout{2, root, {}};
  auto group = Open(layout, "cloudcoop", "agent-1", fs);
  ASSERT_EQ(group->version(), 2);
  EXPECT_EQ(group->Paths().at("unified"), root + "/cloudcoop/agent-1");
  Limits limits{1.5, (256ULL << 20) + 100, 128};
  Status s = group->PrepareInParent(limits);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::string dir = root + "/cloudcoop/agent-1";
  EXPECT_EQ(Trim(*ReadFile(dir + "/memory.max")), std::to_string(256ULL << 20));
  EXPECT_EQ(Trim(*ReadFile(dir + "/memory.swap.max")), "0") << "no swap beyond the memory limit";
  EXPECT_EQ(Trim(*ReadFile(dir + "/pids.max")), "128");
  EXPECT_EQ(Trim(*ReadFile(dir + "/cpu.max")), "150000 100000");
  EXPECT_EQ(Trim(*ReadFile(root + "/cgroup.subtree_control")), "cpu memory pids");
  EXPECT_EQ(Trim(*ReadFile(root + "/cloudcoop/cgroup.subtree_control")), "cpu memory pids");
  EXPECT_TRUE(group->VerifyLimits(limits).ok());
}

TEST_F(CgroupV2Test, ReadBackCatchesALimitChangedBehindOurBack) {
  MimicCgroup2Fs fs(root);
  auto group = Open(Layout{2, root, {}}, "cloudcoop", "agent-1", fs);
  Limits limits{1, 64ULL << 20, 64};
  ASSERT_TRUE(group->PrepareInParent(limits).ok());
  ASSERT_TRUE(WriteFileAtomic(root + "/cloudcoop/agent-1/pids.max", "max\n", 0644).ok());
  Status s = group->VerifyLimits(limits);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kCheckFailed);
  EXPECT_NE(s.message().find("pids.max"), std::string::npos);
}

TEST_F(CgroupV2Test, MissingControllerFailsClosedNamingIt) {
  MimicCgroup2Fs fs(root);
  ASSERT_TRUE(WriteFileAtomic(root + "/cgroup.controllers", "cpu pids\n", 0644).ok());  // no memory
  auto group = Open(Layout{2, root, {}}, "cloudcoop", "agent-1", fs);
  Status s = group->PrepareInParent({1, 64ULL << 20, 64});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("sandbox layer cgroup"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("memory"), std::string::npos) << s.message();
}

TEST_F(CgroupV2Test, JoinListsThePidAndUsageIsParsed) {
  MimicCgroup2Fs fs(root);
  auto group = Open(Layout{2, root, {}}, "cloudcoop", "agent-1", fs);
  ASSERT_TRUE(group->PrepareInParent({0.5, 64ULL << 20, 64}).ok());
  ASSERT_TRUE(group->JoinFromParent(4242).ok());
  auto procs = group->Procs();
  ASSERT_TRUE(procs.ok());
  EXPECT_EQ(*procs, std::vector<pid_t>{4242});
  auto usage = group->ReadUsage();
  ASSERT_TRUE(usage.ok()) << usage.status().ToString();
  EXPECT_EQ(usage->cpu_usec, 1500000u);
  EXPECT_EQ(usage->memory_bytes, 12288u);
  EXPECT_EQ(usage->memory_peak_bytes, 40960u);
  EXPECT_EQ(usage->pids, 2);
  EXPECT_EQ(usage->oom_kills, 1u);
  EXPECT_EQ(usage->throttled_periods, 20u);
  EXPECT_EQ(usage->pids_max_hits, 7u);
  EXPECT_EQ(usage->limits.pids, 64);
  EXPECT_DOUBLE_EQ(usage->limits.cpus, 0.5);
  EXPECT_EQ(usage->limits.memory_bytes, 64ULL << 20);
  // What `agent list` reads: the same three counters, nothing else.
  auto counters = group->ReadCounters();
  ASSERT_TRUE(counters.ok()) << counters.status().ToString();
  EXPECT_EQ(counters->cpu_usec, usage->cpu_usec);
  EXPECT_EQ(counters->memory_bytes, usage->memory_bytes);
  EXPECT_EQ(counters->pids, usage->pids);
  // What the idle supervisor reads every few seconds: the two limit counters, through descriptors.
  auto hits = LimitHitCounters::Open(*group);
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  uint64_t oom = 99, pids = 99;
  ASSERT_TRUE(hits->Read(&oom, &pids));
  EXPECT_EQ(oom, usage->oom_kills);
  EXPECT_EQ(pids, usage->pids_max_hits);
  // Read again from the start, not where the last read ended.
  {
    UniqueFd f(open((root + "/cloudcoop/agent-1/pids.events").c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    ASSERT_TRUE(f.valid());
    ASSERT_EQ(write(f.get(), "max 12\n", 7), 7);
  }
  ASSERT_TRUE(hits->Read(&oom, &pids));
  EXPECT_EQ(pids, 12u);
  EXPECT_EQ(oom, 1u);
}

TEST_F(CgroupV2Test, KillUsesCgroupKillAndCleanupRemovesTheGroup) {
  MimicCgroup2Fs fs(root);
  auto group = Open(Layout{2, root, {}}, "cloudcoop", "agent-1", fs);
  ASSERT_TRUE(group->PrepareInParent({1, 64ULL << 20, 64}).ok());
  ASSERT_TRUE(group->JoinFromParent(4242).ok());
  EXPECT_FALSE(fs.RemoveDir(root + "/cloudcoop/agent-1").ok()) << "a populated group cannot be removed";
  ASSERT_TRUE(group->KillAll().ok());
  EXPECT_NE(std::find(fs.written().begin(), fs.written().end(), "cgroup.kill=1"), fs.written().end());
  ASSERT_TRUE(group->CleanupInParent().ok());
  EXPECT_FALSE(IsDirectory(root + "/cloudcoop/agent-1"));
  EXPECT_TRUE(IsDirectory(root + "/cloudcoop")) << "the shared parent stays";
}

// The supervisor removes its group as soon as its init is gone, which can fall between a
// kill's look at cgroup.procs and its read: a group gone meanwhile has no members, not an error.
TEST_F(CgroupV2Test, AGroupRemovedBetweenTheLookAndTheReadHasNoMembers) {
  class RemovedOnRead : public MimicCgroup2Fs {
   public:
    using MimicCgroup2Fs::MimicCgroup2Fs;
    StatusOr<std::string> Read(const std::string& path) override {
      if (remove_on_read && Basename(path) == "cgroup.procs") {
        remove_on_read = false;
        (void)MimicCgroup2Fs::RemoveDir(Dirname(path));
      }
      return MimicCgroup2Fs::Read(path);
    }
    bool remove_on_read = false;
  };
  RemovedOnRead fs(root);
  auto group = Open(Layout{2, root, {}}, "cloudcoop", "agent-1", fs);
  ASSERT_TRUE(group->PrepareInParent({1, 64ULL << 20, 64}).ok());
  fs.remove_on_read = true;
  auto procs = group->Procs();
  ASSERT_TRUE(procs.ok()) << procs.status().ToString();
  EXPECT_TRUE(procs->empty());
  EXPECT_TRUE(group->KillAll().ok());
}

// The same for a kill or a freeze (panic) whose write lands after the removal.
TEST_F(CgroupV2Test, AGroupRemovedBeforeAKillOrFreezeWriteIsDoneNotAnError) {
  class RemovedOnWrite : public MimicCgroup2Fs {
   public:
    using MimicCgroup2Fs::MimicCgroup2Fs;
    Status Write(const std::string& path, const std::string& value) override {
      if (remove_on != "" && Basename(path) == remove_on) {
        remove_on = "";
        (void)MimicCgroup2Fs::Write(Dirname(path) + "/cgroup.kill", "1");  // empties it
        (void)MimicCgroup2Fs::RemoveDir(Dirname(path));
      }
      return MimicCgroup2Fs::Write(path, value);
    }
    std::string remove_on;
  };
  for (const char* file : {"cgroup.kill", "cgroup.freeze"}) {
    SCOPED_TRACE(file);
    RemovedOnWrite fs(root);
    auto group = Open(Layout{2, root, {}}, "cloudcoop", "agent-1", fs);
    ASSERT_TRUE(group->PrepareInParent({1, 64ULL << 20, 64}).ok());
    ASSERT_TRUE(group->JoinFromParent(4242).ok());
    fs.remove_on = file;
    Status s = std::string(file) == "cgroup.kill" ? group->KillAll() : group->Freeze(true);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_FALSE(IsDirectory(root + "/cloudcoop/agent-1"));
  }
}

TEST_F(CgroupV2Test, FreezeWaitsForTheFrozenEvent) {
  MimicCgroup2Fs fs(root);
  auto group = Open(Layout{2, root, {}}, "cloudcoop", "agent-1", fs);
  ASSERT_TRUE(group->PrepareInParent({1, 64ULL << 20, 64}).ok());
  ASSERT_TRUE(group->Freeze(true).ok());
  EXPECT_EQ(Trim(*ReadFile(root + "/cloudcoop/agent-1/cgroup.freeze")), "1");
  ASSERT_TRUE(group->Freeze(false).ok());
}

TEST_F(CgroupV2Test, AGroupHeldByAnotherSandboxIsNeitherReusedNorCleanedUp) {
  MimicCgroup2Fs fs(root);
  auto first = Open(Layout{2, root, {}}, "cloudcoop", "agent-1", fs);
  ASSERT_TRUE(first->PrepareInParent({1, 64ULL << 20, 64}).ok());
  ASSERT_TRUE(first->JoinFromParent(4242).ok());
  auto second = Open(Layout{2, root, {}}, "cloudcoop", "agent-1", fs);
  Status s = second->PrepareInParent({1, 64ULL << 20, 64});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(second->CleanupInParent().ok());
  auto procs = first->Procs();
  ASSERT_TRUE(procs.ok());
  EXPECT_EQ(*procs, std::vector<pid_t>{4242}) << "the failed second start must not kill the first";
}

TEST_F(CgroupV2Test, AStaleEmptyGroupIsReused) {
  MimicCgroup2Fs fs(root);
  ASSERT_TRUE(fs.MakeDir(root + "/cloudcoop").ok());
  ASSERT_TRUE(fs.MakeDir(root + "/cloudcoop/agent-1").ok());
  auto group = Open(Layout{2, root, {}}, "cloudcoop", "agent-1", fs);
  EXPECT_TRUE(group->PrepareInParent({1, 64ULL << 20, 64}).ok());
}

TEST(CgroupLayoutTest, APlainDirectoryIsNotACgroupFilesystem) {
  TempDir tmp;
  auto layout = DetectLayout(tmp.path());
  ASSERT_FALSE(layout.ok());
  EXPECT_NE(layout.status().message().find("sandbox layer cgroup"), std::string::npos)
      << layout.status().message();
  EXPECT_NE(layout.status().fix().find("--allow-degraded cgroup"), std::string::npos);
}

TEST(CgroupLayoutTest, ParsesV1MountsIncludingCoMountedControllers) {
  std::string mountinfo =
      "30 25 0:26 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs ro,mode=755\n"
      "31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
      "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:7 - cgroup cgroup rw,cpu,cpuacct\n"
      "34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:8 - cgroup cgroup rw,memory\n"
      "35 30 0:31 / /sys/fs/cgroup/pids rw shared:9 - cgroup cgroup rw,pids\n"
      "36 30 0:32 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n"
      "37 30 0:33 / /elsewhere/memory rw - cgroup cgroup rw,memory\n";
  auto mounts = ParseV1Mounts(mountinfo, "/sys/fs/cgroup");
  EXPECT_EQ(mounts["cpu"], "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(mounts["cpuacct"], "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(mounts["memory"], "/sys/fs/cgroup/memory");
  EXPECT_EQ(mounts["pids"], "/sys/fs/cgroup/pids");
  EXPECT_EQ(mounts["freezer"], "/sys/fs/cgroup/freezer");
  EXPECT_EQ(mounts.size(), 5u);
}

TEST(CgroupLayoutTest, CpuQuotaHasTheKernelsMinimum) {
  EXPECT_EQ(CpuQuotaMicros(1.5, 100000), 150000u);
  EXPECT_EQ(CpuQuotaMicros(0.001, 100000), 1000u);
  EXPECT_EQ(CpuQuotaMicros(2, 100000), 200000u);
}

TEST(CgroupLayoutTest, KeyedValuesAreLinesOfExactlyTwoWords) {
  EXPECT_EQ(*ParseKeyedValue("nr_periods 5\nnr_throttled 3\n", "nr_throttled"), 3u);
  EXPECT_EQ(*ParseKeyedValue("oom_kill_disable 0\nunder_oom 0\noom_kill 2", "oom_kill"), 2u)
      << "last line, no newline";
  EXPECT_EQ(*ParseKeyedValue("  max   7  \n", "max"), 7u) << "any run of spaces separates";
  EXPECT_FALSE(ParseKeyedValue("x 1\n", "y").ok());
  EXPECT_FALSE(ParseKeyedValue("max 7 8\n", "max").ok()) << "three words";
  EXPECT_FALSE(ParseKeyedValue("max\n", "max").ok()) << "one word";
  EXPECT_FALSE(ParseKeyedValue("max -1\nmax x\n", "max").ok()) << "not a count";
  EXPECT_FALSE(ParseKeyedValue("maxi 1\n", "max").ok()) << "a longer key";
  EXPECT_EQ(*ParseKeyedValue("max x\nmax 4\n", "max"), 4u) << "the first valid line";
  EXPECT_FALSE(ParseKeyedValue("", "max").ok());
  EXPECT_FALSE(FindKeyedValue("x 1\n", "oom_kill").has_value());
  EXPECT_EQ(FindKeyedValue(std::string_view("oom_kill 9\nnext 1", 11), "oom_kill"), 9u)
      << "a view of part of a buffer";
}

}  // namespace
}  // namespace cloudcoop::sandbox::cgroup
