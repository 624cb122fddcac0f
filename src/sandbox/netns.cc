#include "sandbox/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/logging.h"
#include "sandbox/layers.h"

namespace cloudcoop::sandbox::netns {
namespace {

// Runs in a vfork-style helper (CLONE_VM | CLONE_VFORK | CLONE_FILES) that lives in the new
// namespace: opens a handle on it into the shared fd table and brings loopback up. Only plain
// system calls here; the supervisor is suspended until the helper exits.
struct HelperResult {
  int netns_fd = -1;
  int err = 0;
  const char* step = "";
};

// Brings loopback up in the calling task's network namespace; on failure returns errno and names
// the step. Plain system calls only (it also runs in the vfork-style helper below).
int LoopbackUp(const char** step) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    *step = "socket(AF_INET)";
    return errno;
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int err = 0;
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
    err = errno;
    *step = "ioctl(SIOCGIFFLAGS) lo";
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
      err = errno;
      *step = "ioctl(SIOCSIFFLAGS) lo up";
    }
  }
  close(s);
  return err;
}

int NewNetnsHelper(void* arg) {
  auto* r = static_cast<HelperResult*>(arg);
  r->netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (r->netns_fd < 0) {
    r->err = errno;
    r->step = "open /proc/self/ns/net";
    _exit(1);
  }
  r->err = LoopbackUp(&r->step);
  _exit(r->err == 0 ? 0 : 1);
}

StatusOr<UniqueFd> NewNamespaceWithLoopback() {
  alignas(16) static char stack[64 * 1024];
  HelperResult result;
  pid_t pid = clone(NewNetnsHelper, stack + sizeof stack,
                    CLONE_NEWNET | CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &result);
  if (pid < 0) {
    return LayerErrno(Layer::kNetns, "clone(CLONE_NEWNET)", "", errno,
                      errno == ENOSPC ? "raise /proc/sys/user/max_net_namespaces" : "run as root");
  }
  int status = 0;
  while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
  }
  UniqueFd fd(result.netns_fd);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return LayerErrno(Layer::kNetns, result.step, "(new network namespace)", result.err ? result.err : EIO,
                      "report this kernel configuration");
  }
  return fd;
}

}  // namespace

uint64_t NamespaceInode(const std::string& proc_pid, const char* ns) {
  struct stat st;
  std::string path = "/proc/" + proc_pid + "/ns/" + ns;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

StatusOr<Setup> PrepareInParent(NetMode mode, bool host_explicit) {
  Setup setup;
  setup.mode = mode;
  switch (mode) {
    case NetMode::kNone:
      return setup;  // the init makes its own (CreateInChild), in parallel with the supervisor

    case NetMode::kHost:
      if (!host_explicit) {
        return LayerError(Layer::kNetns, StatusCode::kInvalidArgument,
                          "network mode host was not asked for explicitly",
                          "pass --net host, or use --net none");
      }
      return setup;
    case NetMode::kEgress: {
      CC_ASSIGN_OR_RETURN(setup.netns, NewNamespaceWithLoopback());
      return setup;
    }
  }
  return LayerError(Layer::kNetns, StatusCode::kInvalidArgument, "unknown network mode",
                    "use none, egress or host");
}

Status ConfigureFromParent(Setup& setup, const SandboxPlan& plan) {
  if (setup.mode != NetMode::kEgress) return OkStatus();
  EgressConfig config = EgressConfigForStateDir(plan.state_dir);
  auto egress = EgressSandbox::Setup(config, setup.netns.get(), plan.name);
  if (!egress.ok())
    return LayerError(Layer::kNetns, egress.status().code(), egress.status().message(),
                      egress.status().fix());
  setup.egress = std::move(*egress);
  Status v = setup.egress->Verify();
  if (!v.ok()) return LayerVerifyError(Layer::kNetns, v.message(), v.fix());
  return OkStatus();
}

void AddPollFds(const Setup& setup, std::vector<pollfd>* fds) {
  if (setup.egress) setup.egress->relay().FillPollFds(fds);
}

void ProcessPollFds(Setup& setup, const std::vector<pollfd>& fds) {
  if (setup.egress) setup.egress->relay().Process(fds);
}

int PollTimeoutMs(const Setup& setup) { return setup.egress ? setup.egress->relay().NextTimeoutMs() : -1; }

Status CreateInChild(NetMode mode) {
  if (mode != NetMode::kNone) return OkStatus();
  if (unshare(CLONE_NEWNET) != 0) {
    return LayerErrno(Layer::kNetns, "unshare(CLONE_NEWNET)", "", errno,
                      errno == ENOSPC ? "raise /proc/sys/user/max_net_namespaces" : "run as root");
  }
  const char* step = "";
  int err = LoopbackUp(&step);
  if (err != 0) return LayerErrno(Layer::kNetns, step, "(new network namespace)", err, "report this kernel configuration");
  return OkStatus();
}

Status ApplyInChild(int netns_fd) {
  if (netns_fd < 0) return OkStatus();
  if (setns(netns_fd, CLONE_NEWNET) != 0) {
    return LayerErrno(Layer::kNetns, "setns(CLONE_NEWNET)", "", errno, "report this");
  }
  return OkStatus();
}

Status VerifyInChild(NetMode mode) {
  if (mode == NetMode::kHost) return OkStatus();
  struct if_nameindex* list = if_nameindex();
  if (list == nullptr) return LayerErrno(Layer::kNetns, "if_nameindex", "(read-back)", errno, "report this");
  int count = 0;
  bool lo = false, eth0 = false;
  std::string names, up_others;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto is_up = [s](const char* name) {
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    return s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP) != 0;
  };
  for (auto* p = list; p->if_index != 0; ++p) {
    ++count;
    names += std::string(names.empty() ? "" : ", ") + p->if_name;
    if (std::strcmp(p->if_name, "lo") == 0) {
      lo = true;
    } else if (std::strcmp(p->if_name, "eth0") == 0) {
      eth0 = true;
    } else if (is_up(p->if_name)) {
      up_others += std::string(up_others.empty() ? "" : ", ") + p->if_name;
    }
  }
  if_freenameindex(list);
  bool lo_up = is_up("lo");
  bool eth0_up = eth0 && is_up("eth0");
  if (s >= 0) close(s);
  if (mode == NetMode::kNone && (count != 1 || !lo)) {
    return LayerVerifyError(Layer::kNetns, "mode none should see only lo, but sees: " + names, "report this");
  }
  if (mode == NetMode::kEgress && (!eth0_up || !up_others.empty())) {
    return LayerVerifyError(Layer::kNetns,
                            "mode egress should see lo and eth0 up and nothing else up, but sees: " + names,
                            "report this");
  }
  if (!lo_up) return LayerVerifyError(Layer::kNetns, "loopback is not up", "report this");
  return OkStatus();
}

void CleanupInParent(Setup& setup) {
  if (setup.egress) {
    Status s = setup.egress->Cleanup();
    if (!s.ok()) CC_LOG_ERROR("sandbox network cleanup: %s", s.ToString().c_str());
    setup.egress.reset();
  }
  setup.netns.Reset();
}

}  // namespace cloudcoop::sandbox::netns
