#include "node/agent_sandbox.h"

namespace cloudcoop::node {

StatusOr<LaunchResult> UnavailableSandbox::Run(const LaunchRequest& request, const std::function<void()>&) {
  return UnimplementedError("agent " + request.record->name +
                            ": this build of cloudcoop has no per-agent sandbox yet (src/sandbox, issue 3), and "
                            "agents never run outside one silently")
      .WithFix("run it explicitly without the sandbox: cloudcoop agent add " + request.record->name +
               " --unsandboxed ... (own uid and no_new_privs only; printed and logged)");
}

AgentSandbox& DefaultAgentSandbox() {
  static UnavailableSandbox sandbox;
  return sandbox;
}

}  // namespace cloudcoop::node
