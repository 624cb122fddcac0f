#include "core/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/files.h"

extern char** environ;

namespace cloudcoop {

std::string ProcessResult::Describe() const {
  if (timed_out) return "timed out";
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + sigabbrev_np(signal) + ")";
  return "exit status " + std::to_string(exit_code);
}

std::string FindOnPath(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    return access(program.c_str(), X_OK) == 0 ? program : std::string();
  }
  const char* path = std::getenv("PATH");
  std::string p = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return {};
}

namespace {

std::vector<std::string> BuildEnv(const ProcessSpec& spec) {
  std::map<std::string, std::string> vars;
  if (!spec.clear_env) {
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv = *e;
      size_t eq = kv.find('=');
      if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  for (const auto& [k, v] : spec.env) {
    if (v.has_value()) {
      vars[k] = *v;
    } else {
      vars.erase(k);
    }
  }
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

struct Pipe {
  UniqueFd read, write;
};

Status MakePipe(Pipe* p) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoError(errno, "create pipe");
  p->read.Reset(fds[0]);
  p->write.Reset(fds[1]);
  return OkStatus();
}

}  // namespace

StatusOr<ProcessResult> RealProcessRunner::Run(const ProcessSpec& spec) {
  if (spec.argv.empty()) return InvalidArgumentError("run process: empty argv");
  std::string program = FindOnPath(spec.argv[0]);
  if (program.empty()) {
    return NotFoundError("run " + spec.argv[0] + ": program not found on PATH")
        .WithFix("install it (scripts/install-deps installs everything cloudcoop uses)");
  }
  std::vector<std::string> argv = spec.argv;
  std::vector<std::string> envs = BuildEnv(spec);
  std::vector<char*> argv_c = CStrings(argv);
  std::vector<char*> env_c = CStrings(envs);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  Pipe in, out, err;
  if (!spec.interactive) {
    CC_RETURN_IF_ERROR(MakePipe(&in));
    CC_RETURN_IF_ERROR(MakePipe(&out));
    CC_RETURN_IF_ERROR(MakePipe(&err));
    posix_spawn_file_actions_adddup2(&actions, in.read.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out.write.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err.write.get(), STDERR_FILENO);
    // Own process group, so a timeout can kill everything the child started.
    posix_spawnattr_setpgroup(&attr, 0);
  }
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGCHLD);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (!spec.interactive) flags |= POSIX_SPAWN_SETPGROUP;
  posix_spawnattr_setflags(&attr, flags);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());

  pid_t pid = -1;
  int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, argv_c.data(), env_c.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return ErrnoError(rc, "start " + spec.argv[0] + (spec.cwd.empty() ? "" : " in " + spec.cwd));
  }

  ProcessResult result;
  if (!spec.interactive) {
    in.read.Reset();
    out.write.Reset();
    err.write.Reset();
    fcntl(in.write.get(), F_SETFL, O_NONBLOCK);
    std::string_view pending = spec.stdin_data;
    if (pending.empty()) in.write.Reset();
    auto deadline = std::chrono::steady_clock::now() + spec.timeout;
    char buf[65536];
    while (out.read.valid() || err.read.valid()) {
      struct pollfd fds[3];
      int n = 0;
      int out_i = -1, err_i = -1, in_i = -1;
      if (out.read.valid()) { fds[n] = {out.read.get(), POLLIN, 0}; out_i = n++; }
      if (err.read.valid()) { fds[n] = {err.read.get(), POLLIN, 0}; err_i = n++; }
      if (in.write.valid()) { fds[n] = {in.write.get(), POLLOUT, 0}; in_i = n++; }
      int wait_ms = -1;
      if (spec.timeout.count() > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
          result.timed_out = true;
          kill(-pid, SIGKILL);
          break;
        }
        wait_ms = static_cast<int>(left.count());
      }
      int ready = poll(fds, static_cast<nfds_t>(n), wait_ms);
      if (ready < 0) {
        if (errno == EINTR) continue;
        kill(-pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        return ErrnoError(errno, "poll output of " + spec.argv[0]);
      }
      auto drain = [&](int idx, UniqueFd& fd, std::string& sink) {
        if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
        ssize_t got = read(fd.get(), buf, sizeof buf);
        if (got > 0) {
          sink.append(buf, static_cast<size_t>(got));
        } else if (got == 0 || errno != EINTR) {
          fd.Reset();
        }
      };
      drain(out_i, out.read, result.out);
      drain(err_i, err.read, result.err);
      if (in_i >= 0 && (fds[in_i].revents & (POLLOUT | POLLERR | POLLHUP))) {
        ssize_t put = write(in.write.get(), pending.data(), pending.size());
        if (put > 0) pending.remove_prefix(static_cast<size_t>(put));
        if (put < 0 && errno != EAGAIN && errno != EINTR) pending = {};
        if (pending.empty()) in.write.Reset();
      }
    }
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return ErrnoError(errno, "wait for " + spec.argv[0]);
  }
  if (WIFEXITED(wstatus)) result.exit_code = WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) result.signal = WTERMSIG(wstatus);
  return result;
}

RealProcessRunner& DefaultProcessRunner() {
  static RealProcessRunner runner;
  return runner;
}

StatusOr<ProcessResult> FakeProcessRunner::Run(const ProcessSpec& spec) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(spec.argv);
  }
  return handler_(spec);
}

std::vector<std::vector<std::string>> FakeProcessRunner::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

}  // namespace cloudcoop
