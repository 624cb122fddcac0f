// cloudcoop agent list: every agent on this host with its state, resources and last output line.
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/agent_host.h"
#include "cli/command.h"
#include "core/strings.h"

namespace cloudcoop::cli {
namespace {

std::string Fit(std::string s, size_t width) {
  if (s.size() > width) s = s.substr(0, width > 1 ? width - 1 : 0) + "…";
  return s;
}

std::string Pad(const std::string& s, size_t width) {
  size_t shown = 0;
  for (unsigned char c : s) shown += (c & 0xC0) != 0x80;  // UTF-8 code points
  return shown >= width ? s : s + std::string(width - shown, ' ');
}

int RunAgentList(Invocation& inv) {
  auto host = OpenLocalHost(inv, /*create=*/false);
  if (!host.ok()) return inv.Fail(host.status());
  auto views = host->host->List(/*tails=*/true);
  if (!views.ok()) return inv.Fail(views.status());
  if (inv.json()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : *views) {
      const auto& r = v.record;
      nlohmann::json j = {{"name", r.name},
                          {"profile", r.profile},
                          {"state", v.state},
                          {"detail", v.state_detail},
                          {"uid", r.uid},
                          {"workspace", r.workspace},
                          {"argv", r.argv},
                          {"network", r.network},
                          {"unsandboxed", r.unsandboxed},
                          {"generation", r.generation},
                          {"uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(v.uptime).count()},
                          {"processes", v.processes},
                          {"clients", v.clients},
                          {"last_line", v.last_line}};
      if (v.usage) {
        j["cpu_seconds"] = v.usage->cpu_seconds;
        j["memory_bytes"] = v.usage->memory_bytes;
        j["pids"] = v.usage->pids;
      } else {
        j["cpu_seconds"] = nullptr;
        j["memory_bytes"] = nullptr;
        j["pids"] = nullptr;
      }
      if (v.status && v.status->exit_code) j["exit_code"] = *v.status->exit_code;
      if (v.status && v.status->signal) j["signal"] = *v.status->signal;
      if (r.repo) j["branch"] = r.repo->branch;
      if (r.killed_at) {
        j["killed_at"] = FormatRfc3339(*r.killed_at);
        j["killed_by"] = r.killed_by;
      }
      out.push_back(j);
    }
    inv.out() << out.dump(2) << "\n";
    return 0;
  }
  if (views->empty()) {
    inv.out() << "no agents on this host (start one: cloudcoop agent add NAME)\n";
    return 0;
  }
  bool color = isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
  auto paint = [&](const std::string& state, const std::string& text) {
    if (!color) return text;
    const char* c = state == "running" ? "\033[32m" : state == "exited" ? "\033[33m" : "\033[31m";
    return std::string(c) + text + "\033[0m";
  };
  inv.out() << Pad("NAME", 14) << Pad("PROFILE", 9) << Pad("STATE", 22) << Pad("UPTIME", 8) << Pad("CPU", 8)
            << Pad("MEM", 8) << Pad("PIDS", 6) << Pad("WORKSPACE", 34) << "LAST OUTPUT\n";
  for (const auto& v : *views) {
    const auto& r = v.record;
    std::string state = v.state + (v.state_detail.empty() || v.state == "failed" || v.state == "lost" ? "" : " (" + v.state_detail + ")");
    if (r.unsandboxed && v.state == "running") state += " !sbx";
    std::string cpu = "-", mem = "-", pids = "-";
    if (v.usage) {
      char buf[32];
      snprintf(buf, sizeof buf, "%.1fs", v.usage->cpu_seconds);
      cpu = buf;
      mem = FormatBytes(v.usage->memory_bytes);
      pids = std::to_string(v.usage->pids);
    } else if (v.state == "running") {
      pids = std::to_string(v.processes);
    }
    std::string uptime = v.state == "running" ? FormatShortDuration(v.uptime) : "-";
    inv.out() << Pad(Fit(r.name, 13), 14) << Pad(Fit(r.profile, 8), 9) << paint(r.unsandboxed ? "unsandboxed" : v.state, Pad(Fit(state, 21), 22))
              << Pad(uptime, 8) << Pad(cpu, 8) << Pad(mem, 8) << Pad(pids, 6) << Pad(Fit(r.workspace, 33), 34)
              << Fit(v.last_line, 60) << "\n";
  }
  bool any_unsandboxed = false;
  for (const auto& v : *views) any_unsandboxed = any_unsandboxed || (v.record.unsandboxed && v.state == "running");
  if (any_unsandboxed) inv.out() << paint("unsandboxed", "!sbx: running without the sandbox (--unsandboxed)") << "\n";
  return 0;
}

}  // namespace

extern const CommandSpec kAgentListCommand = {
    .name = "agent list",
    .aliases = {"agents list", "agent ls", "agents"},
    .category = Category::kAgents,
    .summary = "list the agents: state, uptime, CPU, memory, processes, workspace, last output",
    .flags = {{"json", FlagKind::kBool, "", "print JSON"}},
    .description = "States: running, exited (with its status or signal), killed (by `agent kill` or panic),\n"
                   "creating, failed (an `agent add` that did not finish), lost (no tmux session any more).",
    .run = RunAgentList,
};

}  // namespace cloudcoop::cli
