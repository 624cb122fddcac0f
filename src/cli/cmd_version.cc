// cloudcoop version: version, git commit and build type.
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/command.h"
#include "core/build_info.h"

namespace cloudcoop::cli {
namespace {

int RunVersion(Invocation& inv) {
  if (inv.json()) {
    nlohmann::json j = {{"version", std::string(kVersion)}, {"commit", std::string(kGitCommit)}, {"build_type", std::string(kBuildType)}};
    inv.out() << j.dump(2) << "\n";
  } else {
    inv.out() << "cloudcoop " << kVersion << " (commit " << kGitCommit << ", " << kBuildType << " build)\n";
  }
  return 0;
}

}  // namespace

extern const CommandSpec kVersionCommand = {
    .name = "version",
    .category = Category::kOther,
    .summary = "print the version, git commit and build type",
    .flags = {{"json", FlagKind::kBool, "", "print JSON"}},
    .run = RunVersion,
};

}  // namespace cloudcoop::cli
