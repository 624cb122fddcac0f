// The agent-host VM lifecycle with the state rules of the reference implementation
// (reference-system.md section 4), all through the Compute API:
//   start   from stopped; running/starting: nothing to do; stopping: "wait"; missing: error
//   stop    from running; stopped/stopping: nothing to do; starting: "wait"; missing: error
//   create  when missing; running/stopped: nothing to do; starting/stopping: "wait" (unless it is
//           our own interrupted create, which is resumed)
//   delete  from stopped; missing: nothing to do; running: "stop it first"; others: "wait"
//   resize  stop (if running) -> setMachineType -> start again (if it was running)
// `create` is crash-safe: the requestId is persisted before the insert is sent, so a re-run after
// the process was killed sends the same requestId (GCP answers with the first operation) or finds
// the instance by name; it never creates a second instance.
#ifndef CLOUDCOOP_CLOUD_GCP_LIFECYCLE_H_
#define CLOUDCOOP_CLOUD_GCP_LIFECYCLE_H_

#include <optional>
#include <string>

#include "cloud/gcp/clients.h"
#include "cloud/gcp/instance_plan.h"
#include "cloud/gcp/types.h"

namespace cloudcoop::gcp {

// Timeouts of the reference implementation (ops/timeouts.go).
struct LifecycleTimeouts {
  Duration create = std::chrono::seconds(300);
  Duration start = std::chrono::seconds(180);
  Duration stop = std::chrono::seconds(180);
  Duration remove = std::chrono::seconds(180);
  Duration status = std::chrono::seconds(10);
  Duration firewall = std::chrono::seconds(15);
};

// Where long operations report progress (a spinner on a terminal, plain lines otherwise).
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void Begin(const std::string& what) = 0;     // "stopping cloudcoop-agents"
  virtual void Update(const std::string& detail) = 0;  // "operation RUNNING" (the sink adds the time)
  virtual void End(bool ok) = 0;
};

class NullProgress : public ProgressSink {
 public:
  void Begin(const std::string&) override {}
  void Update(const std::string&) override {}
  void End(bool) override {}
};

struct LifecycleOutcome {
  bool changed = false;     // false: nothing needed doing
  std::string message;      // one line for the user
  std::optional<Instance> instance;
};

class VmLifecycle {
 public:
  // `state_dir` holds the pending-create records (<state_dir>/gcp/).
  VmLifecycle(GcpClients& clients, ProgressSink& progress, std::string state_dir, LifecycleTimeouts timeouts = {});

  StatusOr<LifecycleOutcome> Create(const InstancePlan& plan);
  StatusOr<LifecycleOutcome> Start();
  StatusOr<LifecycleOutcome> Stop();
  StatusOr<LifecycleOutcome> Delete();
  StatusOr<LifecycleOutcome> Resize(const std::string& machine_type);

  // The instance (empty when it does not exist), read with the status timeout.
  StatusOr<std::optional<Instance>> Get();

  // The pending-create record's path (tests).
  std::string PendingCreatePath() const;

 private:
  StatusOr<Operation> Run(const std::string& what, StatusOr<Operation> op, Duration deadline);
  StatusOr<Instance> WaitForState(VmState want, Duration deadline, const std::string& what);
  StatusOr<LifecycleOutcome> DoStart(const Instance& in, const std::string& what);
  StatusOr<LifecycleOutcome> DoStop(const Instance& in, const std::string& what);

  GcpClients& c_;
  ProgressSink& progress_;
  std::string state_dir_;
  LifecycleTimeouts timeouts_;
  const std::string& zone_;
  const std::string& name_;
};

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_LIFECYCLE_H_
