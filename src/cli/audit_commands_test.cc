// The audit commands and the audited config commands, run as the real binary with a private state
// directory.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "audit/head.h"
#include "core/files.h"
#include "core/strings.h"
#include "testing/test_util.h"

namespace cloudcoop {
namespace {

using testing::CliResult;
using testing::TempDir;

class AuditCommandsTest : public ::testing::Test {
 protected:
  AuditCommandsTest() { repo_.Write(".git/HEAD", "ref: refs/heads/main\n"); }
  std::map<std::string, std::string> Env() {
    return {{"HOME", home_.path()}, {"XDG_CONFIG_HOME", ""}, {"CLOUDCOOP_STATE_DIR", state_.path()}};
  }
  CliResult Run(std::vector<std::string> args, std::map<std::string, std::string> extra = {}) {
    testing::ScopedCwd cwd(repo_.path());
    auto env = Env();
    for (auto& [k, v] : extra) env[k] = v;
    return testing::RunBinary(args, env);
  }
  std::string AuditDir() { return state_.Sub("audit"); }
  std::string FirstSegment() { return JoinPath(AuditDir(), audit::SegmentName(1)); }
  TempDir home_, repo_, state_;
};

TEST_F(AuditCommandsTest, ConfigSetIsRecordedWithMaskedSecrets) {
  ASSERT_EQ(Run({"config", "set", "vm.name", "agents-vm"}).rc, 0);
  auto r = Run({"config", "set", "agents.profiles.claude.env", "ANTHROPIC_API_KEY=literal-value-123456,MODE=fast"});
  ASSERT_EQ(r.rc, 0) << r.err;
  r = Run({"audit", "--json", "--type", "control"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto lines = Split(r.out, '\n', true);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  auto start = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(start["fields"]["action"], "config set");
  EXPECT_EQ(start["fields"]["phase"], "start");
  EXPECT_EQ(start["fields"]["args"][0], "vm.name");
  EXPECT_EQ(start["actor"]["kind"], "operator");
  EXPECT_EQ(start["actor"]["uid"], getuid());
  auto end = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(end["fields"]["result"], "ok");
  EXPECT_EQ(end["fields"]["start_seq"], 1);
  std::string disk = *ReadFile(FirstSegment());
  EXPECT_EQ(disk.find("literal-value-123456"), std::string::npos) << "a secret-looking config value never reaches disk";
  EXPECT_NE(disk.find("ANTHROPIC_API_KEY=[REDACTED:config-value],MODE=fast"), std::string::npos) << disk;
}

TEST_F(AuditCommandsTest, RedactEnvValuesAreMasked) {
  const std::string secret = "a-value-only-the-environment-knows";
  auto r = Run({"config", "set", "vm.name", "x", "--set", "vm.image=" + secret}, {{"GITHUB_TOKEN", secret}});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string disk = *ReadFile(FirstSegment());
  EXPECT_EQ(disk.find(secret), std::string::npos);
  EXPECT_NE(disk.find("[REDACTED:GITHUB_TOKEN]"), std::string::npos) << disk;
}

TEST_F(AuditCommandsTest, FailedChangeIsRecordedWithItsError) {
  auto r = Run({"config", "set", "cloud.provider", "gcp"});  // refused: no service account
  EXPECT_EQ(r.rc, 2);
  r = Run({"audit"});
  ASSERT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("phase=start"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("result=error"), std::string::npos) << r.out;
}

TEST_F(AuditCommandsTest, ConfigInitIsRecorded) {
  auto r = Run({"config", "init", "--vm-name", "v1"});
  ASSERT_EQ(r.rc, 0) << r.err;
  r = Run({"audit", "--grep", "config init"});
  EXPECT_NE(r.out.find("\"config init\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vm.name=v1"), std::string::npos) << r.out;
}

TEST_F(AuditCommandsTest, NoChangeWhenTheAuditLogCannotBeWritten) {
  state_.Write("audit", "not a directory");
  auto r = Run({"config", "set", "vm.name", "x"});
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("cannot record `config set` before it runs, so it was not run"), std::string::npos) << r.err;
  EXPECT_FALSE(PathExists(home_.Sub(".config/cloudcoop/cloudcoop.toml")));
}

TEST_F(AuditCommandsTest, DisabledAuditRecordsNothing) {
  auto r = Run({"config", "set", "vm.name", "x", "--set", "audit.enabled=false"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_FALSE(PathExists(AuditDir()));
}

TEST_F(AuditCommandsTest, VerifyHeadAndTampering) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Run({"config", "set", "vm.name", "n" + std::to_string(i)}).rc, 0);
  auto r = Run({"audit", "verify"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("verifies: 6 records (seq 1..6) in 1 segment; head at seq 6"), std::string::npos) << r.out;
  r = Run({"audit", "head"});
  ASSERT_EQ(r.rc, 0);
  auto head = nlohmann::json::parse(r.out);
  EXPECT_EQ(head["seq"], 6);
  std::string saved = home_.Write("saved-head.json", r.out);
  r = Run({"audit", "verify", "--head", saved, "--json"});
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["saved_head_checked"], true);
  // One changed byte in record 1 (the start of the first `config set`).
  std::string seg = *ReadFile(FirstSegment());
  size_t pos = seg.find("\"n0\"");
  ASSERT_NE(pos, std::string::npos);
  seg[pos + 2] = '9';
  ASSERT_TRUE(WriteFileAtomic(FirstSegment(), seg).ok());
  r = Run({"audit", "verify"});
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("FAILED at the first bad record"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << "record 2's prev no longer matches: " << r.err;
  r = Run({"audit", "verify", "--json"});
  EXPECT_EQ(r.rc, 3);
  EXPECT_EQ(nlohmann::json::parse(r.out)["problem"]["seq"], 2);
  r = Run({"check", "--only", "audit.", "--json"});
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.out.find("the audit chain does not verify"), std::string::npos) << r.out;
  r = Run({"config", "set", "vm.name", "later"});
  EXPECT_EQ(r.rc, 0) << "the writer checks the chain's end, not all of it; verify reports the damage";
}

TEST_F(AuditCommandsTest, CutTailIsDetectedAndRefused) {
  for (int i = 0; i < 2; ++i) ASSERT_EQ(Run({"config", "set", "vm.name", "n" + std::to_string(i)}).rc, 0);
  std::string seg = *ReadFile(FirstSegment());
  size_t cut = seg.rfind('\n', seg.size() - 2) + 1;
  ASSERT_TRUE(WriteFileAtomic(FirstSegment(), seg.substr(0, cut)).ok());
  auto r = Run({"audit", "verify"});
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("records were cut off"), std::string::npos) << r.err;
  r = Run({"config", "set", "vm.name", "x"});
  EXPECT_EQ(r.rc, 3) << "no change is made on top of a damaged log";
  EXPECT_NE(r.err.find("records were cut off"), std::string::npos) << r.err;
}

TEST_F(AuditCommandsTest, RecoverFinishesATornWrite) {
  ASSERT_EQ(Run({"config", "set", "vm.name", "a"}).rc, 0);
  std::string seg = *ReadFile(FirstSegment());
  ASSERT_TRUE(WriteFileAtomic(FirstSegment(), seg + "{\"v\":1,\"se").ok());
  EXPECT_EQ(Run({"audit", "verify"}).rc, 3);
  auto r = Run({"audit", "recover"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("quarantined a torn record (10 bytes)"), std::string::npos) << r.out;
  r = Run({"audit", "verify"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("note: seq 3"), std::string::npos) << r.out;
  r = Run({"audit", "recover"});
  EXPECT_NE(r.out.find("nothing to recover"), std::string::npos) << r.out;
}

TEST_F(AuditCommandsTest, ExportCloudLogging) {
  ASSERT_EQ(Run({"config", "set", "vm.name", "a"}).rc, 0);
  auto r = Run({"audit", "export", "--format", "cloud-logging", "--log-name", "projects/p/logs/cloudcoop-audit"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto lines = Split(r.out, '\n', true);
  ASSERT_EQ(lines.size(), 2u);
  auto e = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(e["logName"], "projects/p/logs/cloudcoop-audit");
  EXPECT_EQ(e["severity"], "NOTICE");
  EXPECT_EQ(e["jsonPayload"]["fields"]["action"], "config set");
  EXPECT_TRUE(e.contains("timestamp"));
  EXPECT_TRUE(e["labels"].contains("cloudcoop/host"));
  r = Run({"audit", "export"});
  EXPECT_EQ(r.out, *ReadFile(FirstSegment())) << "jsonl is the log as stored";
}

TEST_F(AuditCommandsTest, QueryArguments) {
  ASSERT_EQ(Run({"config", "set", "vm.name", "a"}).rc, 0);
  EXPECT_EQ(Run({"audit", "--since", "1h"}).out.empty(), false);
  EXPECT_TRUE(Run({"audit", "--until", "1h"}).out.empty());
  EXPECT_TRUE(Run({"audit", "--agent", "nobody"}).out.empty());
  auto r = Run({"audit", "--since", "yesterday"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("neither RFC 3339 nor an age"), std::string::npos);
  r = Run({"audit", "--type", "shell"});
  EXPECT_EQ(r.rc, 2);
  r = Run({"audit", "--since", "1h", "--until", "2h"});
  EXPECT_EQ(r.rc, 2);
}

TEST_F(AuditCommandsTest, ChecksPassOnAGoodLog) {
  ASSERT_EQ(Run({"config", "set", "vm.name", "a"}).rc, 0);
  auto r = Run({"check", "--only", "audit.", "--json"});
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("audit.writable"), std::string::npos);
  EXPECT_NE(r.out.find("audit.chain"), std::string::npos);
  chmod(AuditDir().c_str(), 0755);
  r = Run({"check", "--only", "audit.writable"});
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.out.find("other users can read or change audit records"), std::string::npos) << r.out;
}

// `audit -f` prints records as they are written and stops on SIGTERM.
TEST_F(AuditCommandsTest, FollowPrintsNewRecordsUntilSignalled) {
  ASSERT_EQ(Run({"config", "set", "vm.name", "first"}).rc, 0);
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    for (auto& [k, v] : Env()) setenv(k.c_str(), v.c_str(), 1);
    std::string bin = testing::BinaryPath();
    execl(bin.c_str(), bin.c_str(), "audit", "-f", "--grep", "vm.name", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string seen;
  auto wait_for = [&](const std::string& text) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (seen.find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      struct pollfd p = {out[0], POLLIN, 0};
      if (poll(&p, 1, 200) > 0) {
        char buf[4096];
        ssize_t n = read(out[0], buf, sizeof buf);
        if (n <= 0) break;
        seen.append(buf, static_cast<size_t>(n));
      }
    }
    return seen.find(text) != std::string::npos;
  };
  EXPECT_TRUE(wait_for("first")) << seen;
  ASSERT_EQ(Run({"config", "set", "vm.name", "second"}).rc, 0);
  EXPECT_TRUE(wait_for("second")) << seen;
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  close(out[0]);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

}  // namespace
}  // namespace cloudcoop
