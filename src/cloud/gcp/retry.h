// The one retry loop every GCP call goes through (ADR 0006), made of three separate parts:
//   RetryPolicy    which failures are transient, and how many attempts / how much time in total;
//   BackoffPolicy  truncated exponential backoff with jitter, slept through an injected Sleeper;
//   Idempotency    whether repeating the call is safe. Reads are; a write is only when it carries
//                  a requestId (or an etag/fingerprint precondition). A transient failure of a
//                  non-idempotent call is returned at once, never repeated.
// Shape after google-cloud-cpp's rest_retry_loop.h / retry_policy_impl.h / backoff_policy.h.
#ifndef CLOUDCOOP_CLOUD_GCP_RETRY_H_
#define CLOUDCOOP_CLOUD_GCP_RETRY_H_

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace cloudcoop::gcp {

enum class Idempotency { kIdempotent, kNonIdempotent };

struct RetryPolicy {
  int max_attempts = 5;
  Duration max_elapsed = std::chrono::seconds(60);
  // kUnavailable (HTTP 429, 5xx, connection refused/reset/dropped) and kDeadlineExceeded.
  static bool IsTransient(const Status& status);
};

struct BackoffPolicy {
  Duration initial = std::chrono::milliseconds(250);
  Duration maximum = std::chrono::seconds(8);
  double multiplier = 2.0;
  // The delay before retry number `retry` (1-based): min(maximum, initial * multiplier^(retry-1)),
  // then a uniformly random point in its upper half (so a herd of clients spreads out).
  Duration Delay(int retry, std::mt19937_64& rng) const;
};

struct RetryOptions {
  RetryPolicy retry;
  BackoffPolicy backoff;
  Sleeper* sleeper = nullptr;  // null: DefaultSleeper()
  Clock* clock = nullptr;      // null: DefaultClock()
  uint64_t seed = 0;           // 0: random
};

// What one attempt may tell the loop beyond its result.
struct AttemptHints {
  Duration retry_after{0};  // the server's Retry-After, if it sent one
};

// "0.3s", "12.0s", "4m10s": durations in messages.
std::string FormatSeconds(Duration d);

namespace internal {
Status Exhausted(const Status& last, std::string_view what, int attempts, Duration elapsed);
Status NotRetried(const Status& last);
std::mt19937_64 MakeRng(uint64_t seed);
}  // namespace internal

// Runs `attempt` until it succeeds, fails permanently, or the policy gives up. `what` names the
// call in the final error ("GET compute.instances agent-vm").
template <typename T>
StatusOr<T> RetryLoop(const RetryOptions& options, Idempotency idempotency, std::string_view what,
                      const std::function<StatusOr<T>(AttemptHints&)>& attempt) {
  Sleeper& sleeper = options.sleeper != nullptr ? *options.sleeper : DefaultSleeper();
  Clock& clock = options.clock != nullptr ? *options.clock : static_cast<Clock&>(DefaultClock());
  std::mt19937_64 rng = internal::MakeRng(options.seed);
  Duration start = clock.Monotonic();
  for (int n = 1;; ++n) {
    AttemptHints hints;
    StatusOr<T> result = attempt(hints);
    if (result.ok() || !RetryPolicy::IsTransient(result.status())) return result;
    if (idempotency == Idempotency::kNonIdempotent) return internal::NotRetried(result.status());
    Duration elapsed = clock.Monotonic() - start;
    Duration delay = std::max(options.backoff.Delay(n, rng), hints.retry_after);
    delay = std::min(delay, options.backoff.maximum * 4);  // a hostile Retry-After cannot stall us
    if (n >= options.retry.max_attempts || elapsed + delay > options.retry.max_elapsed) {
      return internal::Exhausted(result.status(), what, n, elapsed);
    }
    sleeper.Sleep(delay);
  }
}

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_RETRY_H_
