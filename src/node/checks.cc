#include "node/checks.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "core/files.h"
#include "core/strings.h"
#include "node/procs.h"
#include "node/registry.h"
#include "node/state.h"

namespace cloudcoop::node {
namespace {

using policy::CheckContext;
using policy::CheckOutcome;

std::string ModeText(mode_t m) {
  char buf[8];
  snprintf(buf, sizeof buf, "%04o", m & 07777);
  return buf;
}

CheckOutcome StateDirSafe(const CheckContext& ctx) {
  StateLayout layout(ctx.state_dir);
  struct stat st;
  if (stat(layout.root().c_str(), &st) != 0) {
    if (errno == ENOENT) return policy::NotApplicable("no agent host state at " + layout.root() + " (no agent has run here)");
    return policy::Fail("cannot stat " + layout.root() + ": " + strerror(errno), "check the path and run as root");
  }
  struct Want {
    std::string path;
    mode_t mode;
  } wants[] = {{layout.root(), 0711}, {layout.agents_dir(), 0700}, {layout.run_dir(), 0700}};
  std::vector<std::string> bad;
  for (const auto& w : wants) {
    if (stat(w.path.c_str(), &st) != 0) {
      bad.push_back(w.path + " is missing");
      continue;
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) bad.push_back(w.path + " is owned by uid " + std::to_string(st.st_uid));
    if ((st.st_mode & 07777) != w.mode) bad.push_back(w.path + " has mode " + ModeText(st.st_mode) + ", want " + ModeText(w.mode));
  }
  if (!bad.empty()) {
    return policy::Fail(Join(bad, "; "), "chown root and chmod as listed (any cloudcoop agent command repairs the modes)");
  }
  return policy::Pass(layout.root() + " and its records are root's and closed to others");
}

CheckOutcome AgentsSandboxed(const CheckContext& ctx) {
  Registry registry{StateLayout(ctx.state_dir)};
  if (!IsDirectory(registry.layout().agents_dir())) return policy::NotApplicable("no agents on this host");
  std::vector<Status> problems;
  auto records = registry.List(&problems);
  if (!problems.empty()) return policy::Fail("cannot read every agent record: " + problems.front().message(), problems.front().fix());
  auto procs = ScanByUid(registry.uids().Matcher());
  std::vector<std::string> unsandboxed;
  int running = 0;
  for (const auto& r : records) {
    if (!procs.count(r.uid)) continue;
    ++running;
    if (r.unsandboxed) unsandboxed.push_back(r.name);
  }
  if (!unsandboxed.empty()) {
    return policy::Fail(std::to_string(unsandboxed.size()) + " running agent(s) without the sandbox (--unsandboxed): " +
                            Join(unsandboxed, ", "),
                        "restart them inside the sandbox: cloudcoop agent rm NAME, then agent add without --unsandboxed");
  }
  if (running == 0) return policy::NotApplicable("no agent is running");
  return policy::Pass(std::to_string(running) + " running agent(s), each inside its sandbox");
}

CheckOutcome NoStrayAgentProcesses(const CheckContext& ctx) {
  Registry registry{StateLayout(ctx.state_dir)};
  if (!IsDirectory(registry.layout().agents_dir())) return policy::NotApplicable("no agents on this host");
  std::set<uint32_t> known;
  for (const auto& r : registry.List()) known.insert(r.uid);
  std::vector<std::string> strays;
  for (const auto& [uid, procs] : ScanByUid(registry.uids().Matcher())) {
    if (known.count(uid)) continue;
    for (const auto& p : procs) strays.push_back(std::to_string(p.pid) + " (" + p.comm + ", uid " + std::to_string(uid) + ")");
  }
  if (!strays.empty()) {
    return policy::Fail("processes under agent uids with no registered agent: " + Join(strays, ", "),
                        "stop them: cloudcoop panic");
  }
  return policy::Pass("every process under an agent uid belongs to a registered agent");
}

CheckOutcome NotLockedOut(const CheckContext& ctx) {
  Registry registry{StateLayout(ctx.state_dir)};
  auto l = registry.GetLockout();
  if (!l) return policy::Pass("no panic lock-out in force");
  return policy::Warn("locked out by `cloudcoop panic` at " + FormatRfc3339(l->at) + (l->reason.empty() ? "" : " (" + l->reason + ")"),
                      "rotate every credential the agents could reach, then: cloudcoop unlock --rotated");
}

}  // namespace

void RegisterNodeChecks(policy::CheckRegistry& registry) {
  registry.Add({"agents.state-dir", "agent host state is root's and closed to others", "containment 8", "",
                policy::Severity::kHigh, StateDirSafe});
  registry.Add({"agents.sandboxed", "every running agent is inside its sandbox", "containment 1", "",
                policy::Severity::kCritical, AgentsSandboxed});
  registry.Add({"agents.no-strays", "no process runs under an agent uid without a registered agent", "kill switch 9", "",
                policy::Severity::kHigh, NoStrayAgentProcesses});
  registry.Add({"agents.lockout", "no panic lock-out is waiting for credential rotation", "runbook 10", "",
                policy::Severity::kMedium, NotLockedOut});
}

}  // namespace cloudcoop::node
