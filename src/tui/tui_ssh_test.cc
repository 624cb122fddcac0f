// The dashboard over SSH: a tmux pane runs `ssh -t` to an sshd of the test's own on loopback, and
// the remote command is the real dashboard (against the fake host). Keys travel through SSH, the
// screen comes back through it, and a resize of the local terminal reaches the dashboard as an SSH
// window change. Needs root (sshd) and the OpenSSH server and client.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "core/files.h"
#include "core/process.h"
#include "core/strings.h"
#include "testing/test_util.h"
#include "tui/test_pane.h"

namespace cloudcoop::tui {
namespace {

using std::chrono::milliseconds;

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A port nobody listens on right now (the kernel's choice for an ephemeral bind).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

ProcessResult RunProgram(std::vector<std::string> argv) {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.timeout = std::chrono::seconds(30);
  auto r = DefaultProcessRunner().Run(spec);
  if (!r.ok()) {
    ADD_FAILURE() << r.status().ToString();
    return ProcessResult{};
  }
  return *r;
}

class SshDashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "sshd needs root";
    ASSERT_FALSE(FindOnPath("/usr/sbin/sshd").empty()) << "install openssh-server (scripts/install-deps)";
    mkdir("/run/sshd", 0755);  // sshd's privilege separation directory
    dir_ = tmp_.path();
    ASSERT_EQ(RunProgram({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir_ + "/host"}).exit_code, 0);
    ASSERT_EQ(RunProgram({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir_ + "/client"}).exit_code, 0);
    auto pub = ReadFile(dir_ + "/client.pub");
    ASSERT_TRUE(pub.ok());
    tmp_.Write("ak/root", *pub);
    port_ = FreePort();
    ASSERT_GT(port_, 0);
    tmp_.Write("sshd_config", "Port " + std::to_string(port_) +
                                  "\nListenAddress 127.0.0.1\nHostKey " + dir_ + "/host\nPidFile " + dir_ +
                                  "/sshd.pid\nAuthorizedKeysFile " + dir_ +
                                  "/ak/%u\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                                  "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\n"
                                  "StrictModes no\nLogLevel VERBOSE\n");
    auto host_pub = ReadFile(dir_ + "/host.pub");
    ASSERT_TRUE(host_pub.ok());
    auto fields = Split(*host_pub, ' ', true);
    tmp_.Write("known_hosts", "[127.0.0.1]:" + std::to_string(port_) + " " + fields.at(0) + " " + fields.at(1) + "\n");
    // sshd in the foreground as our child, so the test owns (and ends) it.
    sshd_ = fork();
    ASSERT_GE(sshd_, 0);
    if (sshd_ == 0) {
      std::string cfg = dir_ + "/sshd_config", log = dir_ + "/sshd.log";
      execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-f", cfg.c_str(), "-E", log.c_str(), nullptr);
      _exit(127);
    }
    // Listening within a bounded wait.
    for (int i = 0; i < 200; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port_));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bool up = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(fd);
      if (up) return;
      std::this_thread::sleep_for(milliseconds(25));
    }
    auto log = ReadFile(dir_ + "/sshd.log");
    FAIL() << "sshd did not listen on port " << port_ << ": " << (log.ok() ? *log : "");
  }
  void TearDown() override {
    pane_.reset();
    if (sshd_ > 0) {
      kill(sshd_, SIGTERM);
      waitpid(sshd_, nullptr, 0);
    }
  }

  Pane& OpenOverSsh(const std::string& fixture, int w, int h) {
    // The remote command (ssh hands it to the remote shell): fixed words and test paths only.
    std::string remote = "env TZ=UTC LANG=C.UTF-8 CLOUDCOOP_TEST_DASHBOARD_FIXTURE=" + fixture +
                         " XDG_CONFIG_HOME=" + dir_ + "/cfg " + testing::BinaryPath();
    std::vector<std::string> cmd = {"ssh", "-t", "-F", "/dev/null", "-p", std::to_string(port_), "-i", dir_ + "/client",
                                    "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                                    "-o", "UserKnownHostsFile=" + dir_ + "/known_hosts", "root@127.0.0.1", remote};
    pane_ = std::make_unique<Pane>(w, h, cmd);
    return *pane_;
  }

  testing::TempDir tmp_;
  std::string dir_;
  int port_ = 0;
  pid_t sshd_ = -1;
  std::unique_ptr<Pane> pane_;
};

TEST_F(SshDashboardTest, DrivesTheDashboardAndFollowsResizes) {
  std::string fixture = tmp_.Write("fixture.json", R"({"host": {"kind": "local", "name": "remote"},
      "generate": {"count": 100, "prefix": "agent"}})");
  Pane& p = OpenOverSsh(fixture, 80, 24);
  std::string first = p.WaitFor("100 agents");
  EXPECT_TRUE(Has(first, "a add k kill r restart")) << first;
  p.Keys({"End"});
  p.WaitFor("agent-100");
  p.Resize(200, 60);
  std::string wide = p.WaitFor("── agent-100 · ");  // the detail panel needs 30+ rows
  EXPECT_TRUE(Has(wide, "a add  k kill  r restart")) << wide;
  p.Keys({"?"});
  p.WaitFor("─ keys ─");
  p.Keys({"Escape", "q"});
  // The dashboard quit and ssh with it: the remote screen is gone.
  p.WaitUntil([](const std::string& s) { return !Has(s, "100 agents"); });
}

}  // namespace
}  // namespace cloudcoop::tui
