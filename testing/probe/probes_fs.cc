// Probes: filesystem, devices, host sockets and secrets (containment-tests.md rows 6, 7, 16, 18, 20).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <sstream>

#include "testing/probe/probe.h"

namespace cloudcoop::probe {
namespace {

// Not visible at all (ENOENT), or visible but unreadable (EACCES).
Outcome Invisible(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0) return Reachable(0, path + " is visible");
  return Classify(-1, errno, {ENOENT, EACCES}, path);
}

// Readable only as empty: masked (empty, mode 0) or absent.
Outcome Unreadable(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Classify(-1, errno, {ENOENT, EACCES}, path);
  char c;
  ssize_t n = read(fd, &c, 1);
  close(fd);
  return n > 0 ? Reachable(0, path + " is readable") : Blocked(0, path + " reads as empty");
}

Outcome CreateIn(const std::string& dir) {
  std::string path = dir + "/.cloudcoop-probe-" + std::to_string(getpid());
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    close(fd);
    unlink(path.c_str());
    return Reachable(0, "created " + path);
  }
  return Classify(-1, errno, {EROFS, EACCES, EPERM}, "create in " + dir);
}

Outcome MustCreateIn(const std::string& dir) {
  std::string path = dir + "/.cloudcoop-probe-" + std::to_string(getpid());
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Broken(errno, "cannot create in " + dir);
  close(fd);
  unlink(path.c_str());
  return Ok("created and removed a file in " + dir);
}

}  // namespace

CC_PROBE(sibling_workspace, "filesystem", "open another agent's workspace") {
  std::string p = ctx.Arg("sibling");
  return p.empty() ? Skipped("no --arg sibling=PATH") : Invisible(p);
}

CC_PROBE(operator_credentials, "filesystem", "open the operator's gcloud credentials and /root") {
  std::string home = ctx.Arg("operator_home");
  if (!home.empty()) {
    Outcome o = Invisible(home + "/.config/gcloud");
    if (o.result != Result::kBlocked) return o;
  }
  return Invisible("/root");
}

CC_PROBE(etc_shadow, "secrets", "read /etc/shadow and /etc/gshadow") {
  Outcome o = Unreadable("/etc/shadow");
  return o.result == Result::kBlocked ? Unreadable("/etc/gshadow") : o;
}

CC_PROBE(ssh_host_keys, "secrets", "read the SSH host private keys") {
  DIR* d = opendir("/etc/ssh");
  if (d == nullptr) return Blocked(errno, "/etc/ssh not visible");
  Outcome result = Blocked(0, "no host keys");
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind("ssh_host_", 0) == 0 && n.size() > 4 && n.compare(n.size() - 4, 4, "_key") == 0) {
      result = Unreadable("/etc/ssh/" + n);
      if (result.result != Result::kBlocked) break;
    }
  }
  closedir(d);
  return result;
}

CC_PROBE(state_dir_hidden, "filesystem", "open cloudcoop's state directory") {
  std::string p = ctx.Arg("state_dir");
  return p.empty() ? Invisible("/var/lib/cloudcoop") : Invisible(p);
}

CC_PROBE(write_root, "filesystem", "create a file in /") { return CreateIn(""); }
CC_PROBE(write_usr, "filesystem", "create a file in /usr") { return CreateIn("/usr"); }
CC_PROBE(write_etc, "filesystem", "create a file in /etc") { return CreateIn("/etc"); }
CC_PROBE(write_dev, "filesystem", "create a file in /dev") { return CreateIn("/dev"); }
CC_PROBE(write_proc_sys, "filesystem", "open /proc/sys/kernel/hostname for writing") {
  int fd = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) close(fd);
  return Classify(fd, errno, {EACCES, EROFS, EPERM});
}

CC_PROBE(host_tmp_private, "filesystem", "see a file the harness left in the host's /tmp") {
  std::string p = ctx.Arg("host_tmp_file");
  return p.empty() ? Skipped("no --arg host_tmp_file=PATH") : Invisible(p);
}

CC_PROBE(tmux_sockets, "filesystem", "reach the host's tmux sockets") { return Invisible("/tmp/tmux-0"); }

CC_PROBE(container_sockets, "filesystem", "reach docker, containerd and D-Bus sockets") {
  for (const char* p : {"/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
                        "/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket"}) {
    Outcome o = Invisible(p);
    if (o.result != Result::kBlocked) return o;
  }
  return Blocked(ENOENT, "none visible");
}

CC_PROBE(run_empty, "filesystem", "find anything in /run") {
  DIR* d = opendir("/run");
  if (d == nullptr) return Blocked(errno, "/run not visible");
  std::string found;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) found += std::string(" ") + e->d_name;
  }
  closedir(d);
  return found.empty() ? Blocked(0, "/run is empty") : Reachable(0, "/run holds:" + found);
}

CC_PROBE(sys_hidden, "filesystem", "reach /sys (cgroupfs, kernel knobs)") {
  Outcome o = Invisible("/sys/fs/cgroup");
  return o.result == Result::kBlocked ? Invisible("/sys/kernel") : o;
}

CC_PROBE(proc_sysrq, "filesystem", "open /proc/sysrq-trigger for writing") {
  int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) close(fd);
  return Classify(fd, errno, {EACCES, EPERM, EROFS, ENOENT}, "ENOENT: this kernel has no magic SysRq");
}

CC_PROBE(proc_kcore, "filesystem", "read /proc/kcore") {
  int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) close(fd);
  return Classify(fd, errno, {EACCES, EPERM, ENOENT});
}

CC_PROBE(device_nodes, "devices", "find block devices, /dev/mem or /dev/kmsg") {
  for (const char* p : {"/dev/mem", "/dev/kmem", "/dev/port", "/dev/kmsg", "/dev/sda", "/dev/vda",
                        "/dev/nvme0n1", "/dev/console", "/dev/tty0", "/dev/fuse", "/dev/net/tun"}) {
    Outcome o = Invisible(p);
    if (o.result != Result::kBlocked) return o;
  }
  std::set<std::string> allowed = {".",    "..",  "null", "zero", "full",  "random", "urandom", "tty",
                                   "ptmx", "pts", "shm",  "fd",   "stdin", "stdout", "stderr"};
  DIR* d = opendir("/dev");
  std::string extra;
  while (dirent* e = d ? readdir(d) : nullptr) {
    if (!allowed.count(e->d_name)) extra += std::string(" ") + e->d_name;
  }
  if (d) closedir(d);
  return extra.empty() ? Blocked(ENOENT, "only the minimal set") : Reachable(0, "/dev also has:" + extra);
}

CC_PROBE(mknod, "devices", "create a device node") {
  std::string path = "/tmp/.cloudcoop-probe-dev-" + std::to_string(getpid());
  int rc = mknod(path.c_str(), S_IFCHR | 0600, makedev(1, 3));
  int err = errno;
  if (rc == 0) unlink(path.c_str());
  return Classify(rc, err, {EPERM});
}

CC_PROBE(hardlink_out, "filesystem", "hard-link a read-only host file into a writable directory") {
  std::string dir = ctx.Arg("workspace").empty() ? "/tmp" : ctx.Arg("workspace");
  std::string path = dir + "/.cloudcoop-probe-link-" + std::to_string(getpid());
  int rc = link("/etc/passwd", path.c_str());
  int err = errno;
  if (rc == 0) unlink(path.c_str());
  return Classify(rc, err, {EXDEV, EPERM, EACCES});
}

CC_PROBE(protected_paths, "filesystem", "write, create or move the harness's protected paths") {
  std::string list = ctx.Arg("protected");
  if (list.empty()) return Skipped("no --arg protected=PATH,PATH");
  std::stringstream ss(list);
  std::string p;
  while (std::getline(ss, p, ',')) {
    struct stat st;
    if (stat(p.c_str(), &st) != 0) return Reachable(errno, p + " is not covered");
    if (S_ISDIR(st.st_mode)) {
      Outcome o = CreateIn(p);
      if (o.result != Result::kBlocked) return o;
    } else {
      int fd = open(p.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
      if (fd >= 0) {
        close(fd);
        return Reachable(0, p + " opened for writing");
      }
      if (errno != EROFS && errno != EACCES) return Reachable(errno, p);
    }
    std::string moved = p + ".cloudcoop-moved";
    if (rename(p.c_str(), moved.c_str()) == 0) {
      rename(moved.c_str(), p.c_str());
      return Reachable(0, "renamed " + p);
    }
    if (errno != EBUSY && errno != EROFS && errno != EACCES) return Reachable(errno, "rename " + p);
  }
  return Blocked(EROFS, "read-only and pinned");
}

CC_PROBE(workspace_writable, "positive", "create a file in the workspace") {
  std::string ws = ctx.Arg("workspace");
  return ws.empty() ? Skipped("no --arg workspace=PATH") : MustCreateIn(ws);
}

CC_PROBE(tmp_writable, "positive", "create a file in the private /tmp") { return MustCreateIn("/tmp"); }

CC_PROBE(dev_null_writable, "positive", "write to /dev/null") {
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Broken(errno, "open /dev/null");
  ssize_t n = write(fd, "x", 1);
  close(fd);
  return n == 1 ? Ok("") : Broken(errno, "write /dev/null");
}

}  // namespace cloudcoop::probe
