// Small string helpers shared across modules.
#ifndef CLOUDCOOP_CORE_STRINGS_H_
#define CLOUDCOOP_CORE_STRINGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cloudcoop {

std::vector<std::string> Split(std::string_view text, char sep, bool skip_empty = false);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view Trim(std::string_view text);
std::string ToLower(std::string_view text);
std::string ToUpper(std::string_view text);
bool StartsWith(std::string_view text, std::string_view prefix);
bool EndsWith(std::string_view text, std::string_view suffix);

// Levenshtein distance, for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b);
// The closest candidate within a small distance, or empty.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

std::optional<int64_t> ParseInt64(std::string_view text);
std::optional<double> ParseDouble(std::string_view text);
// "6G", "512M", "1024K", "100" (bytes), "1.5G"; binary units (K=1024). Case-insensitive, optional
// trailing "B"/"iB".
StatusOr<uint64_t> ParseByteSize(std::string_view text);
// 6442450944 -> "6.0G", 1536 -> "1.5K", 100 -> "100B".
std::string FormatBytes(uint64_t bytes);

// Quotes a word for display in a message or a copy-pasteable command line (never for execution).
std::string ShellQuoteForDisplay(std::string_view word);

}  // namespace cloudcoop

#endif  // CLOUDCOOP_CORE_STRINGS_H_
