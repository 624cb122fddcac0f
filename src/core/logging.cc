#include "core/logging.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sys/time.h>
#include <unistd.h>

namespace cloudcoop {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kWarn)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "?";
}
}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "error") return LogLevel::kError;
  if (text == "warn" || text == "warning") return LogLevel::kWarn;
  if (text == "info") return LogLevel::kInfo;
  if (text == "debug") return LogLevel::kDebug;
  return std::nullopt;
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }

void InitLoggingFromEnv() {
  const char* env = std::getenv("CLOUDCOOP_LOG");
  if (env == nullptr || *env == '\0') return;
  if (auto level = ParseLogLevel(env)) {
    SetLogLevel(*level);
  } else {
    std::fprintf(stderr,
                 "cloudcoop: warning: CLOUDCOOP_LOG=%s is not a log level; use error, warn, info "
                 "or debug\n",
                 env);
  }
}

void LogMessage(LogLevel level, const char* file, int line, const char* format, ...) {
  char body[4096];
  va_list args;
  va_start(args, format);
  std::vsnprintf(body, sizeof body, format, args);
  va_end(args);
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  const char* base = std::strrchr(file, '/');
  base = base != nullptr ? base + 1 : file;
  // One write per line so concurrent processes do not interleave inside a line.
  char out[4608];
  int n = std::snprintf(out, sizeof out, "%02d:%02d:%02d.%03ld %s %d %s:%d] %s\n", tm.tm_hour,
                        tm.tm_min, tm.tm_sec, static_cast<long>(tv.tv_usec / 1000), LevelName(level),
                        static_cast<int>(getpid()), base, line, body);
  if (n > 0) {
    ssize_t ignored = write(STDERR_FILENO, out, static_cast<size_t>(n) < sizeof out ? n : sizeof out - 1);
    (void)ignored;
  }
}

}  // namespace cloudcoop
