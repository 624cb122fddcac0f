#include "sandbox/mountns.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <set>

#include "core/files.h"
#include "core/strings.h"
#include "sandbox/layers.h"

namespace cloudcoop::sandbox::mountns {
namespace {

constexpr const char* kStaging = ".cloudcoop-gen";
// Inside agent-controlled trees: no symlinks at all, never above the starting directory.
constexpr uint64_t kStrict = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
// Inside the host's read-only trees (e.g. /etc/ssl/private): symlinks resolve within the new root.
constexpr uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

Status Err(const char* call, const std::string& object, int err, std::string fix) {
  return LayerErrno(Layer::kMountns, call, object, err, std::move(fix));
}

int OpenAt2(int dirfd, const std::string& path, uint64_t flags, uint64_t resolve) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = resolve;
  return static_cast<int>(syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how));
}

std::string Rel(const std::string& abs) { return abs == "/" ? "." : abs.substr(1); }

bool IsUnder(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && StartsWith(path, dir) && path[dir.size()] == '/';
}

// The writable bind holding an inside path, and the path relative to its target.
const Bind* WritableBindOf(const SandboxPlan& plan, const std::string& inside, std::string* rel) {
  const Bind* best = nullptr;
  for (const auto& b : plan.binds) {
    if (b.writable && IsUnder(inside, b.target) &&
        (best == nullptr || b.target.size() > best->target.size())) {
      best = &b;
    }
  }
  if (best != nullptr) *rel = inside.substr(best->target.size() + 1);
  return best;
}

// --- parent: placeholders ----------------------------------------------------------------------

Status CreatePlaceholders(const Bind& bind, const std::string& rel, PathKind kind, uint32_t uid, uint32_t gid,
                          Prepared* prepared) {
  UniqueFd dir(open(bind.source.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return Err("open", bind.source, errno, "make sure the workspace exists");
  std::vector<std::string> parts = Split(rel, '/', true);
  std::string host = bind.source;
  for (size_t i = 0; i < parts.size(); ++i) {
    host = JoinPath(host, parts[i]);
    bool last = i + 1 == parts.size();
    struct stat st;
    if (fstatat(dir.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISLNK(st.st_mode)) {
        return LayerError(
            Layer::kMountns, StatusCode::kFailedPrecondition,
            "protected path " + host + " is a symbolic link, which could redirect the read-only bind",
            "remove the link (rm " + host + ") and start again");
      }
      if (!last && !S_ISDIR(st.st_mode)) {
        return LayerError(Layer::kMountns, StatusCode::kFailedPrecondition, host + " is not a directory",
                          "remove or rename " + host);
      }
    } else if (errno != ENOENT) {
      return Err("fstatat", host, errno, "check the workspace");
    } else if (!last || kind == PathKind::kDir) {
      // Missing ancestors belong to the sandbox user (it could have made them); a missing protected
      // directory is root's and empty.
      if (mkdirat(dir.get(), parts[i].c_str(), last ? 0555 : 0755) != 0)
        return Err("mkdirat", host, errno, "check the workspace");
      if (!last && fchownat(dir.get(), parts[i].c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
        return Err("fchownat", host, errno, "check the workspace");
      }
      prepared->created.push_back({host, true, !last});
    } else {
      int fd =
          openat(dir.get(), parts[i].c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
      if (fd < 0) return Err("openat(O_CREAT)", host, errno, "check the workspace");
      close(fd);
      prepared->created.push_back({host, false, false});
    }
    if (!last) {
      int next = openat(dir.get(), parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0) return Err("openat", host, errno, "check the workspace");
      dir.Reset(next);
    }
  }
  return OkStatus();
}

// --- child: mount helpers ----------------------------------------------------------------------

StatusOr<UniqueFd> CloneTree(int dirfd, const std::string& path, const std::string& what) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE;
  if (path.empty()) flags |= AT_EMPTY_PATH;
  int fd = open_tree(dirfd, path.c_str(), flags);
  if (fd < 0) return Err("open_tree", what, errno, "make sure " + what + " exists and is readable by root");
  return UniqueFd(fd);
}

Status SetAttr(int fd, uint64_t set, const std::string& what, bool recursive = true) {
  mount_attr attr{};
  attr.attr_set = set;
  if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) != 0) {
    return Err("mount_setattr", what, errno, "report this kernel version (mount_setattr needs Linux 5.12)");
  }
  return OkStatus();
}

Status Attach(int mount_fd, int target_fd, const std::string& what) {
  if (move_mount(mount_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    return Err("move_mount", what, errno, "check that the mount point exists and is not a symbolic link");
  }
  return OkStatus();
}

// A new filesystem instance (tmpfs, proc, devpts) as a detached mount.
StatusOr<UniqueFd> NewFs(const char* type, const std::vector<std::pair<std::string, std::string>>& options,
                         unsigned attrs, const std::string& what) {
  UniqueFd fs(fsopen(type, FSOPEN_CLOEXEC));
  if (!fs.valid()) return Err("fsopen", type, errno, "report this kernel configuration");
  for (const auto& [key, value] : options) {
    if (fsconfig(fs.get(), FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0) != 0) {
      return Err("fsconfig", std::string(type) + " " + key + "=" + value, errno, "report this");
    }
  }
  if (fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return Err("fsconfig(FSCONFIG_CMD_CREATE)", what, errno, "report this kernel configuration");
  }
  int mnt = fsmount(fs.get(), FSMOUNT_CLOEXEC, attrs);
  if (mnt < 0) return Err("fsmount", what, errno, "report this kernel configuration");
  return UniqueFd(mnt);
}

// Opens (creating as needed) the mount point for `rel` below `root`, without following symlinks.
StatusOr<UniqueFd> MountPoint(int root, const std::string& rel, bool file) {
  std::vector<std::string> parts = Split(rel, '/', true);
  UniqueFd dir(dup(root));
  fcntl(dir.get(), F_SETFD, FD_CLOEXEC);
  std::string walked;
  for (size_t i = 0; i < parts.size(); ++i) {
    walked += "/" + parts[i];
    bool last = i + 1 == parts.size();
    int flags = O_PATH | O_NOFOLLOW | O_CLOEXEC | ((last && file) ? 0 : O_DIRECTORY);
    int fd = openat(dir.get(), parts[i].c_str(), flags);
    if (fd < 0 && errno == ENOENT) {
      if (last && file) {
        int c =
            openat(dir.get(), parts[i].c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (c < 0 && errno != EEXIST) {
          return Err("openat(O_CREAT)", walked, errno,
                     "a mount point inside a read-only directory must already exist");
        }
        if (c >= 0) close(c);
      } else if (mkdirat(dir.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
        return Err("mkdirat", walked, errno, "a mount point inside a read-only directory must already exist");
      }
      fd = openat(dir.get(), parts[i].c_str(), flags);
    }
    if (fd < 0) {
      return Err("openat", walked, errno,
                 errno == ELOOP || errno == ENOTDIR ? "replace the symbolic link at " + walked
                                                    : "check the sandbox plan's paths");
    }
    dir.Reset(fd);
  }
  return dir;
}

Status WriteStaged(int root, const char* name, const std::string& content, mode_t mode) {
  std::string rel = std::string(kStaging) + "/" + name;
  UniqueFd fd(openat(root, rel.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd.valid()) return Err("openat(O_CREAT)", "/" + rel, errno, "report this");
  if (fchmod(fd.get(), mode) != 0) return Err("fchmod", "/" + rel, errno, "report this");
  return WriteAll(fd.get(), content, rel);
}

// Binds a staged node of the new root (generated file, empty mask) read-only over `target`
// (resolved inside the new root, following the host's own symlinks within it). Missing targets
// are skipped: there is nothing to replace or hide.
Status BindStagedOver(int root, const char* staged, const std::string& target) {
  UniqueFd where(OpenAt2(root, Rel(target), O_PATH, kInRoot));
  if (!where.valid()) {
    if (errno == ENOENT) return OkStatus();
    return Err("openat2", target, errno, "check the host's " + target);
  }
  CC_ASSIGN_OR_RETURN(UniqueFd src, CloneTree(root, std::string(kStaging) + "/" + staged, target));
  CC_RETURN_IF_ERROR(SetAttr(src.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, target));
  return Attach(src.get(), where.get(), target);
}

// Where the new root is attached before pivot_root: any real directory of the host; it is covered
// only inside this mount namespace, and only after every source has been opened.
StatusOr<UniqueFd> AttachPoint() {
  for (const char* dir : {"/tmp", "/mnt", "/run", "/media", "/srv"}) {
    int fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) return UniqueFd(fd);
  }
  return LayerError(Layer::kMountns, StatusCode::kFailedPrecondition,
                    "no directory to attach the new root to (/tmp, /mnt, /run, /media, /srv)", "create /mnt");
}

// Every mount source, opened before anything is covered.
struct Sources {
  std::vector<UniqueFd> binds;  // parallel to plan.binds
  UniqueFd home;
  std::vector<std::pair<std::string, UniqueFd>> pins;     // inside path -> writable clone
  std::vector<std::pair<std::string, UniqueFd>> protect;  // inside path -> read-only clone
};

// A path under a writable bind, opened in the host tree without following any symlink.
StatusOr<UniqueFd> OpenUnderBind(const Bind& bind, const std::string& rel) {
  UniqueFd base(open(bind.source.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!base.valid()) return Err("open", bind.source, errno, "make sure the workspace exists");
  int fd = OpenAt2(base.get(), rel, O_PATH | O_NOFOLLOW, kStrict);
  if (fd < 0) {
    return Err("openat2(RESOLVE_NO_SYMLINKS)", JoinPath(bind.source, rel), errno,
               errno == ELOOP ? "a symbolic link is on the way: remove it and start again"
                              : "the protected path disappeared: start again");
  }
  return UniqueFd(fd);
}

Status OpenSources(const SandboxPlan& plan, Sources* src) {
  for (const auto& b : plan.binds) {
    CC_ASSIGN_OR_RETURN(UniqueFd fd, CloneTree(AT_FDCWD, b.source, b.source));
    bool system = !b.writable && b.source == b.target;
    uint64_t attrs = b.writable ? (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
                                : (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | (system ? MOUNT_ATTR_NOSUID : 0));
    CC_RETURN_IF_ERROR(SetAttr(fd.get(), attrs, b.source));
    src->binds.push_back(std::move(fd));
  }
  if (!plan.home_source.empty()) {
    CC_ASSIGN_OR_RETURN(src->home, CloneTree(AT_FDCWD, plan.home_source, plan.home_source));
    CC_RETURN_IF_ERROR(SetAttr(src->home.get(), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, plan.home_source));
  }
  // Protected paths: ancestors pinned (writable, so the agent keeps using them), then the paths.
  std::set<std::string> ancestors;
  for (const auto& p : plan.protected_paths) {
    std::string rel;
    const Bind* b = WritableBindOf(plan, p.path, &rel);
    if (b == nullptr) continue;
    std::string walk = b->target;
    auto parts = Split(rel, '/', true);
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      walk += "/" + parts[i];
      ancestors.insert(walk);
    }
  }
  std::vector<std::string> ordered(ancestors.begin(), ancestors.end());
  std::stable_sort(ordered.begin(), ordered.end(), [](const std::string& a, const std::string& b) {
    return std::count(a.begin(), a.end(), '/') < std::count(b.begin(), b.end(), '/');
  });
  for (const auto& a : ordered) {
    std::string rel;
    const Bind* b = WritableBindOf(plan, a, &rel);
    CC_ASSIGN_OR_RETURN(UniqueFd at, OpenUnderBind(*b, rel));
    CC_ASSIGN_OR_RETURN(UniqueFd fd, CloneTree(at.get(), "", a));
    CC_RETURN_IF_ERROR(SetAttr(fd.get(), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, a));
    src->pins.emplace_back(a, std::move(fd));
  }
  for (const auto& p : plan.protected_paths) {
    std::string rel;
    const Bind* b = WritableBindOf(plan, p.path, &rel);
    if (b == nullptr) continue;
    CC_ASSIGN_OR_RETURN(UniqueFd at, OpenUnderBind(*b, rel));
    CC_ASSIGN_OR_RETURN(UniqueFd fd, CloneTree(at.get(), "", p.path));
    CC_RETURN_IF_ERROR(SetAttr(fd.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, p.path));
    src->protect.emplace_back(p.path, std::move(fd));
  }
  return OkStatus();
}

Status MountDev(int root, const SandboxPlan& plan) {
  CC_ASSIGN_OR_RETURN(UniqueFd dev, NewFs("tmpfs", {{"mode", "0755"}, {"size", "64k"}},
                                          MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "/dev"));
  CC_ASSIGN_OR_RETURN(UniqueFd at, MountPoint(root, "dev", false));
  CC_RETURN_IF_ERROR(Attach(dev.get(), at.get(), "/dev"));
  // The init is still root of the host's user namespace: it makes the device nodes (one system
  // call each, where a bind of the host's node takes four), on this tmpfs that allows them and
  // is read-only before anything else runs.
  struct Node {
    const char* name;
    unsigned major, minor;
  };
  for (const Node& n : {Node{"null", 1, 3}, Node{"zero", 1, 5}, Node{"full", 1, 7}, Node{"random", 1, 8},
                        Node{"urandom", 1, 9}, Node{"tty", 5, 0}}) {
    if (mknodat(dev.get(), n.name, S_IFCHR | 0666, makedev(n.major, n.minor)) != 0 ||
        fchmodat(dev.get(), n.name, 0666, 0) != 0) {  // the umask applied to mknodat
      return Err("mknodat", std::string("/dev/") + n.name, errno, "report this");
    }
  }
  CC_ASSIGN_OR_RETURN(UniqueFd pts, NewFs("devpts", {{"ptmxmode", "0666"}, {"mode", "0620"}},
                                          MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "/dev/pts"));
  CC_ASSIGN_OR_RETURN(UniqueFd pts_at, MountPoint(dev.get(), "pts", false));
  CC_RETURN_IF_ERROR(Attach(pts.get(), pts_at.get(), "/dev/pts"));
  CC_ASSIGN_OR_RETURN(UniqueFd shm,
                      NewFs("tmpfs", {{"mode", "1777"}, {"size", std::to_string(plan.tmp_size_bytes)}},
                            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "/dev/shm"));
  CC_ASSIGN_OR_RETURN(UniqueFd shm_at, MountPoint(dev.get(), "shm", false));
  CC_RETURN_IF_ERROR(Attach(shm.get(), shm_at.get(), "/dev/shm"));
  for (const auto& [link, to] :
       std::vector<std::pair<const char*, const char*>>{{"ptmx", "pts/ptmx"},
                                                        {"fd", "/proc/self/fd"},
                                                        {"stdin", "/proc/self/fd/0"},
                                                        {"stdout", "/proc/self/fd/1"},
                                                        {"stderr", "/proc/self/fd/2"}}) {
    if (symlinkat(to, dev.get(), link) != 0)
      return Err("symlinkat", std::string("/dev/") + link, errno, "report this");
  }
  return SetAttr(dev.get(), MOUNT_ATTR_RDONLY, "/dev", /*recursive=*/false);
}

Status MountSpecials(int root, const SandboxPlan& plan, uint32_t uid, uint32_t gid, Sources& src) {
  // /proc of the sandbox's own pid namespace (fsopen takes the caller's, and the init is pid 1).
  CC_ASSIGN_OR_RETURN(UniqueFd proc,
                      NewFs("proc", {}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, "/proc"));
  CC_ASSIGN_OR_RETURN(UniqueFd proc_at, MountPoint(root, "proc", false));
  CC_RETURN_IF_ERROR(Attach(proc.get(), proc_at.get(), "/proc"));
  CC_RETURN_IF_ERROR(MountDev(root, plan));
  std::string size = std::to_string(plan.tmp_size_bytes);
  CC_ASSIGN_OR_RETURN(UniqueFd tmp, NewFs("tmpfs", {{"mode", "1777"}, {"size", size}},
                                          MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "/tmp"));
  CC_ASSIGN_OR_RETURN(UniqueFd tmp_at, MountPoint(root, "tmp", false));
  CC_RETURN_IF_ERROR(Attach(tmp.get(), tmp_at.get(), "/tmp"));
  CC_ASSIGN_OR_RETURN(UniqueFd home_at, MountPoint(root, Rel(plan.home), false));
  if (src.home.valid()) return Attach(src.home.get(), home_at.get(), plan.home);
  CC_ASSIGN_OR_RETURN(
      UniqueFd home,
      NewFs("tmpfs",
            {{"mode", "0700"}, {"size", size}, {"uid", std::to_string(uid)}, {"gid", std::to_string(gid)}},
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, plan.home));
  return Attach(home.get(), home_at.get(), plan.home);
}

// Egress: the sandbox's resolv.conf (its DNS relay) over /etc/resolv.conf. That is often a symlink
// into /run (systemd-resolved, resolvconf), which the sandbox does not have: its target is then
// created in the new root first. Failing to place it fails the start (no silent loss of DNS).
Status MountResolvConf(int root, const std::string& content) {
  CC_RETURN_IF_ERROR(WriteStaged(root, "resolv.conf", content, 0644));
  char link[PATH_MAX];
  ssize_t n = readlinkat(root, "etc/resolv.conf", link, sizeof link - 1);
  if (n > 0) {
    link[n] = '\0';
    std::vector<std::string> parts;
    std::string path = link[0] == '/' ? std::string(link) : "/etc/" + std::string(link);
    for (const auto& p : Split(path, '/', true)) {
      if (p == ".") continue;
      if (p == "..") {
        if (!parts.empty()) parts.pop_back();
        continue;
      }
      parts.push_back(p);
    }
    std::string target = "/" + Join(parts, "/");
    UniqueFd exists(OpenAt2(root, Rel(target), O_PATH, kInRoot));
    if (!exists.valid() && errno == ENOENT) CC_RETURN_IF_ERROR(MountPoint(root, Rel(target), true).status());
  }
  CC_RETURN_IF_ERROR(BindStagedOver(root, "resolv.conf", "/etc/resolv.conf"));
  // Read back through the path the resolver will use.
  UniqueFd placed(OpenAt2(root, "etc/resolv.conf", O_RDONLY | O_CLOEXEC, kInRoot));
  std::string got(content.size() + 1, '\0');
  ssize_t n_read = placed.valid() ? read(placed.get(), got.data(), got.size()) : -1;
  if (n_read != static_cast<ssize_t>(content.size()) || got.compare(0, content.size(), content) != 0) {
    return LayerVerifyError(Layer::kMountns, "/etc/resolv.conf in the sandbox is not its DNS relay's",
                            "make the host's /etc/resolv.conf a regular file or a symbolic link to a path "
                            "that can be created, or pass --net none");
  }
  unlinkat(root, (std::string(kStaging) + "/resolv.conf").c_str(), 0);
  return OkStatus();
}

Status MountGenerated(int root, const SandboxPlan& plan, const GeneratedFiles& files) {
  if (mkdirat(root, kStaging, 0755) != 0) return Err("mkdirat", kStaging, errno, "report this");
  CC_RETURN_IF_ERROR(WriteStaged(root, "passwd", files.passwd, 0644));
  CC_RETURN_IF_ERROR(WriteStaged(root, "group", files.group, 0644));
  CC_RETURN_IF_ERROR(WriteStaged(root, "hostname", files.hostname, 0644));
  CC_RETURN_IF_ERROR(WriteStaged(root, "hosts", files.hosts, 0644));
  CC_RETURN_IF_ERROR(WriteStaged(root, "empty", "", 0));
  std::string empty_dir = std::string(kStaging) + "/empty-dir";
  if (mkdirat(root, empty_dir.c_str(), 0) != 0) return Err("mkdirat", empty_dir, errno, "report this");
  for (const char* name : {"passwd", "group", "hostname", "hosts"}) {
    CC_RETURN_IF_ERROR(BindStagedOver(root, name, std::string("/etc/") + name));
  }
  if (!files.resolv_conf.empty()) CC_RETURN_IF_ERROR(MountResolvConf(root, files.resolv_conf));
  for (const auto& m : plan.masked) {
    struct stat st;
    UniqueFd at(OpenAt2(root, Rel(m), O_PATH, kInRoot));
    if (!at.valid() || fstat(at.get(), &st) != 0) continue;  // gone since planning: nothing to hide
    CC_RETURN_IF_ERROR(BindStagedOver(root, S_ISDIR(st.st_mode) ? "empty-dir" : "empty", m));
  }
  // The staged nodes stay reachable through their mounts; their names go away.
  for (const char* name : {"passwd", "group", "hostname", "hosts", "empty"}) {
    unlinkat(root, (std::string(kStaging) + "/" + name).c_str(), 0);
  }
  unlinkat(root, empty_dir.c_str(), AT_REMOVEDIR);
  if (unlinkat(root, kStaging, AT_REMOVEDIR) != 0) return Err("rmdir", kStaging, errno, "report this");
  return OkStatus();
}

Status MountBinds(int root, const SandboxPlan& plan, Sources& src) {
  for (size_t i = 0; i < plan.binds.size(); ++i) {
    CC_ASSIGN_OR_RETURN(UniqueFd at, MountPoint(root, Rel(plan.binds[i].target), false));
    CC_RETURN_IF_ERROR(Attach(src.binds[i].get(), at.get(), plan.binds[i].target));
  }
  for (const auto& [path, fd] : src.pins) {
    UniqueFd at(OpenAt2(root, Rel(path), O_PATH | O_DIRECTORY | O_NOFOLLOW, kStrict));
    if (!at.valid())
      return Err("openat2", path, errno, "remove any symbolic link on the way and start again");
    CC_RETURN_IF_ERROR(Attach(fd.get(), at.get(), path + " (pin)"));
  }
  for (const auto& [path, fd] : src.protect) {
    UniqueFd at(OpenAt2(root, Rel(path), O_PATH | O_NOFOLLOW, kStrict));
    if (!at.valid())
      return Err("openat2", path, errno, "remove any symbolic link on the way and start again");
    CC_RETURN_IF_ERROR(Attach(fd.get(), at.get(), path + " (protected)"));
  }
  return OkStatus();
}

Status MakeSkeleton(int root, const SandboxPlan& plan) {
  for (const auto& s : plan.symlinks) {
    if (symlinkat(s.target.c_str(), root, Rel(s.path).c_str()) != 0)
      return Err("symlinkat", s.path, errno, "report this");
  }
  for (const char* dir : {"run", "var"}) {
    if (mkdirat(root, dir, 0755) != 0 && errno != EEXIST) return Err("mkdirat", dir, errno, "report this");
  }
  if (symlinkat("/tmp", root, "var/tmp") != 0 && errno != EEXIST)
    return Err("symlinkat", "/var/tmp", errno, "report this");
  return OkStatus();
}

Status PivotInto(int root) {
  if (fchdir(root) != 0) return Err("fchdir", "new root", errno, "report this");
  if (syscall(SYS_pivot_root, ".", ".") != 0) return Err("pivot_root", "new root", errno, "report this");
  // The old root is now stacked on top of the new one: detach it.
  if (umount2(".", MNT_DETACH) != 0) return Err("umount2", "old root", errno, "report this");
  if (chdir("/") != 0) return Err("chdir", "/", errno, "report this");
  return OkStatus();
}

}  // namespace

StatusOr<Prepared> PrepareInParent(const SandboxPlan& plan, uint32_t uid, uint32_t gid) {
  Prepared prepared;
  for (const auto& p : plan.protected_paths) {
    std::string rel;
    const Bind* b = WritableBindOf(plan, p.path, &rel);
    if (b == nullptr) continue;
    Status s = CreatePlaceholders(*b, rel, p.kind, uid, gid, &prepared);
    if (!s.ok()) {
      CleanupInParent(prepared);
      return s;
    }
  }
  return prepared;
}

void CleanupInParent(const Prepared& prepared) {
  for (auto it = prepared.created.rbegin(); it != prepared.created.rend(); ++it) {
    UniqueFd parent(open(Dirname(it->host_path).c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!parent.valid()) continue;
    std::string name = Basename(it->host_path);
    struct stat st;
    if (fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (it->dir && S_ISDIR(st.st_mode)) {
      unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR);  // only succeeds when empty
    } else if (!it->dir && S_ISREG(st.st_mode) && st.st_uid == 0 && st.st_size == 0) {
      unlinkat(parent.get(), name.c_str(), 0);
    }
  }
}

Status ApplyInChild(const SandboxPlan& plan, const GeneratedFiles& files, uint32_t uid, uint32_t gid) {
  // Nothing mounted here may propagate back to the host.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return Err("mount(MS_REC|MS_PRIVATE)", "/", errno, "report this");
  }
  Sources src;
  CC_RETURN_IF_ERROR(OpenSources(plan, &src));
  CC_ASSIGN_OR_RETURN(UniqueFd root, NewFs("tmpfs", {{"mode", "0755"}, {"size", "4m"}},
                                           MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "new root"));
  CC_ASSIGN_OR_RETURN(UniqueFd attach_point, AttachPoint());
  CC_RETURN_IF_ERROR(Attach(root.get(), attach_point.get(), "new root"));
  CC_RETURN_IF_ERROR(MakeSkeleton(root.get(), plan));
  CC_RETURN_IF_ERROR(MountSpecials(root.get(), plan, uid, gid, src));
  CC_RETURN_IF_ERROR(MountBinds(root.get(), plan, src));
  CC_RETURN_IF_ERROR(MountGenerated(root.get(), plan, files));
  CC_RETURN_IF_ERROR(SetAttr(root.get(), MOUNT_ATTR_RDONLY, "new root", /*recursive=*/false));
  return PivotInto(root.get());
}

Status VerifyInChild(const SandboxPlan& plan) {
  auto readonly = [](const std::string& path, bool* ro) {
    struct statvfs vfs;
    if (statvfs(path.c_str(), &vfs) != 0) return false;
    *ro = (vfs.f_flag & ST_RDONLY) != 0;
    return true;
  };
  bool ro = false;
  if (!readonly("/", &ro) || !ro) {
    return LayerVerifyError(Layer::kMountns, "the new root is not read-only", "report this");
  }
  for (const auto& b : plan.binds) {
    if (!readonly(b.target, &ro) || ro == b.writable) {
      return LayerVerifyError(Layer::kMountns,
                              b.target + " is not mounted " + (b.writable ? "read-write" : "read-only"),
                              "report this");
    }
  }
  for (const auto& p : plan.protected_paths) {
    std::string rel;
    if (WritableBindOf(plan, p.path, &rel) == nullptr) continue;
    if (!readonly(p.path, &ro) || !ro) {
      return LayerVerifyError(Layer::kMountns, "protected path " + p.path + " is not read-only",
                              "report this");
    }
  }
  for (const auto& m : plan.masked) {
    struct stat st;
    if (lstat(m.c_str(), &st) == 0 && !S_ISLNK(st.st_mode) && (st.st_size != 0 && !S_ISDIR(st.st_mode))) {
      return LayerVerifyError(Layer::kMountns, m + " is not masked", "report this");
    }
  }
  struct stat st;
  if (stat("/proc/self/ns/pid", &st) != 0) {
    return LayerVerifyError(Layer::kMountns, "/proc is not mounted in the sandbox", "report this");
  }
  return OkStatus();
}

}  // namespace cloudcoop::sandbox::mountns
