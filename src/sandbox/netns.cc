#include "sandbox/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "core/logging.h"
#include "sandbox/layers.h"

namespace cloudcoop::sandbox::netns {
namespace {

// The helper (Pending) shares the supervisor's memory, and so its thread's errno, which glibc's
// wrappers write on a failure while the supervisor runs: it makes raw system calls only, and
// writes nothing but its own Shared block.
long RawSyscall(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
#if defined(__x86_64__)
  long ret;
  register long r10 asm("r10") = d;
  asm volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  register long x8 asm("x8") = n;
  register long x0 asm("x0") = a;
  register long x1 asm("x1") = b;
  register long x2 asm("x2") = c;
  register long x3 asm("x3") = d;
  asm volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
#else
#error "netns: add this architecture's system call instruction"
#endif
}

}  // namespace

struct Pending::Shared {
  bool move = false;  // first move to `elsewhere`: the CPUs the caller may use but is not on
  cpu_set_t elsewhere;
  int netns_fd = -1;
  int err = 0;
  const char* step = "";
};

namespace {

constexpr size_t kHelperStack = 64 * 1024;

// Brings loopback up in the calling task's network namespace with raw system calls; on failure
// returns errno and names the step.
__attribute__((no_sanitize("address"))) int LoopbackUp(const char** step) {
  long s = RawSyscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    *step = "socket(AF_INET)";
    return static_cast<int>(-s);
  }
  ifreq ifr;
  for (size_t i = 0; i < sizeof ifr; ++i) reinterpret_cast<volatile char*>(&ifr)[i] = 0;
  ifr.ifr_name[0] = 'l';
  ifr.ifr_name[1] = 'o';
  int err = 0;
  long r = RawSyscall(SYS_ioctl, s, SIOCGIFFLAGS, reinterpret_cast<long>(&ifr));
  if (r < 0) {
    err = static_cast<int>(-r);
    *step = "ioctl(SIOCGIFFLAGS) lo";
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    r = RawSyscall(SYS_ioctl, s, SIOCSIFFLAGS, reinterpret_cast<long>(&ifr));
    if (r < 0) {
      err = static_cast<int>(-r);
      *step = "ioctl(SIOCSIFFLAGS) lo up";
    }
  }
  RawSyscall(SYS_close, s);
  return err;
}

// The helper: a new network namespace, a handle on it in the shared descriptor table, loopback up.
__attribute__((no_sanitize("address"))) int MakeNamespace(void* arg) {
  auto* out = static_cast<Pending::Shared*>(arg);
  // A new task starts on its parent's vCPU and takes it over; the namespace would then cost the
  // caller as much as if it made it itself, with the other vCPU idle. A preference only.
  if (out->move)
    RawSyscall(SYS_sched_setaffinity, 0, sizeof out->elsewhere, reinterpret_cast<long>(&out->elsewhere));
  long r = RawSyscall(SYS_unshare, CLONE_NEWNET);
  if (r < 0) {
    out->err = static_cast<int>(-r);
    out->step = "unshare(CLONE_NEWNET)";
    return 1;
  }
  r = RawSyscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/proc/self/ns/net"), O_RDONLY | O_CLOEXEC);
  if (r < 0) {
    out->err = static_cast<int>(-r);
    out->step = "open /proc/self/ns/net";
    return 1;
  }
  out->netns_fd = static_cast<int>(r);
  out->err = LoopbackUp(&out->step);
  return out->err == 0 ? 0 : 1;
}

}  // namespace

uint64_t NamespaceInode(const std::string& proc_pid, const char* ns) {
  struct stat st;
  std::string path = "/proc/" + proc_pid + "/ns/" + ns;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

StatusOr<std::unique_ptr<Pending>> Pending::Start() {
  void* stack =
      mmap(nullptr, kHelperStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED)
    return LayerErrno(Layer::kNetns, "mmap", "(helper stack)", errno, "free some memory");
  std::unique_ptr<Pending> p(new Pending);
  p->stack_ = stack;
  p->shared_ = new (stack) Shared;  // the bottom of the mapping; the stack grows down from its top
  int here = sched_getcpu();
  Shared& sh = *p->shared_;
  if (here >= 0 && sched_getaffinity(0, sizeof sh.elsewhere, &sh.elsewhere) == 0 &&
      CPU_ISSET(here, &sh.elsewhere) && CPU_COUNT(&sh.elsewhere) > 1) {
    CPU_CLR(here, &sh.elsewhere);
    sh.move = true;
  }
  // No exit signal: nothing but Wait() ever learns of the helper's end.
  pid_t pid =
      clone(MakeNamespace, static_cast<char*>(stack) + kHelperStack, CLONE_VM | CLONE_FILES, p->shared_);
  if (pid < 0) {
    return LayerErrno(Layer::kNetns, "clone", "(network namespace helper)", errno, "raise the process limit");
  }
  p->pid_ = pid;
  return p;
}

void Pending::Wait() {
  if (pid_ <= 0) return;
  while (waitpid(pid_, &wait_status_, __WALL) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

StatusOr<UniqueFd> Pending::Take() {
  Wait();
  UniqueFd fd(std::exchange(shared_->netns_fd, -1));
  if (WIFSIGNALED(wait_status_)) {
    return LayerError(Layer::kNetns, StatusCode::kAborted,
                      std::string("the helper making the network namespace was killed by signal ") +
                          sigabbrev_np(WTERMSIG(wait_status_)),
                      "start the sandbox again");
  }
  if (!WIFEXITED(wait_status_) || WEXITSTATUS(wait_status_) != 0) {
    return LayerErrno(Layer::kNetns, shared_->step, "(new network namespace)",
                      shared_->err ? shared_->err : EIO,
                      shared_->err == ENOSPC ? "raise /proc/sys/user/max_net_namespaces"
                                             : "run as root on a kernel with CONFIG_NET_NS=y");
  }
  struct stat theirs;
  uint64_t mine = NamespaceInode("self", "net");
  if (mine == 0 || fstat(fd.get(), &theirs) != 0 || mine == static_cast<uint64_t>(theirs.st_ino)) {
    return LayerVerifyError(Layer::kNetns, "the new network namespace is the supervisor's (or unreadable)",
                            "report this");
  }
  return fd;
}

Pending::~Pending() {
  Wait();
  if (shared_ != nullptr && shared_->netns_fd >= 0) close(shared_->netns_fd);
  if (stack_ != nullptr) munmap(stack_, kHelperStack);
}

bool NeedsNamespace(NetMode mode) { return mode == NetMode::kNone || mode == NetMode::kEgress; }

StatusOr<Setup> PrepareInParent(NetMode mode, bool host_explicit, Pending* pending) {
  Setup setup;
  setup.mode = mode;
  if (mode == NetMode::kHost) {
    if (!host_explicit) {
      return LayerError(Layer::kNetns, StatusCode::kInvalidArgument,
                        "network mode host was not asked for explicitly",
                        "pass --net host, or use --net none");
    }
    return setup;
  }
  if (!NeedsNamespace(mode)) {
    return LayerError(Layer::kNetns, StatusCode::kInvalidArgument, "unknown network mode",
                      "use none, egress or host");
  }
  if (pending == nullptr) {
    return LayerError(Layer::kNetns, StatusCode::kInternal, "no network namespace was started (netns.start)",
                      "report this");
  }
  CC_ASSIGN_OR_RETURN(setup.netns, pending->Take());
  return setup;
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

Status ApplyInChild(NetMode mode, int netns_fd) {
  if (!NeedsNamespace(mode)) return OkStatus();
  if (netns_fd < 0) {
    return LayerError(Layer::kNetns, StatusCode::kInternal, "no network namespace arrived with go",
                      "report this");
  }
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
