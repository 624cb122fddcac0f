// Test helper: a tmux server of its own (private socket, no user configuration) with one session
// whose pane runs a command; keys in, screen out. Used by the tests that drive the real dashboard.
#ifndef CLOUDCOOP_TUI_TEST_PANE_H_
#define CLOUDCOOP_TUI_TEST_PANE_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/files.h"
#include "core/process.h"
#include "core/strings.h"

namespace cloudcoop::tui {

inline std::atomic<int> g_socket_counter{0};

// A socket name no other test (or helper) uses: cc-test-<pid>-<n>.
inline std::string UniqueSocketName(const std::string& what = "") {
  return "cc-test-" + std::to_string(getpid()) + "-" + (what.empty() ? "" : what + "-") + std::to_string(g_socket_counter++);
}

inline void RemoveSocketFile(const std::string& socket) {
  std::string dir = "/tmp/tmux-" + std::to_string(getuid());
  if (const char* t = std::getenv("TMUX_TMPDIR"); t != nullptr && *t != '\0') dir = std::string(t) + "/tmux-" + std::to_string(getuid());
  (void)RemoveTree(dir + "/" + socket);
}

inline ProcessResult Tmux(const std::string& socket, std::vector<std::string> args) {
  ProcessSpec spec;
  spec.argv = {"tmux", "-L", socket, "-f", "/dev/null"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.timeout = std::chrono::seconds(20);
  spec.env["TMUX"] = std::nullopt;
  auto r = DefaultProcessRunner().Run(spec);
  if (!r.ok()) {
    ADD_FAILURE() << "tmux " << Join(args, " ") << ": " << r.status().ToString();
    return ProcessResult{};
  }
  return *r;
}

// A tmux server of its own with one session whose pane runs a command; removed on destruction.
class Pane {
 public:
  Pane(int w, int h, const std::vector<std::string>& cmd, const std::string& session = "t")
      : socket_(UniqueSocketName()), session_(session) {
    std::vector<std::string> args = {"start-server", ";", "set", "-g", "remain-on-exit", "on", ";",
                                     "new-session", "-d", "-s", session_, "-x", std::to_string(w), "-y", std::to_string(h),
                                     "-c", "/", "--"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    ProcessResult r = Tmux(socket_, args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  ~Pane() {
    Tmux(socket_, {"kill-server"});
    RemoveSocketFile(socket_);
  }
  const std::string& socket() const { return socket_; }

  void Keys(const std::vector<std::string>& keys) {
    std::vector<std::string> args = {"send-keys", "-t", session_};
    args.insert(args.end(), keys.begin(), keys.end());
    Tmux(socket_, args);
  }
  void Type(const std::string& text) { Tmux(socket_, {"send-keys", "-t", session_, "-l", text}); }
  std::string Capture(bool escapes = false) {
    std::vector<std::string> args = {"capture-pane", "-p", "-t", session_};
    if (escapes) args.insert(args.begin() + 1, "-e");
    return Tmux(socket_, args).out;
  }
  void Resize(int w, int h) {
    ProcessResult r = Tmux(socket_, {"resize-window", "-t", session_, "-x", std::to_string(w), "-y", std::to_string(h)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  std::string Format(const std::string& fmt) {
    return std::string(Trim(Tmux(socket_, {"display-message", "-p", "-t", session_, fmt}).out));
  }
  // Polls the pane until `pred` holds (at most ~15 s); returns the last capture.
  template <typename Pred>
  std::string WaitUntil(Pred pred, bool escapes = false) {
    std::string screen;
    for (int i = 0; i < 600; ++i) {
      screen = Capture(escapes);
      if (pred(screen)) return screen;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ADD_FAILURE() << "timed out waiting; the pane shows:\n" << Capture();
    return screen;
  }
  std::string WaitFor(const std::string& text) {
    return WaitUntil([&](const std::string& s) { return s.find(text) != std::string::npos; });
  }
  // For golden comparisons: the text is there and the pane stopped changing (a frame is written
  // completely; a resize is followed by a full redraw).
  std::string WaitStable(const std::string& text) {
    std::string last;
    return WaitUntil([&](const std::string& s) {
      bool stable = s.find(text) != std::string::npos && s == last;
      last = s;
      if (!stable) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      return stable;
    });
  }
  std::string WaitGone(const std::string& text) {
    return WaitUntil([&](const std::string& s) { return s.find(text) == std::string::npos; });
  }

 private:
  std::string socket_;
  std::string session_;
};

}  // namespace cloudcoop::tui

#endif  // CLOUDCOOP_TUI_TEST_PANE_H_
