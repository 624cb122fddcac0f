#include "node/workspace.h"

#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "core/files.h"
#include "core/logging.h"
#include "core/strings.h"
#include "node/names.h"
#include "node/profiles.h"

namespace cloudcoop::node {

namespace {

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) return {};
  return buf;
}

bool IsInside(const std::string& path, const std::string& dir) {
  if (dir.empty()) return false;
  if (path == dir) return true;
  std::string d = dir.back() == '/' ? dir : dir + "/";
  return StartsWith(path, d);
}

std::string HomeOf(uint32_t uid) {
  struct passwd* pw = getpwuid(uid);
  return pw != nullptr && pw->pw_dir != nullptr ? pw->pw_dir : "/nonexistent";
}

// A git invocation with a predictable environment: no system or global configuration, no
// prompts, C locale. Repository configuration still applies (see the callers for who runs it).
ProcessSpec GitSpec(std::vector<std::string> args) {
  ProcessSpec spec;
  spec.argv = {"git"};
  for (auto& a : args) spec.argv.push_back(std::move(a));
  spec.clear_env = true;
  const char* path = std::getenv("PATH");
  spec.env["PATH"] = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  spec.env["LANG"] = "C";
  spec.env["GIT_TERMINAL_PROMPT"] = "0";
  spec.env["GIT_CONFIG_NOSYSTEM"] = "1";
  spec.env["GIT_CONFIG_GLOBAL"] = "/dev/null";
  spec.timeout = std::chrono::minutes(10);
  return spec;
}

Status GitFailed(const std::string& what, const StatusOr<ProcessResult>& r, const std::string& fix) {
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kNotFound) {
      return NotFoundError(what + ": git is not installed").WithFix("apt-get install git (scripts/install-deps)");
    }
    return r.status().Annotate(what);
  }
  return InternalError(what + " failed (" + r->Describe() + "): " + std::string(Trim(r->err))).WithFix(fix);
}

Status WriteRootFile(const std::string& path, const std::string& content, gid_t gid) {
  CC_RETURN_IF_ERROR(ReplaceFile(path, content, 0644));
  if (chown(path.c_str(), 0, gid) != 0) return ErrnoError(errno, "chown " + path);
  return OkStatus();
}

const char* const kSystemDirs[] = {"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64",
                                   "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr",
                                   "/var", "/var/lib", "/var/tmp", "/mnt", "/media", "/usr/local"};

bool IsSystemDir(const std::string& real) {
  for (const char* s : kSystemDirs) {
    if (real == s) return true;
  }
  return false;
}

thread_local const Identity* g_share_owner = nullptr;
thread_local int g_share_errno = 0;
thread_local std::string g_share_path;

int ShareOne(const char* path, const struct stat* st, int type, struct FTW*) {
  if (lchown(path, g_share_owner->uid, g_share_owner->gid) != 0) {
    g_share_errno = errno;
    g_share_path = path;
    return 1;
  }
  if (type == FTW_SL || S_ISLNK(st->st_mode)) return 0;
  mode_t user = st->st_mode & 0700;
  mode_t mode;
  if (S_ISDIR(st->st_mode)) {
    mode = 02000 | 0700 | 0050;
  } else {
    mode = user | ((user & 0400) ? 0040 : 0) | ((user & 0100) ? 0010 : 0);
  }
  if (chmod(path, mode) != 0) {
    g_share_errno = errno;
    g_share_path = path;
    return 1;
  }
  return 0;
}

}  // namespace

Identity OperatorIdentity(const std::optional<std::string>& repo, const std::optional<std::string>& workspace) {
  struct stat st;
  if (repo && stat(repo->c_str(), &st) == 0) return {st.st_uid, st.st_gid};
  const char* su = std::getenv("SUDO_UID");
  const char* sg = std::getenv("SUDO_GID");
  if (su != nullptr && sg != nullptr) {
    auto u = ParseInt64(su), g = ParseInt64(sg);
    if (u && g && *u >= 0 && *g >= 0) return {static_cast<uint32_t>(*u), static_cast<uint32_t>(*g)};
  }
  if (workspace && stat(workspace->c_str(), &st) == 0) return {st.st_uid, st.st_gid};
  return {static_cast<uint32_t>(getuid()), static_cast<uint32_t>(getgid())};
}

StatusOr<ProcessResult> RunAs(ProcessRunner& runner, const Identity& who, ProcessSpec spec, bool init_groups) {
  if (who.uid == geteuid()) return runner.Run(spec);
  std::vector<std::string> argv = {"setpriv", "--reuid=" + std::to_string(who.uid), "--regid=" + std::to_string(who.gid)};
  if (init_groups && getpwuid(who.uid) != nullptr) {
    argv.push_back("--init-groups");
  } else {
    argv.push_back("--clear-groups");
  }
  argv.push_back("--no-new-privs");
  argv.push_back("--");
  argv.insert(argv.end(), spec.argv.begin(), spec.argv.end());
  spec.argv = std::move(argv);
  return runner.Run(spec);
}

Status ShareTreeWithGroup(const std::string& path, const Identity& owner) {
  std::string real = RealPath(path);
  if (real.empty() || IsSystemDir(real)) {
    return FailedPreconditionError("refusing to change the owner of " + path +
                                   (real.empty() ? " (it cannot be resolved)" : " (a system directory)"))
        .WithFix("give agents directories of their own");
  }
  g_share_owner = &owner;
  g_share_errno = 0;
  int rc = nftw(path.c_str(), ShareOne, 32, FTW_PHYS);
  g_share_owner = nullptr;
  if (rc != 0) {
    if (g_share_errno != 0) return ErrnoError(g_share_errno, "hand " + g_share_path + " to the agent (chown/chmod)");
    return ErrnoError(errno, "walk " + path);
  }
  return OkStatus();
}

Status PrepareHome(const std::string& home, const std::string& agent_name, const Identity& agent) {
  if (mkdir(home.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return AlreadyExistsError("the agent home " + home + " already exists (left from an earlier agent?)")
          .WithFix("remove it, or pick another agent name");
    }
    return ErrnoError(errno, "create agent home " + home);
  }
  if (chown(home.c_str(), agent.uid, agent.gid) != 0) return ErrnoError(errno, "chown " + home);
  CC_RETURN_IF_ERROR(WriteRootFile(home + "/.profile",
                                   "# Written by cloudcoop; read-only inside the sandbox.\n"
                                   "if [ -n \"$BASH_VERSION\" ] && [ -f \"$HOME/.bashrc\" ]; then . \"$HOME/.bashrc\"; fi\n",
                                   agent.gid));
  CC_RETURN_IF_ERROR(WriteRootFile(home + "/.bashrc",
                                   "# Written by cloudcoop; read-only inside the sandbox.\n"
                                   "PS1='\\[\\e[1;36m\\]" + agent_name + "\\[\\e[0m\\]:\\w\\$ '\n"
                                   "umask 027\n",
                                   agent.gid));
  CC_RETURN_IF_ERROR(WriteRootFile(home + "/.gitconfig",
                                   "# Written by cloudcoop; read-only inside the sandbox.\n[user]\n\tname = " + agent_name +
                                       " (cloudcoop agent)\n\temail = " + agent_name + "@agents.cloudcoop.invalid\n"
                                       "[init]\n\tdefaultBranch = main\n"
                                       "# .git belongs to root (config and hooks stay the operator's): trust it anyway.\n"
                                       "[safe]\n\tdirectory = *\n",
                                   agent.gid));
  return OkStatus();
}

namespace {
thread_local TreeOwnership* g_snapshot = nullptr;
int SnapOne(const char* path, const struct stat* st, int, struct FTW*) {
  g_snapshot->entries.push_back({path, st->st_uid, st->st_gid, st->st_mode & 07777, S_ISLNK(st->st_mode)});
  return 0;
}
}  // namespace

StatusOr<TreeOwnership> SnapshotOwnership(const std::string& path) {
  TreeOwnership snap;
  g_snapshot = &snap;
  int rc = nftw(path.c_str(), SnapOne, 32, FTW_PHYS);
  g_snapshot = nullptr;
  if (rc != 0) return ErrnoError(errno, "record the owners of " + path);
  return snap;
}

Status RestoreOwnership(const TreeOwnership& snapshot) {
  Status first;
  for (const auto& e : snapshot.entries) {
    if (lchown(e.path.c_str(), e.uid, e.gid) != 0 && errno != ENOENT && first.ok()) {
      first = ErrnoError(errno, "restore the owner of " + e.path);
    }
    if (!e.symlink && chmod(e.path.c_str(), e.mode) != 0 && errno != ENOENT && first.ok()) {
      first = ErrnoError(errno, "restore the mode of " + e.path);
    }
  }
  return first;
}

StatusOr<std::string> CheckWorkspaceDir(const std::string& dir_in, const StateLayout& layout, const Identity& op) {
  if (dir_in.empty() || dir_in[0] != '/') {
    return InvalidArgumentError("--workspace " + ShellQuoteForDisplay(dir_in) + " is not an absolute path")
        .WithFix("give the full path, e.g. --workspace $PWD/" + dir_in);
  }
  std::string dir = dir_in;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  struct stat lst;
  if (lstat(dir.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
    return InvalidArgumentError("--workspace " + dir + " is a symbolic link")
        .WithFix("give the real directory: --workspace " + RealPath(dir));
  }
  if (!PathExists(dir) && !IsDirectory(Dirname(dir))) {
    return NotFoundError("--workspace " + dir + ": neither it nor its parent directory exists")
        .WithFix("create " + Dirname(dir) + " first, or choose an existing directory");
  }
  std::string real = PathExists(dir) ? RealPath(dir) : RealPath(Dirname(dir)) + "/" + Basename(dir);
  if (real.empty() || IsSystemDir(real)) {
    return InvalidArgumentError("--workspace " + dir + " is a system directory; an agent would own it")
        .WithFix("give the agent a project directory of its own, e.g. --workspace /srv/work/NAME");
  }
  std::string state = RealPath(layout.root());
  if (!state.empty() && (IsInside(real, state) || IsInside(state, real))) {
    return InvalidArgumentError("--workspace " + dir + " overlaps cloudcoop's state directory " + layout.root())
        .WithFix("leave out --workspace to get a fresh workspace under " + layout.workspaces_dir());
  }
  struct passwd* pw = getpwuid(op.uid);
  if (pw != nullptr && pw->pw_dir != nullptr && real == RealPath(pw->pw_dir)) {
    return InvalidArgumentError("--workspace " + dir + " is the home directory of " + pw->pw_name)
        .WithFix("give the agent a project directory inside it instead");
  }
  if (PathExists(real) && !IsDirectory(real)) {
    return InvalidArgumentError("--workspace " + dir + " is not a directory").WithFix("give a directory");
  }
  return real;
}

Status PrepareWorkspaceDir(const std::string& real, const Identity& agent, const Identity& op, bool* created,
                           TreeOwnership* before) {
  *created = false;
  if (!PathExists(real)) {
    if (mkdir(real.c_str(), 02750) != 0) return ErrnoError(errno, "create workspace " + real);
    *created = true;
  } else {
    CC_ASSIGN_OR_RETURN(*before, SnapshotOwnership(real));
  }
  Status st = ShareTreeWithGroup(real, Identity{agent.uid, op.gid});
  struct stat gst;
  if (st.ok() && lstat((real + "/.git").c_str(), &gst) == 0 && S_ISDIR(gst.st_mode)) st = LockGitDir(real + "/.git", agent);
  if (!st.ok()) {
    if (*created) {
      (void)RemoveTree(real);
    } else {
      (void)RestoreOwnership(*before);
    }
  }
  return st;
}

Status LockGitDir(const std::string& gitdir, const Identity& agent) {
  // The repository's control files belong to root, and .git itself is root's with the sticky bit
  // and group write for the agent's own group: the agent can create and replace its own files
  // there (index, HEAD, refs, objects), but cannot change, rename or remove config and hooks,
  // even outside the read-only mounts the sandbox puts over them.
  for (const std::string& p : {gitdir + "/config", gitdir + "/hooks"}) {
    if (!PathExists(p)) continue;
    if (lchown(p.c_str(), 0, agent.gid) != 0) return ErrnoError(errno, "chown " + p);
    if (chmod(p.c_str(), IsDirectory(p) ? 0755 : 0644) != 0) return ErrnoError(errno, "chmod " + p);
  }
  if (lchown(gitdir.c_str(), 0, agent.gid) != 0) return ErrnoError(errno, "chown " + gitdir);
  if (chmod(gitdir.c_str(), 01770) != 0) return ErrnoError(errno, "chmod " + gitdir);
  return OkStatus();
}

Status CheckGitDirLocked(const std::string& gitdir, const Identity& agent) {
  struct stat st;
  if (lstat(gitdir.c_str(), &st) != 0) return ErrnoError(errno, "stat " + gitdir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || st.st_gid != agent.gid || (st.st_mode & 07777) != 01770) {
    return CheckFailedError(gitdir + " is not the directory cloudcoop set up (owner, group or mode changed): the agent "
                            "may have replaced it, so cloudcoop will not run git in it")
        .WithFix("inspect the workspace by hand; the agent's files are still there");
  }
  for (const std::string& p : {gitdir + "/config", gitdir + "/hooks"}) {
    if (lstat(p.c_str(), &st) != 0 || st.st_uid != 0) {
      return CheckFailedError(p + " is not root's any more: the agent may have replaced it")
          .WithFix("inspect the workspace by hand");
    }
  }
  return OkStatus();
}

StatusOr<RepoInfo> CloneRepoWorkspace(ProcessRunner& runner, const StateLayout& layout, const CloneRequest& req) {
  if (req.repo.empty()) return InvalidArgumentError("--repo needs a path").WithFix("--repo /path/to/your/repository");
  std::string repo = RealPath(req.repo);
  if (repo.empty() || !IsDirectory(repo)) {
    return NotFoundError("repository " + ShellQuoteForDisplay(req.repo) + " does not exist on this host")
        .WithFix("give the path of a git repository (a directory with .git), e.g. --repo $PWD");
  }
  std::string branch = req.branch.value_or("cloudcoop/" + req.name);
  CC_RETURN_IF_ERROR(ValidateBranchName(branch));
  // Inspect the repository as its owner: its configuration is the owner's to run, not root's.
  auto top = RunAs(runner, req.op, GitSpec({"-C", repo, "rev-parse", "--is-bare-repository", "--show-toplevel"}), true);
  if (!top.ok()) return GitFailed("inspect repository " + repo, top, "");
  if (!top->success()) {
    return InvalidArgumentError("--repo " + repo + " is not a git repository (" + std::string(Trim(top->err)) + ")")
        .WithFix("give the top directory of a git repository, or use --workspace DIR for a plain directory");
  }
  auto lines = Split(top->out, '\n', true);
  std::string source = repo;
  if (!lines.empty() && lines[0] == "false" && lines.size() >= 2) source = lines[1];
  RepoInfo info;
  info.path = source;
  info.branch = branch;
  info.handoff_ref = "refs/heads/cloudcoop/" + req.name;
  auto existing = RunAs(runner, req.op,
                        GitSpec({"-C", source, "rev-parse", "--verify", "--quiet", "refs/heads/" + branch + "^{commit}"}),
                        true);
  if (!existing.ok()) return GitFailed("look up branch " + branch, existing, "");
  if (existing->success()) {
    info.base_commit = std::string(Trim(existing->out));
  } else {
    auto head = RunAs(runner, req.op, GitSpec({"-C", source, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"}), true);
    if (!head.ok()) return GitFailed("read HEAD of " + source, head, "");
    if (!head->success()) {
      return FailedPreconditionError("repository " + source + " has no commits yet, so there is nothing to branch from")
          .WithFix("commit something first (git commit --allow-empty -m init)");
    }
    info.base_commit = std::string(Trim(head->out));
  }

  // Stage the clone where a failure can be removed in one go, owned by the operator while git runs.
  std::string staging = layout.workspaces_dir() + "/.new-" + req.name + "." + std::to_string(getpid());
  (void)RemoveTree(staging);
  if (mkdir(staging.c_str(), 0700) != 0) return ErrnoError(errno, "create staging directory " + staging);
  auto cleanup = [&](Status st) {
    (void)RemoveTree(staging);
    return st;
  };
  if (chown(staging.c_str(), req.op.uid, req.op.gid) != 0) return cleanup(ErrnoError(errno, "chown " + staging));
  std::string ws = staging + "/ws";
  auto clone = RunAs(runner, req.op, GitSpec({"clone", "--quiet", "--no-hardlinks", "--no-checkout", "--", source, ws}), true);
  if (!clone.ok() || !clone->success()) {
    return cleanup(GitFailed("clone " + source, clone, "check that " + source + " is readable by its owner"));
  }
  std::vector<std::vector<std::string>> steps = {
      {"-C", ws, "checkout", "--quiet", "-B", branch, info.base_commit},
      {"-C", ws, "remote", "remove", "origin"},
      {"-C", ws, "config", "user.name", req.name + " (cloudcoop agent)"},
      {"-C", ws, "config", "user.email", req.name + "@agents.cloudcoop.invalid"},
  };
  for (const auto& s : steps) {
    auto r = RunAs(runner, req.op, GitSpec(s), true);
    if (!r.ok() || !r->success()) return cleanup(GitFailed("prepare the clone (git " + s[2] + ")", r, ""));
  }
  // No hooks at all: the samples are harmless, but an empty directory is easier to verify.
  std::string hooks = ws + "/.git/hooks";
  if (Status st = RemoveTree(hooks); !st.ok()) return cleanup(st);
  if (mkdir(hooks.c_str(), 0755) != 0) return cleanup(ErrnoError(errno, "create " + hooks));
  if (Status st = ShareTreeWithGroup(ws, Identity{req.agent.uid, req.op.gid}); !st.ok()) return cleanup(st);
  if (Status st = LockGitDir(ws + "/.git", req.agent); !st.ok()) return cleanup(st);
  if (PathExists(req.workspace)) {
    return cleanup(AlreadyExistsError("workspace " + req.workspace + " already exists (left from an earlier agent?)")
                       .WithFix("move it away, or give this agent another name"));
  }
  if (rename(ws.c_str(), req.workspace.c_str()) != 0) {
    return cleanup(ErrnoError(errno, "move the clone into " + req.workspace));
  }
  (void)RemoveTree(staging);
  return info;
}

namespace {

ProtectedPath Describe(const std::string& path, bool directory, ProtectedPath::Kind kind, std::string why) {
  ProtectedPath p;
  p.path = path;
  p.kind = kind;
  p.why = std::move(why);
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    p.exists = true;
    p.symlink = S_ISLNK(st.st_mode);
    p.directory = S_ISDIR(st.st_mode);
  } else {
    p.directory = directory;
  }
  return p;
}

// "gitdir: X" from a .git file, resolved against the workspace.
std::string ResolveGitFile(const std::string& file, const std::string& base) {
  auto text = ReadFile(file);
  if (!text.ok()) return {};
  std::string_view t = Trim(*text);
  if (!StartsWith(t, "gitdir:")) return {};
  std::string target(Trim(t.substr(7)));
  if (target.empty()) return {};
  if (target[0] != '/') target = base + "/" + target;
  return RealPath(target);
}

}  // namespace

std::vector<ProtectedPath> ComputeProtectedPaths(const AgentRecord& r) {
  using K = ProtectedPath::Kind;
  std::vector<ProtectedPath> out;
  const std::string ws = r.workspace;
  const std::string dotgit = ws + "/.git";
  struct stat st;
  auto protect_gitdir = [&](const std::string& gitdir, const std::string& label) {
    out.push_back(Describe(gitdir, true, K::kPin, label + ": pinned so it cannot be renamed or replaced"));
    out.push_back(Describe(gitdir + "/config", false, K::kReadOnly, label + " config (hooksPath, fsmonitor, aliases)"));
    out.push_back(Describe(gitdir + "/hooks", true, K::kReadOnly, label + " hooks"));
    // Only when present: git dies on an empty commondir, so an absent one cannot be covered. A
    // commondir the agent creates later only affects git inside its own sandbox; cloudcoop's own
    // git calls fix GIT_DIR and GIT_COMMON_DIR, and the operator's git refuses the agent-owned
    // repository (safe.directory).
    if (PathExists(gitdir + "/commondir")) {
      out.push_back(Describe(gitdir + "/commondir", false, K::kReadOnly, label + " commondir (would redirect config)"));
    }
  };
  if (lstat(dotgit.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    protect_gitdir(dotgit, "repository");
  } else if (lstat(dotgit.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    // A worktree (or --separate-git-dir): .git is a file naming the real gitdir.
    out.push_back(Describe(dotgit, false, K::kReadOnly, "gitdir link of a worktree"));
    std::string gitdir = ResolveGitFile(dotgit, ws);
    std::string realws = RealPath(ws);
    if (!gitdir.empty() && IsInside(gitdir, realws)) {
      protect_gitdir(gitdir, "worktree gitdir");
      std::string common;
      if (auto c = ReadFile(gitdir + "/commondir"); c.ok()) {
        common = std::string(Trim(*c));
        if (!common.empty() && common[0] != '/') common = gitdir + "/" + common;
        common = RealPath(common);
      }
      if (!common.empty() && IsInside(common, realws)) protect_gitdir(common, "shared repository");
    }
  }
  ProfileFiles files = ProtectedProfileFiles(r.profile);
  for (const auto& f : files.workspace_files) out.push_back(Describe(ws + "/" + f, false, K::kReadOnly, r.profile + " profile file"));
  for (const auto& d : files.workspace_dirs) out.push_back(Describe(ws + "/" + d, true, K::kReadOnly, r.profile + " profile directory"));
  for (const auto& f : files.home_files) out.push_back(Describe(r.home + "/" + f, false, K::kReadOnly, "home start-up or agent config"));
  for (const auto& d : files.home_dirs) out.push_back(Describe(r.home + "/" + d, true, K::kReadOnly, "home agent config"));
  return out;
}

StatusOr<HandoffResult> HandoffBranch(ProcessRunner& runner, const StateLayout& layout, const AgentRecord& r) {
  if (!r.repo) {
    return FailedPreconditionError("agent " + r.name + " was not started with --repo, so it has no branch to hand over")
        .WithFix("its files are in " + r.workspace);
  }
  const RepoInfo& repo = *r.repo;
  Identity agent{r.uid, r.gid};
  Identity op{r.operator_uid, r.operator_gid};
  // Everything in the agent's clone runs as the agent, with the gitdir fixed by the environment
  // (a planted commondir or .git file cannot redirect it) and hooks and fsmonitor off.
  auto agent_git = [&](std::vector<std::string> args) {
    std::vector<std::string> a = {"-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"};
    a.insert(a.end(), args.begin(), args.end());
    ProcessSpec spec = GitSpec(std::move(a));
    spec.env["GIT_DIR"] = r.workspace + "/.git";
    spec.env["GIT_COMMON_DIR"] = r.workspace + "/.git";
    spec.env["HOME"] = "/nonexistent";
    spec.cwd = "/";
    return RunAs(runner, agent, std::move(spec), false);
  };
  CC_RETURN_IF_ERROR(CheckGitDirLocked(r.workspace + "/.git", agent));
  auto tip = agent_git({"rev-parse", "--verify", "--quiet", "refs/heads/" + repo.branch + "^{commit}"});
  if (!tip.ok()) return GitFailed("read the agent's branch", tip, "");
  if (!tip->success()) {
    return NotFoundError("branch " + repo.branch + " no longer exists in agent " + r.name + "'s clone " + r.workspace)
        .WithFix("look at the clone (git -C " + r.workspace + " branch -a) or recreate the branch inside the agent");
  }
  HandoffResult result;
  result.ref = repo.handoff_ref;
  result.commit = std::string(Trim(tip->out));
  auto op_git = [&](std::vector<std::string> args) {
    std::vector<std::string> a = {"-C", repo.path};
    a.insert(a.end(), args.begin(), args.end());
    ProcessSpec spec = GitSpec(std::move(a));
    spec.env["HOME"] = HomeOf(op.uid);
    return RunAs(runner, op, std::move(spec), true);
  };
  auto current = op_git({"rev-parse", "--verify", "--quiet", repo.handoff_ref});
  if (current.ok() && current->success() && std::string(Trim(current->out)) == result.commit) return result;
  result.changed = true;
  auto bundle = agent_git({"bundle", "create", "--quiet", "-", "refs/heads/" + repo.branch, "^" + repo.base_commit});
  if (!bundle.ok()) return GitFailed("bundle the agent's branch", bundle, "");
  if (!bundle->success()) {
    if (bundle->err.find("empty bundle") == std::string::npos) {
      return GitFailed("bundle branch " + repo.branch + " of agent " + r.name, bundle, "check the clone " + r.workspace);
    }
    // Nothing new: the tip is already in the operator's repository.
    auto upd = op_git({"update-ref", repo.handoff_ref, result.commit});
    if (!upd.ok() || !upd->success()) return GitFailed("update " + repo.handoff_ref + " in " + repo.path, upd, "");
    return result;
  }
  std::string file = layout.handoff_dir() + "/" + r.name + "." + std::to_string(getpid()) + ".bundle";
  CC_RETURN_IF_ERROR(ReplaceFile(file, bundle->out, 0640));
  if (chown(file.c_str(), 0, op.gid) != 0) {
    Status st = ErrnoError(errno, "chown " + file);
    unlink(file.c_str());
    return st;
  }
  auto fetch = op_git({"-c", "transfer.fsckObjects=true", "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", file,
                       "+refs/heads/" + repo.branch + ":" + repo.handoff_ref});
  unlink(file.c_str());
  if (!fetch.ok() || !fetch->success()) {
    return GitFailed("fetch agent " + r.name + "'s branch into " + repo.path, fetch,
                     "if " + repo.handoff_ref + " is checked out there, switch to another branch first");
  }
  return result;
}

StatusOr<std::string> SnapshotRepoControlFiles(const std::string& workspace) {
  std::string out;
  std::string gitdir = workspace + "/.git";
  std::vector<std::string> paths = {gitdir + "/config", gitdir + "/commondir"};
  auto hooks = ListDir(gitdir + "/hooks");
  if (hooks.ok()) {
    for (const auto& h : *hooks) paths.push_back(gitdir + "/hooks/" + h);
  } else {
    out += "hooks: " + hooks.status().message() + "\n";
  }
  for (const auto& p : paths) {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) {
      out += p + ": absent\n";
      continue;
    }
    out += p + ": mode " + std::to_string(st.st_mode) + " uid " + std::to_string(st.st_uid) + "\n";
    if (S_ISREG(st.st_mode)) {
      auto c = ReadFile(p);
      out += c.ok() ? *c : "(unreadable)";
      out += "\n";
    }
  }
  return out;
}

}  // namespace cloudcoop::node
