// Helpers shared by tests: temporary directories, environment overrides, and running the CLI
// in-process or as the real binary.
#ifndef CLOUDCOOP_TESTING_TEST_UTIL_H_
#define CLOUDCOOP_TESTING_TEST_UTIL_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cloudcoop::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& rel) const { return path_ + "/" + rel; }
  // Writes a file (creating parent directories) and returns its path.
  std::string Write(const std::string& rel, const std::string& content) const;

 private:
  std::string path_;
};

// Sets (or unsets) environment variables for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const std::string& name, std::optional<std::string> value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// Changes the working directory for the lifetime of the object.
class ScopedCwd {
 public:
  explicit ScopedCwd(const std::string& dir);
  ~ScopedCwd();

 private:
  std::string old_;
};

struct CliResult {
  int rc = -1;
  std::string out;
  std::string err;
};

// Runs the CLI in-process (argv without "cloudcoop").
CliResult RunCliInProcess(const std::vector<std::string>& args, const std::string& stdin_text = "",
                          bool tty = false);

// Runs the built cloudcoop binary (CLOUDCOOP_BINARY) as a child process.
CliResult RunBinary(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                    const std::string& stdin_text = "");

std::string BinaryPath();
std::string SourceDir();

}  // namespace cloudcoop::testing

#endif  // CLOUDCOOP_TESTING_TEST_UTIL_H_
