#include "core/clock.h"

#include <gtest/gtest.h>

namespace cloudcoop {
namespace {

TEST(ClockTest, FakeSleeperAdvancesFakeClock) {
  FakeClock clock;
  FakeSleeper sleeper(&clock);
  SystemTime start = clock.Now();
  sleeper.Sleep(std::chrono::seconds(2));
  sleeper.Sleep(std::chrono::milliseconds(500));
  EXPECT_EQ(clock.Now() - start, std::chrono::milliseconds(2500));
  EXPECT_EQ(clock.Monotonic(), std::chrono::milliseconds(2500));
  ASSERT_EQ(sleeper.sleeps().size(), 2u);
  EXPECT_EQ(sleeper.sleeps()[1], std::chrono::milliseconds(500));
}

TEST(ClockTest, Rfc3339RoundTrip) {
  SystemTime t;
  ASSERT_TRUE(ParseRfc3339("2026-11-23T12:34:56.789Z", &t));
  EXPECT_EQ(FormatRfc3339(t), "2026-11-23T12:34:56.789Z");
  SystemTime u;
  ASSERT_TRUE(ParseRfc3339("2026-11-23T13:34:56.789+01:00", &u));
  EXPECT_EQ(t, u);
  EXPECT_FALSE(ParseRfc3339("2026-11-23 12:34:56", &t));
  EXPECT_FALSE(ParseRfc3339("2026-13-01T00:00:00Z", &t));
  EXPECT_FALSE(ParseRfc3339("2026-11-23T12:34:56Zjunk", &t));
}

TEST(ClockTest, ShortDurations) {
  EXPECT_EQ(FormatShortDuration(std::chrono::seconds(12)), "12s");
  EXPECT_EQ(FormatShortDuration(std::chrono::seconds(250)), "4m10s");
  EXPECT_EQ(FormatShortDuration(std::chrono::seconds(7500)), "2h05m");
  EXPECT_EQ(FormatShortDuration(std::chrono::hours(76)), "3d4h");
}

}  // namespace
}  // namespace cloudcoop
