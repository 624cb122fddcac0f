// Mechanisms that run without root: uid allocation and records under a state directory, the
// supervisor channel, and seccomp / Landlock applied in a forked child (both work unprivileged
// once no_new_privs is set).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "sandbox/channel.h"
#include "sandbox/exec_audit.h"
#include "sandbox/checks.h"
#include "sandbox/ids.h"
#include "sandbox/landlock.h"
#include "sandbox/seccomp.h"
#include "sandbox/state.h"
#include "testing/test_util.h"

namespace cloudcoop::sandbox {
namespace {

using ::cloudcoop::testing::TempDir;

// Runs `fn` in a child and returns its exit code (or 100 + signal).
int InChild(const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) _exit(fn());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(IdsTest, LeasesTheLowestFreeUidAndNeverTheSameTwice) {
  TempDir tmp;
  auto a = ids::AcquireInParent(tmp.path(), "a", std::nullopt, 2000000, 10, tmp.Sub("claims"));
  auto b = ids::AcquireInParent(tmp.path(), "b", std::nullopt, 2000000, 10, tmp.Sub("claims"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a->uid, 2000000u);
  EXPECT_EQ(b->uid, 2000001u);
  EXPECT_EQ(a->gid, a->uid);
  EXPECT_TRUE(PathExists(tmp.Sub("sandbox/uids/2000000")));
  ids::ReleaseInParent(*a);
  EXPECT_TRUE(PathExists(tmp.Sub("sandbox/uids/2000000"))) << "kept (unlocked = free) for reuse";
  auto c = ids::AcquireInParent(tmp.path(), "c", std::nullopt, 2000000, 10, tmp.Sub("claims"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->uid, 2000000u) << "freed uids are reused";
}

TEST(IdsTest, AHeldFixedUidCannotBeLeasedTwice) {
  TempDir tmp;
  auto a = ids::AcquireInParent(tmp.path(), "agent-1", 2000005u, 2000000, 10, tmp.Sub("claims"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = ids::AcquireInParent(tmp.path(), "agent-2", 2000005u, 2000000, 10, tmp.Sub("claims"));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kAborted);
  EXPECT_NE(b.status().message().find("in use by another running sandbox"), std::string::npos);
  ids::ReleaseInParent(*a);
  EXPECT_TRUE(ids::AcquireInParent(tmp.path(), "agent-2", 2000005u, 2000000, 10, tmp.Sub("claims")).ok());
}

// Two state directories (two CLOUDCOOP_STATE_DIR) on one host share the host's claims: they never
// run two sandboxes under one uid.
TEST(IdsTest, TwoStateDirectoriesNeverLeaseTheSameUid) {
  TempDir one, two, host;
  std::string claims = host.Sub("uid-claims");
  auto a = ids::AcquireInParent(one.path(), "a", std::nullopt, 2000000, 10, claims);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = ids::AcquireInParent(two.path(), "b", std::nullopt, 2000000, 10, claims);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a->uid, 2000000u);
  EXPECT_EQ(b->uid, 2000001u) << "2000000 is free in the second directory but runs a sandbox of the first";
  // A fixed uid (an agent's) held from the other directory is refused, naming both fixes.
  auto c = ids::AcquireInParent(two.path(), "agent", 2000000u, 2000000, 10, claims);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kAborted);
  EXPECT_NE(c.status().message().find("another state directory"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().fix().find("CLOUDCOOP_AGENT_UID_BASE"), std::string::npos) << c.status().fix();
  // The refused attempts left nothing held: released, the uid goes to the other directory.
  ids::ReleaseInParent(*a);
  auto d = ids::AcquireInParent(two.path(), "agent", 2000000u, 2000000, 10, claims);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  // The claim is the lock, not a file per uid: one empty file whatever the number of uids.
  struct stat st {};
  ASSERT_EQ(stat(claims.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0);
}

// A killed holder frees its claim (the lock goes with its last descriptor).
TEST(IdsTest, AKilledHoldersHostClaimIsFree) {
  TempDir one, two, host;
  std::string claims = host.Sub("uid-claims");
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  if (pid == 0) {
    auto a = ids::AcquireInParent(one.path(), "a", 2000003u, 2000000, 10, claims);
    char c = a.ok() ? '1' : '0';
    (void)!write(pipefd[1], &c, 1);
    pause();
    _exit(0);
  }
  // Killed and reaped however the test ends (a failed ASSERT returns early).
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};
  char c = 0;
  ASSERT_EQ(read(pipefd[0], &c, 1), 1);
  ASSERT_EQ(c, '1');
  EXPECT_FALSE(ids::AcquireInParent(two.path(), "b", 2000003u, 2000000, 10, claims).ok())
      << "held by the child";
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  reaper.pid = -1;
  close(pipefd[0]);
  close(pipefd[1]);
  auto b = ids::AcquireInParent(two.path(), "b", 2000003u, 2000000, 10, claims);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
}

// A reused allocation file is rewritten in place (no truncation to zero first) and cut to its new
// length: nothing of a longer previous owner is left.
TEST(IdsTest, AReusedAllocationFileHoldsExactlyTheNewOwner) {
  TempDir tmp;
  auto a = ids::AcquireInParent(tmp.path(), "a-rather-long-sandbox-name-from-before", std::nullopt, 2000000,
                                10, tmp.Sub("claims"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ids::ReleaseInParent(*a);
  auto b = ids::AcquireInParent(tmp.path(), "b", std::nullopt, 2000000, 10, tmp.Sub("claims"));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->uid, 2000000u);
  EXPECT_EQ(*ReadFile(tmp.Sub("sandbox/uids/2000000")), "owner b\nkind ephemeral\n");
  ids::ReleaseInParent(*b);
  auto c =
      ids::AcquireInParent(tmp.path(), "a-longer-name-again", std::nullopt, 2000000, 10, tmp.Sub("claims"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*ReadFile(tmp.Sub("sandbox/uids/2000000")), "owner a-longer-name-again\nkind ephemeral\n");
}

TEST(IdsTest, ExhaustedRangeIsAClearError) {
  TempDir tmp;
  auto a = ids::AcquireInParent(tmp.path(), "a", std::nullopt, 2000000, 1, tmp.Sub("claims"));
  ASSERT_TRUE(a.ok());
  auto b = ids::AcquireInParent(tmp.path(), "b", std::nullopt, 2000000, 1, tmp.Sub("claims"));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kResourceExhausted);
}

TEST(IdsTest, ReservedUidsAreStablePerOwnerAndExclusive) {
  TempDir tmp;
  auto u1 = ids::ReserveForOwner(tmp.path(), "agent-1", 2000000, 10);
  auto u2 = ids::ReserveForOwner(tmp.path(), "agent-2", 2000000, 10);
  auto again = ids::ReserveForOwner(tmp.path(), "agent-1", 2000000, 10);
  ASSERT_TRUE(u1.ok() && u2.ok() && again.ok());
  EXPECT_NE(*u1, *u2);
  EXPECT_EQ(*u1, *again);
  auto wrong = ids::AcquireInParent(tmp.path(), "agent-2", *u1, 2000000, 10, tmp.Sub("claims"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("reserved for \"agent-1\""), std::string::npos);
  auto right = ids::AcquireInParent(tmp.path(), "agent-1", *u1, 2000000, 10, tmp.Sub("claims"));
  ASSERT_TRUE(right.ok());
  EXPECT_FALSE(right->ephemeral);
  ids::ReleaseInParent(*right);
  EXPECT_TRUE(PathExists(tmp.Sub("sandbox/uids/" + std::to_string(*u1)))) << "a reservation outlives the run";
  auto fresh = ids::AcquireInParent(tmp.path(), "x", std::nullopt, 2000000, 10, tmp.Sub("claims"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->uid, *u1);
  EXPECT_NE(fresh->uid, *u2);
  ASSERT_TRUE(ids::ReleaseOwner(tmp.path(), "agent-1").ok());
  EXPECT_FALSE(PathExists(tmp.Sub("sandbox/uids/" + std::to_string(*u1))));
}

TEST(IdsTest, StaleEphemeralAllocationsAreCollectedHeldOnesAreNot) {
  TempDir tmp;
  auto held = ids::AcquireInParent(tmp.path(), "held", std::nullopt, 2000000, 10, tmp.Sub("claims"));
  ASSERT_TRUE(held.ok());
  // A killed supervisor: its file stays, nobody holds the lock.
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("sandbox/uids/2000007"), "owner dead\nkind ephemeral\n").ok());
  auto reserved = ids::ReserveForOwner(tmp.path(), "agent", 2000000, 10);
  ASSERT_TRUE(reserved.ok());
  auto removed = ids::CollectStale(tmp.path());
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(PathExists(tmp.Sub("sandbox/uids/2000007")));
  EXPECT_TRUE(PathExists(held->path));
  EXPECT_TRUE(PathExists(tmp.Sub("sandbox/uids/" + std::to_string(*reserved))));
}

TEST(IdsTest, GeneratedPasswdAndGroupNameTheSandboxUser) {
  std::string passwd = ids::GeneratePasswd("agent", 1000000005, 1000000005, "/home/agent", "/bin/bash");
  EXPECT_NE(passwd.find("agent:x:1000000005:1000000005:cloudcoop sandbox:/home/agent:/bin/bash\n"),
            std::string::npos);
  EXPECT_NE(passwd.find("root:x:0:0:"), std::string::npos);
  EXPECT_NE(passwd.find("nobody:x:65534:"), std::string::npos);
  EXPECT_NE(ids::GenerateGroup("agent", 1000000005).find("agent:x:1000000005:\n"), std::string::npos);
}

TEST(StateTest, RecordsRoundTripAndANameIsUniqueAmongLiveSandboxes) {
  TempDir tmp;
  state::RunningRecord r;
  r.name = "agent-1";
  r.phase = "running";
  r.supervisor_pid = getpid();
  r.supervisor_start_ticks = state::ProcessStartTicks(getpid());
  r.uid = r.gid = 1000000001;
  r.net = "none";
  r.cgroup_version = 1;
  r.cgroup_paths = {{"memory", "/sys/fs/cgroup/memory/cloudcoop/agent-1"}};
  r.degraded = {"landlock: x"};
  r.plan_json = "{\"name\":\"agent-1\"}";
  ASSERT_NE(r.supervisor_start_ticks, 0u);
  EXPECT_TRUE(state::SupervisorAlive(r));
  auto claimed = state::ClaimInParent(tmp.path(), r);
  ASSERT_TRUE(claimed.ok());
  auto back = state::Read(state::RecordPath(tmp.path(), "agent-1"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->uid, r.uid);
  EXPECT_EQ(back->cgroup_paths, r.cgroup_paths);
  EXPECT_EQ(back->degraded, r.degraded);
  EXPECT_EQ(back->plan_json, r.plan_json);
  auto again = state::ClaimInParent(tmp.path(), r);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("already running"), std::string::npos);
  r.phase = "running";
  ASSERT_TRUE(state::Update(claimed->get(), r).ok());
  EXPECT_EQ(state::Read(state::RecordPath(tmp.path(), "agent-1"))->phase, "running");
}

TEST(StateTest, ABriefReadHasEveryFieldButThePlanWhateverTheRecordsShape) {
  TempDir tmp;
  state::RunningRecord r;
  r.name = "agent-2";
  r.phase = "running";
  r.supervisor_pid = 4242;
  r.supervisor_start_ticks = 777;
  r.init_pid = 4243;
  r.uid = r.gid = 1000000002;
  r.started_unix = 1795462170;
  r.net = "none";
  r.cgroup_version = 1;
  r.cgroup_paths = {{"memory", "/sys/fs/cgroup/memory/cloudcoop/agent-2"}, {"pids", "/sys/fs/cgroup/pids/x"}};
  r.degraded = {"landlock: x"};
  // A plan whose strings look like the split point: only the top-level key may match it.
  r.plan_json = "{\"argv\":[\",\\n  \\\"plan\\\": \"],\"nested\":{\"plan\":{\"name\":\"evil\"}}}";
  auto check = [&](const StatusOr<state::RunningRecord>& b) {
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(b->name, r.name);
    EXPECT_EQ(b->phase, r.phase);
    EXPECT_EQ(b->supervisor_pid, r.supervisor_pid);
    EXPECT_EQ(b->supervisor_start_ticks, r.supervisor_start_ticks);
    EXPECT_EQ(b->init_pid, r.init_pid);
    EXPECT_EQ(b->uid, r.uid);
    EXPECT_EQ(b->started_unix, r.started_unix);
    EXPECT_EQ(b->net, r.net);
    EXPECT_EQ(b->cgroup_version, r.cgroup_version);
    EXPECT_EQ(b->cgroup_paths, r.cgroup_paths);
    EXPECT_EQ(b->degraded, r.degraded);
    EXPECT_TRUE(b->plan_json.empty());
  };
  std::string text = state::ToJson(r);
  ASSERT_TRUE(state::FromJson(text).ok());
  EXPECT_EQ(state::FromJson(text)->plan_json, nlohmann::json::parse(r.plan_json).dump());
  check(state::FromJson(text, /*with_plan=*/false));
  // The same record written another way (compact, the plan first): parsed whole, plan skipped.
  nlohmann::json j = nlohmann::json::parse(text);
  std::string compact = "{\"plan\":" + j["plan"].dump() + ",";
  j.erase("plan");
  compact += j.dump().substr(1);
  check(state::FromJson(compact, /*with_plan=*/false));
  // Through the file.
  std::string path = tmp.Write("agent-2.json", text);
  check(state::ReadBrief(path));
  EXPECT_FALSE(state::FromJson(text.substr(0, 40), /*with_plan=*/false).ok()) << "a torn record does not parse";
}

TEST(StateTest, AStaleRecordIsTakenOver) {
  TempDir tmp;
  state::RunningRecord r;
  r.name = "agent-1";
  r.supervisor_pid = getpid();
  r.supervisor_start_ticks = state::ProcessStartTicks(getpid()) + 12345;  // an earlier process with our pid
  EXPECT_FALSE(state::SupervisorAlive(r));
  ASSERT_TRUE(state::ClaimInParent(tmp.path(), r).ok());
  r.supervisor_start_ticks = state::ProcessStartTicks(getpid());
  EXPECT_TRUE(state::ClaimInParent(tmp.path(), r).ok());
  auto list = state::List(tmp.path());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  state::Remove(tmp.path(), "agent-1");
  EXPECT_TRUE(state::List(tmp.path())->empty());
}

TEST(StateTest, ARecordStillBeingWrittenIsNotTakenOver) {
  TempDir tmp;
  state::RunningRecord r;
  r.name = "agent-1";
  r.supervisor_pid = getpid();
  r.supervisor_start_ticks = state::ProcessStartTicks(getpid());
  ASSERT_TRUE(MakeDirs(state::RunningDir(tmp.path())).ok());
  // Another start created the record a moment ago and has not written it yet.
  ASSERT_TRUE(WriteFileAtomic(state::RecordPath(tmp.path(), "agent-1"), "{\"na").ok());
  auto s = state::ClaimInParent(tmp.path(), r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kAlreadyExists);
}

TEST(ChannelTest, MessagesAndDescriptorsCrossTheSocket) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  channel::Message m{channel::Type::kError};
  m.status = Status(StatusCode::kPermissionDenied, "sandbox layer caps: nope").WithFix("do this");
  m.value = 42;
  m.text = "landlock: missing";
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  m.fds = {pipefd[0]};
  ASSERT_TRUE(channel::Send(a.get(), m).ok());
  close(pipefd[0]);
  auto got = channel::Recv(b.get());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->type, channel::Type::kError);
  EXPECT_EQ(got->value, 42);
  EXPECT_EQ(got->status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(got->status.message(), "sandbox layer caps: nope");
  EXPECT_EQ(got->status.fix(), "do this");
  EXPECT_EQ(got->text, "landlock: missing");
  ASSERT_EQ(got->fds.size(), 1u);
  ASSERT_EQ(write(pipefd[1], "x", 1), 1);
  char c = 0;
  EXPECT_EQ(read(got->fds[0], &c, 1), 1);
  EXPECT_EQ(c, 'x');
  close(got->fds[0]);
  close(pipefd[1]);
  a.Reset();
  auto eof = channel::Recv(b.get());
  EXPECT_FALSE(eof.ok());
  EXPECT_EQ(eof.status().code(), StatusCode::kUnavailable);
}

// The init's failure report races the supervisor's go: the init sends its error and exits without
// reading the go. Closing a connected unix socket with unread data makes the kernel set
// ECONNRESET on the peer, and a SOCK_SEQPACKET read reports that error before the queued report.
TEST(ChannelTest, AReportQueuedBeforeThePeerClosedUnreadIsStillRead) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd supervisor(sv[0]), init(sv[1]);
  channel::Message error{channel::Type::kError};
  error.status = Status(StatusCode::kNotFound, "sandbox layer mountns: open_tree /gone: errno ENOENT");
  ASSERT_TRUE(channel::Send(init.get(), error).ok());
  ASSERT_TRUE(channel::Send(supervisor.get(), channel::Message{channel::Type::kGo}).ok());
  init.Reset();  // exits with the go unread
  auto got = channel::Recv(supervisor.get());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->type, channel::Type::kError);
  EXPECT_EQ(got->status.message(), "sandbox layer mountns: open_tree /gone: errno ENOENT");
  auto eof = channel::Recv(supervisor.get());
  ASSERT_FALSE(eof.ok());
  EXPECT_EQ(eof.status().code(), StatusCode::kUnavailable);
}

TEST(DenialThrottleTest, TheFirstThousandOfASecondAreAnsweredAtOnceTheRestWait) {
  using exec_audit::ExecAuditor;
  EXPECT_EQ(ExecAuditor::DenialAnswerDelayUs(1), 0);
  EXPECT_EQ(ExecAuditor::DenialAnswerDelayUs(ExecAuditor::kDenialsPerSecondAtFullSpeed), 0);
  EXPECT_EQ(ExecAuditor::DenialAnswerDelayUs(ExecAuditor::kDenialsPerSecondAtFullSpeed + 1),
            ExecAuditor::kThrottledDenialDelayUs);
  EXPECT_GT(ExecAuditor::kThrottledDenialDelayUs, 0);
}

TEST(SeccompTest, FilterDeniesTheListWithEperm) {
  auto program = seccomp::BuildFilter();
  ASSERT_TRUE(program.ok()) << program.status().ToString();
  int rc = InChild([&] {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 10;
    if (!seccomp::ApplyInChild(*program).ok()) return 11;
    if (!seccomp::VerifyInChild().ok()) return 12;
    if (syscall(SYS_keyctl, 0, 0, 0) != -1 || errno != EPERM) return 13;
    if (syscall(SYS_ptrace, 0, 0, 0, 0) != -1 || errno != EPERM) return 14;
    if (syscall(SYS_clone3, nullptr, 0) != -1 || errno != ENOSYS) return 15;
    if (syscall(SYS_io_uring_setup, 1, nullptr) != -1 || errno != EPERM) return 16;
    if (getpid() <= 0) return 17;  // allowed by default
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(SeccompTest, LoadingWithoutNoNewPrivsFailsClosed) {
  auto program = seccomp::BuildFilter();
  ASSERT_TRUE(program.ok());
  int rc = InChild([&] {
    // Root may load filters without no_new_privs (CAP_SYS_ADMIN): become an unprivileged uid, which
    // clears the effective capabilities, as an agent's uid is.
    if (geteuid() == 0 && setresuid(65534, 65534, 65534) != 0) return 2;
    Status s = seccomp::ApplyInChild(*program);
    return !s.ok() && s.message().find("errno EACCES") != std::string::npos ? 0 : 1;
  });
  EXPECT_EQ(rc, 0);
}

TEST(SeccompTest, ForeignAbiKillsTheProcess) {
  auto program = seccomp::BuildFilter();
  ASSERT_TRUE(program.ok());
  int rc = InChild([&] {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (!seccomp::ApplyInChild(*program).ok()) return 11;
    syscall(0x40000000 | SYS_getpid);  // x32
    return 0;
  });
  EXPECT_EQ(rc, 100 + SIGSYS);
}

TEST(SeccompTest, TiocstiProbeOfCheckReportsBlocked) { EXPECT_EQ(TiocstiProbe(), ""); }

TEST(LandlockTest, WritesOutsideTheWritablePathsAreDenied) {
  int abi = landlock::QueryAbi();
  if (abi < 0) GTEST_SKIP() << "no Landlock on this kernel";
  TempDir tmp;
  std::string inside = tmp.Sub("rw"), outside = tmp.Sub("ro");
  ASSERT_EQ(mkdir(inside.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(outside.c_str(), 0755), 0);
  int rc = InChild([&] {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    landlock::Rules rules;
    rules.writable = {inside};
    if (!landlock::ApplyInChild(rules).ok()) return 10;
    if (!landlock::VerifyInChild().ok()) return 11;
    int fd = open((inside + "/f").c_str(), O_WRONLY | O_CREAT, 0600);
    if (fd < 0) return 12;
    close(fd);
    if (open((outside + "/f").c_str(), O_WRONLY | O_CREAT, 0600) != -1 || errno != EACCES) return 13;
    if (open("/etc/hostname", O_RDONLY) < 0 && errno == EACCES) return 14;  // reading stays allowed
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(LandlockTest, VerifyFailsWithoutARuleset) {
  int rc = InChild([] {
    Status s = landlock::VerifyInChild();
    return !s.ok() && s.code() == StatusCode::kCheckFailed ? 0 : 1;
  });
  EXPECT_EQ(rc, 0) << "the read-back must not pass when no Landlock domain is in force";
}

}  // namespace
}  // namespace cloudcoop::sandbox
