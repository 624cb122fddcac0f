// cloudcoop sandbox list [--json]: running sandboxes with their usage.
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "cli/checks_all.h"
#include "cli/command.h"
#include "core/strings.h"
#include "sandbox/control.h"

namespace cloudcoop::cli {
namespace {

int RunSandboxList(Invocation& inv) {
  auto list = sandbox::ListSandboxes(StateDirFromEnv());
  if (!list.ok()) return inv.Fail(list.status());
  if (inv.json()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : *list) {
      nlohmann::json j = {{"name", s.record.name},         {"alive", s.alive},
                          {"phase", s.record.phase},       {"uid", s.record.uid},
                          {"net", s.record.net},           {"supervisor_pid", s.record.supervisor_pid},
                          {"init_pid", s.record.init_pid}, {"started_unix", s.record.started_unix},
                          {"degraded", s.record.degraded}, {"cgroup_paths", s.record.cgroup_paths}};
      if (s.have_usage) {
        const auto& u = s.usage;
        j["usage"] = {{"cpu_usec", u.cpu_usec},
                      {"memory_bytes", u.memory_bytes},
                      {"memory_peak_bytes", u.memory_peak_bytes},
                      {"pids", u.pids},
                      {"oom_kills", u.oom_kills},
                      {"throttled_periods", u.throttled_periods},
                      {"pids_max_hits", u.pids_max_hits}};
        j["limits"] = {
            {"cpus", u.limits.cpus}, {"memory_bytes", u.limits.memory_bytes}, {"pids", u.limits.pids}};
      }
      out.push_back(j);
    }
    inv.out() << out.dump(2) << "\n";
    return 0;
  }
  if (list->empty()) {
    inv.out() << "no sandboxes\n";
    return 0;
  }
  inv.out()
      << "NAME                     STATE    UID         NET     CPU(s)   MEMORY/LIMIT      PIDS/LIMIT\n";
  for (const auto& s : *list) {
    std::ostringstream line;
    line << s.record.name;
    std::string name = line.str();
    name.resize(std::max<size_t>(name.size() + 1, 25), ' ');
    std::string state = s.alive ? s.record.phase : "stale";
    state.resize(9, ' ');
    std::string uid = std::to_string(s.record.uid);
    uid.resize(12, ' ');
    std::string net = s.record.net;
    net.resize(8, ' ');
    inv.out() << name << state << uid << net;
    if (s.have_usage) {
      char cpu[32];
      std::snprintf(cpu, sizeof cpu, "%-9.2f", static_cast<double>(s.usage.cpu_usec) / 1e6);
      std::string mem = FormatBytes(s.usage.memory_bytes) + "/" + FormatBytes(s.usage.limits.memory_bytes);
      mem.resize(18, ' ');
      inv.out() << cpu << mem << s.usage.pids << "/" << s.usage.limits.pids;
    } else {
      inv.out() << "-";
    }
    if (!s.record.degraded.empty()) inv.out() << "  DEGRADED";
    inv.out() << "\n";
  }
  return 0;
}

}  // namespace

extern const CommandSpec kSandboxListCommand = {
    .name = "sandbox list",
    .category = Category::kSandbox,
    .summary = "list running sandboxes with their CPU, memory and process usage",
    .flags = {{"json", FlagKind::kBool, "", "print JSON"}},
    .run = RunSandboxList,
};

}  // namespace cloudcoop::cli
