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

// The helper shares the supervisor's memory and descriptor table (CLONE_VM | CLONE_FILES): it only
// makes plain system calls. It enters a new user namespace at birth, opens a handle on it into the
// shared table, tells the supervisor, and waits until the maps are written.
struct Helper {
  int report[2] = {-1, -1};   // helper -> supervisor: the handle is open
  int release[2] = {-1, -1};  // supervisor -> helper: maps written, exit
  int userns_fd = -1;
  int err = 0;
};

int UsernsHelper(void* arg) {
  auto* h = static_cast<Helper*>(arg);
  h->userns_fd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
  if (h->userns_fd < 0) h->err = errno;
  char c = 0;
  (void)!write(h->report[1], &c, 1);
  (void)!read(h->release[0], &c, 1);
  _exit(0);
}

}  // namespace

StatusOr<UniqueFd> PrepareInParent(uint32_t uid, uint32_t gid) {
  alignas(16) static char stack[32 * 1024];
  Helper h;
  if (pipe2(h.report, O_CLOEXEC) != 0 || pipe2(h.release, O_CLOEXEC) != 0) {
    return LayerErrno(Layer::kUserns, "pipe2", "", errno, "raise the open-file limit");
  }
  UniqueFd r0(h.report[0]), r1(h.report[1]), s0(h.release[0]), s1(h.release[1]);
  pid_t pid = clone(UsernsHelper, stack + sizeof stack, CLONE_NEWUSER | CLONE_VM | CLONE_FILES | SIGCHLD, &h);
  if (pid < 0) {
    return LayerErrno(Layer::kUserns, "clone(CLONE_NEWUSER)", "", errno,
                      errno == ENOSPC
                          ? "raise /proc/sys/user/max_user_namespaces"
                          : "enable user namespaces (CONFIG_USER_NS, user.max_user_namespaces > 0), or "
                            "pass --allow-degraded userns");
  }
  char c;
  ssize_t n = read(r0.get(), &c, 1);
  Status s = n == 1 && h.err == 0 ? WriteMapsFromParent(pid, uid, gid)
                                  : LayerErrno(Layer::kUserns, "open", "/proc/self/ns/user",
                                               h.err ? h.err : EIO, "report this kernel configuration");
  (void)!write(s1.get(), &c, 1);
  int status = 0;
  while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
  }
  UniqueFd fd(h.userns_fd);
  if (!s.ok()) return s;
  return fd;
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
