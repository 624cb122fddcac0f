#include "audit/redact.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace cloudcoop::audit {
namespace {

enum class Cls {
  kAlnum,        // [A-Za-z0-9]
  kAlnumUs,      // [A-Za-z0-9_]
  kB64url,       // [A-Za-z0-9_-]
  kDotted,       // [A-Za-z0-9_.-]
  kUpperDigit,   // [A-Z0-9]
  kAlpha,        // [A-Za-z]
  kSlack,        // [A-Za-z0-9-]
  kBearer,       // [A-Za-z0-9._~+/=-]
  kBase64,       // [A-Za-z0-9+/=]
  kValue,        // anything but whitespace, quotes and separators
};

// ASCII only, without the C library's locale lookups (this runs for every byte of every record).
inline bool IsUpper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
inline bool IsLower(unsigned char c) { return c >= 'a' && c <= 'z'; }
inline bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
inline unsigned char Lower(unsigned char c) { return IsUpper(c) ? static_cast<unsigned char>(c + 32) : c; }

bool InClass(Cls cls, char ch) {
  auto c = static_cast<unsigned char>(ch);
  bool alnum = IsUpper(c) || IsLower(c) || IsDigit(c);
  switch (cls) {
    case Cls::kAlnum: return alnum;
    case Cls::kAlnumUs: return alnum || c == '_';
    case Cls::kB64url: return alnum || c == '_' || c == '-';
    case Cls::kDotted: return alnum || c == '_' || c == '-' || c == '.';
    case Cls::kUpperDigit: return IsUpper(c) || IsDigit(c);
    case Cls::kAlpha: return IsUpper(c) || IsLower(c);
    case Cls::kSlack: return alnum || c == '-';
    case Cls::kBearer: return alnum || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '-';
    case Cls::kBase64: return alnum || c == '+' || c == '/' || c == '=';
    case Cls::kValue:
      return c > ' ' && c != 0x7f && c != '"' && c != '\'' && c != '`' && c != ',' && c != ';' && c != '&' &&
             c != '<' && c != '>' && c != ')' && c != ']' && c != '}';
  }
  return false;
}

struct Rule {
  std::string_view prefix;
  std::string_view what;
  Cls cls;
  size_t min_body;
  bool ci = false;           // the prefix is matched case-insensitively
  bool keep_prefix = false;  // mask only the value after the prefix (and separators)
  bool assignment = false;   // prefix, then [ \t"':=]* containing '=' or ':', then the value
  bool mixed = false;        // the body must contain an upper-case letter, a lower-case one and a digit
  bool jwt = false;          // header.payload[.signature], the payload starting with eyJ too
};

// Order matters only among rules matching at the same position: the longest span wins, and on a
// tie the earlier (more specific) rule names it.
const Rule kRules[] = {
    {"sk-ant-", "anthropic-key", Cls::kB64url, 20},
    {"sk-proj-", "openai-key", Cls::kB64url, 20},
    {"sk-svcacct-", "openai-key", Cls::kB64url, 20},
    {"sk-", "api-key", Cls::kB64url, 20, false, false, false, /*mixed=*/true},
    {"sk_live_", "stripe-key", Cls::kAlnum, 16},
    {"sk_test_", "stripe-key", Cls::kAlnum, 16},
    {"rk_live_", "stripe-key", Cls::kAlnum, 16},
    {"ghp_", "github-token", Cls::kAlnum, 30},
    {"gho_", "github-token", Cls::kAlnum, 30},
    {"ghu_", "github-token", Cls::kAlnum, 30},
    {"ghs_", "github-token", Cls::kAlnum, 30},
    {"ghr_", "github-token", Cls::kAlnum, 30},
    {"github_pat_", "github-token", Cls::kAlnumUs, 22},
    {"glpat-", "gitlab-token", Cls::kB64url, 20},
    {"AIza", "google-api-key", Cls::kB64url, 30},
    {"ya29.", "google-oauth-token", Cls::kDotted, 20},
    {"xoxa-", "slack-token", Cls::kSlack, 10},
    {"xoxb-", "slack-token", Cls::kSlack, 10},
    {"xoxp-", "slack-token", Cls::kSlack, 10},
    {"xoxo-", "slack-token", Cls::kSlack, 10},
    {"xoxr-", "slack-token", Cls::kSlack, 10},
    {"xoxs-", "slack-token", Cls::kSlack, 10},
    {"xoxe-", "slack-token", Cls::kSlack, 10},
    {"xapp-", "slack-token", Cls::kSlack, 10},
    {"AKIA", "aws-access-key-id", Cls::kUpperDigit, 16},
    {"ASIA", "aws-access-key-id", Cls::kUpperDigit, 16},
    {"AGPA", "aws-access-key-id", Cls::kUpperDigit, 16},
    {"AIDA", "aws-access-key-id", Cls::kUpperDigit, 16},
    {"AROA", "aws-access-key-id", Cls::kUpperDigit, 16},
    {"AIPA", "aws-access-key-id", Cls::kUpperDigit, 16},
    {"ANPA", "aws-access-key-id", Cls::kUpperDigit, 16},
    {"ANVA", "aws-access-key-id", Cls::kUpperDigit, 16},
    {"npm_", "npm-token", Cls::kAlnum, 36},
    {"hf_", "huggingface-token", Cls::kAlpha, 30},
    {"eyJ", "jwt", Cls::kB64url, 0, false, false, false, false, /*jwt=*/true},
    {"bearer ", "bearer-token", Cls::kBearer, 20, /*ci=*/true, /*keep_prefix=*/true},
    {"aws_secret_access_key", "aws-secret-key", Cls::kBase64, 40, true, true, true},
    {"password", "password", Cls::kValue, 8, true, true, true},
    {"passwd", "password", Cls::kValue, 8, true, true, true},
    {"secret", "secret", Cls::kValue, 8, true, true, true},
    {"token", "token", Cls::kValue, 8, true, true, true},
    {"api_key", "api-key", Cls::kValue, 8, true, true, true},
    {"apikey", "api-key", Cls::kValue, 8, true, true, true},
    {"api-key", "api-key", Cls::kValue, 8, true, true, true},
    {"access_key", "access-key", Cls::kValue, 8, true, true, true},
    {"private_key", "private-key", Cls::kValue, 8, true, true, true},
};
constexpr int kRuleCount = static_cast<int>(sizeof kRules / sizeof kRules[0]);

// Rules indexed by the first byte of their prefix (both cases for case-insensitive ones).
const std::array<std::vector<int>, 256>& RulesByFirstByte() {
  static const std::array<std::vector<int>, 256> table = [] {
    std::array<std::vector<int>, 256> t;
    for (int r = 0; r < kRuleCount; ++r) {
      auto c = static_cast<unsigned char>(kRules[r].prefix[0]);
      t[c].push_back(r);
      if (kRules[r].ci) {
        unsigned char lo = Lower(c), up = IsLower(c) ? static_cast<unsigned char>(c - 32) : c;
        if (lo != c) t[lo].push_back(r);
        if (up != c) t[up].push_back(r);
      }
    }
    return t;
  }();
  return table;
}

enum class Eval { kNo, kHold, kMatch };

bool PrefixEq(std::string_view text, std::string_view prefix, bool ci) {
  if (!ci) return text == prefix;
  for (size_t k = 0; k < text.size(); ++k) {
    if (Lower(static_cast<unsigned char>(text[k])) != Lower(static_cast<unsigned char>(prefix[k]))) {
      return false;
    }
  }
  return true;
}

bool MixedCase(std::string_view body) {
  bool up = false, lo = false, dig = false;
  for (char ch : body) {
    auto c = static_cast<unsigned char>(ch);
    up |= IsUpper(c);
    lo |= IsLower(c);
    dig |= IsDigit(c);
  }
  return up && lo && dig;
}

bool LooksLikeJwt(std::string_view span) {
  size_t dot = span.find('.');
  if (dot == std::string_view::npos || dot < 10) return false;
  std::string_view rest = span.substr(dot + 1);
  return rest.size() >= 10 && rest.substr(0, 3) == "eyJ";
}

// Evaluates one token rule at position i.
Eval EvalRule(const Rule& rule, std::string_view t, size_t i, bool final, Redactor::Match* m) {
  size_t n = t.size();
  size_t plen = rule.prefix.size();
  size_t avail = std::min(plen, n - i);
  if (!PrefixEq(t.substr(i, avail), rule.prefix.substr(0, avail), rule.ci)) return Eval::kNo;
  if (avail < plen) return final ? Eval::kNo : Eval::kHold;
  size_t j = i + plen;
  if (rule.assignment) {
    bool saw = false;
    while (j < n && (t[j] == ' ' || t[j] == '\t' || t[j] == '"' || t[j] == '\'' || t[j] == ':' || t[j] == '=')) {
      saw |= t[j] == ':' || t[j] == '=';
      ++j;
    }
    if (j == n) return final ? Eval::kNo : Eval::kHold;
    if (!saw) return Eval::kNo;
  }
  size_t body_start = j;
  // What an earlier pass (or a caller) already masked is not masked again.
  if (t.substr(j, 10) == "[REDACTED:") return Eval::kNo;
  // A JWT is three base64url parts joined by dots; the class admits the dots.
  Cls cls = rule.jwt ? Cls::kDotted : rule.cls;
  while (j < n && InClass(cls, t[j])) ++j;
  if (j == n && !final) return Eval::kHold;  // the token may continue in the next piece
  std::string_view body = t.substr(body_start, j - body_start);
  if (body.size() < rule.min_body) return Eval::kNo;
  if (rule.mixed && !MixedCase(body)) return Eval::kNo;
  if (rule.jwt && !LooksLikeJwt(t.substr(i, j - i))) return Eval::kNo;
  *m = {rule.keep_prefix ? body_start : i, j, rule.what, 0};
  return Eval::kMatch;
}

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";

// After a BEGIN/END marker at `p`: "[A-Z ]*PRIVATE KEY( BLOCK)?-----". Returns the end of the line
// marker, 0 when it is not a private key marker, or npos when the text ends before it is decided.
size_t KeyMarkerEnd(std::string_view t, size_t p) {
  constexpr std::string_view kKey = "PRIVATE KEY";
  for (size_t k = p; k < t.size() && k < p + 48; ++k) {
    std::string_view rest = t.substr(k);
    if (rest.substr(0, kKey.size()) == kKey.substr(0, std::min(kKey.size(), rest.size()))) {
      if (rest.size() < kKey.size()) return std::string_view::npos;
      size_t q = k + kKey.size();
      std::string_view tail = t.substr(q);
      for (std::string_view suffix : {std::string_view("-----"), std::string_view(" BLOCK-----")}) {
        size_t c = std::min(suffix.size(), tail.size());
        if (tail.substr(0, c) == suffix.substr(0, c)) {
          return c < suffix.size() ? std::string_view::npos : q + suffix.size();
        }
      }
      return 0;
    }
    char c = t[k];
    if (!(IsUpper(static_cast<unsigned char>(c)) || c == ' ')) return 0;
  }
  return t.size() < p + 48 ? std::string_view::npos : 0;
}

// Finds "-----END ...PRIVATE KEY-----" at or after `from`. Returns its end, or npos.
size_t FindKeyBlockEnd(std::string_view t, size_t from) {
  for (size_t e = t.find(kEnd, from); e != std::string_view::npos; e = t.find(kEnd, e + 1)) {
    size_t end = KeyMarkerEnd(t, e + kEnd.size());
    if (end != 0 && end != std::string_view::npos) return end;
  }
  return std::string_view::npos;
}

// A PEM private key block at position i, masked whole.
Eval EvalKeyBlock(std::string_view t, size_t i, bool final, Redactor::Match* m) {
  size_t avail = std::min(kBegin.size(), t.size() - i);
  if (t.substr(i, avail) != kBegin.substr(0, avail)) return Eval::kNo;
  if (avail < kBegin.size()) return final ? Eval::kNo : Eval::kHold;
  size_t head_end = KeyMarkerEnd(t, i + kBegin.size());
  if (head_end == 0) return Eval::kNo;
  if (head_end == std::string_view::npos) return final ? Eval::kNo : Eval::kHold;
  size_t end = FindKeyBlockEnd(t, head_end);
  if (end == std::string_view::npos) {
    if (!final) return Eval::kHold;
    end = t.size();  // an unterminated block is masked to the end: never leak half a key
  }
  *m = {i, end, "private-key", -2};
  return Eval::kMatch;
}

}  // namespace

Redactor::Redactor() = default;

bool Redactor::AddSecret(std::string name, std::string value) {
  if (value.size() < kMinSecretLength) return false;
  literal_first_[static_cast<unsigned char>(value[0])] = 1;
  secrets_.push_back({std::move(name), std::move(value)});
  // Longest first, so that a secret containing another is masked whole.
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const Secret& a, const Secret& b) { return a.value.size() > b.value.size(); });
  return true;
}

void Redactor::AddEnvSecrets(const std::vector<std::string>& names,
                             const std::function<const char*(const char*)>& getenv,
                             std::vector<std::string>* too_short) {
  for (const auto& name : names) {
    const char* v = getenv(name.c_str());
    if (v == nullptr || *v == '\0') continue;
    if (!AddSecret(name, v) && too_short != nullptr) too_short->push_back(name);
  }
}

int Redactor::EvalLiterals(std::string_view t, size_t i, bool final, Match* m) const {
  if (!literal_first_[static_cast<unsigned char>(t[i])]) return 0;
  std::string_view rest = t.substr(i);
  bool hold = false;
  // Longest first: a longer secret that may still complete here wins over a shorter one that did.
  for (const auto& s : secrets_) {
    if (rest.size() >= s.value.size()) {
      if (rest.substr(0, s.value.size()) == s.value) {
        if (hold) return 1;
        *m = {i, i + s.value.size(), s.name, -1};
        return 2;
      }
    } else if (!final && std::string_view(s.value).substr(0, rest.size()) == rest) {
      hold = true;
    }
  }
  return hold ? 1 : 0;
}

Redactor::ScanResult Redactor::Scan(std::string_view t, bool final) const {
  ScanResult result;
  result.hold = t.size();
  const auto& by_first = RulesByFirstByte();
  size_t i = 0;
  while (i < t.size()) {
    Match best;
    bool hold = false;
    auto consider = [&](Eval e, const Match& m) {
      if (e == Eval::kHold) hold = true;
      if (e == Eval::kMatch && (best.end == 0 || m.end > best.end)) best = m;
    };
    Match m;
    int lit = EvalLiterals(t, i, final, &m);
    consider(lit == 2 ? Eval::kMatch : lit == 1 ? Eval::kHold : Eval::kNo, m);
    for (int r : by_first[static_cast<unsigned char>(t[i])]) {
      Eval e = EvalRule(kRules[r], t, i, final, &m);
      m.rule = r;
      consider(e, m);
    }
    if (t[i] == '-') consider(EvalKeyBlock(t, i, final, &m), m);
    if (hold) {
      // Something may begin here that is not complete yet: keep everything from here back.
      result.hold = i;
      break;
    }
    if (best.end != 0) {
      result.matches.push_back(best);
      i = best.end;
    } else {
      ++i;
    }
  }
  return result;
}

std::string Redactor::Apply(std::string_view t, const std::vector<Match>& matches, size_t end) {
  std::string out;
  out.reserve(end);
  size_t pos = 0;
  for (const auto& m : matches) {
    if (m.end > end) break;
    out.append(t.substr(pos, m.start - pos));
    out += "[REDACTED:";
    out += m.what;
    out += "]";
    pos = m.end;
  }
  out.append(t.substr(pos, end - pos));
  return out;
}

std::string Redactor::Redact(std::string_view text) const {
  ScanResult r = Scan(text, /*final=*/true);
  if (r.matches.empty()) return std::string(text);
  return Apply(text, r.matches, text.size());
}

bool Redactor::ContainsSecret(std::string_view text) const { return !Scan(text, true).matches.empty(); }

bool Redactor::ContinuesToken(int rule, char c) {
  if (rule < 0 || rule >= kRuleCount) return false;
  return InClass(kRules[rule].jwt ? Cls::kDotted : kRules[rule].cls, c);
}

size_t Redactor::KeyBlockEnd(std::string_view t, size_t from) { return FindKeyBlockEnd(t, from); }

// Handles the states left by an overflow. Returns false when everything pending was consumed.
bool Redactor::Stream::Continue(std::string* out) {
  (void)out;
  if (swallow_rule_ >= 0) {
    size_t k = 0;
    Cls cls = kRules[swallow_rule_].jwt ? Cls::kDotted : kRules[swallow_rule_].cls;
    while (k < pending_.size() && InClass(cls, pending_[k])) ++k;
    pending_.erase(0, k);
    if (pending_.empty()) return false;
    swallow_rule_ = -1;
  }
  if (in_key_block_) {
    size_t end = FindKeyBlockEnd(pending_, 0);
    if (end == std::string::npos) {
      // Keep only what could be the start of the END line.
      if (pending_.size() > 128) pending_.erase(0, pending_.size() - 128);
      return false;
    }
    pending_.erase(0, end);
    in_key_block_ = false;
  }
  return true;
}

void Redactor::Stream::ForceEmit(std::string* out) {
  ScanResult r = r_.Scan(pending_, /*final=*/true);
  *out += Apply(pending_, r.matches, pending_.size());
  if (!r.matches.empty() && r.matches.back().end == pending_.size()) {
    const Match& last = r.matches.back();
    if (last.rule == -2 && FindKeyBlockEnd(pending_, last.start) == std::string::npos) in_key_block_ = true;
    if (last.rule >= 0) swallow_rule_ = last.rule;
  }
  pending_.clear();
}

std::string Redactor::Stream::Write(std::string_view chunk) {
  std::string out;
  pending_.append(chunk);
  if (!Continue(&out)) return out;
  ScanResult r = r_.Scan(pending_, /*final=*/false);
  out += Apply(pending_, r.matches, r.hold);
  pending_.erase(0, r.hold);
  if (pending_.size() > kMaxHold) ForceEmit(&out);
  return out;
}

std::string Redactor::Stream::Finish() {
  std::string out;
  if (Continue(&out)) {
    ScanResult r = r_.Scan(pending_, /*final=*/true);
    out += Apply(pending_, r.matches, pending_.size());
  }
  pending_.clear();
  swallow_rule_ = -1;
  in_key_block_ = false;
  return out;
}

}  // namespace cloudcoop::audit
