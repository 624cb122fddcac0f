// Running other programs: argv vectors only, never a shell string.
//
// ProcessRunner is the seam for every external program cloudcoop starts (tmux, git, ip, gcloud in
// tests). RealProcessRunner spawns it; FakeProcessRunner answers from a script so logic that parses
// program output can be tested without the program.
#ifndef CLOUDCOOP_CORE_PROCESS_H_
#define CLOUDCOOP_CORE_PROCESS_H_

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace cloudcoop {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up on PATH when it has no '/'
  // Variables set (or, with an empty optional, removed) on top of the inherited environment.
  std::map<std::string, std::optional<std::string>> env;
  bool clear_env = false;  // start from an empty environment instead of inheriting
  std::string cwd;          // empty: inherit
  std::string stdin_data;   // written to the child's stdin, then closed
  Duration timeout{0};      // zero: no limit; on expiry the child's process group is killed
  // Interactive: the child shares our terminal (stdin/stdout/stderr) and nothing is captured.
  bool interactive = false;
};

struct ProcessResult {
  int exit_code = -1;    // valid when signal == 0
  int signal = 0;        // the terminating signal, if any
  bool timed_out = false;
  std::string out;
  std::string err;
  bool success() const { return signal == 0 && !timed_out && exit_code == 0; }
  // "exit status 3" / "killed by signal 9 (SIGKILL)" / "timed out"
  std::string Describe() const;
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Fails only if the program could not be started (not found, not executable, ...); a non-zero
  // exit is a successful Run with a non-zero exit_code.
  virtual StatusOr<ProcessResult> Run(const ProcessSpec& spec) = 0;
};

class RealProcessRunner : public ProcessRunner {
 public:
  StatusOr<ProcessResult> Run(const ProcessSpec& spec) override;
};

RealProcessRunner& DefaultProcessRunner();

// Scripted runner: each call is recorded and answered by the handler.
class FakeProcessRunner : public ProcessRunner {
 public:
  using Handler = std::function<StatusOr<ProcessResult>(const ProcessSpec&)>;
  explicit FakeProcessRunner(Handler handler) : handler_(std::move(handler)) {}
  StatusOr<ProcessResult> Run(const ProcessSpec& spec) override;
  std::vector<std::vector<std::string>> calls() const;

 private:
  mutable std::mutex mu_;
  Handler handler_;
  std::vector<std::vector<std::string>> calls_;
};

// Looks a program up on PATH like execvp does. Empty when not found.
std::string FindOnPath(const std::string& program);

}  // namespace cloudcoop

#endif  // CLOUDCOOP_CORE_PROCESS_H_
