#include "core/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

namespace cloudcoop {

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

StatusOr<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "open " + path + " for reading");
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status WriteAll(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "write " + std::string(what));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

Status RewriteInPlace(int fd, std::string_view content, std::string_view what) {
  if (pwrite(fd, content.data(), content.size(), 0) != static_cast<ssize_t>(content.size())) {
    return ErrnoError(errno, "write " + std::string(what));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) return ErrnoError(errno, "stat " + std::string(what));
  if (st.st_size > static_cast<off_t>(content.size()) &&
      ftruncate(fd, static_cast<off_t>(content.size())) != 0) {
    return ErrnoError(errno, "truncate " + std::string(what));
  }
  return OkStatus();
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (!b.empty() && b.front() == '/') return std::string(b);
  std::string out(a);
  if (out.back() != '/') out += '/';
  out += b;
  return out;
}

std::string Dirname(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string Basename(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string dir = Dirname(path);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string tmp = JoinPath(dir, "." + Basename(path) + ".tmp." + std::to_string(getpid()) + "." +
                                      std::to_string(rng() % 1000000));
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return ErrnoError(errno, "create temporary file " + tmp);
  // The umask may have narrowed the mode; set exactly what was asked.
  if (fchmod(fd.get(), mode) != 0) {
    Status st = ErrnoError(errno, "chmod " + tmp);
    unlink(tmp.c_str());
    return st;
  }
  Status st = WriteAll(fd.get(), data, tmp);
  if (st.ok() && fsync(fd.get()) != 0) st = ErrnoError(errno, "fsync " + tmp);
  if (st.ok() && close(fd.Release()) != 0) st = ErrnoError(errno, "close " + tmp);
  if (st.ok() && rename(tmp.c_str(), path.c_str()) != 0) st = ErrnoError(errno, "rename " + tmp + " to " + path);
  if (!st.ok()) {
    unlink(tmp.c_str());
    return st;
  }
  UniqueFd dfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.valid()) fsync(dfd.get());
  return OkStatus();
}

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return InvalidArgumentError("create directory: empty path");
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return OkStatus();
    return FailedPreconditionError("create directory " + path + ": a file of that name exists")
        .WithFix("remove or rename " + path);
  }
  std::string parent = Dirname(path);
  if (parent != path) CC_RETURN_IF_ERROR(MakeDirs(parent, mode));
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return ErrnoError(errno, "create directory " + path);
  }
  return OkStatus();
}

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

namespace {
Status RemoveAt(int dirfd, const std::string& name, const std::string& shown) {
  struct stat st;
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return OkStatus();
    return ErrnoError(errno, "stat " + shown);
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, "open directory " + shown);
    DIR* d = fdopendir(fd);
    if (d == nullptr) {
      close(fd);
      return ErrnoError(errno, "read directory " + shown);
    }
    std::vector<std::string> names;
    while (struct dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    Status result;
    for (const auto& n : names) {
      Status s = RemoveAt(::dirfd(d), n, shown + "/" + n);
      if (!s.ok() && result.ok()) result = s;
    }
    closedir(d);
    CC_RETURN_IF_ERROR(result);
    if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return ErrnoError(errno, "remove directory " + shown);
    }
    return OkStatus();
  }
  if (unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) return ErrnoError(errno, "remove " + shown);
  return OkStatus();
}
}  // namespace

Status RemoveTree(const std::string& path) { return RemoveAt(AT_FDCWD, path, path); }

StatusOr<std::vector<std::string>> ListDir(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return ErrnoError(errno, "list directory " + path);
  std::vector<std::string> names;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

StatusOr<FileLock> FileLock::Acquire(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return ErrnoError(errno, "open lock file " + path);
  while (flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return ErrnoError(errno, "lock " + path);
  }
  return FileLock(std::move(fd));
}

}  // namespace cloudcoop
