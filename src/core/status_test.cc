#include "core/status.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace cloudcoop {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd: " + std::to_string(x)).WithFix("pass an even number");
  return x / 2;
}

Status UseHalf(int x, int* out) {
  CC_ASSIGN_OR_RETURN(int h, Half(x));
  *out = h;
  return OkStatus();
}

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(ExitCodeFor(s), 0);
}

TEST(StatusTest, CarriesMessageFixAndLocation) {
  Status s = NotFoundError("agent a1 not found").WithFix("run cloudcoop agent list");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "agent a1 not found (fix: run cloudcoop agent list)");
  EXPECT_NE(std::string(s.file()).find("status_test.cc"), std::string::npos);
  EXPECT_GT(s.line(), 0);
}

TEST(StatusTest, ExitCodes) {
  EXPECT_EQ(ExitCodeFor(InvalidArgumentError("x")), 2);
  EXPECT_EQ(ExitCodeFor(CheckFailedError("x")), 3);
  EXPECT_EQ(ExitCodeFor(DataLossError("x")), 3);
  EXPECT_EQ(ExitCodeFor(InternalError("x")), 1);
  EXPECT_EQ(ExitCodeFor(UnavailableError("x")), 1);
}

TEST(StatusTest, ErrnoErrorNamesCallAndErrno) {
  Status s = ErrnoError(EACCES, "open /etc/shadow");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "open /etc/shadow: Permission denied (EACCES)");
  EXPECT_EQ(ErrnoError(ENOENT, "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoName(EPERM), "EPERM");
}

TEST(StatusTest, AnnotatePrefixesAndKeepsFix) {
  Status s = InvalidArgumentError("bad").WithFix("fix it").Annotate("loading config");
  EXPECT_EQ(s.message(), "loading config: bad");
  EXPECT_EQ(s.fix(), "fix it");
}

TEST(StatusOrTest, ValueAndError) {
  int out = 0;
  EXPECT_TRUE(UseHalf(8, &out).ok());
  EXPECT_EQ(out, 4);
  Status err = UseHalf(3, &out);
  EXPECT_EQ(err.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(err.fix(), "pass an even number");
  StatusOr<std::string> s = std::string("x");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "x");
  EXPECT_EQ(s->size(), 1u);
}

StatusOr<std::vector<std::string>> Names() { return std::vector<std::string>{"a", "b"}; }

TEST(StatusOrTest, RangeForOverATemporaryIsSafe) {
  std::string joined;
  for (const auto& n : *Names()) joined += n;
  EXPECT_EQ(joined, "ab");
}

}  // namespace
}  // namespace cloudcoop
