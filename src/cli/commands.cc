// The command table: every command, one line each. Adding a command is one new cmd_*.cc file and
// one line here.
#include "cli/command.h"

namespace cloudcoop::cli {

extern const CommandSpec kAuditCommand;
extern const CommandSpec kAuditExportCommand;
extern const CommandSpec kAuditHeadCommand;
extern const CommandSpec kAuditRecoverCommand;
extern const CommandSpec kAuditVerifyCommand;
extern const CommandSpec kAgentAddCommand;
extern const CommandSpec kAgentAttachCommand;
extern const CommandSpec kAgentFetchCommand;
extern const CommandSpec kAgentKillCommand;
extern const CommandSpec kAgentListCommand;
extern const CommandSpec kAgentPeekCommand;
extern const CommandSpec kAgentRestartCommand;
extern const CommandSpec kAgentRmCommand;
extern const CommandSpec kAgentSendCommand;
extern const CommandSpec kCheckCommand;
extern const CommandSpec kCompletionCommand;
extern const CommandSpec kConfigGetCommand;
extern const CommandSpec kConfigInitCommand;
extern const CommandSpec kConfigSetCommand;
extern const CommandSpec kConfigShowCommand;
extern const CommandSpec kConfigValidateCommand;
extern const CommandSpec kCreateCommand;
extern const CommandSpec kDeleteCommand;
extern const CommandSpec kFirewallEnsureCommand;
extern const CommandSpec kFirewallStatusCommand;
extern const CommandSpec kResizeCommand;
extern const CommandSpec kStartCommand;
extern const CommandSpec kStatusCommand;
extern const CommandSpec kStopCommand;
extern const CommandSpec kDashboardCommand;
extern const CommandSpec kHelpCommand;
extern const CommandSpec kSandboxPrepareHostCommand;
extern const CommandSpec kSandboxGcCommand;
extern const CommandSpec kSandboxKillCommand;
extern const CommandSpec kSandboxListCommand;
extern const CommandSpec kSandboxRunCommand;
extern const CommandSpec kConnectCommand;
extern const CommandSpec kNodeSuperviseCommand;
extern const CommandSpec kNodeTranscriptCommand;
extern const CommandSpec kLogsCommand;
extern const CommandSpec kPanicCommand;
extern const CommandSpec kUnlockCommand;
extern const CommandSpec kVersionCommand;

const std::vector<const CommandSpec*>& AllCommands() {
  static const std::vector<const CommandSpec*> commands = {
      // Agents
      &kDashboardCommand,
      // Cloud (GCP agent host)
      &kStatusCommand,
      &kCreateCommand,
      &kStartCommand,
      &kStopCommand,
      &kResizeCommand,
      &kDeleteCommand,
      &kFirewallStatusCommand,
      &kFirewallEnsureCommand,
      // Audit
      &kAuditCommand,
      &kAuditVerifyCommand,
      &kAuditHeadCommand,
      &kAuditExportCommand,
      &kAuditRecoverCommand,
      // Agents
      &kAgentAddCommand,
      &kAgentListCommand,
      &kConnectCommand,
      &kAgentAttachCommand,
      &kAgentSendCommand,
      &kAgentPeekCommand,
      &kLogsCommand,
      &kAgentKillCommand,
      &kAgentRestartCommand,
      &kAgentRmCommand,
      &kAgentFetchCommand,
      // Security
      &kCheckCommand,
      // Sandbox
      &kSandboxPrepareHostCommand,
      &kSandboxRunCommand,
      &kSandboxListCommand,
      &kSandboxKillCommand,
      &kSandboxGcCommand,
      &kPanicCommand,
      &kUnlockCommand,
      // Configuration
      &kConfigInitCommand,
      &kConfigShowCommand,
      &kConfigGetCommand,
      &kConfigSetCommand,
      &kConfigValidateCommand,
      // Other
      &kCompletionCommand,
      &kHelpCommand,
      &kNodeSuperviseCommand,
      &kNodeTranscriptCommand,
      &kVersionCommand,
  };
  return commands;
}

}  // namespace cloudcoop::cli
