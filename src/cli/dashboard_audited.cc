#include "cli/dashboard_audited.h"

#include <functional>

#include "core/strings.h"

namespace cloudcoop::cli {
namespace {

class AuditedSource : public tui::HostSource {
 public:
  AuditedSource(std::unique_ptr<tui::HostSource> inner, audit::AuditTarget target)
      : inner_(std::move(inner)), target_(std::move(target)) {}

  tui::Capabilities capabilities() const override { return inner_->capabilities(); }
  tui::FormDefaults form_defaults() const override { return inner_->form_defaults(); }
  StatusOr<tui::Snapshot> GetSnapshot() override { return inner_->GetSnapshot(); }
  StatusOr<std::vector<std::string>> Transcript(const std::string& agent, int max_lines) override {
    return inner_->Transcript(agent, max_lines);
  }
  StatusOr<std::vector<tui::AuditRecord>> AuditRecords(const std::string& agent, int max_records) override {
    return inner_->AuditRecords(agent, max_records);
  }
  StatusOr<std::vector<std::string>> AttachArgv(const std::string& agent) override { return inner_->AttachArgv(agent); }

  StatusOr<std::string> Add(const tui::AddForm& form) override {
    std::string name(Trim(form.name));
    return Audited("dashboard agent add", AddFormAuditArgs(form), name, false, [&] { return inner_->Add(form); });
  }
  StatusOr<std::string> Kill(const std::string& agent) override {
    return Audited("dashboard agent kill", {agent}, agent, false, [&] { return inner_->Kill(agent); });
  }
  StatusOr<std::string> Restart(const std::string& agent) override {
    return Audited("dashboard agent restart", {agent}, agent, false, [&] { return inner_->Restart(agent); });
  }
  StatusOr<std::string> Panic(const std::string& reason) override {
    return Audited("dashboard panic", {"--reason=" + reason}, "", true, [&] { return inner_->Panic(reason); });
  }

 private:
  StatusOr<std::string> Audited(const std::string& action, std::vector<std::string> args, const std::string& agent,
                                bool must_act, const std::function<StatusOr<std::string>()>& act) {
    auto begun = audit::ControlAction::Begin(target_, action, std::move(args), agent);
    if (!begun.ok()) {
      if (!must_act) {
        return Status(begun.status().code(), action + " was not done: its start could not be recorded in the audit log (" +
                                                 begun.status().message() + ")")
            .WithFix(begun.status().fix().empty() ? "make the audit log writable (cloudcoop audit verify)"
                                                  : begun.status().fix());
      }
      StatusOr<std::string> done = act();
      if (!done.ok()) return done;
      return *done + " (NOT in the audit log: " + begun.status().message() + ")";
    }
    StatusOr<std::string> done = act();
    Status recorded = begun->End(done.ok() ? OkStatus() : done.status());
    if (!done.ok()) return done;
    if (!recorded.ok()) return recorded.Annotate(action + " was done but its outcome could not be recorded");
    return done;
  }

  std::unique_ptr<tui::HostSource> inner_;
  audit::AuditTarget target_;
};

}  // namespace

std::vector<std::string> AddFormAuditArgs(const tui::AddForm& form) {
  std::vector<std::string> args = {std::string(Trim(form.name))};
  auto flag = [&](const char* name, const std::string& v) {
    if (!Trim(v).empty()) args.push_back(std::string("--") + name + "=" + std::string(Trim(v)));
  };
  flag("profile", form.profile);
  flag("repo", form.repo);
  flag("branch", form.branch);
  flag("workspace", form.workspace);
  flag("cpus", form.cpus);
  flag("memory", form.memory);
  flag("pids", form.pids);
  flag("net", form.network);
  if (form.unsandboxed) args.push_back("--unsandboxed");
  return args;
}

std::unique_ptr<tui::HostSource> WithAuditedActions(std::unique_ptr<tui::HostSource> inner, audit::AuditTarget target) {
  return std::make_unique<AuditedSource>(std::move(inner), std::move(target));
}

}  // namespace cloudcoop::cli
