// An in-memory agent host for the dashboard's tests: unit tests build it in code; the tests that drive
// the real binary in tmux load it from a JSON fixture (CLOUDCOOP_TEST_DASHBOARD_FIXTURE, test-only).
// Actions change its state like the real host would (kill marks killed, panic kills all and locks,
// add refuses duplicates and bad names), optionally after a delay so progress can be seen, and can be
// told to fail. Every action is recorded (and appended to the fixture's action_log file).
#ifndef CLOUDCOOP_TUI_FAKE_SOURCE_H_
#define CLOUDCOOP_TUI_FAKE_SOURCE_H_

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "tui/source.h"

namespace cloudcoop::tui {

struct FakeAgent {
  AgentRow row;
  double cpu_rate = 0;  // CPU seconds per second: cpu_seconds grows with the monotonic clock
};

class FakeHostSource : public HostSource {
 public:
  explicit FakeHostSource(Clock& clock);
  // Loads a fixture (format: the comment at the top of fake_source.cc).
  static StatusOr<std::unique_ptr<FakeHostSource>> FromFixture(const std::string& path, Clock& clock);
  static StatusOr<std::unique_ptr<FakeHostSource>> FromFixtureText(const std::string& json, Clock& clock);

  Capabilities capabilities() const override;
  FormDefaults form_defaults() const override;
  StatusOr<Snapshot> GetSnapshot() override;
  StatusOr<std::vector<std::string>> Transcript(const std::string& agent, int max_lines) override;
  StatusOr<std::vector<AuditRecord>> AuditRecords(const std::string& agent, int max_records) override;
  StatusOr<std::string> Add(const AddForm& form) override;
  StatusOr<std::string> Kill(const std::string& agent) override;
  StatusOr<std::string> Restart(const std::string& agent) override;
  StatusOr<std::string> Panic(const std::string& reason) override;
  StatusOr<std::vector<std::string>> AttachArgv(const std::string& agent) override;

  // Test controls.
  void AddAgent(FakeAgent agent);
  // `n` agents named <prefix>-001.. with varied profiles, states and usage (deterministic).
  void Generate(int n, const std::string& prefix);
  void SetHost(HostHeader host);
  void SetCapabilities(Capabilities caps);
  void SetDefaults(FormDefaults defaults);
  void SetTranscript(const std::string& agent, std::vector<std::string> lines);
  void SetAudit(const std::string& agent, std::vector<AuditRecord> records);
  void SetAttachArgv(std::vector<std::string> argv);  // "{name}" in a word becomes the agent's name
  // The next call of `op` ("add", "kill", "restart", "panic", "attach", "snapshot") fails with it.
  void FailNext(const std::string& op, Status status);
  void SetOpDelay(Duration d) { op_delay_ = d; }
  void SetSnapshotDelay(Duration d) { snapshot_delay_ = d; }
  void SetActionLog(std::string path) { action_log_ = std::move(path); }
  std::vector<std::string> actions() const;
  int snapshots() const;

 private:
  static StatusOr<std::unique_ptr<FakeHostSource>> ParseFixture(const nlohmann::json& j, Clock& clock);
  Status TakeFailure(const std::string& op);
  void Record(const std::string& action);
  FakeAgent* Find(const std::string& name);

  Clock& clock_;
  Duration start_mono_;
  mutable std::mutex mu_;
  HostHeader host_;
  Capabilities caps_;
  FormDefaults defaults_;
  std::vector<FakeAgent> agents_;
  std::map<std::string, std::vector<std::string>> transcripts_;
  std::map<std::string, std::vector<AuditRecord>> audit_;
  std::vector<std::string> attach_argv_;
  std::map<std::string, Status> failures_;
  std::vector<std::string> actions_;
  std::string action_log_;
  Duration op_delay_{0};
  Duration snapshot_delay_{0};
  int snapshots_ = 0;
};

}  // namespace cloudcoop::tui

#endif  // CLOUDCOOP_TUI_FAKE_SOURCE_H_
