// cloudcoop_probe [--mode none|egress|host] [--only PREFIX] [--arg KEY=VALUE]...   run the probes
// cloudcoop_probe report          print what the sandbox looks like from inside (JSON)
// cloudcoop_probe euid            print the effective uid (the setuid decoy runs this)
// cloudcoop_probe forkbomb N      fork up to N sleeping children; report how many and the errno
// cloudcoop_probe membomb MIB     touch up to MIB MiB of memory, 8 MiB at a time
// cloudcoop_probe cpuhog SEC N    spin N threads for SEC seconds of wall time
// cloudcoop_probe listen PORT [ADDR]  accept on ADDR:PORT (default 127.0.0.1) until killed (a listener)
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "testing/probe/probe.h"

extern char** environ;

namespace cloudcoop::probe {
namespace {

std::string Json(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string ErrnoName(int err) {
  if (err == 0) return "";
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : std::to_string(err);
}

std::vector<int> OpenFds() {
  std::vector<int> fds;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  int self = dirfd(d);
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd != self) fds.push_back(fd);
  }
  closedir(d);
  return fds;
}

// The probes try real escapes; outside a sandbox some of them would act on the host. Refuse unless
// this process is confined (no_new_privs is the one layer every cloudcoop sandbox has), or the
// harness vouches that it runs in a disposable namespace.
bool Confined(const Context& ctx) {
  return StatusField("self", "NoNewPrivs") == "1" || ctx.Arg("disposable_namespace") == "1";
}

int RunProbes(const Context& ctx, const std::string& only) {
  if (!Confined(ctx)) {
    std::fprintf(stderr,
                 "cloudcoop_probe: refusing to run: this process is not in a sandbox (NoNewPrivs is not 1), "
                 "and some probes would act on the host\n");
    return 2;
  }
  int breaches = 0, broken = 0, blocked = 0, ok = 0, skipped = 0, allowed = 0, total = 0;
  for (const auto& p : Registry()) {
    if (!only.empty() && std::string(p.name).rfind(only, 0) != 0 && std::string(p.group).rfind(only, 0) != 0)
      continue;
    Outcome o = p.fn(ctx);
    ++total;
    switch (o.result) {
      case Result::kBlocked: ++blocked; break;
      case Result::kReachable: ++breaches; break;
      case Result::kOk: ++ok; break;
      case Result::kBroken: ++broken; break;
      case Result::kSkipped: ++skipped; break;
      case Result::kAllowedByMode: ++allowed; break;
    }
    std::printf("{\"probe\":%s,\"group\":%s,\"what\":%s,\"result\":%s,\"errno\":%s,\"detail\":%s}\n",
                Json(p.name).c_str(), Json(p.group).c_str(), Json(p.what).c_str(),
                Json(ResultName(o.result)).c_str(), Json(ErrnoName(o.err)).c_str(), Json(o.detail).c_str());
    std::fflush(stdout);
  }
  std::printf(
      "{\"summary\":{\"mode\":%s,\"probes\":%d,\"blocked\":%d,\"ok\":%d,\"breaches\":%d,\"broken\":%d,"
      "\"allowed_by_mode\":%d,\"skipped\":%d}}\n",
      Json(ctx.mode).c_str(), total, blocked, ok, breaches, broken, allowed, skipped);
  if (breaches > 0) return 1;
  if (broken > 0) return 3;
  return 0;
}

std::string ReadAll(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Report() {
  std::ostringstream os;
  struct utsname u;
  uname(&u);
  char cwd[4096] = {};
  if (getcwd(cwd, sizeof cwd) == nullptr) cwd[0] = 0;
  os << "{\"uid\":" << getuid() << ",\"gid\":" << getgid() << ",\"euid\":" << geteuid()
     << ",\"hostname\":" << Json(u.nodename) << ",\"cwd\":" << Json(cwd) << ",\"pid\":" << getpid()
     << ",\"ppid\":" << getppid();
  gid_t groups[64];
  int n = getgroups(64, groups);
  os << ",\"groups\":[";
  for (int i = 0; i < n; ++i) os << (i ? "," : "") << groups[i];
  os << "],\"umask\":";
  mode_t m = umask(0);
  umask(m);
  os << m << ",\"env\":{";
  bool first = true;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    os << (first ? "" : ",") << Json(kv.substr(0, eq)) << ":"
       << Json(eq == std::string::npos ? "" : kv.substr(eq + 1));
    first = false;
  }
  os << "},\"rlimits\":{";
  const std::pair<const char*, int> limits[] = {
      {"NOFILE", RLIMIT_NOFILE}, {"NPROC", RLIMIT_NPROC}, {"MEMLOCK", RLIMIT_MEMLOCK}, {"CORE", RLIMIT_CORE}};
  first = true;
  for (const auto& [name, r] : limits) {
    struct rlimit lim;
    getrlimit(r, &lim);
    os << (first ? "" : ",") << Json(name) << ":[" << lim.rlim_cur << "," << lim.rlim_max << "]";
    first = false;
  }
  os << "},\"status\":{";
  first = true;
  for (const char* f :
       {"NoNewPrivs", "Seccomp", "CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb", "Uid", "Gid"}) {
    os << (first ? "" : ",") << Json(f) << ":" << Json(StatusField("self", f));
    first = false;
  }
  os << "},\"ns\":{";
  first = true;
  for (const char* ns : {"mnt", "pid", "ipc", "uts", "user", "net", "cgroup"}) {
    struct stat st;
    std::string path = std::string("/proc/self/ns/") + ns;
    os << (first ? "" : ",") << Json(ns) << ":" << (stat(path.c_str(), &st) == 0 ? st.st_ino : 0);
    first = false;
  }
  os << "},\"mountinfo\":" << Json(ReadAll("/proc/self/mountinfo"))
     << ",\"passwd\":" << Json(ReadAll("/etc/passwd"))
     << ",\"uid_map\":" << Json(ReadAll("/proc/self/uid_map")) << "}\n";
  std::fputs(os.str().c_str(), stdout);
  return 0;
}

int ForkBomb(int limit) {
  int forked = 0, err = 0;
  std::vector<pid_t> kids;
  for (int i = 0; i < limit; ++i) {
    pid_t p = fork();
    if (p == 0) {
      sleep(30);
      _exit(0);
    }
    if (p < 0) {
      err = errno;
      break;
    }
    kids.push_back(p);
    ++forked;
  }
  std::printf("{\"forked\":%d,\"errno\":%s}\n", forked, Json(ErrnoName(err)).c_str());
  std::fflush(stdout);
  for (pid_t p : kids) kill(p, SIGKILL);
  for (pid_t p : kids) waitpid(p, nullptr, 0);
  return err == EAGAIN ? 0 : 1;
}

int MemBomb(long mib) {
  std::vector<char*> blocks;
  for (long done = 0; done < mib; done += 8) {
    char* b = static_cast<char*>(
        mmap(nullptr, 8 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (b == MAP_FAILED) {
      std::printf("{\"allocated_mib\":%ld,\"errno\":%s}\n", done, Json(ErrnoName(errno)).c_str());
      return 1;
    }
    std::memset(b, 0x5a, 8 << 20);
    blocks.push_back(b);
  }
  std::printf("{\"allocated_mib\":%ld}\n", mib);
  return 0;
}

int CpuHog(int seconds, int threads) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i) {
    ts.emplace_back([&] {
      volatile unsigned long x = 0;
      while (!stop.load(std::memory_order_relaxed)) x = x + 1;
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu =
      ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  std::printf("{\"wall_s\":%d,\"threads\":%d,\"cpu_s\":%.3f}\n", seconds, threads, cpu);
  return 0;
}

int Listen(int port, const char* addr) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s, 16) != 0) {
    std::printf("{\"listening\":false,\"errno\":%s}\n", Json(ErrnoName(errno)).c_str());
    return 1;
  }
  std::printf("{\"listening\":true,\"port\":%d}\n", port);
  std::fflush(stdout);
  for (;;) {
    int c = accept(s, nullptr, nullptr);
    if (c >= 0) close(c);
  }
}

int Usage() {
  std::fprintf(stderr,
               "usage: cloudcoop_probe [--mode none|egress|host] [--only PREFIX] [--arg KEY=VALUE]...\n"
               "       cloudcoop_probe report | euid | forkbomb N | membomb MIB | cpuhog SEC THREADS | "
               "listen PORT [ADDR]\n");
  return 2;
}

}  // namespace
}  // namespace cloudcoop::probe

int main(int argc, char** argv) {
  using namespace cloudcoop::probe;  // NOLINT
  Context ctx;
  ctx.fds_at_start = OpenFds();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "report") return Report();
  if (!args.empty() && args[0] == "euid") {
    std::printf("%d\n", static_cast<int>(geteuid()));
    return 0;
  }
  if (args.size() == 2 && args[0] == "forkbomb") return ForkBomb(std::atoi(args[1].c_str()));
  if (args.size() == 2 && args[0] == "membomb") return MemBomb(std::atol(args[1].c_str()));
  if (args.size() == 3 && args[0] == "cpuhog")
    return CpuHog(std::atoi(args[1].c_str()), std::atoi(args[2].c_str()));
  if ((args.size() == 2 || args.size() == 3) && args[0] == "listen") {
    return Listen(std::atoi(args[1].c_str()), args.size() == 3 ? args[2].c_str() : "127.0.0.1");
  }
  std::string only;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--mode" && i + 1 < args.size()) {
      ctx.mode = args[++i];
    } else if (args[i] == "--only" && i + 1 < args.size()) {
      only = args[++i];
    } else if (args[i] == "--arg" && i + 1 < args.size()) {
      std::string kv = args[++i];
      size_t eq = kv.find('=');
      if (eq == std::string::npos) return Usage();
      ctx.args[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else {
      return Usage();
    }
  }
  if (ctx.mode != "none" && ctx.mode != "egress" && ctx.mode != "host") return Usage();
  return RunProbes(ctx, only);
}
