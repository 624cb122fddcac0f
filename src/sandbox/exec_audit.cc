#include "sandbox/exec_audit.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <cstring>

#include "core/logging.h"
#include "core/strings.h"
#include "policy/rules.h"
#include "sandbox/channel.h"
#include "sandbox/control.h"
#include "sandbox/layers.h"
#include "sandbox/seccomp.h"
#include "sandbox/state.h"

#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0)
#endif

namespace cloudcoop::sandbox::exec_audit {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_X86_64;
constexpr bool kCheckX32 = true;
#elif defined(__aarch64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_AARCH64;
constexpr bool kCheckX32 = false;
#else
#error "exec capture: add this architecture's AUDIT_ARCH value"
#endif

int64_t MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string Hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// The low 32 bits of a 64-bit argument (little-endian).
constexpr uint32_t ArgLow(int i) { return static_cast<uint32_t>(offsetof(seccomp_data, args) + 8 * i); }

Status AuditErrno(std::string_view call, std::string_view object, int err, std::string fix) {
  return LayerErrno(Layer::kAudit, call, object, err, std::move(fix));
}

// Reads `len` bytes at `addr` in the stopped caller's memory (one system call, no /proc/<pid>/mem
// descriptor to open). Never crosses a page here: a range that is partly unmapped fails as a whole.
ssize_t ReadRemote(int pid, void* buf, size_t len, uint64_t addr) {
  iovec local{buf, len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  return process_vm_readv(pid, &local, 1, &remote, 1, 0);
}

// Reads a NUL-terminated string of at most `max` bytes at `addr` in the caller's memory, page by
// page (a read across an unmapped page fails as a whole). *truncated when no NUL came within max.
bool ReadString(int pid, uint64_t addr, size_t max, std::string* out, bool* truncated = nullptr) {
  out->clear();
  if (truncated != nullptr) *truncated = false;
  if (addr == 0) return false;
  char buf[4096];
  while (out->size() < max) {
    size_t chunk = std::min<size_t>(4096 - addr % 4096, max - out->size());
    ssize_t n = ReadRemote(pid, buf, chunk, addr);
    if (n <= 0) return !out->empty();
    const char* nul = static_cast<const char*>(std::memchr(buf, '\0', static_cast<size_t>(n)));
    if (nul != nullptr) {
      out->append(buf, static_cast<size_t>(nul - buf));
      return true;
    }
    out->append(buf, static_cast<size_t>(n));
    addr += static_cast<uint64_t>(n);
  }
  if (truncated != nullptr) *truncated = true;
  return true;
}

// argv: the pointer array up to its NULL (counted up to kMaxCount so argc is right), the strings
// of the first audit::kMaxArgs + 1 (ExecRecord bounds and marks the cut). The strings' first bytes
// come in one process_vm_readv for all of them (a compiler's exec has dozens of arguments, and a
// call per string was most of the caller's wait): kFirstChunk bytes each, never past the end of
// the string's page (an unmapped next page would fail the read). A string with no NUL there is read
// on by itself; so is every string after one the batch could not read (the kernel stops there).
void ReadArgv(int pid, uint64_t addr, std::vector<std::string>* argv) {
  constexpr size_t kMaxCount = 1 << 17;
  constexpr size_t kFirstChunk = 256;
  size_t count = 0;
  std::vector<uint64_t> strings;  // the addresses of the strings to read
  uint64_t ptrs[512];
  bool done = false;
  while (!done && addr != 0 && count < kMaxCount) {
    size_t room = (4096 - addr % 4096) / sizeof(uint64_t);
    if (room == 0) room = 1;
    size_t want = std::min<size_t>(room, std::size(ptrs));
    ssize_t n = ReadRemote(pid, ptrs, want * sizeof(uint64_t), addr);
    if (n < static_cast<ssize_t>(sizeof(uint64_t))) break;
    size_t got = static_cast<size_t>(n) / sizeof(uint64_t);
    for (size_t i = 0; i < got && count < kMaxCount; ++i) {
      if (ptrs[i] == 0) {
        done = true;
        break;
      }
      if (strings.size() <= audit::kMaxArgs) strings.push_back(ptrs[i]);
      ++count;
    }
    addr += got * sizeof(uint64_t);
  }
  const size_t k = strings.size();  // at most kMaxArgs + 1 (257), under IOV_MAX
  std::vector<char> chunks(k * kFirstChunk);
  std::vector<iovec> local(k), remote(k);
  for (size_t j = 0; j < k; ++j) {
    size_t len = std::min<size_t>(kFirstChunk, 4096 - strings[j] % 4096);
    local[j] = {chunks.data() + j * kFirstChunk, len};
    remote[j] = {reinterpret_cast<void*>(strings[j]), len};
  }
  ssize_t batch = k == 0 ? 0 : process_vm_readv(pid, local.data(), k, remote.data(), k, 0);
  // Which chunks arrived whole: the kernel fills them in order and stops at one it cannot read.
  std::vector<bool> arrived(k, false);
  size_t left = batch > 0 ? static_cast<size_t>(batch) : 0;
  for (size_t j = 0; j < k && left >= local[j].iov_len; ++j) {
    arrived[j] = true;
    left -= local[j].iov_len;
  }
  size_t total = 0;
  argv->reserve(count);
  for (size_t j = 0; j < count; ++j) {
    std::string arg;
    if (j < k && total <= audit::kMaxArgvBytes) {
      const size_t len = local[j].iov_len;
      const char* chunk = static_cast<const char*>(local[j].iov_base);
      const char* nul = arrived[j] ? static_cast<const char*>(std::memchr(chunk, '\0', len)) : nullptr;
      if (nul != nullptr) {
        arg.assign(chunk, static_cast<size_t>(nul - chunk));
      } else if (arrived[j]) {
        std::string rest;  // longer than the chunk, or going on into the next page
        ReadString(pid, strings[j] + len, audit::kMaxArgBytes + 1 - len, &rest);
        arg.assign(chunk, len);
        arg += rest;
      } else {
        ReadString(pid, strings[j], audit::kMaxArgBytes + 1, &arg);
      }
      total += arg.size();
    }
    argv->push_back(std::move(arg));
  }
}

std::string ReadLinkAt(int dirfd, const char* path) {
  char buf[4096];
  ssize_t n = readlinkat(dirfd, path, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// Drops "." components and repeated slashes (never ".." : that would need the file system).
std::string CleanDots(const std::string& path) {
  std::string out;
  for (const auto& part : Split(path, '/', true)) {
    if (part.empty() || part == ".") continue;
    out += "/" + std::string(part);
  }
  return out.empty() ? "/" : out;
}

std::string JoinExe(const std::string& dir, const std::string& path) { return CleanDots(dir + "/" + path); }

// The notification ioctls take the filter's lock interruptibly: EINTR says nothing about the caller.
int NotifIoctl(int listener, unsigned long request, void* arg) {
  int r;
  do {
    r = ioctl(listener, request, arg);
  } while (r != 0 && errno == EINTR);
  return r;
}

bool IdValid(int listener, uint64_t id) {
  return NotifIoctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

bool IsNotifyFd(int fd) {
  return ReadLinkAt(AT_FDCWD, ("/proc/self/fd/" + std::to_string(fd)).c_str()) == "anon_inode:seccomp notify";
}

}  // namespace

std::vector<sock_filter> BuildNotifyFilter() {
  const uint32_t kNotify = SECCOMP_RET_USER_NOTIF;
  const uint32_t kAllow = SECCOMP_RET_ALLOW;
  const uint32_t kEperm = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
  const uint32_t kKill = SECCOMP_RET_KILL_PROCESS;
  std::vector<sock_filter> p;
  auto stmt = [&](uint16_t code, uint32_t k) { p.push_back(BPF_STMT(code, k)); };
  auto jump = [&](uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { p.push_back(BPF_JUMP(code, k, jt, jf)); };
  // 0-1: another ABI (i386 numbers, ...) is killed, as the main filter does.
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  jump(BPF_JMP | BPF_JEQ | BPF_K, kNativeArch, 1, 0);
  stmt(BPF_RET | BPF_K, kKill);
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  if (kCheckX32) {
    jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);  // x32 numbers
    stmt(BPF_RET | BPF_K, kKill);
  }
  jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 1, 0);
  jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 0, 1);
  stmt(BPF_RET | BPF_K, kNotify);
  // The main filter's deny list (ADR 0019): notified here too. The main filter returns USER_NOTIF
  // for the same calls; between equal actions the newest filter wins, so the call reaches this
  // filter's listener (the supervisor records a denial and answers EPERM). Were a rule missing
  // here, the main filter's notification would find no listener: ENOSYS, still denied.
  for (const auto& r : seccomp::DenyRules()) {
    if (!r.has_arg) {
      jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(r.nr), 0, 1);
      stmt(BPF_RET | BPF_K, kNotify);
      continue;
    }
    jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(r.nr), 0, 5);
    stmt(BPF_LD | BPF_W | BPF_ABS, ArgLow(static_cast<int>(r.arg)));
    stmt(BPF_ALU | BPF_AND | BPF_K, r.mask);
    jump(BPF_JMP | BPF_JEQ | BPF_K, r.value, 0, 1);
    stmt(BPF_RET | BPF_K, kNotify);
    stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  }
  // seccomp(SECCOMP_SET_MODE_FILTER, flags & NEW_LISTENER, ...): a newer listener filter would get
  // the exec notifications instead of the supervisor (the newest filter wins between equal actions).
  jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 5);
  stmt(BPF_LD | BPF_W | BPF_ABS, ArgLow(0));
  jump(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_SET_MODE_FILTER, 0, 3);
  stmt(BPF_LD | BPF_W | BPF_ABS, ArgLow(1));
  jump(BPF_JMP | BPF_JSET | BPF_K, SECCOMP_FILTER_FLAG_NEW_LISTENER, 0, 1);
  stmt(BPF_RET | BPF_K, kEperm);
  stmt(BPF_RET | BPF_K, kAllow);
  return p;
}

Status LoadFilterInChild(int channel) {
  std::vector<sock_filter> program = BuildNotifyFilter();
  sock_fprog prog{static_cast<unsigned short>(program.size()), program.data()};
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (fd < 0) {
    int err = errno;
    return AuditErrno("seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER)", "exec capture filter",
                      err,
                      "boot a kernel of 5.5 or later with CONFIG_SECCOMP_FILTER=y, or start the sandbox with "
                      "--no-exec-capture (recorded as degraded)");
  }
  UniqueFd listener(static_cast<int>(fd));
  channel::Message m{channel::Type::kAuditFd};
  m.fds.push_back(listener.get());
  Status s = channel::Send(channel, m);
  if (!s.ok()) {
    return LayerError(Layer::kAudit, StatusCode::kInternal,
                      "could not hand the exec capture listener to the supervisor: " + s.message(), "report this");
  }
  return OkStatus();
}

Status VerifyInChild() {
  sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  sock_fprog prog{1, &allow};
  errno = 0;
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (fd >= 0) {
    close(static_cast<int>(fd));
    return LayerVerifyError(Layer::kAudit, "a second notification listener could be created",
                            "report this: the exec capture filter is not loaded");
  }
  if (errno != EPERM) {
    return LayerVerifyError(Layer::kAudit,
                            "creating a second listener failed with " + ErrnoName(errno) + ", not EPERM",
                            "report this: the exec capture filter is not the one denying it");
  }
  return OkStatus();
}

namespace {

// PPid and the real Uid from /proc/<pid>/status.
bool ReadStatusIds(int pid, int64_t* ppid, int64_t* uid) {
  char path[40];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  UniqueFd st(open(path, O_RDONLY | O_CLOEXEC));
  char buf[4096];
  ssize_t n = st.valid() ? read(st.get(), buf, sizeof buf - 1) : -1;
  if (n <= 0) return false;
  buf[n] = '\0';
  // "PPid:\t<n>\n" and "Uid:\t<real>\t<effective>..." (no allocation: this is on every exec's path).
  if (const char* p = strstr(buf, "\nPPid:")) *ppid = strtoll(p + 6, nullptr, 10);
  if (const char* p = strstr(buf, "\nUid:")) *uid = strtoll(p + 5, nullptr, 10);
  return true;
}

// PIDFD_GET_INFO (Linux 6.13; Debian 12's headers lack it): the first version of struct pidfd_info.
struct PidfdInfo {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;
};
static_assert(sizeof(PidfdInfo) == 64, "PIDFD_INFO_SIZE_VER0");
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);
constexpr uint64_t kPidfdInfoPid = 1ULL << 0;
constexpr uint64_t kPidfdInfoCreds = 1ULL << 1;
constexpr unsigned kPidfdThread = O_EXCL;  // PIDFD_THREAD (Linux 6.9): the pid may be any thread's

}  // namespace

bool ReadCallerIds(int pid, int64_t* ppid, int64_t* uid) {
  // Set once the kernel turns the pidfd way down (older than 6.13): /proc from then on.
  static bool no_pidfd_info = false;
  if (!no_pidfd_info) {
    UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, pid, kPidfdThread)));
    if (!fd.valid() && errno == ESRCH) return false;
    PidfdInfo info{};
    info.mask = kPidfdInfoPid | kPidfdInfoCreds;
    if (fd.valid() && ioctl(fd.get(), kPidfdGetInfo, &info) == 0) {
      *ppid = info.ppid;
      *uid = info.ruid;
      return true;
    }
    if (fd.valid() && errno == ESRCH) return false;
    no_pidfd_info = true;
  }
  return ReadStatusIds(pid, ppid, uid);
}

bool CollectExec(int pid, int nr, const uint64_t args[6], Captured* out) {
  audit::ExecInfo& info = out->info;
  info.pid = pid;
  if (!ReadCallerIds(pid, &info.ppid, &info.uid)) return false;
  char link[64];
  snprintf(link, sizeof link, "/proc/%d/cwd", pid);
  info.cwd = ReadLinkAt(AT_FDCWD, link);
  std::string path;
  uint64_t argv_addr = 0;
  if (nr == __NR_execve) {
    info.via = "execve";
    ReadString(pid, args[0], 4096, &path);
    argv_addr = args[1];
    info.exe = path.empty() ? path : path[0] == '/' ? CleanDots(path) : JoinExe(info.cwd, path);
  } else {
    int dirfd = static_cast<int>(args[0]);
    int flags = static_cast<int>(args[4]);
    ReadString(pid, args[1], 4096, &path);
    argv_addr = args[2];
    std::string base;
    if (dirfd == AT_FDCWD) {
      base = info.cwd;
    } else {
      snprintf(link, sizeof link, "/proc/%d/fd/%d", pid, dirfd);
      base = ReadLinkAt(AT_FDCWD, link);
    }
    if (path.empty() && (flags & AT_EMPTY_PATH) != 0) {
      info.via = "fexecve";
      info.exe = base;
    } else {
      info.via = "execveat";
      info.exe = path[0] == '/' ? CleanDots(path) : JoinExe(base, path);
    }
  }
  ReadArgv(pid, argv_addr, &info.argv);
  return true;
}

bool PathMissing(int root, const std::string& exe) {
  if (root < 0 || exe.empty() || exe[0] != '/') return false;
  // Resolved inside the sandbox's root, absolute symlinks included.
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(syscall(SYS_openat2, root, exe.c_str(), &how, sizeof how)));
  return !fd.valid() && (errno == ENOENT || errno == ENOTDIR);
}

// ---------------------------------------------------------------------------------------------

ExecAuditor::~ExecAuditor() {
  if (logger_ != nullptr) (void)Flush();
}

StatusOr<std::unique_ptr<ExecAuditor>> ExecAuditor::Open(const SandboxPlan& plan) {
  std::unique_ptr<ExecAuditor> a(new ExecAuditor(plan.audit_agent.empty() ? plan.name : plan.audit_agent));
  // audit.enabled = false: no log (ValidatePlan made sure nothing is captured); the launcher
  // prints it as degraded and keeps it in the running record, where `check` fails it.
  if (!plan.audit_enabled) return a;
  audit::LoggerOptions options;
  options.dir = plan.AuditDir();
  options.segment_max_bytes = plan.audit_segment_max_bytes;
  options.retention_segments = plan.audit_retention_segments;
  auto redactor = std::make_shared<audit::Redactor>();
  for (const auto& [k, v] : plan.env) {
    if (policy::LooksLikeSecretName(k)) redactor->AddSecret(k, v);
  }
  options.redactor = redactor;
  auto logger = audit::Logger::Open(options);
  if (!logger.ok()) {
    return LayerError(Layer::kAudit, logger.status().code(),
                      "cannot open the audit log " + options.dir + ": " + logger.status().message(),
                      "make " + options.dir + " a writable directory owned by root (mode 700), or point "
                          "CLOUDCOOP_STATE_DIR elsewhere; the sandbox does not start without its audit log");
  }
  a->logger_ = std::move(*logger);
  return a;
}

Status ExecAuditor::AcceptListener(int fd) {
  UniqueFd owned(fd);
  if (!IsNotifyFd(fd)) {
    return LayerVerifyError(Layer::kAudit, "the init sent a descriptor that is not a seccomp notification fd",
                            "report this");
  }
  seccomp_notif_sizes sizes{};
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
    return AuditErrno("seccomp(SECCOMP_GET_NOTIF_SIZES)", "", errno, "boot a kernel of 5.0 or later");
  }
  // No SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6): it moves the supervisor to the caller's CPU
  // and the caller back to the supervisor's, which on two busy CPUs (`make -j2`) stacked the
  // work on one of them: 1.14 against 1.09-1.10 without it, and no gain for a sequential loop
  // (docs/PERFORMANCE.md, exec capture).
  notif_size_ = std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif));
  resp_size_ = std::max<size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp));
  notif_buf_.assign(notif_size_, 0);
  resp_buf_.assign(resp_size_, 0);
  listener_ = std::move(owned);
  accepted_ = true;
  return OkStatus();
}

void ExecAuditor::Append(const audit::Event& event, audit::Durability durability) {
  Queue(event);
  (void)WriteQueued(durability);
}

void ExecAuditor::Queue(audit::Event event) {
  if (logger_ == nullptr) return;  // audit.enabled = false
  if (queued_.empty()) queued_since_ms_ = MonotonicMs();
  queued_.push_back(std::move(event));
}

bool ExecAuditor::WriteQueued(audit::Durability durability) {
  if (logger_ == nullptr || queued_.empty()) return true;
  auto s = logger_->AppendAll(queued_, durability);
  if (!s.ok()) {
    // Kept for the next attempt; until one succeeds, execs are refused (Serve).
    write_failed_ = true;
    if (!log_failed_reported_) {
      log_failed_reported_ = true;
      CC_LOG_ERROR("sandbox %s: audit records not written, refusing execs until they can be: %s", agent_.c_str(),
                   s.status().ToString().c_str());
    }
    return false;
  }
  for (const auto& e : queued_) exec_records_ += e.type == audit::RecordType::kExec ? 1 : 0;
  queued_.clear();
  write_failed_ = false;
  return true;
}

void ExecAuditor::Serve() {
  // RECV blocks whatever O_NONBLOCK says: receive only while poll reports one pending, and at most
  // this many per call, so the loop also gets to its other descriptors.
  for (int round = 0; round < 64 && listener_.valid(); ++round) {
    if (round > 0) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (poll(&p, 1, 0) != 1 || (p.revents & POLLIN) == 0) return;
    }
    std::fill(notif_buf_.begin(), notif_buf_.end(), 0);
    auto* req = reinterpret_cast<seccomp_notif*>(notif_buf_.data());
    if (ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
      if (errno == EINTR) continue;
      // ENOENT: the caller went away between poll and recv.
      if (errno != ENOENT) {
        CC_LOG_ERROR("sandbox %s: SECCOMP_IOCTL_NOTIF_RECV failed: %s", agent_.c_str(), strerror(errno));
      }
      return;
    }
    if (req->data.nr != __NR_execve && req->data.nr != __NR_execveat) {
      Deny(*req);
      continue;
    }
    Captured c;
    c.info.agent = agent_;
    uint64_t args[6];
    for (int i = 0; i < 6; ++i) args[i] = req->data.args[i];
    const int pid = static_cast<int>(req->pid);
    bool collected = CollectExec(pid, req->data.nr, args, &c);
    // Every process of the sandbox has the sandbox's root (chroot needs a capability, pivot_root and
    // new user namespaces are denied): the first caller's is kept for the `missing` checks, with its
    // mount namespace, so that the mounts under that root outlive the sandbox's last process (the
    // check comes after the answer, possibly after the sandbox has ended).
    if (!root_.valid() && collected) {
      char link[40];
      snprintf(link, sizeof link, "/proc/%d/ns/mnt", pid);
      UniqueFd ns(open(link, O_RDONLY | O_CLOEXEC));
      snprintf(link, sizeof link, "/proc/%d/root", pid);
      UniqueFd root(open(link, O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (ns.valid() && root.valid()) {
        mount_ns_ = std::move(ns);
        root_ = std::move(root);
      }
    }
    // Still the same waiting caller? Otherwise it was killed or interrupted (a restarted call comes
    // back as a new notification), and the pid may already name another process.
    bool valid = IdValid(listener_.get(), req->id);
    bool allow = true;
    bool record = collected && valid && !write_failed_;
    if (valid && !record) {
      // The caller is still there but /proc could not be read, or the log cannot be written:
      // fail closed, what cannot be recorded does not run.
      allow = false;
      ++refused_;
    }
    std::fill(resp_buf_.begin(), resp_buf_.end(), 0);
    auto* resp = reinterpret_cast<seccomp_notif_resp*>(resp_buf_.data());
    resp->id = req->id;
    if (allow) {
      resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else {
      resp->error = -EPERM;
    }
    if (NotifIoctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, resp) != 0 && errno != ENOENT) {
      CC_LOG_ERROR("sandbox %s: SECCOMP_IOCTL_NOTIF_SEND failed: %s", agent_.c_str(), strerror(errno));
    }
    if (record) {
      // Queued, written in a batch (ADR 0017, "Batching"): what the record needs from the caller was
      // copied before the answer; whether the path exists is looked up in the sandbox's root after
      // it, so the caller waits neither for that, nor for the record, nor for the log.
      c.missing = PathMissing(root_.get(), c.info.exe);
      audit::Event e = audit::ExecRecord(c.info);
      if (c.missing) e.fields["missing"] = true;
      Queue(std::move(e));
    }
    if (queued_.size() >= kBatchRecords) (void)WriteQueued(audit::Durability::kBatched);
  }
}

void ExecAuditor::Deny(const seccomp_notif& req) {
  ++denied_;
  const int nr = req.data.nr;
  const int pid = static_cast<int>(req.pid);
  int64_t now = MonotonicMs();
  auto it = denial_windows_.find(nr);
  bool repeat = it != denial_windows_.end() && now - it->second.start_ms < kDenialWindowMs;
  audit::Fields f;
  if (!repeat) {
    // Who asked (from /proc, read while the caller still waits; checked below that it still does).
    int64_t ppid = 0, uid = -1;
    std::string exe;
    bool read_ok = ReadCallerIds(pid, &ppid, &uid);
    if (read_ok) {
      char link[40];
      snprintf(link, sizeof link, "/proc/%d/exe", pid);
      exe = ReadLinkAt(AT_FDCWD, link);
    }
    if (read_ok && IdValid(listener_.get(), req.id)) {
      f["ppid"] = static_cast<long long>(ppid);
      f["uid"] = static_cast<long long>(uid);
      f["exe"] = exe.substr(0, audit::kMaxArgBytes);
    }
  }
  if (now - denial_second_start_ms_ >= 1000) {
    denial_second_start_ms_ = now;
    denials_this_second_ = 0;
  }
  if (int delay_us = DenialAnswerDelayUs(++denials_this_second_); delay_us > 0) usleep(delay_us);
  // Answer first: the call is refused whatever happens to the record.
  std::fill(resp_buf_.begin(), resp_buf_.end(), 0);
  auto* resp = reinterpret_cast<seccomp_notif_resp*>(resp_buf_.data());
  resp->id = req.id;
  resp->error = -EPERM;
  if (NotifIoctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, resp) != 0 && errno != ENOENT) {
    CC_LOG_ERROR("sandbox %s: SECCOMP_IOCTL_NOTIF_SEND (denial) failed: %s", agent_.c_str(), strerror(errno));
  }
  const char* name = seccomp::DeniedName(nr);
  f["syscall"] = std::string(*name != '\0' ? name : "?");
  f["nr"] = static_cast<long long>(nr);
  f["pid"] = static_cast<long long>(pid);
  f["errno"] = "EPERM";
  // The argument the rule looked at.
  std::string_view call(name);
  if (call == "ioctl") {
    f["request"] = Hex(req.data.args[1] & 0xffffffffULL);
  } else if (call == "clone" || call == "unshare") {
    f["flags"] = Hex(req.data.args[0]);
  } else if (call == "socket") {
    f["domain"] = static_cast<long long>(req.data.args[0] & 0xffffffffULL);
  }
  if (repeat) {
    ++it->second.repeats;
    it->second.last = std::move(f);
    return;
  }
  if (it != denial_windows_.end()) EndDenialWindow(it);  // the previous window of this call
  f["count"] = 1LL;
  denial_windows_[nr] = DenialWindow{now, 0, {}};
  Queue(audit::DenialRecord(agent_, "syscall", std::move(f)));
}

std::map<int, ExecAuditor::DenialWindow>::iterator ExecAuditor::EndDenialWindow(
    std::map<int, DenialWindow>::iterator it) {
  DenialWindow& w = it->second;
  if (w.repeats > 0) {
    audit::Fields f = std::move(w.last);
    f["count"] = static_cast<unsigned long long>(w.repeats);
    f["coalesced"] = true;
    f["window_ms"] = static_cast<long long>(kDenialWindowMs);
    Queue(audit::DenialRecord(agent_, "syscall", std::move(f)));
  }
  return denial_windows_.erase(it);
}

void ExecAuditor::FlushDenials(int64_t now_ms) {
  for (auto it = denial_windows_.begin(); it != denial_windows_.end();) {
    if (now_ms < 0 || now_ms - it->second.start_ms >= kDenialWindowMs) {
      it = EndDenialWindow(it);
    } else {
      ++it;
    }
  }
}

int ExecAuditor::PollTimeoutMs(int timeout_ms) const {
  auto at_most = [&](int ms) { timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms); };
  if (!queued_.empty()) {
    at_most(static_cast<int>(std::max<int64_t>(0, queued_since_ms_ + kBatchDelayMs - MonotonicMs())));
  }
  if (logger_ != nullptr && (logger_->unsynced() != 0 || !denial_windows_.empty())) {
    constexpr int kFlushTickMs = 250;
    at_most(kFlushTickMs);
  }
  return timeout_ms;
}

void ExecAuditor::MaybeFlush() {
  int64_t now = MonotonicMs();
  if (!denial_windows_.empty()) FlushDenials(now);
  if (!queued_.empty() && (now - queued_since_ms_ >= kBatchDelayMs || queued_.size() >= kBatchRecords)) {
    (void)WriteQueued(audit::Durability::kBatched);
  }
  if (logger_ == nullptr || logger_->unsynced() == 0) return;
  Status s = logger_->MaybeFlush();
  if (!s.ok()) CC_LOG_ERROR("sandbox %s: audit flush: %s", agent_.c_str(), s.ToString().c_str());
}

Status ExecAuditor::Flush() {
  if (logger_ == nullptr) return OkStatus();
  FlushDenials(-1);
  if (!WriteQueued(audit::Durability::kBatched)) {
    return LayerError(Layer::kAudit, StatusCode::kDataLoss,
                      std::to_string(queued_.size()) + " queued audit records could not be written",
                      "check " + logger_->dir() + " (free space, `cloudcoop audit verify`)");
  }
  return logger_->Flush();
}

Status ExecAuditor::RecordPlan(const SandboxPlan& plan, uint32_t uid, int init_pid,
                               const std::vector<std::string>& layers) {
  std::vector<std::string> degraded_allowed;
  for (Layer l : plan.allow_degraded) degraded_allowed.emplace_back(LayerName(l));
  bool cut = false;
  audit::Fields limits = {{"cpus_milli", static_cast<long long>(plan.cpus * 1000)},
                          {"memory_bytes", static_cast<unsigned long long>(plan.memory_bytes)},
                          {"pids", static_cast<long long>(plan.pids)}};
  std::vector<audit::FieldValue> binds;
  for (const auto& b : plan.binds) {
    binds.emplace_back(audit::Fields{{"source", b.source}, {"target", b.target}, {"writable", b.writable}});
  }
  audit::Fields f = {{"uid", static_cast<long long>(uid)},
                     {"init_pid", static_cast<long long>(init_pid)},
                     {"argv", audit::FieldValue(audit::BoundArgv(plan.argv, &cut))},
                     {"cwd", plan.cwd},
                     {"net", std::string(NetModeName(plan.net))},
                     {"limits", audit::FieldValue(std::move(limits))},
                     {"binds", audit::FieldValue(std::move(binds))},
                     {"layers", audit::FieldValue(layers)},
                     {"allow_degraded", audit::FieldValue(degraded_allowed)},
                     {"exec_capture", plan.exec_capture}};
  if (logger_ == nullptr) return OkStatus();  // audit.enabled = false
  Queue(audit::LifecycleRecord(agent_, "plan", std::move(f)));
  auto s = logger_->AppendAll(queued_, audit::Durability::kBatched);
  if (s.ok()) queued_.clear();
  if (!s.ok()) {
    return LayerError(Layer::kAudit, s.status().code(), "cannot write the plan record: " + s.status().message(),
                      "check " + logger_->dir() + " (`cloudcoop audit verify`)");
  }
  return OkStatus();
}

void ExecAuditor::RecordStart(int init_pid, int command_ns_pid, const std::vector<std::string>& degraded) {
  for (const auto& d : degraded) {
    size_t colon = d.find(": ");
    std::string layer = colon == std::string::npos ? d : d.substr(0, colon);
    std::string reason = colon == std::string::npos ? "" : d.substr(colon + 2);
    Append(audit::LifecycleRecord(agent_, "degraded", {{"layer", layer}, {"reason", reason}}),
           audit::Durability::kBatched);
  }
  Append(audit::LifecycleRecord(agent_, "start",
                                {{"init_pid", static_cast<long long>(init_pid)},
                                 {"command_pid_in_sandbox", static_cast<long long>(command_ns_pid)},
                                 {"exec_capture", accepted_}}),
         audit::Durability::kBatched);
}

void ExecAuditor::RecordStartFailed(const Status& error) {
  Append(audit::LifecycleRecord(agent_, "start-failed", {{"error", error.message()}, {"fix", error.fix()}}),
         audit::Durability::kSync);
}

void ExecAuditor::RecordCounters(const cgroup::Usage& usage) {
  if (usage.oom_kills > seen_oom_kills_) {
    Append(audit::LifecycleRecord(agent_, "oom-kill",
                                  {{"oom_kills", static_cast<unsigned long long>(usage.oom_kills)},
                                   {"new", static_cast<unsigned long long>(usage.oom_kills - seen_oom_kills_)},
                                   {"memory_limit_bytes", static_cast<unsigned long long>(usage.limits.memory_bytes)}}),
           audit::Durability::kBatched);
    seen_oom_kills_ = usage.oom_kills;
  }
  if (usage.pids_max_hits > seen_pids_hits_) {
    Append(audit::LifecycleRecord(agent_, "pids-limit",
                                  {{"pids_max_hits", static_cast<unsigned long long>(usage.pids_max_hits)},
                                   {"new", static_cast<unsigned long long>(usage.pids_max_hits - seen_pids_hits_)},
                                   {"pids_limit", static_cast<long long>(usage.limits.pids)}}),
           audit::Durability::kBatched);
    seen_pids_hits_ = usage.pids_max_hits;
  }
}

void ExecAuditor::RecordExit(int exit_code, int signal, const cgroup::Usage* usage) {
  FlushDenials(-1);  // before the exit record: it ends the sandbox's records
  (void)WriteQueued(audit::Durability::kBatched);  // so that exec_records counts them
  audit::Fields f = {{"exit_code", exit_code},
                     {"signal", signal},
                     {"exec_records", static_cast<unsigned long long>(exec_records_)},
                     {"execs_refused", static_cast<unsigned long long>(refused_)},
                     {"denied_calls", static_cast<unsigned long long>(denied_)}};
  if (signal != 0) f["signal_name"] = sigabbrev_np(signal) != nullptr ? sigabbrev_np(signal) : "?";
  if (usage != nullptr) {
    RecordCounters(*usage);
    f["usage"] = audit::Fields{{"cpu_usec", static_cast<unsigned long long>(usage->cpu_usec)},
                               {"memory_peak_bytes", static_cast<unsigned long long>(usage->memory_peak_bytes)},
                               {"oom_kills", static_cast<unsigned long long>(usage->oom_kills)},
                               {"pids_max_hits", static_cast<unsigned long long>(usage->pids_max_hits)},
                               {"throttled_periods", static_cast<unsigned long long>(usage->throttled_periods)}};
  }
  Append(audit::LifecycleRecord(agent_, "exit", std::move(f)), audit::Durability::kSync);
}

void ExecAuditor::RecordEnd(bool launched, const Status& error, int exit_code, int signal,
                            const cgroup::Usage* usage) {
  if (launched) {
    RecordExit(exit_code, signal, usage);
  } else if (!error.ok()) {
    RecordStartFailed(error);
  }
  Status s = Flush();
  if (!s.ok()) CC_LOG_ERROR("sandbox %s: audit flush: %s", agent_.c_str(), s.ToString().c_str());
}

// ---------------------------------------------------------------------------------------------

namespace {

// Whether `pid` holds a seccomp notification listener.
bool HoldsListener(int pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (ReadLinkAt(dirfd(d), e->d_name) == "anon_inode:seccomp notify") {
      found = true;
      break;
    }
  }
  closedir(d);
  return found;
}

int SeccompFilters(int pid) {
  auto status = ReadFile("/proc/" + std::to_string(pid) + "/status");
  if (!status.ok()) return -1;
  for (auto line : Split(*status, '\n', true)) {
    std::string_view l(line);
    if (StartsWith(l, "Seccomp_filters:")) return static_cast<int>(ParseInt64(Trim(l.substr(16))).value_or(-1));
  }
  return -1;
}

}  // namespace

policy::CheckOutcome CheckExecCaptureActive(const std::string& state_dir) {
  auto list = ListSandboxes(state_dir);
  if (!list.ok()) {
    return policy::Fail("cannot read running sandboxes: " + list.status().message(), list.status().fix());
  }
  std::vector<std::string> problems;
  int checked = 0;
  for (const auto& s : *list) {
    if (!s.alive || s.record.phase != "running") continue;
    ++checked;
    const std::string& name = s.record.name;
    auto plan = PlanFromJson(s.record.plan_json);
    if (!plan.ok()) {
      problems.push_back(name + ": its recorded plan does not parse (" + plan.status().message() + ")");
      continue;
    }
    if (!plan->exec_capture) {
      problems.push_back(name + ": exec capture turned off (" + ExecCaptureOffReason(*plan) + ")");
      continue;
    }
    if (!HoldsListener(s.record.supervisor_pid)) {
      problems.push_back(name + ": its supervisor (pid " + std::to_string(s.record.supervisor_pid) +
                         ") holds no seccomp notification listener");
    }
    // The main filter and the exec capture filter.
    int filters = SeccompFilters(s.record.init_pid);
    if (filters < 2) {
      problems.push_back(name + ": its init (pid " + std::to_string(s.record.init_pid) + ") has " +
                         std::to_string(filters) + " seccomp filters, not 2");
    }
  }
  if (!problems.empty()) {
    return policy::Fail("exec capture is not active for every running sandbox: " + Join(problems, "; "),
                        "set audit.enabled = true and audit.exec_capture = true, and restart the affected sandboxes "
                        "without --no-exec-capture (`cloudcoop sandbox kill NAME`, `cloudcoop agent restart NAME`)");
  }
  if (checked == 0) return policy::NotApplicable("no running sandboxes under " + state_dir);
  return policy::Pass(std::to_string(checked) +
                      " running sandbox(es): each supervisor holds its exec capture listener and each init "
                      "carries the capture filter");
}

void RegisterExecAuditChecks(policy::CheckRegistry& registry) {
  registry.Add({"audit.exec_capture", "exec capture active for every running agent", "audit", "",
                policy::Severity::kHigh,
                [](const policy::CheckContext& ctx) { return CheckExecCaptureActive(ctx.state_dir); }});
}

}  // namespace cloudcoop::sandbox::exec_audit
