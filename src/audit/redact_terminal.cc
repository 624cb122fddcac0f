// Redactor::TerminalStream (redact.h): secrets split by terminal escape sequences and control
// characters are masked in the raw bytes.
#include <string>
#include <string_view>
#include <vector>

#include "audit/redact.h"

namespace cloudcoop::audit {
namespace {

constexpr unsigned char kEsc = 0x1b;

// The length of the escape sequence starting at t[i] (an ESC), or 0 when the text ends inside it.
// The grammar of StripTerminalEscapes (transcript.cc), which is what `cloudcoop logs` shows.
size_t EscapeLength(std::string_view t, size_t i) {
  size_t n = t.size();
  if (i + 1 >= n) return 0;
  char k = t[i + 1];
  if (k == '[') {  // CSI: parameters and intermediates, then a final byte 0x40-0x7e
    for (size_t j = i + 2; j < n; ++j) {
      if (t[j] >= 0x40 && t[j] <= 0x7e) return j + 1 - i;
    }
    return 0;
  }
  if (k == ']' || k == 'P' || k == '_' || k == '^' || k == 'X') {  // OSC/DCS/APC/PM/SOS: to BEL or ST
    for (size_t j = i + 2; j < n; ++j) {
      if (t[j] == '\a') return j + 1 - i;
      if (static_cast<unsigned char>(t[j]) == kEsc) {
        if (j + 1 >= n) return 0;
        if (t[j + 1] == '\\') return j + 2 - i;
      }
    }
    return 0;
  }
  if (k >= 0x20 && k <= 0x2f) {  // nF: intermediates, then a final byte ("ESC ( B")
    for (size_t j = i + 1; j < n; ++j) {
      if (!(t[j] >= 0x20 && t[j] <= 0x2f)) return j + 1 - i;
    }
    return 0;
  }
  return 2;  // ESC 7, ESC M, ESC = ...
}

// The screen text of raw[0, end): every byte outside escape sequences except control characters
// (newline and tab kept) and DEL, with the raw offset of each. Returns where an escape sequence
// that is not complete yet begins (raw.size() when none, or when `final`).
size_t Project(std::string_view raw, bool final, std::string* text, std::vector<size_t>* at) {
  size_t i = 0;
  while (i < raw.size()) {
    auto c = static_cast<unsigned char>(raw[i]);
    if (c == kEsc) {
      size_t len = EscapeLength(raw, i);
      if (len == 0) return final ? raw.size() : i;
      i += len;
      continue;
    }
    if (c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f)) {
      text->push_back(static_cast<char>(c));
      at->push_back(i);
    }
    ++i;
  }
  return raw.size();
}

}  // namespace

// After an overflow inside a token or a key block, what still belongs to it is dropped, as
// Stream does. Returns false when everything pending was consumed.
bool Redactor::TerminalStream::Continue() {
  if (swallow_rule_ < 0 && !in_key_block_) return true;
  std::string text;
  std::vector<size_t> at;
  size_t parsed = Project(pending_, false, &text, &at);
  if (swallow_rule_ >= 0) {
    size_t k = 0;
    while (k < text.size() && ContinuesToken(swallow_rule_, text[k])) ++k;
    if (k == text.size()) {  // all of it continues the token (escape sequences included)
      pending_.erase(0, parsed);
      return false;
    }
    pending_.erase(0, at[k]);
    swallow_rule_ = -1;
    return Continue();
  }
  size_t end = KeyBlockEnd(text, 0);
  if (end == std::string::npos) {
    // Keep only what could be the start of the END line.
    if (text.size() > 128) pending_.erase(0, at[text.size() - 128]);
    return false;
  }
  pending_.erase(0, at[end - 1] + 1);
  in_key_block_ = false;
  return true;
}

std::string Redactor::TerminalStream::Take(bool final) {
  if (!Continue()) return "";
  std::string text;
  std::vector<size_t> at;
  // An escape sequence not complete yet stays held even when forced out by an overflow, unless
  // it is itself what overflows (an unterminated title or DCS string) or the input ended.
  size_t parsed = Project(pending_, false, &text, &at);
  if (final && (pending_.size() - parsed > kMaxHold || finishing_)) {
    text.clear();
    at.clear();
    parsed = Project(pending_, true, &text, &at);
  }
  ScanResult r = r_.Scan(text, final);
  // Everything before the first position that may still begin a secret goes out now.
  size_t cut = r.hold < text.size() ? at[r.hold] : parsed;
  std::string out;
  out.reserve(cut);
  size_t pos = 0;
  for (const auto& m : r.matches) {
    if (m.start >= r.hold) break;
    size_t start = at[m.start];
    size_t end = at[m.end - 1] + 1;  // the escape sequences inside the span go with it
    out.append(pending_, pos, start - pos);
    out += "[REDACTED:";
    out += m.what;
    out += "]";
    pos = end;
  }
  out.append(pending_, pos, cut - pos);
  pending_.erase(0, cut);
  if (final && !r.matches.empty() && r.matches.back().end == text.size()) {
    // Forced out mid-token (an overflow): the rest of the token or key block is dropped later.
    const Match& last = r.matches.back();
    if (last.rule == -2 && KeyBlockEnd(text, last.start) == std::string::npos) in_key_block_ = true;
    if (last.rule >= 0) swallow_rule_ = last.rule;
  }
  return out;
}

std::string Redactor::TerminalStream::Write(std::string_view chunk) {
  pending_.append(chunk);
  std::string out = Take(/*final=*/false);
  // A hold this long (an unterminated escape sequence, a giant token): pass it on as it is now
  // (the bytes stream's own overflow rules then apply).
  if (pending_.size() > kMaxHold) out += Take(/*final=*/true);
  return bytes_.Write(out);
}

std::string Redactor::TerminalStream::Finish() {
  finishing_ = true;
  std::string out = bytes_.Write(Take(/*final=*/true));
  finishing_ = false;
  out += bytes_.Finish();
  pending_.clear();
  swallow_rule_ = -1;
  in_key_block_ = false;
  return out;
}

}  // namespace cloudcoop::audit
