#include "node/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "core/files.h"
#include "core/paths.h"
#include "node/registry.h"

namespace cloudcoop::node {

std::string StateDirFromEnvironment() { return ::cloudcoop::StateDirFromEnv(); }

namespace {

// mkdir with an exact mode; an existing directory gets its mode fixed if it is ours.
Status EnsureDir(const std::string& path, mode_t mode) {
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return ErrnoError(errno, "create state directory " + path)
        .WithFix("make sure the parent is writable by root, or set CLOUDCOOP_STATE_DIR to a writable directory");
  }
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return ErrnoError(errno, "stat " + path);
  if (!S_ISDIR(st.st_mode)) {
    return FailedPreconditionError("state path " + path + " exists but is not a directory")
        .WithFix("remove or rename " + path);
  }
  if (st.st_uid != geteuid()) {
    return PermissionDeniedError("state directory " + path + " is owned by uid " + std::to_string(st.st_uid) +
                                 ", not by uid " + std::to_string(geteuid()) + " running cloudcoop")
        .WithFix("run cloudcoop as the owner (root), or chown " + path);
  }
  if ((st.st_mode & 07777) != mode && chmod(path.c_str(), mode) != 0) {
    return ErrnoError(errno, "chmod " + path);
  }
  return OkStatus();
}

}  // namespace

StatusOr<StateLayout> OpenStateDir(const std::string& root) {
  if (root.empty() || root[0] != '/') {
    return InvalidArgumentError("state directory \"" + root + "\" is not an absolute path")
        .WithFix("set CLOUDCOOP_STATE_DIR to an absolute path");
  }
  StateLayout layout(root);
  if (!PathExists(root)) {
    std::string parent = Dirname(root);
    if (!IsDirectory(parent)) {
      Status st = MakeDirs(parent, 0755);
      if (!st.ok()) {
        return Status(st.code(), "create the parent of state directory " + root + ": " + st.message())
            .WithFix("create " + parent + " or set CLOUDCOOP_STATE_DIR to a writable directory");
      }
    }
  }
  CC_RETURN_IF_ERROR(EnsureDir(root, 0711));
  // Catches read-only file systems and unwritable directories up front (access(2) reports EROFS
  // even for root).
  if (access(root.c_str(), W_OK) != 0) {
    return ErrnoError(errno, "write to state directory " + root)
        .WithFix("make " + root + " writable (is the file system read-only?) or set CLOUDCOOP_STATE_DIR");
  }
  CC_RETURN_IF_ERROR(EnsureDir(layout.agents_dir(), 0700));
  CC_RETURN_IF_ERROR(EnsureDir(layout.homes_dir(), 0711));
  CC_RETURN_IF_ERROR(EnsureDir(layout.workspaces_dir(), 0711));
  CC_RETURN_IF_ERROR(EnsureDir(layout.handoff_dir(), 0711));
  CC_RETURN_IF_ERROR(EnsureDir(layout.run_dir(), 0700));
  CC_RETURN_IF_ERROR(EnsureDir(layout.claims_dir(), 0700));
  CC_RETURN_IF_ERROR(LoadUidRange(layout, /*create=*/true).status());
  if (layout.tmux_socket().size() >= 100) {
    return InvalidArgumentError("state directory " + root + " is too long for a Unix socket path (" +
                                layout.tmux_socket() + " is " + std::to_string(layout.tmux_socket().size()) +
                                " bytes, the limit is 100)")
        .WithFix("use a shorter CLOUDCOOP_STATE_DIR");
  }
  return layout;
}

StateLayout StateForReading(const std::string& root) { return StateLayout(root); }

}  // namespace cloudcoop::node
