// Splits a profile's command string into argv the way a POSIX shell splits words, without any
// expansion and without running a shell.
//
//   claude --dangerously-skip-permissions      -> {"claude", "--dangerously-skip-permissions"}
//   my-agent --prompt 'fix the "parser"'        -> {"my-agent", "--prompt", "fix the \"parser\""}
//   tool "a \"quoted\" word" back\ slash        -> {"tool", "a \"quoted\" word", "back slash"}
//
// Single quotes keep everything literally; double quotes keep everything except \" \\ \$ \` and
// backslash-newline; an unquoted backslash escapes the next character. Characters that would make
// a shell do something we do not do (operators | & ; < > ( ), expansions $ ` ~ at a word start,
// globs * ? [ and comments #) are refused unless quoted, so a command never means something other
// than what it says.
#ifndef CLOUDCOOP_NODE_WORDS_H_
#define CLOUDCOOP_NODE_WORDS_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cloudcoop::node {

StatusOr<std::vector<std::string>> SplitCommandWords(std::string_view text);

// The reverse, for display only: words joined with shell quoting where needed.
std::string JoinCommandWords(const std::vector<std::string>& words);

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_WORDS_H_
