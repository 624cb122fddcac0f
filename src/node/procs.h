// Finding and stopping an agent's processes from outside, by uid.
//
// Every agent runs under its own uid from the agent range (registry.h), and no other process does,
// so "every process whose real, effective, saved or filesystem uid is the agent's" is exactly the
// agent, whatever it did to hide (setsid, double fork, reparenting, a new process name, dumpable
// off). The agent's cgroup is the second, independent handle (sandbox/); the kill switch uses both.
#ifndef CLOUDCOOP_NODE_PROCS_H_
#define CLOUDCOOP_NODE_PROCS_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace cloudcoop::node {

struct ProcInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  uint32_t uid = 0;  // the agent uid it matched (any of real/effective/saved/fs)
  char state = '?';  // from /proc/PID/stat: R S D T Z ...
  std::string comm;
};

// Every live process (zombies excluded) with any uid for which `match` is true. Reads /proc/*/status.
std::vector<ProcInfo> ScanProcesses(const std::function<bool(uint32_t uid)>& match, const std::string& proc = "/proc");

// Every matching process, grouped by the uid it matched.
std::map<uint32_t, std::vector<ProcInfo>> ScanByUid(const std::function<bool(uint32_t uid)>& match,
                                                    const std::string& proc = "/proc");

// The pids of `root` and all its descendants (by ppid).
std::set<pid_t> ProcessTree(pid_t root, const std::string& proc = "/proc");

struct StopReport {
  int frozen = 0;   // processes stopped with SIGSTOP before the kill
  int killed = 0;   // processes sent SIGKILL
  int rounds = 0;   // scan rounds until none was left
  std::vector<pid_t> survivors;  // non-empty: the kill failed (reported, never hidden)
};

// Freezes (SIGSTOP, repeated until a scan finds no process that is not yet stopped, so nothing can
// fork away), then SIGKILLs every process that matches, then rescans until none is left or
// `deadline` passes. Zombies count as gone (they run nothing and hold no resources but a pid).
StopReport FreezeAndKill(const std::function<bool(uint32_t uid)>& match, Duration deadline,
                         const std::string& proc = "/proc");

// True when the process exists and is not a zombie.
bool ProcessRunning(pid_t pid, const std::string& proc = "/proc");

// The two halves of FreezeAndKill, for callers that do something in between (panic captures the
// frozen agents' screens before killing them).
void FreezeAll(const std::function<bool(uint32_t uid)>& match, Duration deadline, StopReport* report,
               const std::string& proc = "/proc");
void KillAll(const std::function<bool(uint32_t uid)>& match, Duration deadline, StopReport* report,
             const std::string& proc = "/proc");

// How many processes each uid runs, by the owner of /proc/PID (one stat per process: for display
// only; a process that made itself non-dumpable shows as root's here, so kill and panic use
// ScanProcesses instead).
std::map<uint32_t, int> CountByOwner(const std::function<bool(uint32_t uid)>& match, const std::string& proc = "/proc");

// Sends `sig` to every matching process; returns how many were signalled.
int SignalAll(const std::function<bool(uint32_t uid)>& match, int sig, const std::string& proc = "/proc");

}  // namespace cloudcoop::node

#endif  // CLOUDCOOP_NODE_PROCS_H_
