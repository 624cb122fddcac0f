// The seam where the agent host records the outcome and details of every control action (agent
// add, kill, restart, rm, panic, unlock). In the product it is the audit log (AuditControlLog);
// tests use MemoryControlLog.
#ifndef CLOUDCOOP_NODE_CONTROL_LOG_H_
#define CLOUDCOOP_NODE_CONTROL_LOG_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace cloudcoop::node {

struct ControlEvent {
  std::string action;  // "agent.add", "agent.kill", "agent.restart", "agent.rm", "panic", "unlock"
  std::string agent;   // empty for host-wide actions
  std::string outcome; // "ok" or the error message
  std::map<std::string, std::string> details;
};

class ControlLog {
 public:
  virtual ~ControlLog() = default;
  // Failing to record is reported to the caller, which prints it: a control action is never
  // silently unlogged.
  virtual Status Record(const ControlEvent& event) = 0;
};

class MemoryControlLog : public ControlLog {
 public:
  Status Record(const ControlEvent& event) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(event);
    return OkStatus();
  }
  std::vector<ControlEvent> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<ControlEvent> events_;
};

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_CONTROL_LOG_H_
