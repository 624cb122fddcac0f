#include "sandbox/userns.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "core/files.h"
#include "core/strings.h"
#include "sandbox/layers.h"

namespace cloudcoop::sandbox::userns {
namespace {

Status WriteProcFile(pid_t pid, const char* name, const std::string& content) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid() ||
      write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    return LayerErrno(Layer::kUserns, "write", path + " (" + std::string(Trim(content)) + ")", errno,
                      "the supervisor must run as root in the host's user namespace");
  }
  return OkStatus();
}

// The helper only holds the new user namespace for the moment the supervisor needs to open it and
// write its maps, both through /proc/<pid>: a namespace exists from the clone on, before the child
// ever runs, so nothing waits for it to run (a report and a release through pipes were two wake-ups
// of a process on the other vCPU, most of this step's millisecond). It shares the supervisor's
// memory (no copy of its page tables) and, should it be scheduled, only sleeps until it is killed.
int HoldNamespace(void*) {
  for (;;) pause();
}

}  // namespace

StatusOr<UniqueFd> PrepareInParent(uint32_t uid, uint32_t gid, pid_t* holder) {
  alignas(16) static char stack[16 * 1024];
  pid_t pid = clone(HoldNamespace, stack + sizeof stack, CLONE_NEWUSER | CLONE_VM | SIGCHLD, nullptr);
  if (pid < 0) {
    return LayerErrno(Layer::kUserns, "clone(CLONE_NEWUSER)", "", errno,
                      errno == ENOSPC
                          ? "raise /proc/sys/user/max_user_namespaces"
                          : "enable user namespaces (CONFIG_USER_NS, user.max_user_namespaces > 0), or "
                            "pass --allow-degraded userns");
  }
  std::string ns = "/proc/" + std::to_string(pid) + "/ns/user";
  UniqueFd fd(open(ns.c_str(), O_RDONLY | O_CLOEXEC));
  Status s = fd.valid() ? WriteMapsFromParent(pid, uid, gid)
                        : LayerErrno(Layer::kUserns, "open", ns, errno, "report this kernel configuration");
  // Killed now, reaped later (ReapHolder): waiting here would wait for it to be scheduled once,
  // to exit, which on a busy machine is the longest part of this step.
  kill(pid, SIGKILL);
  *holder = pid;
  if (!s.ok()) {
    ReapHolder(holder);
    return s;
  }
  return fd;
}

void ReapHolder(pid_t* holder) {
  if (*holder <= 0) return;
  int status = 0;
  while (waitpid(*holder, &status, __WALL) < 0 && errno == EINTR) {
  }
  *holder = -1;
}

Status ApplyInChild(int userns_fd) {
  if (setns(userns_fd, CLONE_NEWUSER) != 0) {
    return LayerErrno(Layer::kUserns, "setns(CLONE_NEWUSER)", "", errno, "report this");
  }
  return OkStatus();
}

Status WriteMapsFromParent(pid_t child, uint32_t uid, uint32_t gid) {
  CC_RETURN_IF_ERROR(
      WriteProcFile(child, "uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n"));
  return WriteProcFile(child, "gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n");
}

Status SwitchIdsInChild(uint32_t uid, uint32_t gid) {
  gid_t groups[1] = {gid};
  if (setgroups(1, groups) != 0) {
    return LayerErrno(Layer::kIds, "setgroups", std::to_string(gid), errno,
                      "report this: the gid map is missing");
  }
  if (setresgid(gid, gid, gid) != 0) {
    return LayerErrno(Layer::kIds, "setresgid", std::to_string(gid), errno,
                      "report this: the gid map is missing");
  }
  if (setresuid(uid, uid, uid) != 0) {
    return LayerErrno(Layer::kIds, "setresuid", std::to_string(uid), errno,
                      "report this: the uid map is missing");
  }
  return OkStatus();
}

Status VerifyInChild(uint32_t uid, uint32_t gid, bool in_userns) {
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0) {
    return LayerErrno(Layer::kIds, "getresuid", "(read-back)", errno, "report this");
  }
  // setfsuid returns the previous value; asking for an impossible one changes nothing.
  uid_t fsuid = static_cast<uid_t>(setfsuid(static_cast<uid_t>(-1)));
  gid_t fsgid = static_cast<gid_t>(setfsgid(static_cast<gid_t>(-1)));
  if (r != uid || e != uid || s != uid || fsuid != uid || rg != gid || eg != gid || sg != gid ||
      fsgid != gid) {
    return LayerVerifyError(Layer::kIds,
                            "ids read back as uid " + std::to_string(r) + "/" + std::to_string(e) + "/" +
                                std::to_string(s) + " gid " + std::to_string(rg),
                            "report this");
  }
  if (uid == 0 || gid == 0)
    return LayerVerifyError(Layer::kIds, "the sandbox runs as uid or gid 0", "report this");
  gid_t list[8];
  int n = getgroups(8, list);
  if (n != 1 || list[0] != gid) {
    return LayerVerifyError(Layer::kIds, "supplementary groups are not exactly {" + std::to_string(gid) + "}",
                            "report this");
  }
  if (in_userns) {
    auto map = ReadFile("/proc/self/uid_map");
    std::vector<std::string> fields = map.ok() ? Split(*map, ' ', true) : std::vector<std::string>{};
    if (fields.size() != 3 || fields[0] != std::to_string(uid) || fields[1] != std::to_string(uid) ||
        Trim(fields[2]) != "1") {
      return LayerVerifyError(
          Layer::kIds,
          "uid_map is not the single line \"" + std::to_string(uid) + " " + std::to_string(uid) + " 1\"",
          "report this");
    }
  }
  return OkStatus();
}

}  // namespace cloudcoop::sandbox::userns
