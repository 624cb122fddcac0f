#include "sandbox/userns.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/fsuid.h>
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

}  // namespace

Status ApplyInChild() {
  if (unshare(CLONE_NEWUSER) != 0) {
    return LayerErrno(Layer::kUserns, "unshare(CLONE_NEWUSER)", "", errno,
                      errno == ENOSPC
                          ? "raise /proc/sys/user/max_user_namespaces"
                          : "enable user namespaces (CONFIG_USER_NS, user.max_user_namespaces > 0), or "
                            "pass --allow-degraded userns");
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
    return LayerErrno(Layer::kUserns, "setgroups", std::to_string(gid), errno,
                      "report this: the gid map is missing");
  }
  if (setresgid(gid, gid, gid) != 0) {
    return LayerErrno(Layer::kUserns, "setresgid", std::to_string(gid), errno,
                      "report this: the gid map is missing");
  }
  if (setresuid(uid, uid, uid) != 0) {
    return LayerErrno(Layer::kUserns, "setresuid", std::to_string(uid), errno,
                      "report this: the uid map is missing");
  }
  return OkStatus();
}

Status VerifyInChild(uint32_t uid, uint32_t gid, bool in_userns) {
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0) {
    return LayerErrno(Layer::kUserns, "getresuid", "(read-back)", errno, "report this");
  }
  // setfsuid returns the previous value; asking for an impossible one changes nothing.
  uid_t fsuid = static_cast<uid_t>(setfsuid(static_cast<uid_t>(-1)));
  gid_t fsgid = static_cast<gid_t>(setfsgid(static_cast<gid_t>(-1)));
  if (r != uid || e != uid || s != uid || fsuid != uid || rg != gid || eg != gid || sg != gid ||
      fsgid != gid) {
    return LayerVerifyError(Layer::kUserns,
                            "ids read back as uid " + std::to_string(r) + "/" + std::to_string(e) + "/" +
                                std::to_string(s) + " gid " + std::to_string(rg),
                            "report this");
  }
  if (uid == 0 || gid == 0)
    return LayerVerifyError(Layer::kUserns, "the sandbox runs as uid or gid 0", "report this");
  gid_t list[8];
  int n = getgroups(8, list);
  if (n != 1 || list[0] != gid) {
    return LayerVerifyError(
        Layer::kUserns, "supplementary groups are not exactly {" + std::to_string(gid) + "}", "report this");
  }
  if (in_userns) {
    auto map = ReadFile("/proc/self/uid_map");
    std::vector<std::string> fields = map.ok() ? Split(*map, ' ', true) : std::vector<std::string>{};
    if (fields.size() != 3 || fields[0] != std::to_string(uid) || fields[1] != std::to_string(uid) ||
        Trim(fields[2]) != "1") {
      return LayerVerifyError(
          Layer::kUserns,
          "uid_map is not the single line \"" + std::to_string(uid) + " " + std::to_string(uid) + " 1\"",
          "report this");
    }
  }
  return OkStatus();
}

}  // namespace cloudcoop::sandbox::userns
