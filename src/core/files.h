// File helpers: RAII descriptors, whole-file reads, atomic writes, private directories, locks.
//
// Everything cloudcoop writes goes through WriteFileAtomic: a temp file in the same directory,
// fsync, rename over the target, fsync of the directory. Readers see the old or the new content,
// never a torn file. Files are 0600 and directories 0700 unless a caller says otherwise.
#ifndef CLOUDCOOP_CORE_FILES_H_
#define CLOUDCOOP_CORE_FILES_H_

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cloudcoop {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

StatusOr<std::string> ReadFile(const std::string& path);
// Writes `data` to `path` atomically with the given mode (0600 by default).
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0600);
// Writes all of `data` to `fd`, retrying short writes and EINTR.
Status WriteAll(int fd, std::string_view data, std::string_view what);
// Replaces a small file's content in place: written over the old bytes at offset 0, then cut to
// length only if the old content was longer. Neither a truncation to zero first (on ext4 it frees
// the block: about 0.4 ms) nor a rename over the file (it starts writeback). A crash can tear the
// write: for records their readers can recover from (a counter, a lock file's owner line).
Status RewriteInPlace(int fd, std::string_view content, std::string_view what);
// mkdir -p; directories it creates get `mode` (0700 by default). Existing ones are left as they are.
Status MakeDirs(const std::string& path, mode_t mode = 0700);
bool PathExists(const std::string& path);
bool IsDirectory(const std::string& path);
// Removes a file or a whole tree (like rm -rf) without following symlinks. Missing is not an error.
Status RemoveTree(const std::string& path);
// Entries of a directory, sorted, without "." and "..".
StatusOr<std::vector<std::string>> ListDir(const std::string& path);
std::string JoinPath(std::string_view a, std::string_view b);
std::string Dirname(std::string_view path);
std::string Basename(std::string_view path);

// An exclusive advisory lock (flock) on a lock file, held until destruction. Blocks until the lock
// is free; concurrent cloudcoop commands serialise on it.
class FileLock {
 public:
  static StatusOr<FileLock> Acquire(const std::string& path);
  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace cloudcoop

#endif  // CLOUDCOOP_CORE_FILES_H_
