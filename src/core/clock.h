// Injectable time: a Clock to read the time and a Sleeper to wait. Code that retries, polls or
// stamps records takes these as parameters so tests run without real waiting.
#ifndef CLOUDCOOP_CORE_CLOCK_H_
#define CLOUDCOOP_CORE_CLOCK_H_

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace cloudcoop {

using SystemTime = std::chrono::system_clock::time_point;
using Duration = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime Now() = 0;           // wall clock, for records and display
  virtual Duration Monotonic() = 0;       // for measuring intervals and deadlines
};

class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void Sleep(Duration d) = 0;
};

class RealClock : public Clock {
 public:
  SystemTime Now() override { return std::chrono::system_clock::now(); }
  Duration Monotonic() override { return std::chrono::steady_clock::now().time_since_epoch(); }
};

class RealSleeper : public Sleeper {
 public:
  void Sleep(Duration d) override;
};

RealClock& DefaultClock();
RealSleeper& DefaultSleeper();

// A clock that moves only when told to.
class FakeClock : public Clock {
 public:
  explicit FakeClock(SystemTime start = SystemTime{} + std::chrono::hours(24 * 365 * 56))
      : now_(start) {}
  SystemTime Now() override;
  Duration Monotonic() override;
  void Advance(Duration d);

 private:
  std::mutex mu_;
  SystemTime now_;
  Duration mono_{};
};

// Records requested sleeps and advances an optional FakeClock by them instead of waiting.
class FakeSleeper : public Sleeper {
 public:
  explicit FakeSleeper(FakeClock* clock = nullptr) : clock_(clock) {}
  void Sleep(Duration d) override;
  std::vector<Duration> sleeps() const;

 private:
  mutable std::mutex mu_;
  FakeClock* clock_;
  std::vector<Duration> sleeps_;
};

// RFC 3339 UTC with milliseconds: 2026-11-23T12:00:00.123Z
std::string FormatRfc3339(SystemTime t);
// Parses RFC 3339 (Z or +hh:mm offsets, optional fraction). Returns false on bad input.
bool ParseRfc3339(const std::string& text, SystemTime* out);
// "3d4h", "2h05m", "4m10s", "12s": short uptime text for tables.
std::string FormatShortDuration(Duration d);

}  // namespace cloudcoop

#endif  // CLOUDCOOP_CORE_CLOCK_H_
