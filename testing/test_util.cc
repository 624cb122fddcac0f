#include "testing/test_util.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "cli/command.h"
#include "core/files.h"
#include "core/process.h"

namespace cloudcoop::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base ? base : "/tmp") + "/cloudcoop-test.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() { (void)RemoveTree(path_); }

std::string TempDir::Write(const std::string& rel, const std::string& content) const {
  std::string path = Sub(rel);
  if (!MakeDirs(Dirname(path), 0700).ok()) throw std::runtime_error("mkdir failed for " + path);
  if (!WriteFileAtomic(path, content, 0600).ok()) throw std::runtime_error("write failed for " + path);
  return path;
}

ScopedEnv::ScopedEnv(const std::string& name, std::optional<std::string> value) : name_(name) {
  if (const char* old = std::getenv(name.c_str())) old_ = old;
  if (value) setenv(name.c_str(), value->c_str(), 1);
  else unsetenv(name.c_str());
}

ScopedEnv::~ScopedEnv() {
  if (old_) setenv(name_.c_str(), old_->c_str(), 1);
  else unsetenv(name_.c_str());
}

ScopedCwd::ScopedCwd(const std::string& dir) {
  char buf[4096];
  if (getcwd(buf, sizeof buf) != nullptr) old_ = buf;
  if (chdir(dir.c_str()) != 0) throw std::runtime_error("chdir failed: " + dir);
}

ScopedCwd::~ScopedCwd() {
  if (!old_.empty() && chdir(old_.c_str()) != 0) std::abort();
}

CliResult RunCliInProcess(const std::vector<std::string>& args, const std::string& stdin_text, bool tty) {
  std::vector<std::string> argv = {"cloudcoop"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  CliResult r;
  r.rc = cli::RunCli(argv, in, out, err, tty);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string BinaryPath() {
  const char* bin = std::getenv("CLOUDCOOP_BINARY");
  if (bin == nullptr) throw std::runtime_error("CLOUDCOOP_BINARY is not set (run the tests through ctest)");
  return bin;
}

std::string SourceDir() {
  const char* dir = std::getenv("CLOUDCOOP_SOURCE_DIR");
  if (dir == nullptr) throw std::runtime_error("CLOUDCOOP_SOURCE_DIR is not set (run the tests through ctest)");
  return dir;
}

CliResult RunBinary(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                    const std::string& stdin_text) {
  ProcessSpec spec;
  spec.argv = {BinaryPath()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  for (const auto& [k, v] : env) spec.env[k] = v;
  spec.stdin_data = stdin_text;
  spec.timeout = std::chrono::seconds(120);
  auto result = DefaultProcessRunner().Run(spec);
  CliResult r;
  if (!result.ok()) {
    r.err = result.status().ToString();
    return r;
  }
  r.rc = result->signal != 0 ? 128 + result->signal : result->exit_code;
  r.out = result->out;
  r.err = result->err;
  return r;
}

}  // namespace cloudcoop::testing
