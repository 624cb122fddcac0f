#include "cloud/gcp/retry.h"

#include <cmath>
#include <cstdio>

namespace cloudcoop::gcp {

bool RetryPolicy::IsTransient(const Status& status) {
  return status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kDeadlineExceeded;
}

Duration BackoffPolicy::Delay(int retry, std::mt19937_64& rng) const {
  double base = static_cast<double>(initial.count()) * std::pow(multiplier, std::max(0, retry - 1));
  base = std::min(base, static_cast<double>(maximum.count()));
  std::uniform_real_distribution<double> upper_half(base / 2, base);
  return Duration(static_cast<Duration::rep>(upper_half(rng)));
}

std::string FormatSeconds(Duration d) {
  double s = std::chrono::duration<double>(d).count();
  if (s >= 60) return FormatShortDuration(d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", s < 0 ? 0.0 : s);
  return buf;
}

namespace internal {

std::mt19937_64 MakeRng(uint64_t seed) {
  if (seed != 0) return std::mt19937_64(seed);
  std::random_device rd;
  return std::mt19937_64((static_cast<uint64_t>(rd()) << 32) ^ rd());
}

Status Exhausted(const Status& last, std::string_view what, int attempts, Duration elapsed) {
  Status out(last.code(), std::string(what) + ": gave up after " + std::to_string(attempts) + " attempts in " +
                              FormatSeconds(elapsed) + "; last error: " + last.message());
  return std::move(out).WithFix(
      "Google Cloud kept answering with a transient error (rate limit, outage or network); wait a minute and "
      "re-run: the command is safe to repeat");
}

Status NotRetried(const Status& last) {
  Status out(last.code(), last.message() + " (not retried: repeating this request could apply it twice)");
  return std::move(out).WithFix(last.fix().empty() ? "check the resource's state, then re-run" : last.fix());
}

}  // namespace internal

}  // namespace cloudcoop::gcp
