#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "testing/probe/probe.h"

namespace cloudcoop::probe {

const char* ResultName(Result r) {
  switch (r) {
    case Result::kBlocked: return "blocked";
    case Result::kReachable: return "reachable";
    case Result::kOk: return "ok";
    case Result::kBroken: return "broken";
    case Result::kAllowedByMode: return "allowed-by-mode";
    case Result::kSkipped: return "skipped";
  }
  return "?";
}

std::vector<ProbeSpec>& Registry() {
  static std::vector<ProbeSpec> probes;
  return probes;
}

Outcome Blocked(int err, std::string detail) { return {Result::kBlocked, err, std::move(detail)}; }
Outcome Reachable(int err, std::string detail) { return {Result::kReachable, err, std::move(detail)}; }
Outcome Ok(std::string detail) { return {Result::kOk, 0, std::move(detail)}; }
Outcome Broken(int err, std::string detail) { return {Result::kBroken, err, std::move(detail)}; }
Outcome Skipped(std::string why) { return {Result::kSkipped, 0, std::move(why)}; }
Outcome AllowedByMode(int err, std::string detail) {
  return {Result::kAllowedByMode, err, std::move(detail)};
}

Outcome Classify(long rc, int err, std::initializer_list<int> blocked_errnos, std::string detail) {
  if (rc >= 0) return Reachable(0, detail.empty() ? "the call succeeded" : detail);
  for (int b : blocked_errnos) {
    if (err == b) return Blocked(err, std::move(detail));
  }
  return Reachable(err, detail.empty() ? "the call reached the kernel" : detail);
}

int InChild(const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) _exit(fn());
  int status = 0;
  if (pid < 0) return -1;
  waitpid(pid, &status, 0);
  return status;
}

std::string StatusField(const std::string& pid, const std::string& field) {
  std::ifstream in("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      std::string v = line.substr(field.size() + 1);
      size_t a = v.find_first_not_of(" \t");
      return a == std::string::npos ? "" : v.substr(a);
    }
  }
  return "";
}

}  // namespace cloudcoop::probe
