#include "node/names.h"

#include <cctype>

#include "core/strings.h"

namespace cloudcoop::node {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// A best-effort valid spelling of a rejected name, for the fix line.
std::string Suggest(std::string_view name) {
  std::string out;
  for (char c : name) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (IsLowerAlnum(l)) out += l;
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  size_t first = out.find_first_of("abcdefghijklmnopqrstuvwxyz");
  if (first == std::string::npos) return "agent-" + out.substr(0, kMaxAgentNameLength - 6);
  out = out.substr(first);
  if (out.size() > kMaxAgentNameLength) out.resize(kMaxAgentNameLength);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string Printable(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return std::string("'") + c + "'";
  char buf[8];
  snprintf(buf, sizeof buf, "0x%02x", u);
  return buf;
}

}  // namespace

Status ValidateAgentName(std::string_view name) {
  const std::string shown = ShellQuoteForDisplay(name);
  auto bad = [&](const std::string& why) {
    std::string s = Suggest(name);
    return InvalidArgumentError("agent name " + shown + " is not valid: " + why)
        .WithFix("use 1-32 lowercase letters, digits and single hyphens, starting with a letter" +
                 (s.empty() || s == name ? std::string() : " (e.g. \"" + s + "\")"));
  };
  if (name.empty()) return bad("it is empty");
  if (name.size() > kMaxAgentNameLength) {
    return bad("it has " + std::to_string(name.size()) + " characters, more than " +
               std::to_string(kMaxAgentNameLength));
  }
  if (!(name[0] >= 'a' && name[0] <= 'z')) return bad("it must start with a lowercase letter, not " + Printable(name[0]));
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (IsLowerAlnum(c)) continue;
    if (c == '-') {
      if (i + 1 < name.size() && name[i + 1] == '-') return bad("it has two hyphens in a row at position " + std::to_string(i + 1));
      continue;
    }
    return bad("character " + Printable(c) + " at position " + std::to_string(i + 1) + " is not allowed");
  }
  if (name.back() == '-') return bad("it must not end with a hyphen");
  return OkStatus();
}

Status ValidateEnvName(std::string_view name) {
  bool ok = !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (!ok) {
    return InvalidArgumentError("environment variable name " + ShellQuoteForDisplay(name) + " is not valid")
        .WithFix("use letters, digits and _ only, not starting with a digit (e.g. --env MODE=fast)");
  }
  return OkStatus();
}

Status ValidateBranchName(std::string_view b) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("branch name " + ShellQuoteForDisplay(b) + " is not accepted: " + why)
        .WithFix("use letters, digits, '.', '_', '-' and '/' (e.g. --branch feature/parser)");
  };
  if (b.empty()) return bad("it is empty");
  if (b.size() > 200) return bad("it is longer than 200 characters");
  for (char c : b) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/')) {
      return bad("character " + Printable(c) + " is not allowed");
    }
  }
  if (b[0] == '-' || b[0] == '.' || b[0] == '/') return bad("it must not start with '-', '.' or '/'");
  if (b.back() == '/' || b.back() == '.') return bad("it must not end with '/' or '.'");
  if (b.find("..") != std::string_view::npos) return bad("it must not contain \"..\"");
  if (b.find("//") != std::string_view::npos) return bad("it must not contain \"//\"");
  if (b.find("/.") != std::string_view::npos) return bad("no part may start with '.'");
  if (EndsWith(b, ".lock")) return bad("it must not end with \".lock\"");
  if (b == "HEAD") return bad("HEAD is not a branch");
  return OkStatus();
}

}  // namespace cloudcoop::node
