#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <string>

#include "core/files.h"

int main(int argc, char** argv) {
  // Where the tests find the build: compiled in (a value in the environment wins, so a test can be
  // pointed at another build).
  setenv("CLOUDCOOP_BINARY", CLOUDCOOP_TEST_BINARY, 0);
  setenv("CLOUDCOOP_SOURCE_DIR", CLOUDCOOP_TEST_SOURCE_DIR, 0);
  setenv("CLOUDCOOP_BUILD_DIR", CLOUDCOOP_TEST_BUILD_DIR, 0);
  // A test never writes the machine's state directory (/var/lib/cloudcoop): unless it says
  // otherwise, every test process gets a private one, removed at the end.
  std::string private_state;
  if (getenv("CLOUDCOOP_STATE_DIR") == nullptr) {
    char tmpl[] = "/tmp/cloudcoop-test-state.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      perror("mkdtemp for the tests' state directory");
      return 1;
    }
    private_state = tmpl;
    setenv("CLOUDCOOP_STATE_DIR", tmpl, 1);
  }
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  if (!private_state.empty()) (void)cloudcoop::RemoveTree(private_state);
  return rc;
}
