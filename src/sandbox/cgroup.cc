// Shared cgroup code: file access, layout detection and the back-end factory.
#include "sandbox/cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "core/files.h"
#include "core/strings.h"
#include "sandbox/cgroup_backends.h"
#include "sandbox/layers.h"

namespace cloudcoop::sandbox::cgroup {

Status CgroupFs::MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return LayerErrno(
        Layer::kCgroup, "mkdir", path, errno,
        errno == EACCES || errno == EPERM || errno == EROFS
            ? "run as root on a host where cgroupfs is writable (not inside a read-only container)"
            : "check that the cgroup controller is mounted");
  }
  return OkStatus();
}

Status CgroupFs::RemoveDir(const std::string& path) {
  if (rmdir(path.c_str()) != 0 && errno != ENOENT) {
    return LayerErrno(
        Layer::kCgroup, "rmdir", path, errno,
        "a process is still in the group: `cloudcoop check` lists it; kill it and remove the directory");
  }
  return OkStatus();
}

Status CgroupFs::Write(const std::string& path, const std::string& value) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return LayerErrno(Layer::kCgroup, "open", path, errno,
                      errno == ENOENT ? "enable the controller for this group (v2: cgroup.subtree_control)"
                                      : "run as root");
  }
  ssize_t n = write(fd.get(), value.data(), value.size());
  if (n != static_cast<ssize_t>(value.size())) {
    return LayerErrno(Layer::kCgroup, "write", path + " = " + value, n < 0 ? errno : EIO,
                      "check the value against the kernel's limits for this controller");
  }
  return OkStatus();
}

StatusOr<std::string> CgroupFs::Read(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    return LayerError(Layer::kCgroup, text.status().code(), "read " + path + ": " + text.status().message(),
                      "check that the group still exists");
  }
  return text;
}

bool CgroupFs::Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

CgroupFs& RealCgroupFs() {
  static CgroupFs fs;
  return fs;
}

const std::vector<std::string>& RequiredV1Controllers() {
  static const std::vector<std::string> controllers = {"memory", "pids", "cpu", "cpuacct", "freezer"};
  return controllers;
}

std::map<std::string, std::string> ParseV1Mounts(const std::string& mountinfo, const std::string& under) {
  std::map<std::string, std::string> out;
  for (const auto& line : Split(mountinfo, '\n', true)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::vector<std::string> pre = Split(line.substr(0, dash), ' ', true);
    std::vector<std::string> post = Split(line.substr(dash + 3), ' ', true);
    if (pre.size() < 5 || post.size() < 3 || post[0] != "cgroup") continue;
    const std::string& mount_point = pre[4];
    if (!under.empty() && !StartsWith(mount_point, under + "/")) continue;
    for (const auto& opt : Split(post[2], ',', true)) {
      for (const auto& c : RequiredV1Controllers()) {
        if (opt == c && !out.count(c)) out[c] = mount_point;
      }
    }
  }
  return out;
}

StatusOr<Layout> DetectLayout(const std::string& root_in) {
  std::string root = root_in.empty() ? "/sys/fs/cgroup" : root_in;
  struct statfs fs;
  if (statfs(root.c_str(), &fs) != 0) {
    return LayerErrno(Layer::kCgroup, "statfs", root, errno, "mount cgroupfs at /sys/fs/cgroup");
  }
  std::string v2_missing;
  if (fs.f_type == CGROUP2_SUPER_MAGIC) {
    auto controllers = ReadFile(JoinPath(root, "cgroup.controllers"));
    if (controllers.ok()) {
      std::vector<std::string> have = Split(std::string(Trim(*controllers)), ' ', true);
      for (const char* need : {"cpu", "memory", "pids"}) {
        if (std::find(have.begin(), have.end(), need) == have.end()) v2_missing += std::string(" ") + need;
      }
      if (v2_missing.empty()) {
        Layout layout;
        layout.version = 2;
        layout.unified = root;
        return layout;
      }
    }
  } else if (fs.f_type != TMPFS_MAGIC && fs.f_type != CGROUP_SUPER_MAGIC) {
    return LayerError(
        Layer::kCgroup, StatusCode::kFailedPrecondition,
        root + " is not a cgroup filesystem (statfs magic " + std::to_string(fs.f_type) + ")",
        "point the sandbox at the host's cgroupfs (/sys/fs/cgroup), or pass --allow-degraded cgroup");
  }
  auto mountinfo = ReadFile("/proc/self/mountinfo");
  if (!mountinfo.ok()) {
    return LayerError(Layer::kCgroup, StatusCode::kFailedPrecondition, mountinfo.status().message(),
                      "mount /proc");
  }
  Layout layout;
  layout.version = 1;
  layout.controllers = ParseV1Mounts(*mountinfo, root);
  std::string missing;
  for (const auto& c : RequiredV1Controllers()) {
    if (!layout.controllers.count(c)) missing += " " + c;
  }
  if (!missing.empty()) {
    return LayerError(
        Layer::kCgroup, StatusCode::kFailedPrecondition,
        "no usable cgroup controllers under " + root + ": cgroup v2 lacks" +
            (v2_missing.empty() ? std::string(" a cgroup2 mount") : v2_missing) + ", cgroup v1 lacks" +
            missing,
        "enable the cpu, memory and pids controllers (v2: cgroup.subtree_control; v1: mount the "
        "hierarchies), or pass --allow-degraded cgroup");
  }
  return layout;
}

std::unique_ptr<Cgroup> Open(const Layout& layout, const std::string& parent, const std::string& name,
                             CgroupFs& fs) {
  if (layout.version == 2) return NewV2(JoinPath(JoinPath(layout.unified, parent), name), fs, false);
  std::map<std::string, std::string> paths;
  for (const auto& [controller, mount] : layout.controllers) {
    paths[controller] = JoinPath(JoinPath(mount, parent), name);
  }
  return NewV1(std::move(paths), fs, false);
}

std::unique_ptr<Cgroup> OpenFromPaths(int version, const std::map<std::string, std::string>& paths,
                                      CgroupFs& fs) {
  if (version == 2) {
    auto it = paths.find("unified");
    return it == paths.end() ? nullptr : NewV2(it->second, fs, true);
  }
  return NewV1(paths, fs, true);
}

Status VerifyProcCgroup(const Cgroup& group, pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/cgroup";
  auto text = ReadFile(path);
  if (!text.ok())
    return LayerError(Layer::kCgroup, text.status().code(), text.status().message(), "report this");
  for (const auto& [controller, dir] : group.Paths()) {
    bool found = false;
    for (const auto& line : Split(*text, '\n', true)) {
      auto parts = Split(line, ':');
      if (parts.size() < 3 || parts[2] == "/") continue;
      bool match = controller == "unified" && parts[0] == "0";
      for (const auto& c : Split(parts[1], ',', true)) match = match || c == controller;
      if (match && EndsWith(dir, parts[2])) found = true;
    }
    if (!found) {
      return LayerVerifyError(Layer::kCgroup, path + " does not show " + dir, "report this");
    }
  }
  return OkStatus();
}

Status JoinSelf(const std::vector<int>& fds, pid_t self_pid) {
  for (int fd : fds) {
    if (write(fd, "0", 1) != 1) {
      return LayerErrno(Layer::kCgroup, "write", "0 > tasks (join the sandbox's cgroup)", errno,
                        "check that the sandbox's cgroup still exists");
    }
  }
  std::string want = std::to_string(self_pid);
  for (int fd : fds) {
    char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n < 0) return LayerErrno(Layer::kCgroup, "pread", "tasks (read-back)", errno, "report this");
    auto lines = Split(std::string_view(buf, static_cast<size_t>(n)), '\n', true);
    if (std::find(lines.begin(), lines.end(), want) == lines.end()) {
      return LayerVerifyError(Layer::kCgroup, "the init is not listed in its cgroup after joining",
                              "report this");
    }
  }
  return OkStatus();
}

uint64_t CpuQuotaMicros(double cpus, uint64_t period_us) {
  double q = std::ceil(cpus * static_cast<double>(period_us));
  return q < 1000 ? 1000 : static_cast<uint64_t>(q);  // the kernel's minimum quota is 1 ms
}

std::optional<uint64_t> FindKeyedValue(std::string_view text, std::string_view key) {
  // Lines of exactly two space-separated words; the first whose key matches and whose value is a
  // count. Views, no copies (the idle supervisor's tick runs this).
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    std::string_view words[3];
    int n = 0;
    while (n < 3) {
      size_t b = line.find_first_not_of(' ');
      if (b == std::string_view::npos) break;
      line.remove_prefix(b);
      size_t e = line.find(' ');
      words[n++] = line.substr(0, e);
      line = e == std::string_view::npos ? std::string_view() : line.substr(e);
    }
    if (n == 2 && words[0] == key) {
      auto v = ParseInt64(words[1]);
      if (v.has_value() && *v >= 0) return static_cast<uint64_t>(*v);
    }
  }
  return std::nullopt;
}

StatusOr<uint64_t> ParseKeyedValue(const std::string& text, const std::string& key) {
  if (auto v = FindKeyedValue(text, key)) return *v;
  return NotFoundError("no \"" + key + "\" line");
}

StatusOr<LimitHitCounters> LimitHitCounters::Open(const Cgroup& group) {
  Cgroup::LimitHitFiles files = group.LimitHitPaths();
  LimitHitCounters c;
  c.oom_.Reset(open(files.oom.c_str(), O_RDONLY | O_CLOEXEC));
  if (!c.oom_.valid())
    return LayerErrno(Layer::kCgroup, "open", files.oom, errno, "check the sandbox's cgroup");
  c.pids_.Reset(open(files.pids.c_str(), O_RDONLY | O_CLOEXEC));
  if (!c.pids_.valid())
    return LayerErrno(Layer::kCgroup, "open", files.pids, errno, "check the sandbox's cgroup");
  return c;
}

bool LimitHitCounters::Read(uint64_t* oom_kills, uint64_t* pids_max_hits) const {
  char buf[1024];
  // pread at 0: cgroupfs generates the file again for each read from its start.
  ssize_t n = pread(oom_.get(), buf, sizeof buf, 0);
  if (n < 0) return false;
  *oom_kills = FindKeyedValue(std::string_view(buf, static_cast<size_t>(n)), "oom_kill").value_or(0);
  n = pread(pids_.get(), buf, sizeof buf, 0);
  if (n < 0) return false;
  *pids_max_hits = FindKeyedValue(std::string_view(buf, static_cast<size_t>(n)), "max").value_or(0);
  return true;
}

}  // namespace cloudcoop::sandbox::cgroup

namespace cloudcoop::sandbox::cgroup {

bool HostHasSwap() {
  auto meminfo = ReadFile("/proc/meminfo");
  if (!meminfo.ok()) return true;  // unknown: assume the worst
  for (const auto& line : Split(*meminfo, '\n', true)) {
    if (StartsWith(line, "SwapTotal:")) {
      auto parts = Split(line, ' ', true);
      return parts.size() >= 2 && parts[1] != "0";
    }
  }
  return true;
}

bool PollUntil(int limit_ms, const std::function<bool()>& done) {
  for (int i = 0; i <= limit_ms; ++i) {
    if (done()) return true;
    usleep(1000);
  }
  return false;
}

Status UnlessRemoved(CgroupFs& fs, const Status& failed, const std::string& dir) {
  return failed.ok() || !fs.Exists(dir) ? OkStatus() : failed;
}

}  // namespace cloudcoop::sandbox::cgroup
