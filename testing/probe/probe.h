// cloudcoop_probe: runs inside a sandbox and tries to break out, classifying each attempt without
// side effects (shared/reference/containment-tests.md section 1): system calls get invalid
// pointers or descriptors, so a call the sandbox lets through fails harmlessly with EFAULT/EBADF
// ("reachable"), while a blocked one fails with EPERM/EACCES/ENOSYS/ENOENT ("blocked"). Real actions
// are aimed at decoys the probe or the harness made and undone at once.
//
// Output: one JSON object per probe on stdout, then a summary object. Exit codes:
//   0  every probe contained (no breach, every positive control worked)
//   1  at least one breach (a probe expected to be blocked was reachable)
//   2  usage error
//   3  inconclusive: a positive control failed (e.g. the workspace was not writable)
//
// Adding a probe: CC_PROBE(name, group, "what it tries") { ... return Blocked(...)/Reachable(...); }
// in any probes_*.cc file listed in testing/CMakeLists.txt. Network probes live in probes_net.cc.
#ifndef CLOUDCOOP_TESTING_PROBE_PROBE_H_
#define CLOUDCOOP_TESTING_PROBE_PROBE_H_

#include <cerrno>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

namespace cloudcoop::probe {

enum class Result {
  kBlocked,        // the escape was denied (PASS)
  kReachable,      // the escape worked or the call reached the kernel (BREACH)
  kOk,             // a positive control worked (PASS)
  kBroken,         // a positive control failed (inconclusive)
  kAllowedByMode,  // reachable, but the network mode shares this on purpose (host)
  kSkipped,        // not applicable here (mode, missing harness argument)
};
const char* ResultName(Result r);

struct Outcome {
  Result result = Result::kSkipped;
  int err = 0;  // the errno observed, if any
  std::string detail;
};

struct Context {
  std::string mode = "none";                // network mode: none | egress | host
  std::map<std::string, std::string> args;  // harness facts: --arg KEY=VALUE
  std::vector<int> fds_at_start;            // descriptors open when the probe started
  std::string Arg(const std::string& key) const {
    auto it = args.find(key);
    return it == args.end() ? "" : it->second;
  }
};

using ProbeFn = Outcome (*)(const Context&);
struct ProbeSpec {
  const char* name;
  const char* group;
  const char* what;
  ProbeFn fn;
};
std::vector<ProbeSpec>& Registry();
struct Registrar {
  Registrar(const char* name, const char* group, const char* what, ProbeFn fn) {
    Registry().push_back({name, group, what, fn});
  }
};

#define CC_PROBE(name, group, what)                                                        \
  static ::cloudcoop::probe::Outcome Probe_##name(const ::cloudcoop::probe::Context&);     \
  static ::cloudcoop::probe::Registrar registrar_##name(#name, group, what, Probe_##name); \
  static ::cloudcoop::probe::Outcome Probe_##name([[maybe_unused]] const ::cloudcoop::probe::Context& ctx)

// Classification helpers.
Outcome Blocked(int err, std::string detail = "");
Outcome Reachable(int err, std::string detail = "");
Outcome Ok(std::string detail = "");
Outcome Broken(int err, std::string detail = "");
Outcome Skipped(std::string why);
Outcome AllowedByMode(int err, std::string detail);
// rc/errno of a try-syscall: blocked when it failed with one of `blocked_errnos`, reachable when it
// succeeded or failed with anything else (EFAULT, EBADF, EINVAL: the kernel looked at it).
Outcome Classify(long rc, int err, std::initializer_list<int> blocked_errnos, std::string detail = "");

// The result of one call and the errno it left, captured in that order.
struct Attempt {
  long rc;
  int err;
};
template <typename F>
Attempt Try(F&& call) {
  errno = 0;
  long rc = static_cast<long>(call());
  return {rc, errno};
}
#define CC_TRY(expr) ::cloudcoop::probe::Try([&]() { return (expr); })
inline Outcome Classify(Attempt a, std::initializer_list<int> blocked_errnos, std::string detail = "") {
  return Classify(a.rc, a.err, blocked_errnos, std::move(detail));
}

// Runs `fn` in a forked child and returns its wait status (for probes that may be killed, e.g. by
// SIGSYS, or that must not change the probe's own state, e.g. unshare).
int InChild(const std::function<int()>& fn);

// The value of "Field:" in /proc/<pid>/status ("" if absent).
std::string StatusField(const std::string& pid, const std::string& field);

}  // namespace cloudcoop::probe

#endif  // CLOUDCOOP_TESTING_PROBE_PROBE_H_
