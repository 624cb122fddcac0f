// Terminal transcripts: what each agent's pane shows, redacted before it reaches disk.
//
// The tmux server pipes the agent's pane (`pipe-pane -o`, set up in the same tmux call that
// creates the session, so the agent cannot opt out and no early output is missed) into the hidden
// command `cloudcoop node transcript`, which runs outside the sandbox as root and feeds what it
// reads through a TranscriptWriter:
//   - every byte goes through Redactor::Stream first: literal secrets (the values of
//     `secrets.redact_env` taken from the environment of the `agent add`, and the agent's own
//     environment values whose names look secret) and token shapes are masked, also when a secret
//     arrives split across two reads (the stream holds back a tail that could begin a secret);
//   - the result is appended to <state dir>/transcripts/NAME.log (file 0600, directory 0700);
//   - when the file would grow past `max_bytes` (config `audit.transcript_max_bytes`, default 32M)
//     it is renamed to NAME.log.1 (replacing the previous one) and a new NAME.log begins: at most
//     2 x max_bytes per agent are kept.
// Terminal escape sequences are kept raw in the file; StripTerminalEscapes makes them readable.
#ifndef CLOUDCOOP_AUDIT_TRANSCRIPT_H_
#define CLOUDCOOP_AUDIT_TRANSCRIPT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/redact.h"
#include "core/status.h"

namespace cloudcoop::audit {

inline constexpr uint64_t kMinTranscriptBytes = 4096;

struct TranscriptOptions {
  std::string dir;   // <state dir>/transcripts
  std::string name;  // the agent's name (already checked)
  uint64_t max_bytes = 32ULL << 20;
};

std::string TranscriptPath(const std::string& dir, const std::string& name);
std::string PreviousTranscriptPath(const std::string& dir, const std::string& name);

class TranscriptWriter {
 public:
  // Creates the directory (0700) and opens the file for appending (0600).
  static StatusOr<std::unique_ptr<TranscriptWriter>> Open(const TranscriptOptions& options,
                                                          std::shared_ptr<const Redactor> redactor);
  ~TranscriptWriter();
  TranscriptWriter(const TranscriptWriter&) = delete;
  TranscriptWriter& operator=(const TranscriptWriter&) = delete;

  // Redacts and appends what is safe to write now.
  Status Write(std::string_view chunk);
  // Writes what the stream still holds back (end of input).
  Status Finish();
  // Reads `fd` until end of file, writing everything; then Finish().
  Status Pump(int fd);

  uint64_t rotations() const { return rotations_; }

 private:
  TranscriptWriter(TranscriptOptions options, std::shared_ptr<const Redactor> redactor);
  Status OpenFile();
  Status Append(std::string_view data);
  Status Rotate();

  TranscriptOptions options_;
  std::shared_ptr<const Redactor> redactor_;
  Redactor::TerminalStream stream_;  // also across escape sequences (redact.h)
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t rotations_ = 0;
};

// The text without terminal escape sequences (CSI, OSC, DCS and two-byte ESC sequences), carriage
// returns and other control characters except newline and tab.
std::string StripTerminalEscapes(std::string_view text);

// The last `lines` lines of the transcript (reaching into NAME.log.1 when NAME.log has fewer).
// NotFound when neither file exists.
StatusOr<std::string> TranscriptTail(const std::string& dir, const std::string& name, int lines);

// Follows NAME.log from its current end, also across rotation (the rest of the renamed file, then
// the new one), calling `emit` with whole lines (or 64 KB of a longer one) until `keep_going`
// returns false (checked every `poll`).
Status FollowTranscript(const std::string& dir, const std::string& name,
                        const std::function<void(std::string_view)>& emit, const std::function<bool()>& keep_going,
                        std::chrono::milliseconds poll = std::chrono::milliseconds(200));

}  // namespace cloudcoop::audit

#endif  // CLOUDCOOP_AUDIT_TRANSCRIPT_H_
