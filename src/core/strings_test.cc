#include "core/strings.h"

#include <gtest/gtest.h>

namespace cloudcoop {
namespace {

TEST(StringsTest, SplitJoinTrim) {
  EXPECT_EQ(Split("a,b,,c", ','), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(Split("a,b,,c", ',', true), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Join({"a", "b"}, ", "), "a, b");
  EXPECT_EQ(Trim("  x y \n"), "x y");
}

TEST(StringsTest, ClosestMatch) {
  std::vector<std::string> keys = {"vm.name", "vm.spot", "ssh.port"};
  EXPECT_EQ(ClosestMatch("vm.nmae", keys), "vm.name");
  EXPECT_EQ(ClosestMatch("totally.different", keys), "");
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(StringsTest, ByteSizes) {
  EXPECT_EQ(*ParseByteSize("6G"), 6ULL << 30);
  EXPECT_EQ(*ParseByteSize("512m"), 512ULL << 20);
  EXPECT_EQ(*ParseByteSize("1.5G"), 3ULL << 29);
  EXPECT_EQ(*ParseByteSize("100"), 100u);
  EXPECT_EQ(*ParseByteSize("2GiB"), 2ULL << 30);
  EXPECT_FALSE(ParseByteSize("six gigs").ok());
  EXPECT_FALSE(ParseByteSize("-1G").ok());
  EXPECT_FALSE(ParseByteSize("").ok());
  EXPECT_EQ(FormatBytes(6ULL << 30), "6.0G");
  EXPECT_EQ(FormatBytes(100), "100B");
}

TEST(StringsTest, Numbers) {
  EXPECT_EQ(ParseInt64("42"), 42);
  EXPECT_EQ(ParseInt64("-7"), -7);
  EXPECT_FALSE(ParseInt64("4x").has_value());
  EXPECT_FALSE(ParseInt64("").has_value());
  EXPECT_DOUBLE_EQ(*ParseDouble("1.5"), 1.5);
  EXPECT_FALSE(ParseDouble("nan").has_value());
}

TEST(StringsTest, ShellQuoteForDisplay) {
  EXPECT_EQ(ShellQuoteForDisplay("plain-word"), "plain-word");
  EXPECT_EQ(ShellQuoteForDisplay("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuoteForDisplay(""), "''");
}

}  // namespace
}  // namespace cloudcoop
