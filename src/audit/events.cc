#include "audit/events.h"

#include <unistd.h>

namespace cloudcoop::audit {

Fields AgentActor(const std::string& agent, int64_t uid) {
  return {{"kind", "agent"}, {"name", agent}, {"uid", static_cast<long long>(uid)}};
}

Fields SupervisorActor(const std::string& agent) {
  return {{"kind", "supervisor"}, {"agent", agent}, {"pid", static_cast<long long>(getpid())}};
}

std::vector<std::string> BoundArgv(const std::vector<std::string>& argv, bool* truncated) {
  std::vector<std::string> out;
  size_t total = 0;
  *truncated = false;
  for (const auto& arg : argv) {
    if (out.size() == kMaxArgs || total >= kMaxArgvBytes) {
      *truncated = true;
      break;
    }
    std::string a = arg.substr(0, std::min({arg.size(), kMaxArgBytes, kMaxArgvBytes - total}));
    if (a.size() < arg.size()) *truncated = true;
    total += a.size();
    out.push_back(std::move(a));
  }
  return out;
}

Event ExecRecord(const ExecInfo& info) {
  bool truncated = false;
  std::vector<std::string> argv = BoundArgv(info.argv, &truncated);
  Fields f = {{"pid", static_cast<long long>(info.pid)},
              {"ppid", static_cast<long long>(info.ppid)},
              {"uid", static_cast<long long>(info.uid)},
              {"exe", info.exe.substr(0, kMaxArgBytes)},
              {"argv", FieldValue(std::move(argv))},
              {"cwd", info.cwd.substr(0, kMaxArgBytes)}};
  if (!info.via.empty()) f["via"] = info.via;
  if (truncated) {
    f["argv_truncated"] = true;
    f["argc"] = static_cast<long long>(info.argv.size());
  }
  return {RecordType::kExec, info.agent, AgentActor(info.agent, info.uid), std::move(f)};
}

Event LifecycleRecord(const std::string& agent, const std::string& event, Fields fields) {
  fields["event"] = event;
  return {RecordType::kLifecycle, agent, SupervisorActor(agent), std::move(fields)};
}

Event DenialRecord(const std::string& agent, const std::string& what, Fields fields) {
  fields["what"] = what;
  return {RecordType::kDenial, agent, SupervisorActor(agent), std::move(fields)};
}

}  // namespace cloudcoop::audit
