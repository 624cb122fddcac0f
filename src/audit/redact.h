// Redaction: secret values and token-shaped strings are masked before anything reaches disk.
//
// Two sources of secrets:
//  - literal values: the values of the variables named in `secrets.redact_env` (read from the
//    environment) and any value a caller adds (e.g. a secret fetched from Secret Manager);
//  - token shapes: API keys and credentials recognised by their form (sk-ant-, sk-, ghp_,
//    github_pat_, AIza, ya29., xox*, glpat-, AWS key ids and secret keys, JWTs, Bearer tokens,
//    PEM private key blocks, and "password=" / "token:" style assignments).
// A match is replaced by "[REDACTED:<what>]" ("[REDACTED:ANTHROPIC_API_KEY]",
// "[REDACTED:github-token]"). Over-masking is preferred to leaking.
//
// Stream is for output that arrives in pieces (terminal transcripts, pipes): it holds back the
// tail of what it was given while that tail could still be the start of a secret, so a secret
// split across two writes is masked exactly as if it had arrived in one. Its output equals
// Redact() of the whole input, except that a single token or key block longer than
// Stream::kMaxHold is masked from where the hold overflowed (never leaked).
#ifndef CLOUDCOOP_AUDIT_REDACT_H_
#define CLOUDCOOP_AUDIT_REDACT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cloudcoop::audit {

class Redactor {
 public:
  // Literal values shorter than this are not masked (they would mask ordinary words); callers
  // are told which ones were refused.
  static constexpr size_t kMinSecretLength = 8;

  Redactor();  // token shapes only

  // Adds a literal secret shown as "[REDACTED:<name>]". Returns false (and adds nothing) when the
  // value is shorter than kMinSecretLength.
  bool AddSecret(std::string name, std::string value);
  // Adds the values of the named environment variables (through `getenv`); names that are unset
  // or empty are skipped, and names whose values are too short are appended to `too_short`.
  void AddEnvSecrets(const std::vector<std::string>& names,
                     const std::function<const char*(const char*)>& getenv,
                     std::vector<std::string>* too_short = nullptr);
  size_t secret_count() const { return secrets_.size(); }

  std::string Redact(std::string_view text) const;
  // True when Redact would change the text.
  bool ContainsSecret(std::string_view text) const;

  struct Match {
    size_t start = 0;
    size_t end = 0;
    std::string_view what;
    int rule = -1;  // index of the token rule, -1 for a literal secret, -2 for a key block
  };
  struct ScanResult {
    std::vector<Match> matches;
    size_t hold = 0;  // first position that may begin a secret not yet complete (text size if none)
  };
  // The matching engine behind Redact (final = true) and Stream (final = false).
  ScanResult Scan(std::string_view text, bool final) const;
  // Builds the masked text of text[0, end) from the matches that lie inside it.
  static std::string Apply(std::string_view text, const std::vector<Match>& matches, size_t end);

  class Stream {
   public:
    static constexpr size_t kMaxHold = 64 * 1024;
    explicit Stream(const Redactor& redactor) : r_(redactor) {}
    // Returns what is safe to emit now.
    std::string Write(std::string_view chunk);
    // Returns the rest; the stream can be used again afterwards.
    std::string Finish();

   private:
    bool Continue(std::string* out);
    void ForceEmit(std::string* out);
    const Redactor& r_;
    std::string pending_;
    int swallow_rule_ = -1;  // after an overflow inside a token: drop the token's remaining characters
    bool in_key_block_ = false;  // after an overflow inside a key block: drop until its END line
  };

  // A Stream for terminal output (agent transcripts, docs/adr/0018-transcripts.md): also masks a
  // secret whose characters the terminal shows together but the bytes keep apart — interleaved
  // with escape sequences (colours, cursor moves, titles, charset switches: CSI, OSC, DCS, SOS,
  // PM, APC and ESC sequences) and with control characters other than newline and tab (\r, \b,
  // BEL, NUL, ...; DEL too), in any number of writes. It scans the "screen text" (the bytes with
  // those removed, as StripTerminalEscapes shows them) and masks the whole raw span a match
  // covers, escape sequences inside it included; then the result goes through a plain Stream, so
  // a secret contiguous in the bytes (also inside an escape sequence, e.g. a window title) is
  // masked as before. What it cannot see: text a terminal would reorder or overwrite (cursor
  // addressing drawing a secret out of order, backspace or \r overwrites, text in columns), a
  // character swallowed by an escape sequence (ESC followed by a character of the secret), 8-bit
  // C1 controls, and deliberate encodings (base64, reversed) — redaction is for accidents, not
  // against an agent hiding its own secret.
  class TerminalStream {
   public:
    static constexpr size_t kMaxHold = Stream::kMaxHold;
    explicit TerminalStream(const Redactor& redactor) : r_(redactor), bytes_(redactor) {}
    std::string Write(std::string_view chunk);
    std::string Finish();

   private:
    std::string Take(bool final);
    bool Continue();  // the overflow states, as Stream's
    const Redactor& r_;
    Stream bytes_;         // the second pass, over the raw bytes
    std::string pending_;  // raw bytes not yet passed on
    int swallow_rule_ = -1;
    bool in_key_block_ = false;
    bool finishing_ = false;
  };

 private:
  // For the streams' overflow states: whether `c` continues a token of rule `rule`, and where the
  // first complete END line of a private key block at or after `from` ends (npos: none).
  static bool ContinuesToken(int rule, char c);
  static size_t KeyBlockEnd(std::string_view t, size_t from);
  struct Secret {
    std::string name;
    std::string value;
  };
  int EvalLiterals(std::string_view t, size_t i, bool final, Match* m) const;
  std::vector<Secret> secrets_;
  uint8_t literal_first_[256] = {};
};

}  // namespace cloudcoop::audit

#endif  // CLOUDCOOP_AUDIT_REDACT_H_
