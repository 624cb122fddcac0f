#include "cloud/gcp/lifecycle.h"

#include "core/files.h"
#include "core/logging.h"
#include "core/strings.h"

namespace cloudcoop::gcp {
namespace {

// A requestId is honoured by GCP for a limited time; past this age a pending record is not reused
// (the instance is still looked up by name first, so nothing is duplicated).
constexpr auto kRequestIdReuseWindow = std::chrono::minutes(50);

struct PendingCreate {
  std::string request_id;
  SystemTime started{};
};

std::optional<PendingCreate> ReadPending(const std::string& path) {
  auto content = ReadFile(path);
  if (!content.ok()) return std::nullopt;
  PendingCreate p;
  for (const auto& line : Split(*content, '\n', true)) {
    if (StartsWith(line, "request_id=")) p.request_id = line.substr(11);
    if (StartsWith(line, "started=")) ParseRfc3339(line.substr(8), &p.started);
  }
  if (p.request_id.size() != 36) return std::nullopt;
  return p;
}

Status WritePending(const std::string& path, const PendingCreate& p) {
  CC_RETURN_IF_ERROR(MakeDirs(Dirname(path), 0700));
  return WriteFileAtomic(path, "cloudcoop pending create (remove only if no create is running)\nrequest_id=" +
                                   p.request_id + "\nstarted=" + FormatRfc3339(p.started) + "\n");
}

void RemovePending(const std::string& path) { (void)RemoveTree(path); }

std::string Describe(const Instance& in) {
  std::string ip = in.nics.empty() ? "" : in.nics[0].network_ip;
  int external = 0;
  for (const auto& n : in.nics) external += n.access_configs + n.ipv6_access_configs;
  return in.name + " (" + in.machine_type + ", " + in.zone + "): " + std::string(VmStateName(in.state())) +
         (ip.empty() ? "" : ", internal IP " + ip) + (external == 0 ? ", no external IP" : ", HAS AN EXTERNAL IP");
}

Status Wait(const std::string& name, VmState state, const std::string& then) {
  return FailedPreconditionError("VM " + name + " is " + std::string(VmStateName(state)))
      .WithFix("wait until it has settled (cloudcoop status), then " + then);
}

}  // namespace

VmLifecycle::VmLifecycle(GcpClients& clients, ProgressSink& progress, std::string state_dir,
                         LifecycleTimeouts timeouts)
    : c_(clients),
      progress_(progress),
      state_dir_(std::move(state_dir)),
      timeouts_(timeouts),
      zone_(clients.settings().gcp.zone),
      name_(clients.settings().vm.name) {}

std::string VmLifecycle::PendingCreatePath() const {
  return JoinPath(JoinPath(state_dir_, "gcp"),
                  "create-" + c_.settings().gcp.project + "-" + zone_ + "-" + name_ + ".pending");
}

StatusOr<std::optional<Instance>> VmLifecycle::Get() { return c_.compute().GetInstance(zone_, name_, timeouts_.status); }

StatusOr<Operation> VmLifecycle::Run(const std::string& what, StatusOr<Operation> op, Duration deadline) {
  if (!op.ok()) return op.status();
  progress_.Begin(what);
  auto done = c_.compute().WaitForOperation(*op, deadline,
                                            [&](const Operation& o) { progress_.Update("operation " + o.status); });
  progress_.End(done.ok());
  return done;
}

StatusOr<Instance> VmLifecycle::WaitForState(VmState want, Duration deadline, const std::string& what) {
  progress_.Begin(what);
  Duration start = c_.clock().Monotonic();
  Duration pause = std::chrono::seconds(1);
  while (true) {
    auto in = Get();
    if (!in.ok()) {
      progress_.End(false);
      return in.status();
    }
    if (!*in) {
      progress_.End(false);
      return NotFoundError("VM " + name_ + " disappeared while " + what).WithFix("check `cloudcoop status`");
    }
    if ((*in)->state() == want) {
      progress_.End(true);
      return **in;
    }
    Duration elapsed = c_.clock().Monotonic() - start;
    if (elapsed >= deadline) {
      progress_.End(false);
      return DeadlineExceededError("VM " + name_ + " is still " + (*in)->status + " after " + FormatSeconds(elapsed))
          .WithFix("it continues in Google Cloud; follow it with `cloudcoop status`");
    }
    progress_.Update("instance " + (*in)->status);
    c_.sleeper().Sleep(pause);
    pause = std::min<Duration>(pause * 2, std::chrono::seconds(5));
  }
}

StatusOr<LifecycleOutcome> VmLifecycle::Create(const InstancePlan& plan) {
  std::string pending_path = PendingCreatePath();
  CC_RETURN_IF_ERROR(MakeDirs(Dirname(pending_path), 0700));
  // Two `create` commands at once serialise here; the second then finds the instance.
  CC_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(pending_path + ".lock"));
  std::optional<PendingCreate> pending = ReadPending(pending_path);

  CC_ASSIGN_OR_RETURN(auto existing, Get());
  if (existing) {
    VmState state = existing->state();
    if (pending && state == VmState::kStarting) {
      // Our own create was interrupted after GCP accepted it: follow it to the end. Re-sending the
      // insert with the same requestId gives back its operation; once GCP has forgotten the
      // requestId (409, the name exists), watch the instance itself.
      bool fresh = c_.clock().Now() - pending->started < kRequestIdReuseWindow;
      auto op = fresh ? c_.compute().InsertInstance(zone_, plan.BodyJson(), pending->request_id)
                      : StatusOr<Operation>(AlreadyExistsError("requestId too old to re-use"));
      if (op.ok()) {
        CC_RETURN_IF_ERROR(Run("resuming the interrupted create of " + name_, op, timeouts_.create).status());
      } else if (op.status().code() == StatusCode::kAlreadyExists) {
        CC_RETURN_IF_ERROR(
            WaitForState(VmState::kRunning, timeouts_.create, "waiting for the interrupted create of " + name_).status());
      } else {
        return op.status();
      }
      CC_ASSIGN_OR_RETURN(auto in, Get());
      if (!in) return NotFoundError("VM " + name_ + " disappeared while its create was resumed");
      RemovePending(pending_path);
      return LifecycleOutcome{true, "created " + Describe(*in) + " (resumed an interrupted create)", in};
    }
    if (state == VmState::kRunning || state == VmState::kStopped) {
      RemovePending(pending_path);
      return LifecycleOutcome{false, "VM " + name_ + " already exists: " + Describe(*existing), existing};
    }
    return Wait(name_, state, "run `cloudcoop create` again");
  }

  PendingCreate record;
  if (pending && c_.clock().Now() - pending->started < kRequestIdReuseWindow) {
    record = *pending;  // re-send the interrupted request: GCP answers with the first operation
    CC_LOG_INFO("re-sending the interrupted create of %s with requestId %s", name_.c_str(), record.request_id.c_str());
  } else {
    record.request_id = NewUuid();
    record.started = c_.clock().Now();
    // Persisted before the request leaves, so a crash at any later point re-uses this requestId.
    CC_RETURN_IF_ERROR(WritePending(pending_path, record));
  }
  auto op = c_.compute().InsertInstance(zone_, plan.BodyJson(), record.request_id);
  if (!op.ok() && op.status().code() == StatusCode::kAlreadyExists) {
    // Created by an earlier attempt whose record was lost (or by someone else): pick it up.
    CC_ASSIGN_OR_RETURN(auto now, Get());
    if (now) {
      RemovePending(pending_path);
      return LifecycleOutcome{false, "VM " + name_ + " already exists: " + Describe(*now), now};
    }
  }
  auto done = Run("creating " + name_ + " (" + plan.machine_type + (plan.spot ? ", spot" : "") + ")", op,
                  timeouts_.create);
  if (!done.ok()) {
    // A failed operation will fail again with the same requestId: the next run starts afresh.
    // A timeout or a lost answer keeps the record, so the next run resumes the same request.
    StatusCode code = done.status().code();
    if (code != StatusCode::kDeadlineExceeded && code != StatusCode::kUnavailable) RemovePending(pending_path);
    return done.status();
  }
  CC_ASSIGN_OR_RETURN(auto created, Get());
  if (!created) {
    return InternalError("compute.instances.insert " + name_ + " finished, but the instance cannot be read back")
        .WithFix("run `cloudcoop status`; re-running `cloudcoop create` is safe");
  }
  RemovePending(pending_path);
  return LifecycleOutcome{true, "created " + Describe(*created), created};
}

StatusOr<LifecycleOutcome> VmLifecycle::DoStart(const Instance& in, const std::string& what) {
  CC_RETURN_IF_ERROR(
      Run(what, c_.compute().StartInstance(zone_, name_, NewUuid()), timeouts_.start).status());
  CC_ASSIGN_OR_RETURN(auto now, Get());
  if (!now) return NotFoundError("VM " + name_ + " disappeared after it was started");
  (void)in;
  return LifecycleOutcome{true, "started " + Describe(*now), now};
}

StatusOr<LifecycleOutcome> VmLifecycle::DoStop(const Instance& in, const std::string& what) {
  CC_RETURN_IF_ERROR(Run(what, c_.compute().StopInstance(zone_, name_, NewUuid()), timeouts_.stop).status());
  CC_ASSIGN_OR_RETURN(auto now, Get());
  if (!now) return NotFoundError("VM " + name_ + " disappeared after it was stopped");
  (void)in;
  return LifecycleOutcome{true, "stopped " + Describe(*now), now};
}

StatusOr<LifecycleOutcome> VmLifecycle::Start() {
  CC_ASSIGN_OR_RETURN(auto in, Get());
  if (!in) {
    return NotFoundError("VM " + name_ + " does not exist in " + zone_).WithFix("create it: cloudcoop create");
  }
  switch (in->state()) {
    case VmState::kRunning: return LifecycleOutcome{false, "VM " + name_ + " is already running", in};
    case VmState::kStarting: return LifecycleOutcome{false, "VM " + name_ + " is already starting (" + in->status + ")", in};
    case VmState::kStopping: return Wait(name_, VmState::kStopping, "run `cloudcoop start`");
    case VmState::kStopped: return DoStart(*in, "starting " + name_);
    default:
      return FailedPreconditionError("VM " + name_ + " is in state " + in->status + ", which start does not handle")
          .WithFix("check it in the console or with `cloudcoop status`");
  }
}

StatusOr<LifecycleOutcome> VmLifecycle::Stop() {
  CC_ASSIGN_OR_RETURN(auto in, Get());
  if (!in) return NotFoundError("VM " + name_ + " does not exist in " + zone_).WithFix("nothing to stop");
  switch (in->state()) {
    case VmState::kStopped: return LifecycleOutcome{false, "VM " + name_ + " is already stopped", in};
    case VmState::kStopping: return LifecycleOutcome{false, "VM " + name_ + " is already stopping", in};
    case VmState::kStarting: return Wait(name_, VmState::kStarting, "run `cloudcoop stop`");
    case VmState::kRunning: return DoStop(*in, "stopping " + name_ + " (can take 90 s or more on a busy VM)");
    default:
      return FailedPreconditionError("VM " + name_ + " is in state " + in->status + ", which stop does not handle")
          .WithFix("check it in the console or with `cloudcoop status`");
  }
}

StatusOr<LifecycleOutcome> VmLifecycle::Delete() {
  CC_ASSIGN_OR_RETURN(auto in, Get());
  if (!in) return LifecycleOutcome{false, "VM " + name_ + " does not exist in " + zone_ + ": nothing to delete", in};
  switch (in->state()) {
    case VmState::kStopped: break;
    case VmState::kRunning:
      return FailedPreconditionError("VM " + name_ + " is running; delete only removes a stopped VM")
          .WithFix("stop it first: cloudcoop stop");
    default: return Wait(name_, in->state(), "stop it (cloudcoop stop) and delete it");
  }
  CC_RETURN_IF_ERROR(
      Run("deleting " + name_ + " and its boot disk", c_.compute().DeleteInstance(zone_, name_, NewUuid()),
          timeouts_.remove)
          .status());
  return LifecycleOutcome{true, "deleted " + name_ + " (and its boot disk)", std::nullopt};
}

StatusOr<LifecycleOutcome> VmLifecycle::Resize(const std::string& machine_type) {
  CC_ASSIGN_OR_RETURN(auto in, Get());
  if (!in) return NotFoundError("VM " + name_ + " does not exist in " + zone_).WithFix("create it: cloudcoop create");
  if (in->machine_type == machine_type) {
    return LifecycleOutcome{false, "VM " + name_ + " is already a " + machine_type, in};
  }
  VmState state = in->state();
  if (state != VmState::kRunning && state != VmState::kStopped) return Wait(name_, state, "run `cloudcoop resize` again");
  bool was_running = state == VmState::kRunning;
  if (was_running) {
    CC_RETURN_IF_ERROR(DoStop(*in, "stopping " + name_ + " to resize it").status());
  }
  auto set = Run("changing the machine type of " + name_ + " from " + in->machine_type + " to " + machine_type,
                 c_.compute().SetMachineType(zone_, name_, machine_type, NewUuid()), timeouts_.stop);
  if (!set.ok()) {
    if (was_running) {
      auto restarted = DoStart(*in, "starting " + name_ + " again with its old machine type");
      std::string how = restarted.ok() ? "it is running again as " + in->machine_type
                                       : "starting it again failed too: " + restarted.status().message();
      return Status(set.status().code(), set.status().message() + " (" + how + ")").WithFix(set.status().fix());
    }
    return set.status();
  }
  if (was_running) {
    CC_ASSIGN_OR_RETURN(auto started, DoStart(*in, "starting " + name_ + " as " + machine_type));
    return LifecycleOutcome{true, "resized " + name_ + " from " + in->machine_type + " to " + machine_type + ": " +
                                      (started.instance ? Describe(*started.instance) : ""),
                            started.instance};
  }
  CC_ASSIGN_OR_RETURN(auto now, Get());
  return LifecycleOutcome{true, "resized " + name_ + " from " + in->machine_type + " to " + machine_type +
                                    " (still stopped; start it with `cloudcoop start`)",
                          now};
}

}  // namespace cloudcoop::gcp
