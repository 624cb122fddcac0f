// cloudcoop help [COMMAND...]: the overview, or one command's help.
#include <ostream>

#include "cli/command.h"
#include "core/strings.h"

namespace cloudcoop::cli {
namespace {

int RunHelp(Invocation& inv) {
  if (inv.args().empty()) {
    PrintMainHelp(inv.out());
    return 0;
  }
  std::string name = Join(inv.args(), " ");
  const CommandSpec* spec = FindCommand(name);
  if (spec == nullptr) {
    // A group word lists its members.
    bool any = false;
    for (const CommandSpec* s : AllCommands()) {
      if (StartsWith(s->name, name + " ")) {
        if (!any) inv.out() << name << " commands:\n";
        any = true;
        inv.out() << "  cloudcoop " << s->name << "  " << s->summary << "\n";
      }
    }
    if (any) return 0;
    return inv.Fail(InvalidArgumentError("help: no command named \"" + name + "\"")
                        .WithFix("run `cloudcoop --help` for the list of commands"));
  }
  PrintCommandHelp(*spec, inv.out());
  return 0;
}

}  // namespace

extern const CommandSpec kHelpCommand = {
    .name = "help",
    .category = Category::kOther,
    .summary = "show help for cloudcoop or for one command",
    .args = "[COMMAND...]",
    .max_args = 3,
    .run = RunHelp,
};

}  // namespace cloudcoop::cli
