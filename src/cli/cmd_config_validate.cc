// cloudcoop config validate: load every layer and apply every rule; exit 2 on any problem.
#include <ostream>

#include "cli/command.h"
#include "config/loader.h"
#include "core/strings.h"

namespace cloudcoop::cli {
namespace {

int RunConfigValidate(Invocation& inv) {
  auto config = inv.Config();
  if (!config.ok()) return inv.Fail(config.status());
  const auto& files = (*config)->files_read();
  inv.out() << "configuration is valid (" << (files.empty() ? "built-in defaults only" : Join(files, ", "))
            << "; provider " << (*config)->settings().provider << ")\n";
  return 0;
}

}  // namespace

extern const CommandSpec kConfigValidateCommand = {
    .name = "config validate",
    .category = Category::kConfig,
    .summary = "check the merged configuration against the schema and the security rules",
    .run = RunConfigValidate,
};

}  // namespace cloudcoop::cli
