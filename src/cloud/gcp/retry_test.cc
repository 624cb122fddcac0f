#include "cloud/gcp/retry.h"

#include <gtest/gtest.h>

namespace cloudcoop::gcp {
namespace {

RetryOptions Options(FakeClock& clock, FakeSleeper& sleeper) {
  RetryOptions o;
  o.clock = &clock;
  o.sleeper = &sleeper;
  o.seed = 7;
  return o;
}

TEST(RetryTest, TransientThenSuccess) {
  FakeClock clock;
  FakeSleeper sleeper(&clock);
  int calls = 0;
  std::function<StatusOr<int>(AttemptHints&)> attempt = [&](AttemptHints&) -> StatusOr<int> {
    if (++calls < 3) return UnavailableError("HTTP 503");
    return 42;
  };
  auto r = RetryLoop<int>(Options(clock, sleeper), Idempotency::kIdempotent, "GET x", attempt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(calls, 3);
  auto sleeps = sleeper.sleeps();
  ASSERT_EQ(sleeps.size(), 2u);
  // Exponential with jitter in the upper half: 125-250 ms, then 250-500 ms.
  EXPECT_GE(sleeps[0], std::chrono::milliseconds(125));
  EXPECT_LE(sleeps[0], std::chrono::milliseconds(250));
  EXPECT_GE(sleeps[1], std::chrono::milliseconds(250));
  EXPECT_LE(sleeps[1], std::chrono::milliseconds(500));
}

TEST(RetryTest, ExhaustedNamesTheCallAttemptsAndLastError) {
  FakeClock clock;
  FakeSleeper sleeper(&clock);
  std::function<StatusOr<int>(AttemptHints&)> attempt = [&](AttemptHints&) -> StatusOr<int> {
    return UnavailableError("HTTP 503: backend down");
  };
  auto r = RetryLoop<int>(Options(clock, sleeper), Idempotency::kIdempotent, "GET compute.instances.get vm", attempt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("GET compute.instances.get vm: gave up after 5 attempts"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("last error: HTTP 503: backend down"), std::string::npos);
  EXPECT_NE(r.status().fix().find("safe to repeat"), std::string::npos);
  EXPECT_EQ(sleeper.sleeps().size(), 4u);
}

TEST(RetryTest, NonIdempotentIsNeverRepeated) {
  FakeClock clock;
  FakeSleeper sleeper(&clock);
  int calls = 0;
  std::function<StatusOr<int>(AttemptHints&)> attempt = [&](AttemptHints&) -> StatusOr<int> {
    ++calls;
    return DeadlineExceededError("timed out");
  };
  auto r = RetryLoop<int>(Options(clock, sleeper), Idempotency::kNonIdempotent, "POST x", attempt);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(sleeper.sleeps().empty());
  EXPECT_NE(r.status().message().find("not retried"), std::string::npos);
}

TEST(RetryTest, PermanentErrorsAreNotRetried) {
  FakeClock clock;
  FakeSleeper sleeper(&clock);
  for (Status st : {NotFoundError("404"), PermissionDeniedError("403"), ResourceExhaustedError("quota"),
                    InvalidArgumentError("400"), AbortedError("412")}) {
    int calls = 0;
    std::function<StatusOr<int>(AttemptHints&)> attempt = [&](AttemptHints&) -> StatusOr<int> {
      ++calls;
      return st;
    };
    auto r = RetryLoop<int>(Options(clock, sleeper), Idempotency::kIdempotent, "x", attempt);
    EXPECT_EQ(calls, 1) << st.message();
    EXPECT_EQ(r.status().code(), st.code());
  }
}

TEST(RetryTest, RetryAfterIsHonouredButCapped) {
  FakeClock clock;
  FakeSleeper sleeper(&clock);
  int calls = 0;
  std::function<StatusOr<int>(AttemptHints&)> attempt = [&](AttemptHints& h) -> StatusOr<int> {
    if (++calls == 1) {
      h.retry_after = std::chrono::seconds(3);
      return UnavailableError("429");
    }
    if (calls == 2) {
      h.retry_after = std::chrono::hours(1);
      return UnavailableError("429");
    }
    return 1;
  };
  RetryOptions o = Options(clock, sleeper);
  o.retry.max_elapsed = std::chrono::minutes(5);
  ASSERT_TRUE(RetryLoop<int>(o, Idempotency::kIdempotent, "x", attempt).ok());
  auto sleeps = sleeper.sleeps();
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_EQ(sleeps[0], std::chrono::seconds(3));
  EXPECT_EQ(sleeps[1], o.backoff.maximum * 4);
}

TEST(RetryTest, StopsAtTheTimeBudget) {
  FakeClock clock;
  FakeSleeper sleeper(&clock);
  RetryOptions o = Options(clock, sleeper);
  o.retry.max_attempts = 100;
  o.retry.max_elapsed = std::chrono::seconds(3);
  int calls = 0;
  std::function<StatusOr<int>(AttemptHints&)> attempt = [&](AttemptHints&) -> StatusOr<int> {
    ++calls;
    return UnavailableError("503");
  };
  auto r = RetryLoop<int>(o, Idempotency::kIdempotent, "x", attempt);
  EXPECT_FALSE(r.ok());
  EXPECT_LT(calls, 10);
  Duration total{};
  for (auto d : sleeper.sleeps()) total += d;
  EXPECT_LE(total, std::chrono::seconds(3));
}

TEST(RetryTest, BackoffIsTruncated) {
  BackoffPolicy b;
  std::mt19937_64 rng(1);
  for (int i = 1; i < 30; ++i) EXPECT_LE(b.Delay(i, rng), b.maximum);
}

}  // namespace
}  // namespace cloudcoop::gcp
