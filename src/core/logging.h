// Levelled logging to stderr. printf-style so the compiler checks every message.
//
// The level comes from CLOUDCOOP_LOG (error|warn|info|debug) and `--verbose` (debug); the default is
// warn, so commands print only their own output unless asked. Logging never writes secret values:
// callers pass redacted text (see audit/redact.h).
#ifndef CLOUDCOOP_CORE_LOGGING_H_
#define CLOUDCOOP_CORE_LOGGING_H_

#include <optional>
#include <string_view>

namespace cloudcoop {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

std::optional<LogLevel> ParseLogLevel(std::string_view text);
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Reads CLOUDCOOP_LOG; an unknown value is reported once and ignored.
void InitLoggingFromEnv();

void LogMessage(LogLevel level, const char* file, int line, const char* format, ...)
    __attribute__((format(printf, 4, 5)));

}  // namespace cloudcoop

#define CC_LOG(level, ...)                                                                  \
  do {                                                                                      \
    if (::cloudcoop::GetLogLevel() >= ::cloudcoop::LogLevel::level)                         \
      ::cloudcoop::LogMessage(::cloudcoop::LogLevel::level, __FILE__, __LINE__, __VA_ARGS__); \
  } while (0)
#define CC_LOG_ERROR(...) CC_LOG(kError, __VA_ARGS__)
#define CC_LOG_WARN(...) CC_LOG(kWarn, __VA_ARGS__)
#define CC_LOG_INFO(...) CC_LOG(kInfo, __VA_ARGS__)
#define CC_LOG_DEBUG(...) CC_LOG(kDebug, __VA_ARGS__)

#endif  // CLOUDCOOP_CORE_LOGGING_H_
