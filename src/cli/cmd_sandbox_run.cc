// cloudcoop sandbox run [flags] -- CMD ARGS...: runs CMD in a sandbox with this terminal and returns
// its exit status. The agent service runs agents through the same code (sandbox/launcher.h).
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <ostream>

#include "cli/checks_all.h"
#include "cli/command.h"
#include "config/loader.h"
#include "core/strings.h"
#include "sandbox/launcher.h"
#include "sandbox/plan.h"

extern char** environ;

namespace cloudcoop::cli {
namespace {

using sandbox::Bind;
using sandbox::PlanRequest;

StatusOr<Bind> ParseBind(const std::string& text, bool writable) {
  size_t colon = text.find(':');
  Bind b;
  b.source = text.substr(0, colon);
  b.target = colon == std::string::npos ? b.source : text.substr(colon + 1);
  b.writable = writable;
  if (b.source.empty() || b.target.empty()) {
    return InvalidArgumentError(std::string(writable ? "--bind" : "--ro-bind") + " \"" + text +
                                "\" is not SRC[:DST]")
        .WithFix("write it as --bind /host/dir or --bind /host/dir:/inside/dir");
  }
  return b;
}

StatusOr<PlanRequest> RequestFromFlags(Invocation& inv) {
  PlanRequest req;
  req.argv = inv.passthrough();
  req.name = inv.ValueOr("name", "");
  req.workspace = inv.ValueOr("workspace", "");
  req.home = inv.ValueOr("home", "");
  req.exit_status_file = inv.ValueOr("exit-file", "");
  req.state_dir = StateDirFromEnv();
  if (auto net = inv.Value("net")) {
    CC_ASSIGN_OR_RETURN(req.net, sandbox::ParseNetMode(*net));
    req.net_explicit = true;
  }
  if (auto cpus = inv.Value("cpus")) {
    auto v = ParseDouble(*cpus);
    if (!v.has_value())
      return InvalidArgumentError("--cpus " + *cpus + " is not a number").WithFix("e.g. --cpus 1.5");
    req.cpus = *v;
  }
  if (auto memory = inv.Value("memory")) {
    CC_ASSIGN_OR_RETURN(req.memory_bytes, ParseByteSize(*memory));
  }
  if (auto pids = inv.Value("pids")) {
    auto v = ParseInt64(*pids);
    if (!v.has_value())
      return InvalidArgumentError("--pids " + *pids + " is not a number").WithFix("e.g. --pids 512");
    req.pids = *v;
  }
  req.env = inv.Values("env");
  req.allow_degraded = inv.Values("allow-degraded");
  req.exec_capture = !inv.Has("no-exec-capture");
  for (const auto& b : inv.Values("ro-bind")) {
    CC_ASSIGN_OR_RETURN(Bind bind, ParseBind(b, false));
    req.extra_binds.push_back(bind);
  }
  for (const auto& b : inv.Values("bind")) {
    CC_ASSIGN_OR_RETURN(Bind bind, ParseBind(b, true));
    req.extra_binds.push_back(bind);
  }
  for (const auto& p : inv.Values("protect")) {
    bool dir = EndsWith(p, "/");
    std::string path = dir ? p.substr(0, p.size() - 1) : p;
    if (!path.empty() && path[0] != '/' && !req.workspace.empty()) path = req.workspace + "/" + path;
    req.protected_paths.push_back({path, dir ? sandbox::PathKind::kDir : sandbox::PathKind::kFile});
  }
  req.protect_default_paths = inv.Has("protect-defaults");
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) req.caller_env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return req;
}

int RunSandboxRun(Invocation& inv) {
  auto config = inv.Config();
  if (!config.ok()) return inv.Fail(config.status());
  auto req = RequestFromFlags(inv);
  if (!req.ok()) return inv.Fail(req.status());
  req->audit = (*config)->settings().audit;
  auto plan = sandbox::BuildPlan((*config)->settings().agents, *req, sandbox::HostLayout::Read());
  if (!plan.ok()) return inv.Fail(plan.status());
  if (inv.Has("plan")) {
    inv.out() << (inv.json() ? sandbox::PlanToJson(*plan) + "\n" : sandbox::FormatPlanText(*plan));
    return 0;
  }
  if (inv.json())
    return inv.UsageError("--json applies to --plan only (the command's own output is not captured)");
  inv.out().flush();
  sandbox::RunOptions options;
  options.on_degraded = [&inv](const std::string& what) {
    inv.err() << "cloudcoop: WARNING: sandbox layer DEGRADED (--allow-degraded): " << what << "\n";
    inv.err().flush();
  };
  auto result = sandbox::RunSandbox(*plan, options);
  if (!result.ok()) {
    inv.Fail(result.status());
    return sandbox::LaunchFailureExitCode(result.status());
  }
  return result->exit_code;
}

}  // namespace

extern const CommandSpec kSandboxRunCommand = {
    .name = "sandbox run",
    .category = Category::kSandbox,
    .summary = "run a command in a sandbox with this terminal, returning its exit status",
    .args = "-- CMD [ARGS...]",
    .passthrough = true,
    .min_passthrough = 1,
    .flags =
        {
            {"name", FlagKind::kValue, "NAME",
             "sandbox name: hostname, cgroup, record (default sandbox-<pid>)"},
            {"workspace", FlagKind::kValue, "DIR", "bind DIR read-write at the same path and start there"},
            {"home", FlagKind::kValue, "DIR",
             "bind DIR read-write as the home directory (default: private tmpfs)"},
            {"net",
             FlagKind::kValue,
             "MODE",
             "network: none (loopback only), egress, host (explicit only)",
             {"none", "egress", "host"}},
            {"cpus", FlagKind::kValue, "N", "CPU quota in CPUs (default agents.cpus)"},
            {"memory", FlagKind::kValue, "SIZE", "memory limit, no swap beyond it (default agents.memory)"},
            {"pids", FlagKind::kValue, "N", "limit on processes and threads (default agents.pids)"},
            {"env", FlagKind::kRepeated, "K=V", "set an environment variable inside"},
            {"ro-bind", FlagKind::kRepeated, "SRC[:DST]", "bind a host directory read-only"},
            {"bind", FlagKind::kRepeated, "SRC[:DST]", "bind a host directory read-write (nosuid, nodev)"},
            {"protect", FlagKind::kRepeated, "PATH",
             "keep PATH (relative to the workspace; trailing / = directory) "
             "read-only, even if it does not exist yet"},
            {"protect-defaults", FlagKind::kBool, "",
             "protect .git/hooks, .git/config, .mcp.json, .claude, ... "},
            {"allow-degraded", FlagKind::kRepeated, "LAYER",
             "start even if LAYER (landlock, userns, cgroup) cannot be applied; printed and recorded"},
            {"no-exec-capture", FlagKind::kBool, "",
             "do not record the programs the command executes (printed and recorded as degraded)"},
            {"exit-file", FlagKind::kValue, "FILE",
             "write the command's exit (code, signal) to FILE as JSON"},
            {"plan", FlagKind::kBool, "", "print the plan (what would be applied, in order) and exit"},
            {"json", FlagKind::kBool, "", "with --plan: print the plan as JSON"},
        },
    .description =
        "Runs CMD as its own unprivileged uid in new user, mount, pid, ipc, uts, cgroup and (except with\n"
        "--net host) network namespaces, under cgroup CPU/memory/pids limits, seccomp, Landlock and\n"
        "no_new_privs, with no capabilities. The root is built from read-only binds of /usr, /etc (secrets\n"
        "masked) and /opt; the workspace and home are writable; /tmp is private. The command keeps this\n"
        "terminal (no new session; TIOCSTI is filtered). Every layer fails closed: if one cannot be applied\n"
        "nothing runs, unless --allow-degraded names it.\n"
        "\n"
        "Network mode egress (the agents.network default) gives CMD its own network namespace with outbound\n"
        "internet and DNS (a relay on its loopback), but not the cloud metadata server, the host's "
        "addresses\n"
        "and services, other sandboxes, or private, shared and link-local ranges. It needs the host "
        "prepared\n"
        "once (`cloudcoop sandbox prepare-host`); on an unprepared host an egress sandbox does not start\n"
        "(there is no fallback to another mode). --net none: loopback only. --net host: the host's network.\n"
        "\n"
        "Exit status: CMD's status (128 + N when killed by signal N); 125 when the sandbox could not be set\n"
        "up, 126 when CMD could not be executed, 127 when it was not found; 2 for usage errors.",
    .run = RunSandboxRun,
    .needs_root = true,
};

}  // namespace cloudcoop::cli
