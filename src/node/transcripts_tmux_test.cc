// Agent transcripts end to end: the real cloudcoop binary, real tmux on the test's own state
// directory (so its own socket), agents in their real sandboxes with --net none, each test with its
// own state directory and agent uid range, ending with `cloudcoop panic` on that state directory
// (the fixture of agents_tmux_test.cc).
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "audit/transcript.h"
#include "core/files.h"
#include "core/process.h"
#include "core/strings.h"
#include "node/procs.h"
#include "testing/test_util.h"

namespace cloudcoop::node {
namespace {

using ::cloudcoop::testing::CliResult;
using ::cloudcoop::testing::RunBinary;
using ::cloudcoop::testing::TempDir;

// Every regular file under `dir` (not following symlinks).
void ForEachFile(const std::string& dir, const std::function<void(const std::string&)>& f) {
  auto entries = ListDir(dir);
  if (!entries.ok()) return;
  for (const auto& e : *entries) {
    std::string p = dir + "/" + e;
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) ForEachFile(p, f);
    if (S_ISREG(st.st_mode)) f(p);
  }
}

// Processes whose command line mentions `needle`.
std::vector<int> ProcessesMentioning(const std::string& needle) {
  std::vector<int> out;
  auto entries = ListDir("/proc");
  if (!entries.ok()) return out;
  for (const auto& e : *entries) {
    auto pid = ParseInt64(e);
    if (!pid || *pid == getpid()) continue;
    auto cmd = ReadFile("/proc/" + e + "/cmdline");
    if (cmd.ok() && cmd->find(needle) != std::string::npos) out.push_back(static_cast<int>(*pid));
  }
  return out;
}

// `cloudcoop ARGS` running in the background with its stdout and stderr read through pipes.
class Background {
 public:
  Background(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      dup2(out[1], 1);
      dup2(err[1], 2);
      int null = open("/dev/null", O_RDONLY);
      dup2(null, 0);
      std::vector<std::string> argv = {::cloudcoop::testing::BinaryPath()};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
  }
  ~Background() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }
  pid_t pid() const { return pid_; }
  // Reads what is there (waiting up to `ms` for something).
  void Pump(int ms) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (poll(fds, 2, ms) <= 0) return;
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP)) {
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n > 0) (i == 0 ? out_ : err_).append(buf, static_cast<size_t>(n));
      }
    }
  }
  // Waits (bounded) until stdout holds `needle`.
  bool WaitFor(const std::string& needle, std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (out_.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) Pump(100);
    return out_.find(needle) != std::string::npos;
  }
  // Waits (bounded) for the process to exit; its wait status, or -1 if it did not.
  int WaitExit(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int ws = 0;
      pid_t p = waitpid(pid_, &ws, WNOHANG);
      if (p == pid_) {
        reaped_ = true;
        for (int i = 0; i < 5; ++i) Pump(10);  // what it wrote last
        return ws;
      }
      Pump(50);
    }
    return -1;
  }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
};

class TranscriptsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "the agent host tests need root (per-agent uids, tmux as root)";
    ASSERT_EQ(chmod(tmp_.path().c_str(), 0711), 0);
    state_ = tmp_.Sub("s");
    base_ = 50000000u + static_cast<uint32_t>(getpid() % 2000000) * 1000u;
    env_ = {{"CLOUDCOOP_STATE_DIR", state_},
            {"CLOUDCOOP_AGENT_UID_BASE", std::to_string(base_)},
            {"CLOUDCOOP_AGENT_UID_COUNT", "1000"},
            {"HOME", tmp_.path()},
            {"XDG_CONFIG_HOME", tmp_.Sub("xdg")}};
  }
  void TearDown() override {
    if (PathExists(state_)) Cc({"panic", "--yes", "--reason", "test teardown"});
    uint32_t b = base_;
    EXPECT_TRUE(ScanProcesses([b](uint32_t u) { return u >= b && u < b + 1000; }).empty())
        << "agent processes survived the test";
    // The transcript writers end when the tmux server closes their pipes (bounded wait).
    std::vector<int> left;
    for (int i = 0; i < 250; ++i) {
      left = ProcessesMentioning(state_);
      if (left.empty()) break;
      usleep(20000);
    }
    EXPECT_TRUE(left.empty()) << left.size() << " processes of this test's state directory survived";
  }
  CliResult Cc(const std::vector<std::string>& args, std::map<std::string, std::string> extra = {}) {
    auto env = env_;
    for (auto& [k, v] : extra) env[k] = v;
    return RunBinary(args, env);
  }
  // `cloudcoop [global...] agent add NAME --net none --cmd CMD`.
  void AddOk(const std::string& name, const std::string& cmd, std::vector<std::string> global = {},
             std::map<std::string, std::string> extra_env = {}) {
    std::vector<std::string> args = global;
    for (const std::string& a : std::vector<std::string>{"agent", "add", name, "--net", "none", "--cmd", cmd}) {
      args.push_back(a);
    }
    auto r = Cc(args, extra_env);
    ASSERT_EQ(r.rc, 0) << r.err << r.out;
  }
  // Polls `cloudcoop logs NAME -n 100000` (bounded: 20 s) until `needle` shows up.
  bool WaitForLog(const std::string& name, const std::string& needle) {
    for (int i = 0; i < 400; ++i) {
      auto r = Cc({"logs", name, "-n", "100000"});
      if (r.rc == 0 && r.out.find(needle) != std::string::npos) return true;
      usleep(50000);
    }
    return false;
  }

  TempDir tmp_;
  std::string state_;
  uint32_t base_ = 0;
  std::map<std::string, std::string> env_;
};

TEST_F(TranscriptsTest, WhatTheAgentPrintsIsInLogs) {
  AddOk("printer", "bash --norc --noprofile -c 'printf \"\\033[1;32mgreen-hello\\033[0m\\n\"; echo second-$((1+1)); exec cat'");
  ASSERT_TRUE(WaitForLog("printer", "second-2"));
  auto r = Cc({"logs", "printer"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("green-hello\nsecond-2\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\033'), std::string::npos) << "escape sequences are stripped for display";
  auto raw = Cc({"logs", "printer", "--raw"});
  ASSERT_EQ(raw.rc, 0) << raw.err;
  EXPECT_NE(raw.out.find("\033[1;32mgreen-hello"), std::string::npos) << raw.out;
  // The file is root's, 0600, in a 0700 directory.
  std::string file = audit::TranscriptPath(state_ + "/transcripts", "printer");
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, 0u);
  ASSERT_EQ(stat((state_ + "/transcripts").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // rm keeps the transcript and says so; --purge removes it.
  auto rm = Cc({"agent", "rm", "printer"});
  ASSERT_EQ(rm.rc, 0) << rm.err;
  EXPECT_NE(rm.out.find("kept its transcript"), std::string::npos) << rm.out;
  EXPECT_TRUE(PathExists(file));
  auto after = Cc({"logs", "printer"});
  EXPECT_EQ(after.rc, 0) << after.err;
  EXPECT_NE(after.out.find("second-2"), std::string::npos);
  AddOk("printer2", "bash --norc --noprofile -c 'echo two-$((1+1)); exec cat'");
  ASSERT_TRUE(WaitForLog("printer2", "two-2"));
  auto purge = Cc({"agent", "rm", "--purge", "printer2"});
  ASSERT_EQ(purge.rc, 0) << purge.err;
  EXPECT_NE(purge.out.find("removed its transcript"), std::string::npos) << purge.out;
  EXPECT_FALSE(PathExists(audit::TranscriptPath(state_ + "/transcripts", "printer2")));
}

TEST_F(TranscriptsTest, SecretsNeverReachDisk) {
  // The value of a variable named in secrets.redact_env, set in the environment of `agent add`,
  // and a GitHub token shape. The agent assembles both from pieces, so neither is on its command
  // line (nor in its record); then prints each whole, and once more split across two writes.
  const std::string secret = "Zq9vTranscriptSecretValue77";
  const std::string token = "ghp_" + std::string("aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6");
  ASSERT_EQ(token.size(), 40u);
  std::string cmd =
      "bash --norc --noprofile -c 'a=Zq9vTranscript; b=SecretValue77; t=aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6; "
      "echo \"S=$a$b\"; echo \"T=ghp_$t\"; printf \"%s\" \"split:$a\"; sleep 0.3; printf \"%s\\n\" \"$b:end\"; "
      // Split by the terminal's own bytes (ADR 0018): a colour before every character, each its
      // own write; cursor moves and a title inside the token; two writes split inside an escape
      // sequence; control characters between characters.
      "s=$a$b; printf \"C=\"; for ((i=0;i<${#s};i++)); do printf \"\\033[3%dm%s\" $((i%8)) \"${s:i:1}\"; done; "
      "printf \"\\033[0m:cend\\n\"; "
      "printf \"M=ghp_%s\\033[1C\\033[1D\\033]0;title\\a%s:mend\\n\" \"${t:0:12}\" \"${t:12}\"; "
      "printf \"W=%s\\033[3\" \"$a\"; sleep 0.3; printf \"1m%s\\033[0m:wend\\n\" \"$b\"; "
      "printf \"K=%s\\a\\r%s:kend\\n\" \"$a\" \"$b\"; "
      "echo printed-$((40+2)); exec cat'";
  AddOk("leaker", cmd, {"--set", "secrets.redact_env=CC_TR_TEST_SECRET"}, {{"CC_TR_TEST_SECRET", secret}});
  ASSERT_TRUE(WaitForLog("leaker", "printed-42"));
  auto r = Cc({"logs", "leaker", "--raw"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("S=[REDACTED:CC_TR_TEST_SECRET]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("T=[REDACTED:github-token]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("split:[REDACTED:CC_TR_TEST_SECRET]:end"), std::string::npos) << r.out;
  auto shown = Cc({"logs", "leaker"});  // escape sequences stripped, as a reader sees it
  ASSERT_EQ(shown.rc, 0) << shown.err;
  for (const char* masked : {"C=[REDACTED:CC_TR_TEST_SECRET]:cend", "M=[REDACTED:github-token]:mend",
                             "W=[REDACTED:CC_TR_TEST_SECRET]:wend", "K=[REDACTED:CC_TR_TEST_SECRET]:kend"}) {
    EXPECT_NE(shown.out.find(masked), std::string::npos) << masked << "\n" << shown.out;
  }
  // The hand-over variable does not stay in the tmux session's environment (restarts never see it).
  ProcessSpec spec;
  spec.argv = {"tmux", "-S", state_ + "/run/tmux.sock", "show-environment", "-t", "=leaker:"};
  auto env = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_TRUE(env->success()) << env->err;
  EXPECT_EQ(env->out.find("CLOUDCOOP_TRANSCRIPT_SECRETS="), std::string::npos) << env->out;
  // A panic saves each pane's last screen: masked too.
  auto panic = Cc({"--set", "secrets.redact_env=CC_TR_TEST_SECRET", "panic", "--yes", "--reason", "test"},
                  {{"CC_TR_TEST_SECRET", secret}});
  EXPECT_EQ(panic.rc, 0) << panic.err << panic.out;
  auto screen = ReadFile(state_ + "/agents/leaker/panic-screen.txt");
  ASSERT_TRUE(screen.ok()) << screen.status().ToString();
  EXPECT_NE(screen->find("printed-42"), std::string::npos) << *screen;
  int files = 0;
  ForEachFile(state_, [&](const std::string& path) {
    ++files;
    auto text = ReadFile(path);
    if (!text.ok()) return;
    EXPECT_EQ(text->find(secret), std::string::npos) << "the secret is on disk in " << path;
    EXPECT_EQ(text->find(token), std::string::npos) << "the token is on disk in " << path;
    EXPECT_EQ(text->find("TranscriptSecretValue"), std::string::npos) << "part of the secret in " << path;
    // Nor pieced together from between escape sequences and control characters.
    std::string screen = audit::StripTerminalEscapes(*text);
    EXPECT_EQ(screen.find(secret), std::string::npos) << "the secret, split by escapes, is on disk in " << path;
    EXPECT_EQ(screen.find(token), std::string::npos) << "the token, split by escapes, is on disk in " << path;
    EXPECT_EQ(screen.find("TranscriptSecretValue"), std::string::npos) << "part of the secret in " << path;
    // (The token's body alone is on the agent's command line by design; with its prefix it is not.)
    EXPECT_EQ(screen.find(token.substr(0, 16)), std::string::npos) << "part of the token in " << path;
  });
  EXPECT_GT(files, 2);
}

// `cloudcoop logs NAME -f` end to end: new lines arrive while it runs, it keeps following across
// a rotation, SIGTERM ends it cleanly, and removing the agent ends it after the last lines.
TEST_F(TranscriptsTest, LogsFollowSeesNewLinesAcrossRotationAndEndsWithTheAgent) {
  // The agent answers each line typed into its terminal; "burst" prints 2,000 numbers, which
  // rotates the 8K transcript once (the file held less than 1K before).
  AddOk("tail",
        "bash --norc --noprofile -c 'echo ready-$((6*7)); while read -r l; do if [ \"$l\" = burst ]; then "
        "seq 1 2000; echo burst-done; else echo \"got-$l\"; fi; done'",
        {"--set", "audit.transcript_max_bytes=8K"});
  ASSERT_TRUE(WaitForLog("tail", "ready-42"));
  auto env = env_;
  Background follower({"logs", "tail", "-f", "-n", "0"}, env);
  Background killed({"logs", "tail", "-f", "-n", "0"}, env);
  ASSERT_GT(follower.pid(), 0);
  ASSERT_GT(killed.pid(), 0);
  // Both follow once a line typed now reaches them (they open the file at its end as they start).
  bool live = false;
  for (int k = 0; k < 40 && !live; ++k) {
    std::string ping = "ping" + std::to_string(k);
    ASSERT_EQ(Cc({"agent", "send", "tail", ping}).rc, 0);
    live = follower.WaitFor("got-" + ping + "\n", std::chrono::seconds(2)) &&
           killed.WaitFor("got-" + ping + "\n", std::chrono::seconds(2));
  }
  ASSERT_TRUE(live) << "logs -f never showed a new line: " << follower.out() << follower.err();
  EXPECT_EQ(follower.out().find("ready-42"), std::string::npos) << "-n 0 printed old lines: " << follower.out();

  ASSERT_EQ(Cc({"agent", "send", "tail", "hello"}).rc, 0);
  ASSERT_TRUE(follower.WaitFor("got-hello\n")) << follower.out();
  EXPECT_EQ(follower.out().find('\033'), std::string::npos) << "escape sequences are stripped as in `logs`";

  // Across the rotation: every number, in order, once.
  ASSERT_EQ(Cc({"agent", "send", "tail", "burst"}).rc, 0);
  ASSERT_TRUE(follower.WaitFor("burst-done\n")) << follower.out().substr(0, 2000);
  ASSERT_TRUE(PathExists(audit::PreviousTranscriptPath(state_ + "/transcripts", "tail"))) << "no rotation happened";
  std::string numbers;
  for (int i = 1; i <= 2000; ++i) numbers += std::to_string(i) + "\n";
  EXPECT_NE(follower.out().find("\n" + numbers + "burst-done\n"), std::string::npos)
      << "lines lost or repeated across the rotation";

  // SIGTERM: a clean exit (status 0), nothing left behind.
  ASSERT_EQ(kill(killed.pid(), SIGTERM), 0);
  int ws = killed.WaitExit(std::chrono::seconds(10));
  ASSERT_NE(ws, -1) << "logs -f did not end on SIGTERM";
  EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0) << "wait status " << ws << ": " << killed.err();
  EXPECT_NE(killed.out().find("burst-done\n"), std::string::npos);

  // The agent's last line, then `agent rm`: the follower prints it and ends by itself.
  ASSERT_EQ(Cc({"agent", "send", "tail", "last"}).rc, 0);
  ASSERT_TRUE(follower.WaitFor("got-last\n")) << follower.out();
  auto rm = Cc({"agent", "rm", "tail"});
  ASSERT_EQ(rm.rc, 0) << rm.err;
  ws = follower.WaitExit(std::chrono::seconds(10));
  ASSERT_NE(ws, -1) << "logs -f kept running after the agent was removed";
  EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0) << "wait status " << ws << ": " << follower.err();
  EXPECT_NE(follower.err().find("agent tail was removed; its transcript ends here"), std::string::npos)
      << follower.err();
  // No process of either follower is left.
  for (pid_t p : {follower.pid(), killed.pid()}) EXPECT_NE(kill(p, 0), 0) << "pid " << p << " still exists";
  EXPECT_TRUE(ProcessesMentioning(std::string("logs") + '\0' + "tail" + '\0' + "-f").empty());

  // Following an agent that is already removed prints its kept transcript and ends at once.
  auto gone = Cc({"logs", "tail", "-f", "-n", "1"});
  EXPECT_EQ(gone.rc, 0) << gone.err;
  EXPECT_NE(gone.err.find("was removed"), std::string::npos) << gone.err;
}

TEST_F(TranscriptsTest, RotationBoundsTheSizeAndLinesWork) {
  AddOk("chatty", "bash --norc --noprofile -c 'seq 1 30000; echo finished-$((6*7)); exec cat'",
        {"--set", "audit.transcript_max_bytes=8K"});
  ASSERT_TRUE(WaitForLog("chatty", "finished-42"));
  std::string dir = state_ + "/transcripts";
  auto entries = ListDir(dir);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(*entries, (std::vector<std::string>{"chatty.log", "chatty.log.1"}));
  for (const auto& e : *entries) {
    struct stat st;
    ASSERT_EQ(stat((dir + "/" + e).c_str(), &st), 0);
    EXPECT_LE(st.st_size, 8192) << e;
  }
  auto r = Cc({"logs", "chatty", "-n", "3"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "29999\n30000\nfinished-42\n");
  auto zero = Cc({"logs", "chatty", "-n", "0"});
  EXPECT_EQ(zero.rc, 0);
  EXPECT_EQ(zero.out, "");
  auto bad = Cc({"logs", "chatty", "-n", "lots"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("-n lots is not a number"), std::string::npos) << bad.err;
  // The default is the last 50 lines.
  auto def = Cc({"logs", "chatty"});
  ASSERT_EQ(def.rc, 0);
  EXPECT_EQ(std::count(def.out.begin(), def.out.end(), '\n'), 50);
}

TEST_F(TranscriptsTest, UnknownAgentAndNoTranscriptYet) {
  auto r = Cc({"logs", "nosuchagent"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("no agent named \"nosuchagent\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cloudcoop agent list"), std::string::npos) << r.err;
  auto bad = Cc({"logs", "../etc"});
  EXPECT_NE(bad.rc, 0);
  // A registered agent whose transcript is missing (made before transcripts existed).
  AddOk("quiet", "bash --norc --noprofile -c 'exec cat'");
  std::string file = audit::TranscriptPath(state_ + "/transcripts", "quiet");
  for (int i = 0; i < 400 && !PathExists(file); ++i) usleep(50000);  // the writer opens it at once
  ASSERT_TRUE(PathExists(file));
  ASSERT_TRUE(RemoveTree(file).ok());
  auto none = Cc({"logs", "quiet"});
  EXPECT_EQ(none.rc, 1);
  EXPECT_NE(none.err.find("has no transcript yet"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("cloudcoop agent restart quiet"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace cloudcoop::node
