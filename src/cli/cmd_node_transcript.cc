// cloudcoop node transcript --agent NAME: the command tmux pipes each agent's pane into (not run by
// hand). It reads the pane's output on stdin, masks secrets and writes the agent's transcript
// (audit/transcript.h).
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>

#include "audit/redact.h"
#include "audit/transcript.h"
#include "cli/command.h"
#include "core/strings.h"
#include "node/names.h"
#include "node/registry.h"
#include "node/service.h"
#include "node/state.h"
#include "policy/rules.h"

namespace cloudcoop::cli {
namespace {

int RunNodeTranscript(Invocation& inv) {
  // Read and drop the secrets at once: nothing this process starts may inherit them.
  std::string encoded;
  if (const char* e = std::getenv(node::kTranscriptSecretsEnv); e != nullptr) encoded = e;
  unsetenv(node::kTranscriptSecretsEnv);

  std::string name = inv.ValueOr("agent", "");
  Status st = node::ValidateAgentName(name);
  if (!st.ok()) return inv.Fail(st);
  std::string state = inv.ValueOr("state-dir", node::StateDirFromEnvironment());
  uint64_t max_bytes = 32ULL << 20;
  if (auto v = inv.Value("max-bytes")) {
    auto n = ParseInt64(*v);
    if (!n || *n < static_cast<int64_t>(audit::kMinTranscriptBytes)) {
      return inv.UsageError("--max-bytes " + *v + " is not a number of bytes of at least 4096");
    }
    max_bytes = static_cast<uint64_t>(*n);
  }
  auto redactor = std::make_shared<audit::Redactor>();
  auto secrets = node::DecodeTranscriptSecrets(encoded);
  if (!secrets.ok()) return inv.Fail(secrets.status());
  for (auto& [k, v] : *secrets) redactor->AddSecret(k, v);
  // The agent's own environment values whose names look secret. Fail closed: without the record
  // those could not be masked, so nothing is written.
  node::StateLayout layout(state);
  node::Registry registry(layout);
  auto rec = registry.Get(name);
  if (!rec.ok()) return inv.Fail(rec.status().Annotate("reading the record of agent " + name + " for its transcript"));
  for (const auto& [k, v] : rec->env) {
    if (policy::LooksLikeSecretName(k)) redactor->AddSecret(k, v);
  }
  auto writer = audit::TranscriptWriter::Open({layout.transcripts_dir(), name, max_bytes}, redactor);
  if (!writer.ok()) return inv.Fail(writer.status());
  st = (*writer)->Pump(0);
  if (!st.ok()) return inv.Fail(st);
  return 0;
}

}  // namespace

extern const CommandSpec kNodeTranscriptCommand = {
    .name = "node transcript",
    .category = Category::kOther,
    .summary = "(internal) write an agent's redacted terminal transcript from stdin",
    .args = "",
    .min_args = 0,
    .max_args = 0,
    .flags = {{"agent", FlagKind::kValue, "NAME", "the agent whose pane this is"},
              {"state-dir", FlagKind::kValue, "DIR", "the agent host's state directory"},
              {"max-bytes", FlagKind::kValue, "BYTES", "rotate the transcript at this size"}},
    .description = "Started by tmux (pipe-pane) for every agent's pane when `agent add` creates its session. It\n"
                   "masks the values of secrets.redact_env (handed over in CLOUDCOOP_TRANSCRIPT_SECRETS), the\n"
                   "agent's secret-named variables and token shapes, then appends to\n"
                   "<state dir>/transcripts/NAME.log, rotating it at --max-bytes.",
    .run = RunNodeTranscript,
    .needs_root = true,
    .hidden = true,
};

}  // namespace cloudcoop::cli
