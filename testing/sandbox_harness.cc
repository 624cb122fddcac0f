#include "testing/sandbox_harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/files.h"
#include "core/strings.h"
#include "sandbox/ids.h"

namespace cloudcoop::testing {

std::string ProbeDir() {
  // cloudcoop_test() passes ENVIRONMENT as separate list items, so ctest sets only the first
  // variable (CLOUDCOOP_BINARY); the build directory is two levels above the binary.
  const char* build = std::getenv("CLOUDCOOP_BUILD_DIR");
  if (build != nullptr) return std::string(build) + "/testing";
  return Dirname(Dirname(BinaryPath())) + "/testing";
}

std::string ProbeBinary() { return ProbeDir() + "/cloudcoop_probe"; }

std::string ProbeRun::Problems() const {
  std::string out;
  for (const auto& l : lines) {
    if (l.result == "reachable" || l.result == "broken") {
      out += l.probe + ": " + l.result + " " + l.err + " " + l.detail + "\n";
    }
  }
  return out + err_output;
}

ProbeRun ParseProbeOutput(const std::string& out, int rc, const std::string& err_output) {
  ProbeRun run;
  run.rc = rc;
  run.raw = out;
  run.err_output = err_output;
  for (const auto& line : Split(out, '\n', true)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    if (j.contains("summary")) {
      const auto& s = j["summary"];
      run.breaches = s.value("breaches", -1);
      run.broken = s.value("broken", -1);
      run.blocked = s.value("blocked", -1);
      run.probes = s.value("probes", -1);
      continue;
    }
    ProbeLine l{j.value("probe", ""), j.value("group", ""), j.value("result", ""), j.value("errno", ""),
                j.value("detail", "")};
    run.by_name[l.probe] = l;
    run.lines.push_back(std::move(l));
  }
  return run;
}

std::vector<std::string> HostNamespaceArgs() {
  std::vector<std::string> args;
  for (const char* ns : {"mnt", "pid", "ipc", "uts", "user", "net"}) {
    struct stat st;
    if (stat((std::string("/proc/self/ns/") + ns).c_str(), &st) != 0) continue;
    args.push_back("--arg");
    args.push_back(std::string("host_ns_") + ns + "=" + std::to_string(st.st_ino));
  }
  return args;
}

TcpListener::TcpListener() {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 64) != 0 ||
      getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  port_ = ntohs(a.sin_port);
}

TcpListener::~TcpListener() {
  if (fd_ >= 0) close(fd_);
}

AbstractListener::AbstractListener() {
  static std::atomic<int> n{0};
  name_ = "cloudcoop-test-" + std::to_string(getpid()) + "-" + std::to_string(n++);
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path + 1, name_.data(), name_.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name_.size());
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd_, 16) != 0) {
    throw std::runtime_error("cannot listen on an abstract socket");
  }
}

AbstractListener::~AbstractListener() {
  if (fd_ >= 0) close(fd_);
}

std::string MakeSetuidProbe(const TempDir& dir) {
  std::string sub = dir.Sub("suid");
  if (mkdir(sub.c_str(), 0755) != 0 && errno != EEXIST) throw std::runtime_error("mkdir " + sub);
  chmod(dir.path().c_str(), 0755);
  auto bytes = ReadFile(ProbeBinary());
  if (!bytes.ok()) throw std::runtime_error("cannot read the probe");
  std::string path = sub + "/probe-suid";
  if (!WriteFileAtomic(path, *bytes, 0755).ok()) throw std::runtime_error("cannot write " + path);
  if (chown(path.c_str(), 0, 0) != 0 || chmod(path.c_str(), 04755) != 0)
    throw std::runtime_error("chmod " + path);
  return path;
}

std::string UniqueSandboxName(const std::string& suffix) {
  static std::atomic<int> n{0};
  return "t" + std::to_string(getpid()) + "-" + std::to_string(n++) + "-" + suffix;
}

unsigned ReserveUniqueUid(const std::string& state_dir, const std::string& name) {
  uint32_t base = 1500000000u + static_cast<uint32_t>(getpid() % 4000000) * 64u;
  auto uid = sandbox::ids::ReserveForOwner(state_dir, name, base, 64);
  if (!uid.ok()) throw std::runtime_error(uid.status().ToString());
  return *uid;
}

bool GoneOrZombie(int pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return true;
  size_t close = stat->rfind(')');
  return close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] == 'Z';
}

bool AnyProcessWithUid(unsigned uid) {
  DIR* d = opendir("/proc");
  if (d == nullptr) return false;
  bool found = false;
  std::string want = std::to_string(uid);
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    // The Uid line, not the owner of /proc/<pid>: a non-dumpable process's directory is root's.
    auto status = ReadFile(std::string("/proc/") + e->d_name + "/status");
    if (!status.ok()) continue;
    for (const auto& line : Split(*status, '\n', true)) {
      if (!StartsWith(line, "Uid:")) continue;
      auto ids = Split(line.substr(4), '\t', true);
      if (!ids.empty() && std::string(Trim(ids[0])) == want && !GoneOrZombie(std::atoi(e->d_name)))
        found = true;
    }
  }
  closedir(d);
  return found;
}

}  // namespace cloudcoop::testing
