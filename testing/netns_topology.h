// A network-namespace test topology: an "agent host" whose only route leads to a "fake internet",
// so that tests of network modes never send a packet to the real network.
//
//   agent host ns  cc-t<pid>-<n>-host            fake internet ns  cc-t<pid>-<n>-inet
//     up0 10.77.0.2/24 (the host's VPC address) ── dn0 10.77.0.1/24 (VPC gateway; "VPC service" :80)
//     default via 10.77.0.1                         lo: 203.0.113.10   web server :80 (allowed host)
//     (sandboxes hang off this namespace)               169.254.169.254 fake metadata server :80 and
//                                                                        the host's resolver :53 (as on GCE)
//                                                       198.51.100.53   an arbitrary public resolver :53
//
// The fake DNS servers answer example.test -> 203.0.113.10, metadata.google.internal ->
// 169.254.169.254, rebind.test -> 10.77.0.1, loopback.test -> 127.0.0.1, mapped.test (AAAA) ->
// ::ffff:169.254.169.254, and NXDOMAIN otherwise. Every server counts what reaches it, so tests can
// assert that a blocked probe never arrived.
//
// Namespaces are made with `ip` (fine in tests; the product uses netlink) and deleted in the
// destructor; leftovers of crashed test processes (dead pid in the name) are swept on creation.
// Servers run on one thread; their sockets are created inside their namespace.
#ifndef CLOUDCOOP_TESTING_NETNS_TOPOLOGY_H_
#define CLOUDCOOP_TESTING_NETNS_TOPOLOGY_H_

#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/files.h"
#include "core/status.h"

namespace cloudcoop::testing {

// Moves the calling thread into a network namespace for the object's lifetime. Processes and
// threads started meanwhile from this thread are born there too.
class ScopedNetns {
 public:
  explicit ScopedNetns(int netns_fd);
  ~ScopedNetns();
  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;
  bool ok() const { return ok_; }

 private:
  UniqueFd self_;
  bool ok_ = false;
};

class NetnsTopology {
 public:
  static constexpr const char* kHostAddr = "10.77.0.2";
  static constexpr const char* kVpcGateway = "10.77.0.1";
  static constexpr const char* kWebAddr = "203.0.113.10";
  static constexpr const char* kMetadataAddr = "169.254.169.254";
  static constexpr const char* kPublicResolver = "198.51.100.53";
  static constexpr const char* kWebBody = "fake-internet-ok";
  static constexpr const char* kMetadataToken = "FAKE-METADATA-TOKEN";

  static StatusOr<std::unique_ptr<NetnsTopology>> Create();
  ~NetnsTopology();

  const std::string& host_ns() const { return host_ns_; }
  const std::string& inet_ns() const { return inet_ns_; }
  int host_fd() const { return host_fd_.get(); }
  int inet_fd() const { return inet_fd_.get(); }

  // A TCP service in the agent host's namespace (e.g. on 127.0.0.1 or 0.0.0.0) that sandboxes
  // must not reach. Port 0 picks one; returns the port.
  StatusOr<uint16_t> StartHostService(const std::string& name, const std::string& addr, uint16_t port);

  // How many TCP connections or DNS queries reached each server: "web", "metadata", "vpc",
  // "dns-metadata" (the host's resolver), "dns-public", and the host services by name.
  uint64_t Count(const std::string& server) const;

  // Runs `ip ARGS...` inside the given namespace (test setup only).
  Status Ip(const std::vector<std::string>& args);

 private:
  struct Listener {
    std::string name;
    UniqueFd fd;
    bool udp = false;
    bool dns = false;
    std::string http_response;
  };
  NetnsTopology() = default;
  Status Build();
  Status AddListener(int netns_fd, const std::string& name, const std::string& addr, uint16_t port, bool udp, bool dns,
                     std::string http_response, uint16_t* bound_port);
  void Serve();

  std::string host_ns_, inet_ns_;
  UniqueFd host_fd_, inet_fd_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::map<std::string, uint64_t> counts_;
  std::atomic<bool> stop_{false};
  std::thread server_;
};

// A child process that has unshared a network and a mount namespace and waits. The parent sets up
// its network (from its namespace descriptor), then Run() lets it exec a program, optionally with a
// file bind-mounted over /etc/resolv.conf, and collects its output. It is killed when the thread
// that started it exits (PR_SET_PDEATHSIG follows the thread), so start it from a long-lived one.
class NetnsChild {
 public:
  // `new_netns` false: keep the caller's (thread's) network namespace and unshare only the mount
  // namespace (to run a real `cloudcoop` with a test resolv.conf on the agent host).
  static StatusOr<std::unique_ptr<NetnsChild>> Start(bool new_netns = true);
  ~NetnsChild();  // kills and reaps it if still running

  pid_t pid() const { return pid_; }
  int netns_fd() const { return netns_fd_.get(); }

  struct Result {
    int exit_code = -1;
    std::string output;  // stdout and stderr
  };
  // Execs argv[0] (an absolute path) with `resolv_conf` (if not empty) bound over /etc/resolv.conf;
  // waits up to `timeout_sec`.
  StatusOr<Result> Run(const std::vector<std::string>& argv, const std::string& resolv_conf = "", int timeout_sec = 60);
  // Like Run but does not wait: for a listener that the test stops with Kill().
  Status Spawn(const std::vector<std::string>& argv);
  void Kill();

 private:
  NetnsChild() = default;
  pid_t pid_ = -1;
  UniqueFd netns_fd_;
  UniqueFd go_;      // parent -> child: what to exec
  UniqueFd output_;  // child's stdout+stderr
};

// Path of the network probe program (testing/net_probe.cc) in the build tree.
std::string NetProbePath();

// The probe's output as one map per line: "probe=1 cmd=tcp result=error errno=EACCES" ->
// {probe: 1, cmd: tcp, ...}.
std::vector<std::map<std::string, std::string>> ParseProbeOutput(const std::string& output);

}  // namespace cloudcoop::testing

#endif  // CLOUDCOOP_TESTING_NETNS_TOPOLOGY_H_
