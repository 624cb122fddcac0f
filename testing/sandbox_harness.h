// Helpers for tests that run real sandboxes (label root): the probe binary, parsing its output,
// the host facts probes compare against, and decoys (listeners, a setuid copy of the probe).
// Network-mode tests (egress) reuse these with their own topology.
#ifndef CLOUDCOOP_TESTING_SANDBOX_HARNESS_H_
#define CLOUDCOOP_TESTING_SANDBOX_HARNESS_H_

#include <map>
#include <string>
#include <vector>

#include "testing/test_util.h"

namespace cloudcoop::testing {

// build/testing/cloudcoop_probe, and the directory holding it (bound read-only into sandboxes).
std::string ProbeBinary();
std::string ProbeDir();

struct ProbeLine {
  std::string probe, group, result, err, detail;
};

struct ProbeRun {
  int rc = -1;
  std::vector<ProbeLine> lines;
  std::map<std::string, ProbeLine> by_name;
  int breaches = -1, broken = -1, blocked = -1, probes = -1;
  std::string raw, err_output;
  // "name: result errno detail" for every line that is a breach or broken (for failure messages).
  std::string Problems() const;
};
ProbeRun ParseProbeOutput(const std::string& out, int rc, const std::string& err_output = "");

// "--arg host_ns_mnt=INODE ..." for every namespace of the test process.
std::vector<std::string> HostNamespaceArgs();

// A TCP listener on 127.0.0.1 (host side); connects complete through the backlog.
class TcpListener {
 public:
  TcpListener();
  ~TcpListener();
  int port() const { return port_; }
  std::string HostPort() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A listening abstract Unix socket in the host's network namespace.
class AbstractListener {
 public:
  AbstractListener();
  ~AbstractListener();
  const std::string& name() const { return name_; }

 private:
  int fd_ = -1;
  std::string name_;
};

// A setuid-root copy of the probe in a 0755 directory under `dir` (for the no_new_privs probe).
// Returns the path; the directory must be bound read-only into the sandbox.
std::string MakeSetuidProbe(const TempDir& dir);

// A unique sandbox name for this test process ("t<pid>-<n>-<suffix>").
std::string UniqueSandboxName(const std::string& suffix);

// Reserves a uid for sandbox `name` under `state_dir` from a range unique to this test process, so
// uid-based checks cannot see another test's sandbox (each test has its own state directory, and
// uid allocation is unique per state directory only).
unsigned ReserveUniqueUid(const std::string& state_dir, const std::string& name);

// Whether any process still runs as `uid` (zombies excluded).
bool AnyProcessWithUid(unsigned uid);
// Whether `pid` is gone or a zombie.
bool GoneOrZombie(int pid);

}  // namespace cloudcoop::testing

#endif  // CLOUDCOOP_TESTING_SANDBOX_HARNESS_H_
