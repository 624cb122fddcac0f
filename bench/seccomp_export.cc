// Writes the sandbox's seccomp filter as raw BPF to stdout, so bench_sandbox.sh can give bubblewrap
// the same filter (`bwrap --seccomp FD`).
#include <unistd.h>

#include <cstdio>

#include "sandbox/seccomp.h"

int main() {
  auto program = cloudcoop::sandbox::seccomp::BuildFilter();
  if (!program.ok()) {
    std::fprintf(stderr, "%s\n", program.status().ToString().c_str());
    return 1;
  }
  size_t bytes = program->size() * sizeof(sock_filter);
  return write(1, program->data(), bytes) == static_cast<ssize_t>(bytes) ? 0 : 1;
}
