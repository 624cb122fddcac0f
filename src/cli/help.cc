#include <algorithm>
#include <ostream>

#include "cli/command.h"
#include "core/build_info.h"

namespace cloudcoop::cli {

std::string_view CategoryTitle(Category c) {
  switch (c) {
    case Category::kAgents: return "Agents";
    case Category::kSandbox: return "Sandbox";
    case Category::kCloud: return "Cloud agent hosts (provider = gcp)";
    case Category::kAudit: return "Audit";
    case Category::kSecurity: return "Security";
    case Category::kConfig: return "Configuration";
    case Category::kOther: return "Other";
  }
  return "Other";
}

std::string UsageLine(const CommandSpec& spec) {
  std::string line = "cloudcoop " + std::string(spec.name);
  for (const auto& f : spec.flags) {
    line += " [--" + std::string(f.name);
    if (f.kind != FlagKind::kBool) line += " " + std::string(f.value_name);
    line += "]";
    if (f.kind == FlagKind::kRepeated) line += "...";
  }
  if (!spec.args.empty()) line += " " + std::string(spec.args);
  return line;
}

void PrintMainHelp(std::ostream& out) {
  out << "cloudcoop " << kVersion
      << " - run many AI coding agents side by side, each in its own hardened sandbox\n"
         "inside its own tmux session; watch, attach to, stop and audit all of them.\n\n"
         "Usage: cloudcoop [--verbose] [--config FILE] [--set KEY=VALUE]... COMMAND [ARGS...]\n"
         "       cloudcoop help COMMAND\n";
  const Category order[] = {Category::kAgents, Category::kSandbox, Category::kAudit, Category::kSecurity,
                            Category::kCloud, Category::kConfig, Category::kOther};
  size_t width = 0;
  for (const CommandSpec* spec : AllCommands()) width = std::max(width, spec->name.size());
  for (Category c : order) {
    bool header = false;
    for (const CommandSpec* spec : AllCommands()) {
      if (spec->category != c || spec->hidden) continue;
      if (!header) {
        out << "\n" << CategoryTitle(c) << ":\n";
        header = true;
      }
      out << "  " << spec->name << std::string(width + 2 - spec->name.size(), ' ') << spec->summary;
      if (spec->needs_root) out << " (root)";
      out << "\n";
    }
  }
  out << "\nExit status: 0 ok, 1 runtime error, 2 usage or config error, 3 a check or verification failed.\n"
         "Set CLOUDCOOP_LOG=debug (or pass --verbose) to see what cloudcoop does.\n";
}

void PrintCommandHelp(const CommandSpec& spec, std::ostream& out) {
  out << "Usage: " << UsageLine(spec) << "\n\n" << spec.summary << "\n";
  if (!spec.description.empty()) out << "\n" << spec.description << "\n";
  if (!spec.aliases.empty()) {
    out << "\nAlso: ";
    for (size_t i = 0; i < spec.aliases.size(); ++i) out << (i ? ", " : "") << "cloudcoop " << spec.aliases[i];
    out << "\n";
  }
  if (spec.needs_root) out << "\nThis command needs root (it creates namespaces, cgroups and users).\n";
  auto print_flags = [&](const std::vector<FlagSpec>& flags) {
    for (const auto& f : flags) {
      std::string left = "  ";
      left += f.short_name ? std::string("-") + f.short_name + ", " : std::string("    ");
      left += "--" + std::string(f.name);
      if (f.kind != FlagKind::kBool) left += " " + std::string(f.value_name);
      if (left.size() < 30) left += std::string(30 - left.size(), ' ');
      else left += "  ";
      out << left << f.help;
      if (f.kind == FlagKind::kRepeated) out << " (repeatable)";
      out << "\n";
    }
  };
  if (!spec.flags.empty()) {
    out << "\nFlags:\n";
    print_flags(spec.flags);
  }
  out << "\nGlobal flags:\n";
  print_flags(GlobalFlags());
}

}  // namespace cloudcoop::cli
