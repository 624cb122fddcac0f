#include <gtest/gtest.h>

#include "tui/model.h"
#include "tui/view.h"

namespace cloudcoop::tui {
namespace {
TEST(TuiTest, Placeholder) { EXPECT_EQ(KeyName('a'), "a"); }
}  // namespace
}  // namespace cloudcoop::tui
