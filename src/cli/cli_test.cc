#include <nlohmann/json.hpp>
#include <set>

#include <gtest/gtest.h>

#include "cli/command.h"
#include "core/process.h"
#include "testing/test_util.h"

namespace cloudcoop::cli {
namespace {

using testing::RunCliInProcess;

TEST(CliTest, HelpListsEveryCommand) {
  auto r = RunCliInProcess({"--help"});
  EXPECT_EQ(r.rc, 0);
  for (const CommandSpec* spec : AllCommands()) {
    if (spec->hidden) {
      // Internal commands stay out of help and completion, but `help NAME` still describes them.
      EXPECT_EQ(r.out.find("  " + std::string(spec->name)), std::string::npos) << spec->name;
      continue;
    }
    EXPECT_NE(r.out.find("  " + std::string(spec->name)), std::string::npos) << spec->name;
  }
  EXPECT_EQ(r.out.find("node transcript"), std::string::npos);
  auto completion = RunCliInProcess({"completion", "bash"});
  EXPECT_EQ(completion.out.find("node transcript"), std::string::npos);
  EXPECT_EQ(completion.out.find("--max-bytes"), std::string::npos);
  EXPECT_NE(completion.out.find("logs"), std::string::npos);
  EXPECT_NE(r.out.find("Exit status: 0 ok, 1 runtime error, 2 usage or config error, 3"), std::string::npos);
}

TEST(CliTest, TableIsWellFormed) {
  std::set<std::string> names;
  for (const CommandSpec* spec : AllCommands()) {
    EXPECT_TRUE(names.insert(std::string(spec->name)).second) << spec->name << " twice";
    for (auto a : spec->aliases) EXPECT_TRUE(names.insert(std::string(a)).second) << a;
    EXPECT_FALSE(spec->summary.empty()) << spec->name;
    EXPECT_NE(spec->run, nullptr) << spec->name;
    std::set<std::string> flags;
    for (const auto& f : spec->flags) EXPECT_TRUE(flags.insert(std::string(f.name)).second) << spec->name << " --" << f.name;
    for (const auto& f : GlobalFlags()) EXPECT_FALSE(flags.count(std::string(f.name))) << spec->name << " shadows --" << f.name;
  }
}

TEST(CliTest, HelpForEachCommand) {
  for (const CommandSpec* spec : AllCommands()) {
    auto r = RunCliInProcess({"help", std::string(spec->name)});
    EXPECT_EQ(r.rc, 0) << spec->name;
    EXPECT_NE(r.out.find("Usage: cloudcoop " + std::string(spec->name)), std::string::npos) << r.out;
    auto words = std::string(spec->name);
    std::vector<std::string> args;
    for (size_t start = 0, end; start <= words.size(); start = end + 1) {
      end = words.find(' ', start);
      if (end == std::string::npos) end = words.size();
      args.push_back(words.substr(start, end - start));
    }
    args.push_back("--help");
    auto r2 = RunCliInProcess(args);
    EXPECT_EQ(r2.rc, 0) << spec->name;
    EXPECT_EQ(r2.out, r.out) << spec->name;
  }
}

TEST(CliTest, Version) {
  auto r = RunCliInProcess({"version"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("cloudcoop 0.1.0 (commit "), std::string::npos) << r.out;
  auto j = RunCliInProcess({"version", "--json"});
  auto parsed = nlohmann::json::parse(j.out);
  EXPECT_EQ(parsed["version"], "0.1.0");
  EXPECT_TRUE(parsed.contains("commit"));
  EXPECT_TRUE(parsed.contains("build_type"));
}

TEST(CliTest, UnknownCommandSuggests) {
  auto r = RunCliInProcess({"versoin"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown command \"versoin\"; did you mean \"version\"?"), std::string::npos) << r.err;
}

TEST(CliTest, GroupWithoutSubcommandListsMembers) {
  auto r = RunCliInProcess({"config"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("\"config\" needs a subcommand"), std::string::npos);
  EXPECT_NE(r.err.find("cloudcoop config show"), std::string::npos);
  auto r2 = RunCliInProcess({"config", "shwo"});
  EXPECT_EQ(r2.rc, 2);
  EXPECT_NE(r2.err.find("did you mean \"config show\"?"), std::string::npos) << r2.err;
}

TEST(CliTest, UnknownFlagSuggests) {
  auto r = RunCliInProcess({"version", "--jsno"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown flag --jsno for \"version\"; did you mean --json?"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("usage: cloudcoop version"), std::string::npos);
}

TEST(CliTest, FlagValueErrors) {
  auto r = RunCliInProcess({"config", "set", "vm.name", "x", "--scope"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--scope needs a value"), std::string::npos) << r.err;
  r = RunCliInProcess({"config", "set", "vm.name", "x", "--scope=everywhere"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("is not one of: global, repo, local"), std::string::npos) << r.err;
  r = RunCliInProcess({"version", "--json=yes"});
  EXPECT_EQ(r.rc, 2);
}

TEST(CliTest, ArgumentCounts) {
  auto r = RunCliInProcess({"config", "get"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("needs KEY"), std::string::npos) << r.err;
  r = RunCliInProcess({"config", "get", "a", "b"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unexpected argument \"b\""), std::string::npos);
}

TEST(CliTest, NoArgumentsWithoutTerminalPrintsOverview) {
  auto r = RunCliInProcess({});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("cloudcoop"), std::string::npos);
}

TEST(CliTest, BashCompletionCoversTheTable) {
  auto r = RunCliInProcess({"completion", "bash"});
  ASSERT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("complete -F _cloudcoop cloudcoop"), std::string::npos);
  for (const CommandSpec* spec : AllCommands()) {
    std::string first(spec->name.substr(0, spec->name.find(' ')));
    EXPECT_NE(r.out.find(first), std::string::npos) << first;
  }
  EXPECT_NE(r.out.find("--scope) COMPREPLY=($(compgen -W \"global repo local\""), std::string::npos);
  auto z = RunCliInProcess({"completion", "zsh"});
  ASSERT_EQ(z.rc, 0);
  EXPECT_NE(z.out.find("#compdef cloudcoop"), std::string::npos);
  EXPECT_EQ(RunCliInProcess({"completion", "fish"}).rc, 2);
}

TEST(CliTest, BashCompletionWorksInBash) {
  // Source the generated script in a real bash and ask it to complete "cloudcoop config s".
  testing::TempDir dir;
  auto r = RunCliInProcess({"completion", "bash"});
  std::string script = dir.Write("c.bash", r.out);
  ProcessSpec spec;
  spec.argv = {"bash", "--norc", "-c",
               "source " + script +
                   "; COMP_WORDS=(cloudcoop config s); COMP_CWORD=2; _cloudcoop; echo \"${COMPREPLY[*]}\";"
                   " COMP_WORDS=(cloudcoop config set --scope ''); COMP_CWORD=4; _cloudcoop; echo \"${COMPREPLY[*]}\""};
  auto out = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->out, "set show\nglobal repo local\n") << out->err;
}

}  // namespace
}  // namespace cloudcoop::cli
