// cloudcoop: builds nothing itself; the command table does the work (src/cli/commands.cc).
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli/command.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv, argv + argc);
  int rc = cloudcoop::cli::RunCli(args, std::cin, std::cout, std::cerr, isatty(STDIN_FILENO) == 1);
  std::cout.flush();
  return rc;
}
