#include "sandbox/plan.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "sandbox/launcher.h"
#include "testing/test_util.h"

namespace cloudcoop::sandbox {
namespace {

using ::cloudcoop::testing::TempDir;

HostLayout FakeHost() {
  HostLayout host;
  host.system_dirs = {"/usr", "/etc"};
  host.root_symlinks = {{"/bin", "usr/bin"}, {"/lib", "usr/lib"}};
  host.secrets = {"/etc/shadow", "/etc/ssh/ssh_host_ed25519_key", "/var/lib/secret"};
  host.rlimits[RLIMIT_NOFILE] = {1024, 20000};
  host.rlimits[RLIMIT_NPROC] = {100, 500};
  host.rlimits[RLIMIT_MEMLOCK] = {8 << 20, 8 << 20};
  host.shell = "/bin/bash";
  return host;
}

AgentSettings Defaults() {
  AgentSettings a;
  a.limits.cpus = 1.5;
  a.limits.memory_bytes = 2ULL << 30;
  a.limits.pids = 256;
  a.network = "none";
  return a;
}

PlanRequest Request(const TempDir& tmp) {
  PlanRequest r;
  r.name = "agent-1";
  r.argv = {"/bin/true"};
  r.state_dir = tmp.Sub("state");
  return r;
}

TEST(PlanTest, DefaultsComeFromTheConfiguration) {
  TempDir tmp;
  auto plan = BuildPlan(Defaults(), Request(tmp), FakeHost());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->cpus, 1.5);
  EXPECT_EQ(plan->memory_bytes, 2ULL << 30);
  EXPECT_EQ(plan->pids, 256);
  EXPECT_EQ(plan->net, NetMode::kNone);
  EXPECT_EQ(plan->hostname, "agent-1");
  EXPECT_EQ(plan->home, "/home/agent");
  EXPECT_EQ(plan->cwd, "/home/agent") << "no workspace: start in the home directory";
  EXPECT_FALSE(plan->uid.has_value());
  EXPECT_EQ(plan->tmp_size_bytes, plan->memory_bytes);
  EXPECT_TRUE(plan->allow_degraded.empty());
}

TEST(PlanTest, FlagsOverrideTheConfiguration) {
  TempDir tmp;
  PlanRequest r = Request(tmp);
  r.cpus = 0.5;
  r.memory_bytes = 64ULL << 20;
  r.pids = 32;
  r.net = NetMode::kHost;
  r.net_explicit = true;
  auto plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->cpus, 0.5);
  EXPECT_EQ(plan->memory_bytes, 64ULL << 20);
  EXPECT_EQ(plan->pids, 32);
  EXPECT_EQ(plan->net, NetMode::kHost);
  EXPECT_TRUE(plan->host_net_explicit);
}

TEST(PlanTest, HostNetworkFromTheConfigurationIsRefused) {
  TempDir tmp;
  AgentSettings a = Defaults();
  a.network = "host";
  auto plan = BuildPlan(a, Request(tmp), FakeHost());
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("explicitly"), std::string::npos) << plan.status().message();
  EXPECT_NE(plan.status().fix().find("--net host"), std::string::npos);
}

TEST(PlanTest, EgressIsTheDefaultWhenTheConfigurationSaysSo) {
  TempDir tmp;
  AgentSettings a = Defaults();
  a.network = "egress";
  auto plan = BuildPlan(a, Request(tmp), FakeHost());
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->net, NetMode::kEgress);
}

TEST(PlanTest, WorkspaceIsBoundReadWriteAtTheSamePathAndIsTheWorkingDirectory) {
  TempDir tmp;
  std::string ws = tmp.Sub("ws");
  ASSERT_EQ(mkdir(ws.c_str(), 0755), 0);
  PlanRequest r = Request(tmp);
  r.workspace = ws + "/";
  auto plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->cwd, ws);
  auto it =
      std::find_if(plan->binds.begin(), plan->binds.end(), [&](const Bind& b) { return b.target == ws; });
  ASSERT_NE(it, plan->binds.end());
  EXPECT_TRUE(it->writable);
  EXPECT_EQ(it->source, ws);
  for (const auto& b : plan->binds) {
    if (b.target == "/usr" || b.target == "/etc") {
      EXPECT_FALSE(b.writable) << b.target;
    }
  }
  auto writable = plan->WritablePaths();
  EXPECT_NE(std::find(writable.begin(), writable.end(), ws), writable.end());
  EXPECT_EQ(std::find(writable.begin(), writable.end(), "/usr"), writable.end());
}

TEST(PlanTest, MissingOrBadWorkspaceIsAnErrorNamingIt) {
  TempDir tmp;
  PlanRequest r = Request(tmp);
  r.workspace = tmp.Sub("nope");
  auto plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find(tmp.Sub("nope")), std::string::npos);
  r.workspace = "relative/dir";
  EXPECT_FALSE(BuildPlan(Defaults(), r, FakeHost()).ok());
  r.workspace = "/";
  EXPECT_FALSE(BuildPlan(Defaults(), r, FakeHost()).ok());
  r.workspace = tmp.Sub("a/../b");
  EXPECT_FALSE(BuildPlan(Defaults(), r, FakeHost()).ok());
}

TEST(PlanTest, BindsAreOrderedParentsFirst) {
  TempDir tmp;
  std::string ws = tmp.Sub("ws");
  ASSERT_EQ(mkdir(ws.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(tmp.Sub("ws/inner").c_str(), 0755), 0);
  PlanRequest r = Request(tmp);
  r.extra_binds = {{ws + "/inner", ws + "/inner", false}};
  r.workspace = ws;
  auto plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  size_t outer = 0, inner = 0;
  for (size_t i = 0; i < plan->binds.size(); ++i) {
    if (plan->binds[i].target == ws) outer = i;
    if (plan->binds[i].target == ws + "/inner") inner = i;
  }
  EXPECT_LT(outer, inner);
}

TEST(PlanTest, EnvironmentIsFreshWithOnlyTerminalAndLocalePassedThrough) {
  TempDir tmp;
  PlanRequest r = Request(tmp);
  r.caller_env = {{"TERM", "xterm-256color"},
                  {"LANG", "C.UTF-8"},
                  {"ANTHROPIC_API_KEY", "sk-ant-secret"},
                  {"HOME", "/root"},
                  {"SSH_AUTH_SOCK", "/tmp/ssh-x/agent.1"}};
  r.env = {"DEBUG=1", "PATH=/opt/bin:/usr/bin"};
  auto plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  std::map<std::string, std::string> env(plan->env.begin(), plan->env.end());
  EXPECT_EQ(env["TERM"], "xterm-256color");
  EXPECT_EQ(env["LANG"], "C.UTF-8");
  EXPECT_EQ(env["HOME"], "/home/agent");
  EXPECT_EQ(env["USER"], "agent");
  EXPECT_EQ(env["DEBUG"], "1");
  EXPECT_EQ(env["PATH"], "/opt/bin:/usr/bin") << "--env wins";
  EXPECT_EQ(env.count("ANTHROPIC_API_KEY"), 0u);
  EXPECT_EQ(env.count("SSH_AUTH_SOCK"), 0u);
  EXPECT_TRUE(std::is_sorted(plan->env.begin(), plan->env.end()));
}

TEST(PlanTest, BadEnvFlagIsAUsageError) {
  TempDir tmp;
  for (const char* bad : {"NOVALUE", "=x", "1X=y", "A-B=c"}) {
    PlanRequest r = Request(tmp);
    r.env = {bad};
    auto plan = BuildPlan(Defaults(), r, FakeHost());
    ASSERT_FALSE(plan.ok()) << bad;
    EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(plan.status().fix().find("--env NAME=value"), std::string::npos);
  }
}

TEST(PlanTest, OnlyFeatureLayersMayBeDegraded) {
  TempDir tmp;
  PlanRequest r = Request(tmp);
  r.allow_degraded = {"landlock", "cgroup", "landlock"};
  auto plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->allow_degraded.size(), 2u);
  EXPECT_TRUE(plan->MayDegrade(Layer::kLandlock));
  EXPECT_FALSE(plan->MayDegrade(Layer::kSeccomp));
  for (const char* never : {"seccomp", "caps", "no_new_privs", "mountns", "pidns", "bogus"}) {
    r.allow_degraded = {never};
    auto bad = BuildPlan(Defaults(), r, FakeHost());
    ASSERT_FALSE(bad.ok()) << never;
    EXPECT_NE(bad.status().message().find(never), std::string::npos);
    EXPECT_NE(bad.status().fix().find("landlock"), std::string::npos);
  }
}

TEST(PlanTest, SecretsUnderSystemBindsAreMaskedOthersNot) {
  TempDir tmp;
  auto plan = BuildPlan(Defaults(), Request(tmp), FakeHost());
  ASSERT_TRUE(plan.ok());
  EXPECT_NE(std::find(plan->masked.begin(), plan->masked.end(), "/etc/shadow"), plan->masked.end());
  EXPECT_NE(std::find(plan->masked.begin(), plan->masked.end(), "/etc/ssh/ssh_host_ed25519_key"),
            plan->masked.end());
  EXPECT_EQ(std::find(plan->masked.begin(), plan->masked.end(), "/var/lib/secret"), plan->masked.end())
      << "/var is not bound: nothing to mask";
}

TEST(PlanTest, StateDirectoryUnderABindIsMasked) {
  TempDir tmp;
  std::string ws = tmp.Sub("ws");
  ASSERT_EQ(mkdir(ws.c_str(), 0755), 0);
  PlanRequest r = Request(tmp);
  r.workspace = ws;
  r.state_dir = ws + "/state";
  auto plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok());
  EXPECT_NE(std::find(plan->masked.begin(), plan->masked.end(), ws + "/state"), plan->masked.end());
}

TEST(PlanTest, ProtectedPathsMustLieUnderAWritableBind) {
  TempDir tmp;
  std::string ws = tmp.Sub("ws");
  ASSERT_EQ(mkdir(ws.c_str(), 0755), 0);
  PlanRequest r = Request(tmp);
  r.workspace = ws;
  r.protected_paths = {{ws + "/.mcp.json", PathKind::kFile},
                       {"/etc/hosts", PathKind::kFile},  // read-only anyway
                       {ws + "/.mcp.json", PathKind::kFile}};
  auto plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->protected_paths.size(), 1u);
  EXPECT_EQ(plan->protected_paths[0].path, ws + "/.mcp.json");
}

TEST(PlanTest, DefaultProtectedPathsForARepository) {
  TempDir tmp;
  tmp.Write("ws/.git/HEAD", "ref: refs/heads/main\n");
  auto paths = DefaultProtectedPaths(tmp.Sub("ws"));
  auto has = [&](const std::string& p, PathKind kind) {
    return std::any_of(paths.begin(), paths.end(),
                       [&](const ProtectedPath& q) { return q.path == p && q.kind == kind; });
  };
  EXPECT_TRUE(has(tmp.Sub("ws/.git/hooks"), PathKind::kDir));
  EXPECT_TRUE(has(tmp.Sub("ws/.git/config"), PathKind::kFile));
  EXPECT_TRUE(has(tmp.Sub("ws/.mcp.json"), PathKind::kFile));
  EXPECT_TRUE(has(tmp.Sub("ws/.claude/settings.json"), PathKind::kFile));
  EXPECT_TRUE(has(tmp.Sub("ws/.codex"), PathKind::kDir));
  EXPECT_TRUE(has(tmp.Sub("ws/.vscode"), PathKind::kDir));
  EXPECT_TRUE(has(tmp.Sub("ws/.bashrc"), PathKind::kFile));
  EXPECT_TRUE(has(tmp.Sub("ws/.gitconfig"), PathKind::kFile));
}

TEST(PlanTest, DefaultProtectedPathsForAWorktreeResolveTheCommonGitDir) {
  TempDir tmp;
  tmp.Write("repo/.git/worktrees/wt1/commondir", "../..\n");
  tmp.Write("wt1/.git", "gitdir: " + tmp.Sub("repo/.git/worktrees/wt1") + "\n");
  auto paths = DefaultProtectedPaths(tmp.Sub("wt1"));
  auto has = [&](const std::string& p) {
    return std::any_of(paths.begin(), paths.end(), [&](const ProtectedPath& q) { return q.path == p; });
  };
  EXPECT_TRUE(has(tmp.Sub("repo/.git/hooks")));
  EXPECT_TRUE(has(tmp.Sub("repo/.git/config")));
  EXPECT_TRUE(has(tmp.Sub("repo/.git/worktrees/wt1/config.worktree")));
  EXPECT_FALSE(has(tmp.Sub("wt1/.git/hooks")));
}

TEST(PlanTest, RlimitsNeverExceedTheHostsHardLimits) {
  TempDir tmp;
  HostLayout host = FakeHost();
  auto plan = BuildPlan(Defaults(), Request(tmp), host);
  ASSERT_TRUE(plan.ok());
  std::map<std::string, RlimitSpec> byname;
  for (const auto& r : plan->rlimits) byname[r.name] = r;
  EXPECT_EQ(byname["NOFILE"].hard, 20000u);
  EXPECT_EQ(byname["NPROC"].hard, 500u)
      << "twice the pids limit (512), capped by the host's hard limit (500)";
  EXPECT_EQ(byname["CORE"].hard, 0u);
  for (const auto& r : plan->rlimits) {
    auto it = host.rlimits.find(r.resource);
    if (it != host.rlimits.end()) {
      EXPECT_LE(r.hard, it->second.second) << r.name;
    }
    EXPECT_LE(r.soft, r.hard);
  }
}

// `base` changed by `mutate` fails validation with a message containing `needle` and a fix.
void ExpectInvalid(const SandboxPlan& base, const std::function<void(SandboxPlan&)>& mutate,
                   const std::string& needle) {
  SandboxPlan p = base;
  mutate(p);
  Status s = ValidatePlan(p);
  EXPECT_FALSE(s.ok()) << needle;
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  EXPECT_FALSE(s.fix().empty()) << needle;
}

TEST(PlanTest, ValidationRejectsUnsafeOrNonsenseValues) {
  TempDir tmp;
  auto base = BuildPlan(Defaults(), Request(tmp), FakeHost());
  ASSERT_TRUE(base.ok());
  auto expect_bad = [&](const std::function<void(SandboxPlan&)>& mutate, const std::string& needle) {
    ExpectInvalid(*base, mutate, needle);
  };
  expect_bad([](SandboxPlan& p) { p.name = "Bad_Name"; }, "Bad_Name");
  expect_bad([](SandboxPlan& p) { p.name = "-x"; }, "-x");
  expect_bad([](SandboxPlan& p) { p.argv.clear(); }, "no command");
  expect_bad([](SandboxPlan& p) { p.uid = 0; }, "uid 0");
  expect_bad([](SandboxPlan& p) { p.uid = 65534; }, "uid 65534");
  expect_bad([](SandboxPlan& p) { p.cpus = 0; }, "cpu limit");
  expect_bad([](SandboxPlan& p) { p.memory_bytes = 1 << 20; }, "memory limit");
  expect_bad([](SandboxPlan& p) { p.pids = 2; }, "pids limit");
  expect_bad([](SandboxPlan& p) { p.binds.push_back({"/usr", "/proc/x", false}); }, "/proc/x");
  expect_bad([](SandboxPlan& p) { p.binds.push_back({"/usr", "/", false}); }, "would cover");
  expect_bad([](SandboxPlan& p) { p.state_dir.clear(); }, "state directory");
  expect_bad([](SandboxPlan& p) { p.net = NetMode::kHost; }, "explicitly");
  expect_bad([](SandboxPlan& p) { p.umask = 022; }, "umask");
  expect_bad([](SandboxPlan& p) { p.umask = 01077; }, "umask");
}

TEST(PlanTest, UmaskDefaultsTo077AndAgentsMayAsk027) {
  TempDir tmp;
  PlanRequest r = Request(tmp);
  auto plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->umask, 077u);
  r.umask = 027;
  plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->umask, 027u);
  auto back = PlanFromJson(PlanToJson(*plan));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->umask, 027u);
}

TEST(PlanTest, JsonRoundTripsAndRedactsSecrets) {
  TempDir tmp;
  PlanRequest r = Request(tmp);
  r.env = {"GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "DEBUG=1"};
  r.allow_degraded = {"landlock"};
  auto plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok());
  std::string json = PlanToJson(*plan);
  EXPECT_EQ(json.find("ghp_abcdef"), std::string::npos) << "token value leaked into the JSON plan";
  EXPECT_EQ(FormatPlanText(*plan).find("ghp_abcdef"), std::string::npos) << "token value leaked into --plan";
  auto back = PlanFromJson(PlanToJson(*plan, /*redact=*/false));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->name, plan->name);
  EXPECT_EQ(back->argv, plan->argv);
  EXPECT_EQ(back->env, plan->env);
  EXPECT_EQ(back->binds.size(), plan->binds.size());
  EXPECT_EQ(back->masked, plan->masked);
  EXPECT_EQ(back->cpus, plan->cpus);
  EXPECT_EQ(back->memory_bytes, plan->memory_bytes);
  EXPECT_EQ(back->pids, plan->pids);
  EXPECT_EQ(back->net, plan->net);
  EXPECT_EQ(back->allow_degraded, plan->allow_degraded);
  EXPECT_EQ(back->rlimits.size(), plan->rlimits.size());
  EXPECT_FALSE(PlanFromJson("not json").ok());
}

TEST(PlanTest, TextPlanShowsEveryLayerAndTheChecklist) {
  TempDir tmp;
  PlanRequest r = Request(tmp);
  r.allow_degraded = {"landlock"};
  auto plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok());
  std::string text = FormatPlanText(*plan);
  for (const char* needle :
       {"uid allocated", "network    none", "cpus 1.5", "memory 2.0G", "pids 256", "mask /etc/shadow",
        "landlock", "seccomp", "TIOCSTI", "no_new_privs", "ALLOWED TO BE MISSING: landlock", "checklist"}) {
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
  }
  size_t at = 0;
  for (const auto& step : Checklist()) {
    size_t found = text.find(std::string(step.what), at);
    ASSERT_NE(found, std::string::npos) << "step " << step.id << " missing or out of order";
    at = found;
  }
}

// The audit log's configuration (audit.*) reaches the plan, its JSON and text, and validation.
TEST(PlanTest, AuditSettingsComeFromTheConfiguration) {
  TempDir tmp;
  PlanRequest r = Request(tmp);
  auto plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->audit_enabled);
  EXPECT_TRUE(plan->exec_capture);
  EXPECT_EQ(plan->audit_segment_max_bytes, AuditSettings().segment_max_bytes);
  EXPECT_EQ(plan->audit_retention_segments, 0);

  r.audit.segment_max_bytes = 8192;
  r.audit.retention_segments = 3;
  plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->audit_segment_max_bytes, 8192u);
  EXPECT_EQ(plan->audit_retention_segments, 3);
  auto j = nlohmann::json::parse(PlanToJson(*plan));
  EXPECT_EQ(j["audit_enabled"], true);
  EXPECT_EQ(j["audit_segment_max_bytes"], 8192);
  EXPECT_EQ(j["audit_retention_segments"], 3);
  auto back = PlanFromJson(PlanToJson(*plan));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->audit_enabled);
  EXPECT_EQ(back->audit_segment_max_bytes, 8192u);
  EXPECT_EQ(back->audit_retention_segments, 3);
  std::string text = FormatPlanText(*plan);
  EXPECT_NE(text.find("segments of 8.0K, keep 3"), std::string::npos) << text;

  // audit.exec_capture = false turns capture off as --no-exec-capture does.
  r.audit.exec_capture = false;
  plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->audit_enabled);
  EXPECT_FALSE(plan->exec_capture);
  EXPECT_NE(FormatPlanText(*plan).find("EXEC CAPTURE OFF"), std::string::npos);

  // audit.enabled = false: no log and therefore no capture, said loudly in the plan.
  r.audit = AuditSettings();
  r.audit.enabled = false;
  plan = BuildPlan(Defaults(), r, FakeHost());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_FALSE(plan->audit_enabled);
  EXPECT_FALSE(plan->exec_capture) << "no log, nothing to record execs in";
  EXPECT_EQ(ExecCaptureOffReason(*plan), "audit.enabled = false");
  EXPECT_NE(FormatPlanText(*plan).find("AUDIT LOG OFF (audit.enabled = false)"), std::string::npos);
  back = PlanFromJson(PlanToJson(*plan));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->audit_enabled);
  EXPECT_FALSE(back->exec_capture);

  // A plan recorded before these fields existed reads back with the defaults.
  auto old = nlohmann::json::parse(PlanToJson(*BuildPlan(Defaults(), Request(tmp), FakeHost())));
  old.erase("audit_enabled");
  old.erase("audit_segment_max_bytes");
  old.erase("audit_retention_segments");
  back = PlanFromJson(old.dump());
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->audit_enabled);
  EXPECT_EQ(back->audit_segment_max_bytes, AuditSettings().segment_max_bytes);
}

TEST(PlanTest, ValidationRejectsBadAuditSettings) {
  TempDir tmp;
  auto base = BuildPlan(Defaults(), Request(tmp), FakeHost());
  ASSERT_TRUE(base.ok());
  auto expect_bad = [&](const std::function<void(SandboxPlan&)>& mutate, const std::string& needle) {
    ExpectInvalid(*base, mutate, needle);
  };
  expect_bad([](SandboxPlan& p) { p.audit_segment_max_bytes = 0; }, "audit segment size");
  expect_bad([](SandboxPlan& p) { p.audit_segment_max_bytes = 4095; }, "audit segment size");
  expect_bad([](SandboxPlan& p) { p.audit_retention_segments = -1; }, "audit retention");
  expect_bad([](SandboxPlan& p) { p.audit_retention_segments = 1000001; }, "audit retention");
  expect_bad([](SandboxPlan& p) { p.audit_enabled = false; }, "no audit log");
  SandboxPlan ok = *base;
  ok.audit_enabled = false;
  ok.exec_capture = false;
  EXPECT_TRUE(ValidatePlan(ok).ok());
  ok.audit_segment_max_bytes = 4096;
  EXPECT_TRUE(ValidatePlan(ok).ok());
  // BuildPlan validates too: the configured values are checked before anything runs.
  PlanRequest r = Request(tmp);
  r.audit.segment_max_bytes = 100;
  EXPECT_FALSE(BuildPlan(Defaults(), r, FakeHost()).ok());
}

// The ordering rules that make a sandbox launcher correct, checked on the checklist the launcher
// runs and `--plan` prints.
TEST(ChecklistTest, LockDownStepsRunInTheSafeOrder) {
  const auto& steps = Checklist();
  auto pos = [&](std::string_view id) {
    for (size_t i = 0; i < steps.size(); ++i) {
      if (steps[i].id == id) return static_cast<int>(i);
    }
    ADD_FAILURE() << "no step " << id;
    return -1;
  };
  std::set<std::string_view> ids;
  for (const auto& s : steps) EXPECT_TRUE(ids.insert(s.id).second) << "duplicate step id " << s.id;
  EXPECT_EQ(steps.front().id, "plan.validate");
  EXPECT_EQ(steps.back().id, "state.running");
  EXPECT_LT(pos("pidns.arm"), pos("mountns.apply")) << "die-with-parent first";
  EXPECT_LT(pos("cgroup.join"), pos("exec.fork")) << "in the cgroup before anything forks";
  EXPECT_LT(pos("cgroup.join"), pos("cgroup.namespace"));
  EXPECT_LT(pos("mountns.apply"), pos("userns.apply")) << "mounts need the host's root";
  EXPECT_LT(pos("userns.prepare"), pos("supervisor.go"))
      << "the namespace is mapped before the init enters it";
  EXPECT_LT(pos("supervisor.go"), pos("userns.apply"));
  EXPECT_LT(pos("userns.apply"), pos("caps.bounding"))
      << "entering a user namespace refills the bounding set";
  EXPECT_LT(pos("caps.bounding"), pos("ids.switch")) << "dropping the bounding set needs CAP_SETPCAP";
  EXPECT_LT(pos("rlimits.apply"), pos("ids.switch"));
  EXPECT_LT(pos("ids.switch"), pos("pidns.rearm")) << "a uid change clears the death signal";
  EXPECT_LT(pos("ids.switch"), pos("caps.verify"));
  EXPECT_LT(pos("no_new_privs.apply"), pos("landlock.apply"));
  EXPECT_LT(pos("landlock.apply"), pos("seccomp.apply"));
  EXPECT_LT(pos("seccomp.apply"), pos("exec.fork")) << "the command inherits the filter";
  EXPECT_LT(pos("pidns.dumpable"), pos("exec.fork"));
  EXPECT_LT(pos("exec.fds"), pos("exec.fork"));
  for (const char* verify : {"mountns.verify", "utsns.verify", "rlimits.verify", "caps.verify", "ids.verify",
                             "no_new_privs.verify", "landlock.verify", "seccomp.verify", "netns.verify"}) {
    std::string apply(verify);
    apply.replace(apply.find(".verify"), 7,
                  apply.rfind("caps", 0) == 0  ? ".clear"
                  : apply.rfind("ids", 0) == 0 ? ".switch"
                                               : ".apply");
    EXPECT_LT(pos(apply), pos(verify)) << verify << " reads back " << apply;
  }
}

TEST(LayersTest, ErrorsNameLayerSyscallErrnoAndFix) {
  Status s =
      LayerErrno(Layer::kSeccomp, "seccomp(SECCOMP_SET_MODE_FILTER)", "", EACCES, "set no_new_privs first");
  EXPECT_EQ(
      s.message(),
      "sandbox layer seccomp: seccomp(SECCOMP_SET_MODE_FILTER) failed: Permission denied (errno EACCES)");
  EXPECT_EQ(s.fix(), "set no_new_privs first");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(LayerOfMessage(s.message()), "seccomp");
  Status v = LayerVerifyError(Layer::kCaps, "CapEff is not empty", "report this");
  EXPECT_EQ(v.code(), StatusCode::kCheckFailed);
  EXPECT_EQ(LayerOfMessage(v.message()), "caps");
  EXPECT_EQ(LayerOfMessage("something else"), "");
  EXPECT_EQ(ParseLayer("landlock"), Layer::kLandlock);
  EXPECT_FALSE(ParseLayer("nope").has_value());
  EXPECT_EQ(LaunchFailureExitCode(LayerErrno(Layer::kExec, "execve", "x", ENOENT, "")), 127);
  EXPECT_EQ(LaunchFailureExitCode(LayerErrno(Layer::kExec, "execve", "x", EACCES, "")), 126);
  EXPECT_EQ(LaunchFailureExitCode(LayerErrno(Layer::kMountns, "open_tree", "x", ENOENT, "")), 125);
}

}  // namespace
}  // namespace cloudcoop::sandbox
