#include <gtest/gtest.h>

#include <cstdlib>

int main(int argc, char** argv) {
  // gtest_discover_tests passes only the first entry of a list-valued ENVIRONMENT property, so the
  // directories also come compiled in (ctest's values, when present, win).
  setenv("CLOUDCOOP_SOURCE_DIR", CLOUDCOOP_TEST_SOURCE_DIR, 0);
  setenv("CLOUDCOOP_BUILD_DIR", CLOUDCOOP_TEST_BUILD_DIR, 0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
