#include "node/procs.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/strings.h"

namespace cloudcoop::node {
namespace {

// Reads a small /proc file into buf; returns the length or -1.
ssize_t ReadSmall(const std::string& path, char* buf, size_t size) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n >= 0) buf[n] = '\0';
  return n;
}

bool ParseStatus(const char* text, ProcInfo* info, uint32_t uids[4]) {
  const char* p = text;
  bool have_uid = false;
  while (*p) {
    const char* eol = strchr(p, '\n');
    size_t len = eol ? static_cast<size_t>(eol - p) : strlen(p);
    if (len > 5 && strncmp(p, "Name:", 5) == 0) {
      std::string_view v(p + 5, len - 5);
      info->comm = std::string(Trim(v));
    } else if (len > 6 && strncmp(p, "State:", 6) == 0) {
      std::string_view v = Trim(std::string_view(p + 6, len - 6));
      if (!v.empty()) info->state = v[0];
    } else if (len > 5 && strncmp(p, "PPid:", 5) == 0) {
      info->ppid = static_cast<pid_t>(atoi(p + 5));
    } else if (len > 4 && strncmp(p, "Uid:", 4) == 0) {
      unsigned a, b, c, d;
      if (sscanf(p + 4, "%u %u %u %u", &a, &b, &c, &d) == 4) {
        uids[0] = a;
        uids[1] = b;
        uids[2] = c;
        uids[3] = d;
        have_uid = true;
      }
      break;  // Uid comes after Name, State and PPid
    }
    if (!eol) break;
    p = eol + 1;
  }
  return have_uid;
}

template <typename Fn>
void ForEachPid(const std::string& proc, Fn fn) {
  DIR* d = opendir(proc.c_str());
  if (d == nullptr) return;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    fn(static_cast<pid_t>(atoi(e->d_name)));
  }
  closedir(d);
}

}  // namespace

std::vector<ProcInfo> ScanProcesses(const std::function<bool(uint32_t uid)>& match, const std::string& proc) {
  std::vector<ProcInfo> out;
  char buf[4096];
  ForEachPid(proc, [&](pid_t pid) {
    if (ReadSmall(proc + "/" + std::to_string(pid) + "/status", buf, sizeof buf) <= 0) return;
    ProcInfo info;
    info.pid = pid;
    uint32_t uids[4];
    if (!ParseStatus(buf, &info, uids)) return;
    if (info.state == 'Z' || info.state == 'X') return;
    for (uint32_t u : uids) {
      if (match(u)) {
        info.uid = u;
        out.push_back(info);
        return;
      }
    }
  });
  return out;
}

std::map<uint32_t, std::vector<ProcInfo>> ScanByUid(const std::function<bool(uint32_t uid)>& match,
                                                    const std::string& proc) {
  std::map<uint32_t, std::vector<ProcInfo>> out;
  for (auto& p : ScanProcesses(match, proc)) out[p.uid].push_back(p);
  return out;
}

std::set<pid_t> ProcessTree(pid_t root, const std::string& proc) {
  std::map<pid_t, std::vector<pid_t>> children;
  char buf[4096];
  ForEachPid(proc, [&](pid_t pid) {
    if (ReadSmall(proc + "/" + std::to_string(pid) + "/status", buf, sizeof buf) <= 0) return;
    ProcInfo info;
    uint32_t uids[4];
    if (!ParseStatus(buf, &info, uids)) return;
    children[info.ppid].push_back(pid);
  });
  std::set<pid_t> out;
  std::vector<pid_t> todo = {root};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    if (!out.insert(p).second) continue;
    for (pid_t c : children[p]) todo.push_back(c);
  }
  return out;
}

bool ProcessRunning(pid_t pid, const std::string& proc) {
  if (pid <= 0) return false;
  char buf[4096];
  if (ReadSmall(proc + "/" + std::to_string(pid) + "/status", buf, sizeof buf) <= 0) return false;
  ProcInfo info;
  uint32_t uids[4];
  if (!ParseStatus(buf, &info, uids)) return false;
  return info.state != 'Z' && info.state != 'X';
}

int SignalAll(const std::function<bool(uint32_t uid)>& match, int sig, const std::string& proc) {
  int n = 0;
  for (const auto& p : ScanProcesses(match, proc)) {
    if (kill(p.pid, sig) == 0) ++n;
  }
  return n;
}

void FreezeAll(const std::function<bool(uint32_t uid)>& match, Duration deadline, StopReport* report,
               const std::string& proc) {
  auto end = std::chrono::steady_clock::now() + deadline;
  std::set<pid_t> stopped;
  // Stop everything; repeat until a scan finds nothing new and nothing running that was sent
  // SIGSTOP (a stopped process cannot fork, so this converges). A process in a frozen cgroup never
  // shows 'T' (the freezer holds it before it can stop): it counts as stopped unless it runs.
  for (int round = 0; round < 1000; ++round) {
    ++report->rounds;
    bool fresh = false;
    for (const auto& p : ScanProcesses(match, proc)) {
      if (stopped.count(p.pid) && p.state != 'R') continue;
      if (kill(p.pid, SIGSTOP) == 0) {
        if (stopped.insert(p.pid).second) ++report->frozen;
        fresh = true;
      }
    }
    if (!fresh || std::chrono::steady_clock::now() >= end) break;
  }
}

void KillAll(const std::function<bool(uint32_t uid)>& match, Duration deadline, StopReport* report,
             const std::string& proc) {
  auto end = std::chrono::steady_clock::now() + deadline;
  std::set<pid_t> killed;
  for (;;) {
    ++report->rounds;
    auto left = ScanProcesses(match, proc);
    report->survivors.clear();
    if (left.empty()) break;
    for (const auto& p : left) {
      if (kill(p.pid, SIGKILL) == 0 && killed.insert(p.pid).second) ++report->killed;
      report->survivors.push_back(p.pid);
    }
    if (std::chrono::steady_clock::now() >= end) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

StopReport FreezeAndKill(const std::function<bool(uint32_t uid)>& match, Duration deadline, const std::string& proc) {
  StopReport report;
  FreezeAll(match, deadline, &report, proc);
  KillAll(match, deadline, &report, proc);
  return report;
}

std::map<uint32_t, int> CountByOwner(const std::function<bool(uint32_t uid)>& match, const std::string& proc) {
  std::map<uint32_t, int> out;
  DIR* d = opendir(proc.c_str());
  if (d == nullptr) return out;
  int dfd = dirfd(d);
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    struct stat st;
    if (fstatat(dfd, e->d_name, &st, 0) == 0 && match(st.st_uid)) out[st.st_uid]++;
  }
  closedir(d);
  return out;
}

}  // namespace cloudcoop::node
