// The supervisor's checklist. Read kBeforeClone and kAfterClone top to bottom: that is the order a
// sandbox is built in; child.cc holds the init's half. Each step fails closed; cleanup undoes what
// was done, in reverse, whether the command ran or not.
#include "sandbox/launcher.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "core/logging.h"
#include "core/strings.h"
#include "sandbox/channel.h"
#include "sandbox/launcher_internal.h"
#include "sandbox/net_egress.h"
#include "sandbox/seccomp.h"
#include "sandbox/userns.h"

namespace cloudcoop::sandbox {
namespace internal {
namespace {

using StepFn = Status (*)(ParentCtx&);
struct Step {
  ChecklistStep info;
  StepFn run;
};

Status Validate(ParentCtx& c) {
  CC_RETURN_IF_ERROR(ValidatePlan(*c.plan));
  if (geteuid() != 0) {
    return LayerError(Layer::kPlan, StatusCode::kPermissionDenied, "starting a sandbox needs root",
                      "run as root (the supervisor creates namespaces, cgroups and the sandbox user)");
  }
  auto stat = ReadFile("/proc/self/stat");
  if (stat.ok()) {
    auto fields = Split(std::string_view(*stat).substr(stat->rfind(')') + 2), ' ', true);
    if (fields.size() > 17 && fields[17] != "1") {
      return LayerError(Layer::kPlan, StatusCode::kFailedPrecondition,
                        "the supervisor has " + fields[17] + " threads; clone() would copy only one",
                        "call RunSandbox from a single-threaded process");
    }
  }
  return OkStatus();
}

// The audit log first: a sandbox whose lifecycle and execs cannot be recorded does not start, and
// nothing else exists yet to be cleaned up.
Status AuditOpen(ParentCtx& c) {
  CC_ASSIGN_OR_RETURN(c.auditor, exec_audit::ExecAuditor::Open(*c.plan));
  if (!c.plan->exec_capture) {
    // Never silent: printed, kept in the running record (`check` reports it) and in the audit log.
    std::string text = c.plan->audit_enabled
                           ? "audit: exec capture turned off by the plan (" + ExecCaptureOffReason(*c.plan) + ")"
                           : "audit: no audit log, no exec capture (" + ExecCaptureOffReason(*c.plan) + ")";
    c.result.degraded.push_back(text);
    if (c.options->on_degraded) c.options->on_degraded(text);
  }
  return OkStatus();
}

Status AuditPlan(ParentCtx& c) {
  std::vector<std::string> layers;
  for (const auto& step : Checklist()) {
    std::string name(LayerName(step.layer));
    if (c.degraded.count(step.layer) == 0 && std::find(layers.begin(), layers.end(), name) == layers.end()) {
      layers.push_back(name);
    }
  }
  return c.auditor->RecordPlan(*c.plan, c.lease.uid, c.child, layers);
}

// An agent's reserved uid (ids::ReserveForOwner) is used when the plan names none.
Status Lease(ParentCtx& c) {
  std::optional<uint32_t> fixed = c.plan->uid;
  if (!fixed.has_value()) {
    char buf[32];
    std::string link = c.plan->state_dir + "/sandbox/owners/" + c.plan->name;
    ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
    if (n > 0) {
      auto v = ParseInt64(std::string_view(buf, static_cast<size_t>(n)));
      if (v.has_value()) fixed = static_cast<uint32_t>(*v);
    }
  }
  CC_ASSIGN_OR_RETURN(c.lease, ids::AcquireInParent(c.plan->state_dir, c.plan->name, fixed, c.plan->uid_base,
                                                    c.plan->uid_count));
  c.result.uid = c.lease.uid;
  return OkStatus();
}

Status Claim(ParentCtx& c) {
  state::RunningRecord& r = c.record;
  r.name = c.plan->name;
  r.phase = "starting";
  r.supervisor_pid = getpid();
  r.supervisor_start_ticks = state::ProcessStartTicks(r.supervisor_pid);
  r.uid = c.lease.uid;
  r.gid = c.lease.gid;
  r.started_unix = time(nullptr);
  r.net = std::string(NetModeName(c.plan->net));
  c.plan_json = PlanToJson(*c.plan);
  r.plan_json = c.plan_json;
  CC_ASSIGN_OR_RETURN(c.record_fd, state::ClaimInParent(c.plan->state_dir, r));
  c.record_claimed = true;
  return OkStatus();
}

Status Placeholders(ParentCtx& c) {
  CC_ASSIGN_OR_RETURN(c.placeholders, mountns::PrepareInParent(*c.plan, c.lease.uid, c.lease.gid));
  return OkStatus();
}

Status CompileSeccomp(ParentCtx& c) {
  CC_ASSIGN_OR_RETURN(c.seccomp, seccomp::BuildFilter(c.plan->exec_capture ? seccomp::DenyAction::kNotify
                                                                            : seccomp::DenyAction::kErrno));
  return OkStatus();
}

Status BlockSignals(ParentCtx& c) {
  sigset_t set = ForwardedSignalSet();
  if (sigprocmask(SIG_BLOCK, &set, &c.old_mask) != 0) {
    return LayerErrno(Layer::kSupervisor, "sigprocmask", "", errno, "report this");
  }
  c.mask_changed = true;
  c.signal_fd.Reset(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!c.signal_fd.valid()) return LayerErrno(Layer::kSupervisor, "signalfd", "", errno, "report this");
  return OkStatus();
}

Status Clone(ParentCtx& c) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return LayerErrno(Layer::kSupervisor, "socketpair", "", errno, "raise the open-file limit");
  }
  c.channel.Reset(sv[0]);
  c.child_channel.Reset(sv[1]);
  ChildCtx& cc = c.child_ctx;
  cc.plan = c.plan;
  cc.options = c.options;
  cc.channel = sv[1];
  cc.uid = c.lease.uid;
  cc.gid = c.lease.gid;
  const SandboxPlan& p = *c.plan;
  cc.files.passwd = ids::GeneratePasswd(p.user_name, c.lease.uid, c.lease.gid, p.home, p.shell);
  cc.files.group = ids::GenerateGroup(p.user_name, c.lease.gid);
  cc.files.hostname = p.hostname + "\n";
  cc.files.hosts = SandboxHostsFile(p.hostname);
  // Egress: the sandbox's resolver is its DNS relay on its own loopback (set up by netns.configure).
  if (p.net == NetMode::kEgress) cc.files.resolv_conf = SandboxResolvConf();

  int pidfd = -1;
  clone_args args{};
  args.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) {
    return LayerErrno(
        Layer::kPidns, "clone3(CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS)", "", errno,
        errno == ENOSPC ? "raise /proc/sys/user/max_*_namespaces" : "run as root on Linux 5.3 or later");
  }
  if (pid == 0) {
    close(sv[0]);
    ChildMain(cc);
  }
  c.child = static_cast<pid_t>(pid);
  c.pidfd.Reset(pidfd);
  c.child_channel.Reset();
  return OkStatus();
}

Status CreateCgroup(ParentCtx& c) {
  CC_ASSIGN_OR_RETURN(cgroup::Layout layout, cgroup::DetectLayout(c.plan->cgroup_root));
  c.cgroup = cgroup::Open(layout, c.plan->cgroup_parent, c.plan->name);
  c.record.cgroup_version = c.cgroup->version();
  c.record.cgroup_paths = c.cgroup->Paths();
  CC_RETURN_IF_ERROR(c.cgroup->PrepareInParent({c.plan->cpus, c.plan->memory_bytes, c.plan->pids}));
  // The init joins by itself (see SelfJoinFiles); it can no longer open cgroupfs paths by then.
  for (const auto& path : c.cgroup->SelfJoinFiles()) {
    UniqueFd fd(open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd.valid()) return LayerErrno(Layer::kCgroup, "open", path, errno, "check the cgroup filesystem");
    c.cgroup_join_fds.push_back(std::move(fd));
  }
  // The two counters the idle supervisor reads on its tick (supervisor.cc), opened while the
  // start-up code is still paged in.
  CC_ASSIGN_OR_RETURN(c.limit_hits, cgroup::LimitHitCounters::Open(*c.cgroup));
  return OkStatus();
}

Status VerifyNamespace(ParentCtx& c, const char* ns, Layer layer) {
  uint64_t mine = netns::NamespaceInode("self", ns);
  uint64_t theirs = netns::NamespaceInode(std::to_string(c.child), ns);
  if (mine == 0 || theirs == 0 || mine == theirs) {
    return LayerVerifyError(
        layer, std::string("the init's ") + ns + " namespace is the supervisor's (or unreadable)",
        "report this: clone() did not create it");
  }
  return OkStatus();
}
Status OutsideMnt(ParentCtx& c) { return VerifyNamespace(c, "mnt", Layer::kMountns); }
Status OutsidePid(ParentCtx& c) { return VerifyNamespace(c, "pid", Layer::kPidns); }
Status OutsideIpc(ParentCtx& c) { return VerifyNamespace(c, "ipc", Layer::kIpcns); }
Status OutsideUts(ParentCtx& c) { return VerifyNamespace(c, "uts", Layer::kUtsns); }

Status StartNet(ParentCtx& c) {
  if (!netns::NeedsNamespace(c.plan->net)) return OkStatus();
  CC_ASSIGN_OR_RETURN(c.net_pending, netns::Pending::Start());
  return OkStatus();
}
// Egress configures its namespace before the go (netns.prepare); none takes it as late as possible
// (netns.collect).
Status TakeNet(ParentCtx& c) {
  CC_ASSIGN_OR_RETURN(c.net,
                      netns::PrepareInParent(c.plan->net, c.plan->host_net_explicit, c.net_pending.get()));
  return OkStatus();
}
Status PrepareNet(ParentCtx& c) { return c.plan->net == NetMode::kNone ? OkStatus() : TakeNet(c); }
Status CollectNet(ParentCtx& c) { return c.plan->net == NetMode::kNone ? TakeNet(c) : OkStatus(); }
Status ConfigureNet(ParentCtx& c) { return netns::ConfigureFromParent(c.net, *c.plan); }

// go carries: the network and user namespaces (flagged in value), then the cgroup self-join fds;
// the seccomp program as text.
Status PrepareUserns(ParentCtx& c) {
  CC_ASSIGN_OR_RETURN(c.userns, userns::PrepareInParent(c.lease.uid, c.lease.gid, &c.userns_holder));
  return OkStatus();
}

Status Go(ParentCtx& c) {
  channel::Message go{channel::Type::kGo};
  if (c.net.netns.valid()) {
    go.value |= kGoHasNetns;
    go.fds.push_back(c.net.netns.get());
  }
  if (c.userns.valid()) {
    go.value |= kGoHasUserns;
    go.fds.push_back(c.userns.get());
  }
  for (const auto& fd : c.cgroup_join_fds) go.fds.push_back(fd.get());
  go.text.assign(reinterpret_cast<const char*>(c.seccomp.data()), c.seccomp.size() * sizeof(sock_filter));
  CC_RETURN_IF_ERROR(channel::Send(c.channel.get(), go));
  c.cgroup_join_fds.clear();
  return OkStatus();
}

const Step kBeforeClone[] = {
    {{"plan.validate", "supervisor", Layer::kPlan, "validate the plan; root; single-threaded"}, Validate},
    {{"netns.start", "supervisor", Layer::kNetns,
      "none, egress: start a helper (sharing the supervisor's memory) that makes the network namespace and "
      "brings loopback up (an ioctl, no `ip`) while everything below runs; host: none needed"},
     StartNet},
    {{"audit.open", "supervisor", Layer::kAudit,
      "open the audit log (lifecycle and exec records); no log, no sandbox"},
     AuditOpen},
    {{"ids.lease", "supervisor", Layer::kIds,
      "lease the sandbox uid (reserved for this name, else the lowest free one) and hold its lock"},
     Lease},
    {{"mountns.placeholders", "supervisor", Layer::kMountns,
      "create missing protected paths as empty root-owned placeholders"},
     Placeholders},
    {{"supervisor.signals", "supervisor", Layer::kSupervisor, "block the forwarded signals into a signalfd"},
     BlockSignals},
    {{"pidns.clone", "supervisor", Layer::kPidns,
      "clone3 the init into new mount, pid, ipc and uts namespaces (with a pidfd); it starts on the mounts "
      "at once"},
     Clone},
};

// These run while the init builds its root. The claim comes first: it is what makes a name unique,
// and everything named after the sandbox (its cgroup) is made only once the name is ours.
const Step kAfterClone[] = {
    {{"state.claim", "supervisor", Layer::kState,
      "claim the running record (the name is unique among live sandboxes)"},
     Claim},
    {{"netns.prepare", "supervisor", Layer::kNetns,
      "egress: collect the helper's network namespace and read back that it is new; none: collected at "
      "netns.collect; host: refused unless asked for explicitly"},
     PrepareNet},
    {{"netns.configure", "supervisor", Layer::kNetns,
      "egress: check the host is prepared (else fail, naming `cloudcoop sandbox prepare-host`); veth pair "
      "into the namespace, addresses, prohibit routes for every denied range, the DNS relay on the "
      "sandbox's loopback (served by the supervisor's poll loop); read all of it back"},
     ConfigureNet},
    {{"userns.prepare", "supervisor", Layer::kUserns,
      "create the sandbox's user namespace and write \"uid uid 1\" to its uid_map and gid_map"},
     PrepareUserns},
    {{"cgroup.create", "supervisor", Layer::kCgroup,
      "create <cgroupfs>/<parent>/<name>, write cpu, memory (+swap) and pids limits, read them back; open "
      "its join files for the init and its oom-kill and pids-limit counters for the supervisor"},
     CreateCgroup},
    {{"seccomp.compile", "supervisor", Layer::kSeccomp, "compile the system-call filter (once per process)"},
     CompileSeccomp},
    {{"mountns.outside", "supervisor", Layer::kMountns,
      "read back from /proc: the init's mount namespace is new"},
     OutsideMnt},
    {{"pidns.outside", "supervisor", Layer::kPidns, "read back from /proc: the init's pid namespace is new"},
     OutsidePid},
    {{"ipcns.outside", "supervisor", Layer::kIpcns, "read back from /proc: the init's ipc namespace is new"},
     OutsideIpc},
    {{"utsns.outside", "supervisor", Layer::kUtsns, "read back from /proc: the init's uts namespace is new"},
     OutsideUts},
    {{"audit.plan", "supervisor", Layer::kAudit,
      "record the plan (layers, limits, uid, binds) in the audit log"},
     AuditPlan},
    {{"netns.collect", "supervisor", Layer::kNetns,
      "none: collect the helper's network namespace (usually long made) and read back that it is new"},
     CollectNet},
    {{"supervisor.go", "supervisor", Layer::kSupervisor,
      "send go (network and user namespaces, cgroup join files, seccomp program) to the init"},
     Go},
};

// Runs steps in order; a failed step fails the start unless its layer may be degraded, in which
// case the rest of that layer's steps are skipped and the degradation is printed and recorded.
Status RunSteps(ParentCtx& c, const Step* steps, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const Step& step = steps[i];
    if (c.degraded.count(step.info.layer)) continue;
    Status s = RunTimedStep("supervisor", step.info, *c.options, [&] { return step.run(c); });
    if (s.ok()) continue;
    if (!c.plan->MayDegrade(step.info.layer)) return s;
    c.degraded.insert(step.info.layer);
    std::string text = std::string(LayerName(step.info.layer)) + ": " + s.message();
    c.result.degraded.push_back(text);
    if (c.options->on_degraded) c.options->on_degraded(text);
  }
  return OkStatus();
}

// PF_EXITING (field 9 of /proc/<pid>/stat), a zombie, or gone.
bool InitExiting(pid_t pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return true;
  auto fields = Split(std::string_view(*stat).substr(stat->rfind(')') + 2), ' ', true);
  if (fields.size() < 7) return true;
  constexpr unsigned long kPfExiting = 0x4;
  return fields[0] == "Z" || fields[0] == "X" ||
         (std::strtoul(fields[6].c_str(), nullptr, 10) & kPfExiting) != 0;
}

// An init that failed sent its error before exiting, so it is already queued on the channel.
Status PreferInitError(ParentCtx& c, Status parent_error) {
  if (c.child <= 0 || !c.channel.valid()) return parent_error;
  pollfd p{c.channel.get(), POLLIN, 0};
  while (poll(&p, 1, 0) > 0) {
    auto msg = channel::Recv(c.channel.get());
    if (!msg.ok()) break;
    for (int fd : msg->fds) close(fd);
    if (msg->type == channel::Type::kError) return msg->status;
  }
  return parent_error;
}

void WriteExitFile(const ParentCtx& c, bool launched, const Status& error) {
  if (c.plan->exit_status_file.empty()) return;
  nlohmann::json j;
  j["name"] = c.plan->name;
  j["uid"] = c.lease.uid;
  j["started_unix"] = c.record.started_unix;
  j["ended_unix"] = static_cast<int64_t>(time(nullptr));
  j["degraded"] = c.result.degraded;
  if (c.result.have_usage) {
    const cgroup::Usage& u = c.result.usage;
    j["usage"] = {{"cpu_usec", u.cpu_usec},
                  {"memory_peak_bytes", u.memory_peak_bytes},
                  {"oom_kills", u.oom_kills},
                  {"throttled_periods", u.throttled_periods},
                  {"pids_max_hits", u.pids_max_hits}};
  }
  if (launched) {
    j["exit_code"] = c.result.exit_code;
    j["signal"] = c.result.signal;
    if (c.result.signal != 0) j["signal_name"] = sigabbrev_np(c.result.signal);
  } else {
    j["exit_code"] = LaunchFailureExitCode(error);
    j["error"] = error.message();
    j["fix"] = error.fix();
  }
  Status s = WriteFileAtomic(c.plan->exit_status_file, j.dump(2) + "\n");
  if (!s.ok()) CC_LOG_ERROR("sandbox %s: %s", c.plan->name.c_str(), s.ToString().c_str());
}

// Undoes everything, in reverse, whatever happened.
void Cleanup(ParentCtx& c, bool launched, const Status& error) {
  if (c.child > 0) KillAndReapInit(c);
  userns::ReapHolder(&c.userns_holder);
  if (c.cgroup != nullptr && launched &&
      (c.options->collect_usage || !c.plan->exit_status_file.empty() || c.auditor != nullptr)) {
    auto usage = c.cgroup->ReadUsage();
    if (usage.ok()) {
      c.result.usage = *usage;
      c.result.have_usage = true;
    }
  }
  if (c.auditor != nullptr) {
    c.auditor->RecordEnd(launched, error, c.result.exit_code, c.result.signal,
                         c.result.have_usage ? &c.result.usage : nullptr);
  }
  if (c.cgroup != nullptr) {
    Status s = c.cgroup->CleanupInParent();
    if (!s.ok()) CC_LOG_ERROR("sandbox %s: cleanup: %s", c.plan->name.c_str(), s.ToString().c_str());
  }
  netns::CleanupInParent(c.net);
  mountns::CleanupInParent(c.placeholders);
  WriteExitFile(c, launched, error);
  if (c.record_claimed) state::Remove(c.plan->state_dir, c.plan->name);
  ids::ReleaseInParent(c.lease);
  c.signal_fd.Reset();
  if (c.mask_changed) sigprocmask(SIG_SETMASK, &c.old_mask, nullptr);
}

}  // namespace

std::vector<ChecklistStep> ParentChecklistBeforeClone() {
  std::vector<ChecklistStep> out;
  for (const auto& s : kBeforeClone) out.push_back(s.info);
  return out;
}

std::vector<ChecklistStep> ParentChecklistAfterClone() {
  std::vector<ChecklistStep> out;
  for (const auto& s : kAfterClone) out.push_back(s.info);
  out.push_back(
      {"cgroup.outside", "supervisor", Layer::kCgroup,
       "once the command runs, read back from /proc/<init>/cgroup: the init is in the sandbox's group"});
  out.push_back(
      {"state.running", "supervisor", Layer::kState,
       "the command runs: record it; then reap, forward signals, and on exit kill and remove the cgroup"});
  return out;
}

}  // namespace internal

const std::vector<ChecklistStep>& Checklist() {
  // The supervisor's after-clone steps run while the init builds its root (before its go); the two
  // last read-backs and the record update follow the exec.
  static const std::vector<ChecklistStep> steps = [] {
    std::vector<ChecklistStep> ordered = internal::ParentChecklistBeforeClone();
    std::vector<ChecklistStep> child = internal::ChildChecklist();
    std::vector<ChecklistStep> after = internal::ParentChecklistAfterClone();
    size_t i = 0;
    for (; i < child.size() && child[i].id != "supervisor.wait-go"; ++i) ordered.push_back(child[i]);
    for (size_t k = 0; k + 2 < after.size(); ++k) ordered.push_back(after[k]);
    for (; i < child.size(); ++i) ordered.push_back(child[i]);
    for (const auto& s : internal::CommandChecklist()) ordered.push_back(s);
    ordered.push_back(after[after.size() - 2]);  // cgroup.outside
    ordered.push_back(after.back());             // state.running
    return ordered;
  }();
  return steps;
}

int LaunchFailureExitCode(const Status& status) {
  if (LayerOfMessage(status.message()) == "exec") {
    return status.code() == StatusCode::kNotFound ? 127 : 126;
  }
  return 125;
}

StatusOr<RunResult> RunSandbox(const SandboxPlan& plan, const RunOptions& options) {
  using namespace internal;  // NOLINT
  ParentCtx ctx;
  ctx.plan = &plan;
  ctx.options = &options;
  Status s = RunSteps(ctx, kBeforeClone, std::size(kBeforeClone));
  if (s.ok()) {
    s = RunSteps(ctx, kAfterClone, std::size(kAfterClone));
    // The init works in parallel with these steps; if it failed first (and so made a step here
    // fail, e.g. the cgroup join of a pid that just exited), its report is the cause.
    if (!s.ok()) s = PreferInitError(ctx, s);
  }
  if (s.ok()) s = AwaitLaunch(ctx);
  userns::ReapHolder(&ctx.userns_holder);  // long dead by now: the init has entered its namespace
  if (s.ok() && ctx.cgroup != nullptr && !ctx.degraded.count(Layer::kCgroup)) {
    s = InjectedFault(options, "cgroup.outside", Layer::kCgroup);
    // The init read its membership back itself before starting the command; this second, outside
    // read-back cannot see an init that is already exiting (a command that exits at once takes it
    // along, and an exiting task leaves its cgroup), so only a live init counts.
    if (s.ok()) {
      s = cgroup::VerifyProcCgroup(*ctx.cgroup, ctx.child);
      if (!s.ok() && InitExiting(ctx.child)) s = OkStatus();
    }
  }
  bool launched = s.ok();
  if (launched) {
    for (const auto& d : ctx.result.degraded) ctx.record.degraded.push_back(d);
    ctx.record.phase = "running";
    ctx.record.init_pid = ctx.child;
    Status rec = InjectedFault(options, "state.running", Layer::kState);
    if (rec.ok()) rec = state::Update(ctx.record_fd.get(), ctx.record);
    if (!rec.ok()) {
      s = rec;
      launched = false;
    }
  }
  int64_t t_launched = NowMicros();
  CC_LOG_DEBUG("sandbox %s: %s", plan.name.c_str(), launched ? "command running" : s.ToString().c_str());
  if (launched) {
    if (ctx.auditor != nullptr) ctx.auditor->RecordStart(ctx.child, ctx.command_ns_pid, ctx.result.degraded);
    if (options.on_running) options.on_running();
    Supervise(ctx);
  }
  int64_t t_exited = NowMicros();
  Cleanup(ctx, launched, s);
  CC_LOG_DEBUG("sandbox %s: ran %lld us, cleanup %lld us", plan.name.c_str(),
               static_cast<long long>(t_exited - t_launched), static_cast<long long>(NowMicros() - t_exited));
  if (!launched) return s;
  return ctx.result;
}

}  // namespace cloudcoop::sandbox
