#include "node/words.h"

#include "core/strings.h"

namespace cloudcoop::node {

StatusOr<std::vector<std::string>> SplitCommandWords(std::string_view text) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  auto refuse = [&](size_t pos, const std::string& what, const std::string& fix) {
    return InvalidArgumentError("command " + ShellQuoteForDisplay(text) + ": " + what + " at column " +
                                std::to_string(pos + 1) + " (commands are split into words without a shell)")
        .WithFix(fix);
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    switch (c) {
      case ' ':
      case '\t':
      case '\n':
        if (in_word) {
          words.push_back(cur);
          cur.clear();
          in_word = false;
        }
        break;
      case '\'': {
        size_t end = text.find('\'', i + 1);
        if (end == std::string_view::npos) return refuse(i, "unterminated single quote", "close the quote with '");
        cur.append(text.substr(i + 1, end - i - 1));
        in_word = true;
        i = end;
        break;
      }
      case '"': {
        size_t j = i + 1;
        for (;; ++j) {
          if (j >= text.size()) return refuse(i, "unterminated double quote", "close the quote with \"");
          char d = text[j];
          if (d == '"') break;
          if (d == '\\' && j + 1 < text.size()) {
            char n = text[j + 1];
            if (n == '"' || n == '\\' || n == '$' || n == '`') {
              cur += n;
              ++j;
              continue;
            }
            if (n == '\n') {
              ++j;
              continue;
            }
          }
          cur += d;
        }
        in_word = true;
        i = j;
        break;
      }
      case '\\':
        if (i + 1 >= text.size()) return refuse(i, "a backslash at the end", "remove it or quote it ('\\')");
        if (text[i + 1] != '\n') {
          cur += text[i + 1];
          in_word = true;
        }
        ++i;
        break;
      case '|':
      case '&':
      case ';':
      case '<':
      case '>':
      case '(':
      case ')':
        return refuse(i, std::string("shell operator '") + c + "'",
                      "run one program with its arguments; put pipelines or several commands in a script "
                      "inside the workspace, or quote the character if it is part of an argument");
      case '$':
      case '`':
        return refuse(i, std::string("'") + c + "' would be an expansion in a shell",
                      "quote it ('" + std::string(1, c) + "') to pass it literally; set variables with --env "
                      "or agents.profiles.<name>.env instead");
      case '*':
      case '?':
      case '[':
        return refuse(i, std::string("glob character '") + c + "'", "quote it to pass it literally");
      case '#':
        if (!in_word) return refuse(i, "'#' would start a comment in a shell", "quote it to pass it literally");
        cur += c;
        break;
      case '~':
        if (!in_word) return refuse(i, "'~' would be expanded to a home directory in a shell",
                                    "write the full path, or quote it to pass it literally");
        cur += c;
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          return refuse(i, "a control character", "remove it");
        }
        cur += c;
        in_word = true;
        break;
    }
  }
  if (in_word) words.push_back(cur);
  if (words.empty()) {
    return InvalidArgumentError("command " + ShellQuoteForDisplay(text) + " is empty")
        .WithFix("give the program to run, e.g. --cmd \"bash -l\"");
  }
  return words;
}

std::string JoinCommandWords(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += ShellQuoteForDisplay(w);
  }
  return out;
}

}  // namespace cloudcoop::node
