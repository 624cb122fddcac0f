#include "sandbox/ids.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <set>

#include "core/strings.h"
#include "sandbox/layers.h"

namespace cloudcoop::sandbox::ids {
namespace {

std::string Root(const std::string& state_dir) { return JoinPath(state_dir, "sandbox"); }
std::string UidsDir(const std::string& state_dir) { return JoinPath(Root(state_dir), "uids"); }
std::string OwnersDir(const std::string& state_dir) { return JoinPath(Root(state_dir), "owners"); }

Status EnsureDirs(const std::string& state_dir) {
  for (const auto& dir : {UidsDir(state_dir), OwnersDir(state_dir)}) {
    Status s = MakeDirs(dir, 0700);
    if (!s.ok()) {
      return LayerError(Layer::kIds, s.code(), "create " + dir + ": " + s.message(),
                        "run as root, or set CLOUDCOOP_STATE_DIR to a writable directory");
    }
  }
  return OkStatus();
}

// The allocation lock: short critical sections only (pick a uid, or collect stale ones).
StatusOr<UniqueFd> LockAllocations(const std::string& state_dir) {
  std::string path = JoinPath(Root(state_dir), "lock");
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid())
    return LayerErrno(Layer::kIds, "open", path, errno, "check the state directory's permissions");
  while (flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return LayerErrno(Layer::kIds, "flock", path, errno, "check the state directory");
  }
  return fd;
}

struct AllocationFile {
  std::string owner;
  bool ephemeral = true;
};

AllocationFile ParseAllocation(const std::string& text) {
  AllocationFile a;
  for (const auto& line : Split(text, '\n', true)) {
    if (StartsWith(line, "owner ")) a.owner = line.substr(6);
    if (line == "kind persistent") a.ephemeral = false;
  }
  return a;
}

std::string FormatAllocation(const std::string& owner, bool ephemeral) {
  return "owner " + owner + "\nkind " + (ephemeral ? "ephemeral" : "persistent") + "\n";
}

StatusOr<std::set<uint32_t>> UsedUids(const std::string& state_dir) {
  auto names = ListDir(UidsDir(state_dir));
  if (!names.ok())
    return LayerError(Layer::kIds, names.status().code(), names.status().message(),
                      "check the state directory");
  std::set<uint32_t> used;
  for (const auto& n : *names) {
    auto v = ParseInt64(n);
    if (v.has_value() && *v > 0 && *v <= UINT32_MAX) used.insert(static_cast<uint32_t>(*v));
  }
  return used;
}

// Opens (creating when `create`) and locks an allocation file without blocking.
StatusOr<UniqueFd> OpenAndLock(const std::string& path, bool create, bool* busy) {
  *busy = false;
  int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT | O_EXCL : 0);
  UniqueFd fd(open(path.c_str(), flags, 0600));
  if (!fd.valid()) return LayerErrno(Layer::kIds, "open", path, errno, "check the state directory");
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      *busy = true;
      return LayerError(Layer::kIds, StatusCode::kAborted, path + " is held by a running sandbox", "");
    }
    return LayerErrno(Layer::kIds, "flock", path, errno, "check the state directory");
  }
  return fd;
}

// Claims `uid` on the host: an OFD write lock on byte <uid> of the claims file, on a description of
// its own (released when the last descriptor of it closes, so a killed supervisor frees it too).
// *busy when another sandbox, of whatever state directory, holds it.
StatusOr<UniqueFd> ClaimOnHost(const std::string& claims_file, uint32_t uid, bool* busy) {
  *busy = false;
  UniqueFd fd(open(claims_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid() && errno == ENOENT) {
    std::string dir = Dirname(claims_file);
    Status s = MakeDirs(dir, 0700);
    if (!s.ok()) {
      return LayerError(Layer::kIds, s.code(), "create " + dir + ": " + s.message(),
                        "run as root (the host-wide uid claims live in " + dir + ")");
    }
    fd.Reset(open(claims_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  }
  if (!fd.valid()) {
    return LayerErrno(Layer::kIds, "open", claims_file, errno,
                      "run as root; the file must be a regular file (remove it if it is not)");
  }
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = static_cast<off_t>(uid);
  lock.l_len = 1;
  if (fcntl(fd.get(), F_OFD_SETLK, &lock) != 0) {
    if (errno == EAGAIN || errno == EACCES) {
      *busy = true;
      return LayerError(Layer::kIds, StatusCode::kAborted,
                        "uid " + std::to_string(uid) + " is claimed in " + claims_file, "");
    }
    return LayerErrno(Layer::kIds, "fcntl(F_OFD_SETLK)", claims_file, errno, "report this");
  }
  return fd;
}

// In place (RewriteInPlace: a truncation to zero would cost a twentieth of a sandbox start); a torn
// write leaves at worst a tail line ParseAllocation ignores.
Status WriteContent(int fd, const std::string& path, const std::string& content) {
  Status s = RewriteInPlace(fd, content, path);
  if (!s.ok()) return LayerError(Layer::kIds, s.code(), s.message(), "check disk space");
  return OkStatus();
}

// The allocation file's content, read through the descriptor that holds its lock.
std::string ReadContent(int fd) {
  char buf[512];
  ssize_t n = pread(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

StatusOr<Lease> AcquireInParent(const std::string& state_dir, const std::string& owner,
                                std::optional<uint32_t> fixed, uint32_t base, uint32_t count,
                                const std::string& claims_file) {
  CC_RETURN_IF_ERROR(EnsureDirs(state_dir));
  CC_ASSIGN_OR_RETURN(UniqueFd lock, LockAllocations(state_dir));
  Lease lease;
  if (fixed.has_value()) {
    lease.uid = *fixed;
    lease.path = JoinPath(UidsDir(state_dir), std::to_string(*fixed));
    bool busy = false;
    auto claim = ClaimOnHost(claims_file, *fixed, &busy);
    if (busy) {
      return LayerError(Layer::kIds, StatusCode::kAborted,
                        "uid " + std::to_string(*fixed) +
                            " is in use by another running sandbox (of this or another state directory)",
                        "two sandboxes never share a uid: stop the other one first (`cloudcoop check` lists "
                        "it), or give the other state directory's agents another range "
                        "(CLOUDCOOP_AGENT_UID_BASE)");
    }
    if (!claim.ok()) return claim.status();
    lease.host_claim = std::move(*claim);
    auto fd = OpenAndLock(lease.path, /*create=*/false, &busy);
    if (!fd.ok() && !busy) fd = OpenAndLock(lease.path, /*create=*/true, &busy);
    if (busy) {
      return LayerError(
          Layer::kIds, StatusCode::kAborted,
          "uid " + std::to_string(*fixed) + " is in use by another running sandbox",
          "two sandboxes never share a uid: stop the other one first (`cloudcoop check` lists it)");
    }
    if (!fd.ok()) return fd.status();
    AllocationFile a = ParseAllocation(ReadContent(fd->get()));
    if (!a.owner.empty() && !a.ephemeral && a.owner != owner) {
      return LayerError(Layer::kIds, StatusCode::kAlreadyExists,
                        "uid " + std::to_string(*fixed) + " is reserved for \"" + a.owner + "\"",
                        "use the uid reserved for \"" + owner + "\", or let the sandbox allocate one");
    }
    lease.ephemeral = a.owner.empty() || a.ephemeral;
    if (lease.ephemeral)
      CC_RETURN_IF_ERROR(WriteContent(fd->get(), lease.path, FormatAllocation(owner, true)));
    lease.fd = std::move(*fd);
  } else {
    CC_ASSIGN_OR_RETURN(std::set<uint32_t> used, UsedUids(state_dir));
    for (uint64_t uid = base; uid < static_cast<uint64_t>(base) + count; ++uid) {
      std::string path = JoinPath(UidsDir(state_dir), std::to_string(uid));
      bool busy = false;
      bool exists = used.count(static_cast<uint32_t>(uid)) != 0;
      // Free in no other state directory either: claimed on the host first.
      auto claim = ClaimOnHost(claims_file, static_cast<uint32_t>(uid), &busy);
      if (busy) continue;
      if (!claim.ok()) return claim.status();
      // An ephemeral allocation nobody holds is free: reuse its file rather than delete and create
      // one per start (ext4 allocates inodes slowly in a directory that churns files).
      auto fd = OpenAndLock(path, /*create=*/!exists, &busy);
      if (!fd.ok()) continue;  // held, or taken meanwhile
      if (exists && !ParseAllocation(ReadContent(fd->get())).ephemeral) continue;  // reserved for an owner
      CC_RETURN_IF_ERROR(WriteContent(fd->get(), path, FormatAllocation(owner, true)));
      lease.uid = static_cast<uint32_t>(uid);
      lease.path = path;
      lease.fd = std::move(*fd);
      lease.host_claim = std::move(*claim);
      lease.ephemeral = true;
      break;
    }
    if (!lease.fd.valid()) {
      return LayerError(
          Layer::kIds, StatusCode::kResourceExhausted,
          "every uid in " + std::to_string(base) + "-" + std::to_string(base + count - 1) + " is allocated",
          "stop sandboxes you no longer need, or run `cloudcoop check` to collect stale allocations");
    }
  }
  lease.gid = lease.uid;
  return lease;
}

void ReleaseInParent(Lease& lease) {
  // An ephemeral allocation's file stays: unlocked, it is free for the next start.
  lease.fd.Reset();
  lease.host_claim.Reset();
}

StatusOr<uint32_t> ReserveForOwner(const std::string& state_dir, const std::string& owner, uint32_t base,
                                   uint32_t count) {
  CC_RETURN_IF_ERROR(EnsureDirs(state_dir));
  CC_ASSIGN_OR_RETURN(UniqueFd lock, LockAllocations(state_dir));
  std::string link = JoinPath(OwnersDir(state_dir), owner);
  char buf[32];
  ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  if (n > 0) {
    auto v = ParseInt64(std::string_view(buf, static_cast<size_t>(n)));
    if (v.has_value()) return static_cast<uint32_t>(*v);
  }
  CC_ASSIGN_OR_RETURN(std::set<uint32_t> used, UsedUids(state_dir));
  for (uint64_t uid = base; uid < static_cast<uint64_t>(base) + count; ++uid) {
    if (used.count(static_cast<uint32_t>(uid))) continue;
    std::string path = JoinPath(UidsDir(state_dir), std::to_string(uid));
    UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) continue;
    CC_RETURN_IF_ERROR(WriteContent(fd.get(), path, FormatAllocation(owner, false)));
    if (symlink(std::to_string(uid).c_str(), link.c_str()) != 0) {
      int err = errno;
      unlink(path.c_str());
      return LayerErrno(Layer::kIds, "symlink", link, err, "check the state directory");
    }
    return static_cast<uint32_t>(uid);
  }
  return LayerError(Layer::kIds, StatusCode::kResourceExhausted, "no free uid left to reserve for " + owner,
                    "release the uids of removed agents");
}

Status ReleaseOwner(const std::string& state_dir, const std::string& owner) {
  CC_ASSIGN_OR_RETURN(UniqueFd lock, LockAllocations(state_dir));
  std::string link = JoinPath(OwnersDir(state_dir), owner);
  char buf[32];
  ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return OkStatus();
  std::string path = JoinPath(UidsDir(state_dir), std::string(buf, static_cast<size_t>(n)));
  bool busy = false;
  auto fd = OpenAndLock(path, false, &busy);
  if (busy) {
    return LayerError(Layer::kIds, StatusCode::kFailedPrecondition,
                      "the uid of " + owner + " is held by a running sandbox", "stop the agent first");
  }
  unlink(path.c_str());
  unlink(link.c_str());
  return OkStatus();
}

StatusOr<int> CollectStale(const std::string& state_dir) {
  CC_RETURN_IF_ERROR(EnsureDirs(state_dir));
  CC_ASSIGN_OR_RETURN(UniqueFd lock, LockAllocations(state_dir));
  CC_ASSIGN_OR_RETURN(std::set<uint32_t> used, UsedUids(state_dir));
  int removed = 0;
  for (uint32_t uid : used) {
    std::string path = JoinPath(UidsDir(state_dir), std::to_string(uid));
    bool busy = false;
    auto fd = OpenAndLock(path, false, &busy);
    if (!fd.ok()) continue;  // held: in use
    auto text = ReadFile(path);
    if (text.ok() && ParseAllocation(*text).ephemeral) {
      unlink(path.c_str());
      ++removed;
    }
  }
  return removed;
}

std::string GeneratePasswd(const std::string& user, uint32_t uid, uint32_t gid, const std::string& home,
                           const std::string& shell) {
  return "root:x:0:0:root:/root:/usr/sbin/nologin\n" + user + ":x:" + std::to_string(uid) + ":" +
         std::to_string(gid) + ":cloudcoop sandbox:" + home + ":" + shell +
         "\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
}

std::string GenerateGroup(const std::string& user, uint32_t gid) {
  return "root:x:0:\n" + user + ":x:" + std::to_string(gid) + ":\nnogroup:x:65534:\n";
}

}  // namespace cloudcoop::sandbox::ids
