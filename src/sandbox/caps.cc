#include "sandbox/caps.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "sandbox/layers.h"

namespace cloudcoop::sandbox::caps {
namespace {

constexpr unsigned long kLockedSecurebits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
                                            SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                                            SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

struct CapSets {
  __user_cap_data_struct data[2];
};

int CapGet(CapSets* sets) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  return static_cast<int>(syscall(SYS_capget, &hdr, sets->data));
}

}  // namespace

int LastCap() {
  static int last = [] {
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return CAP_LAST_CAP;
    char buf[16] = {};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    int v = n > 0 ? std::atoi(buf) : 0;
    return v > 0 ? v : CAP_LAST_CAP;
  }();
  return last;
}

Status DropBoundingInChild() {
  // PR_CAPBSET_DROP needs CAP_SETPCAP; the probe loop runs past the last known cap so a kernel with
  // more capabilities than our headers still ends with an empty set (EINVAL marks the end).
  for (int cap = 0; cap <= 63; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL && cap > LastCap()) break;
      return LayerErrno(Layer::kCaps, "prctl(PR_CAPBSET_DROP)", "capability " + std::to_string(cap), errno,
                        "the launcher must still hold CAP_SETPCAP here (ordering bug)");
    }
  }
  if (prctl(PR_SET_SECUREBITS, kLockedSecurebits, 0, 0, 0) != 0) {
    return LayerErrno(Layer::kCaps, "prctl(PR_SET_SECUREBITS)", "", errno,
                      "the launcher must still hold CAP_SETPCAP here (ordering bug)");
  }
  return OkStatus();
}

Status ClearAllInChild() {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return LayerErrno(Layer::kCaps, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", "", errno,
                      "report this kernel version");
  }
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capset, &hdr, data) != 0) {
    return LayerErrno(Layer::kCaps, "capset", "(all sets empty)", errno, "report this kernel version");
  }
  return OkStatus();
}

Status VerifyInChild() {
  CapSets sets{};
  if (CapGet(&sets) != 0) return LayerErrno(Layer::kCaps, "capget", "(read-back)", errno, "report this");
  for (const auto& d : sets.data) {
    if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) {
      return LayerVerifyError(Layer::kCaps, "a capability set is not empty after the drop",
                              "report this: the uid switch did not clear capabilities");
    }
  }
  // The bounding and ambient sets in one read (instead of a prctl per capability).
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  char buf[4096];
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (fd >= 0) close(fd);
  if (n <= 0) return LayerErrno(Layer::kCaps, "read", "/proc/self/status (read-back)", errno, "mount /proc");
  std::string status(buf, static_cast<size_t>(n));
  for (const char* field : {"CapBnd:\t", "CapAmb:\t"}) {
    size_t at = status.find(field);
    std::string value = at == std::string::npos ? "" : status.substr(at + 8, 16);
    if (value != "0000000000000000") {
      return LayerVerifyError(Layer::kCaps, std::string(field, 6) + " is " + value + ", not empty",
                              "report this");
    }
  }
  int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
  if (bits < 0 || (static_cast<unsigned long>(bits) & kLockedSecurebits) != kLockedSecurebits) {
    return LayerVerifyError(Layer::kCaps, "securebits are " + std::to_string(bits) + ", not locked",
                            "report this");
  }
  return OkStatus();
}

}  // namespace cloudcoop::sandbox::caps
