// Dashboard benchmark, side by side with peers in one run (bench/bench_dashboard.sh runs it):
//
//   1. start to first full screen: each program runs in a pseudo-terminal of its own (80x24 and
//      200x60); the time is from just before fork to the last byte of its first burst of output
//      (the first moment the program is quiet for 200 ms). For cloudcoop the dashboard's own trace
//      also gives the moment its first frame with the agents was written.
//   2. CPU per refresh with 100 agents: the program runs for a while, quits, and wait4() reports its
//      CPU (user + system, children included); the start-up CPU is subtracted and the rest divided by
//      the number of refreshes seen.
//
// Peers: `top -d 1` (a terminal dashboard of processes, on every machine) and the naive way to watch
// agents, `tmux list-sessions` + `ps` on a tmux server with 100 sessions (one "refresh" = both).
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

double NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double CpuMs(const rusage& ru) {
  return (static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_stime.tv_sec)) * 1e3 +
         (static_cast<double>(ru.ru_utime.tv_usec) + static_cast<double>(ru.ru_stime.tv_usec)) / 1e3;
}

struct PtyRun {
  double start_ms = 0;        // just before fork
  double first_byte_ms = -1;  // relative to start
  double burst_end_ms = -1;   // last byte before the first 200 ms of quiet
  double cpu_ms = 0;          // wait4: user + system, children included
  int status = -1;
  std::string output;
};

// Runs argv in a new pty of cols x rows. `hold_ms`: how long to keep it running after its first
// burst (0: quit right after). Then `quit` is typed and the program waited for (killed after 5 s).
PtyRun RunInPty(const std::vector<std::string>& argv, const std::vector<std::string>& env, int cols, int rows,
                double hold_ms, const std::string& quit) {
  PtyRun r;
  std::vector<char*> av, ev;
  std::vector<std::string> a = argv, e = env;
  for (auto& s : a) av.push_back(s.data());
  av.push_back(nullptr);
  for (auto& s : e) ev.push_back(s.data());
  ev.push_back(nullptr);
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(cols);
  ws.ws_row = static_cast<unsigned short>(rows);
  int master = -1;
  r.start_ms = NowMs();
  pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
  if (pid < 0) {
    std::perror("forkpty");
    std::exit(1);
  }
  if (pid == 0) {
    execve(av[0], av.data(), ev.data());
    std::perror("execve");
    _exit(127);
  }
  char buf[65536];
  double last_byte = -1;
  bool quit_sent = false;
  double quit_at = -1;
  bool exited = false;
  rusage ru{};
  int status = 0;
  while (!exited) {
    double now = NowMs();
    if (r.burst_end_ms < 0 && last_byte >= 0 && now - last_byte >= 200) r.burst_end_ms = last_byte - r.start_ms;
    if (!quit_sent && r.burst_end_ms >= 0 && now - r.start_ms >= r.burst_end_ms + hold_ms) {
      ssize_t ignored = write(master, quit.data(), quit.size());
      (void)ignored;
      quit_sent = true;
      quit_at = now;
    }
    if (quit_sent && now - quit_at > 5000) kill(pid, SIGKILL);
    if (!quit_sent && now - r.start_ms > 20000 + hold_ms) {  // never produced output: give up
      kill(pid, SIGKILL);
      quit_sent = true;
      quit_at = now;
    }
    pollfd pfd{master, POLLIN, 0};
    int ready = poll(&pfd, 1, 20);
    if (ready > 0) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n > 0) {
        double t = NowMs();
        if (r.first_byte_ms < 0) r.first_byte_ms = t - r.start_ms;
        if (r.burst_end_ms < 0) last_byte = t;
        r.output.append(buf, static_cast<size_t>(n));
      }
    }
    pid_t w = wait4(pid, &status, WNOHANG, &ru);
    if (w == pid) exited = true;
  }
  // Drain what is left.
  while (true) {
    pollfd pfd{master, POLLIN, 0};
    if (poll(&pfd, 1, 0) <= 0) break;
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;
    r.output.append(buf, static_cast<size_t>(n));
  }
  close(master);
  r.cpu_ms = CpuMs(ru);
  r.status = status;
  return r;
}

struct Cmd {
  double wall_ms = 0;
  double cpu_ms = 0;
  std::string out;
};

// Runs argv to completion with stdout captured; wall time and CPU (wait4).
Cmd RunCmd(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) std::exit(1);
  std::vector<std::string> a = argv;
  std::vector<char*> av;
  for (auto& s : a) av.push_back(s.data());
  av.push_back(nullptr);
  Cmd c;
  double t0 = NowMs();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    execvp(av[0], av.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[65536];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) c.out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  c.wall_ms = NowMs() - t0;
  c.cpu_ms = CpuMs(ru);
  return c;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? -1 : s / static_cast<double>(v.size());
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// "key=value" fields of a trace line.
std::map<std::string, std::string> Fields(const std::string& line) {
  std::map<std::string, std::string> f;
  std::istringstream in(line);
  std::string word;
  in >> word;
  f["kind"] = word;
  while (in >> word) {
    size_t eq = word.find('=');
    if (eq != std::string::npos) f[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return f;
}

size_t Count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1)) ++n;
  return n;
}

int Usage() {
  std::fprintf(stderr,
               "usage: dashboard_bench BINARY WORKDIR [RUNS] [HOLD_SECONDS]\n"
               "  BINARY: the cloudcoop binary; WORKDIR: an empty directory for fixtures and traces\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  std::string binary = argv[1];
  std::string work = argv[2];
  int runs = argc > 3 ? std::atoi(argv[3]) : 30;
  double hold_s = argc > 4 ? std::atof(argv[4]) : 10;
  std::string fixture = work + "/fixture100.json";
  {
    std::ofstream f(fixture);
    f << R"({"host": {"kind": "local", "name": "bench"}, "generate": {"count": 100, "prefix": "agent"}})";
  }
  // Real mode: the dashboard shows the agent host of $CLOUDCOOP_STATE_DIR (bench_dashboard.sh
  // --real starts the agents); otherwise 100 fake agents from a fixture.
  const char* real_state = std::getenv("CLOUDCOOP_STATE_DIR");
  bool real = real_state != nullptr && *real_state != '\0';
  std::vector<std::string> base_env = {"TERM=xterm-256color", "LANG=C.UTF-8", "HOME=" + work, "XDG_CONFIG_HOME=" + work + "/cfg",
                                       "PATH=/usr/bin:/bin", "TZ=UTC"};
  auto cc_env = [&](const std::string& trace) {
    std::vector<std::string> e = base_env;
    if (real) {
      for (const char* var : {"CLOUDCOOP_STATE_DIR", "CLOUDCOOP_AGENT_UID_BASE", "CLOUDCOOP_AGENT_UID_COUNT"}) {
        if (const char* v = std::getenv(var)) e.push_back(std::string(var) + "=" + v);
      }
    } else {
      e.push_back("CLOUDCOOP_TEST_DASHBOARD_FIXTURE=" + fixture);
    }
    e.push_back("CLOUDCOOP_BENCH_DASHBOARD_TRACE=" + trace);
    return e;
  };
  std::printf("agents: %s\n", real ? ("the real local host in " + std::string(real_state)).c_str() : "100 fake agents (fixture)");

  // ---- 1. start to first full screen -------------------------------------------------------------
  std::printf("== start to first full screen, %d runs each (ms: median / p90)\n", runs);
  struct Screen {
    int cols, rows;
  };
  std::map<int, double> cc_startup_cpu;  // by width
  std::map<std::string, std::pair<double, double>> first_screen;
  for (Screen sz : {Screen{80, 24}, Screen{200, 60}}) {
    std::vector<double> cc_burst, cc_trace, cc_cpu, top_burst, top_cpu;
    for (int i = 0; i < runs; ++i) {
      // Alternate the two so that machine noise hits both alike.
      std::string trace = work + "/trace-first-" + std::to_string(sz.cols) + "-" + std::to_string(i);
      PtyRun cc = RunInPty({binary}, cc_env(trace), sz.cols, sz.rows, 0, "q");
      cc_burst.push_back(cc.burst_end_ms);
      cc_cpu.push_back(cc.cpu_ms);
      for (const std::string& line : ReadLines(trace)) {
        auto f = Fields(line);
        if (f["kind"] == "frame" && f.count("first_full")) {
          cc_trace.push_back(std::stod(f["mono_ns"]) / 1e6 - cc.start_ms);
          break;
        }
      }
      PtyRun top = RunInPty({"/usr/bin/top", "-d", "1"}, base_env, sz.cols, sz.rows, 0, "q");
      top_burst.push_back(top.burst_end_ms);
      top_cpu.push_back(top.cpu_ms);
    }
    std::printf("%dx%d  cloudcoop dashboard: %.1f / %.1f (its trace: first full frame written at %.1f / %.1f), "
                "CPU %.1f ms\n",
                sz.cols, sz.rows, Percentile(cc_burst, 50), Percentile(cc_burst, 90), Percentile(cc_trace, 50),
                Percentile(cc_trace, 90), Percentile(cc_cpu, 50));
    std::printf("%dx%d  top -d 1:                          %.1f / %.1f, CPU %.1f ms\n", sz.cols, sz.rows,
                Percentile(top_burst, 50), Percentile(top_burst, 90), Percentile(top_cpu, 50));
    std::printf("%dx%d  ratio top / cloudcoop (median):     %.2f\n", sz.cols, sz.rows,
                Percentile(top_burst, 50) / Percentile(cc_burst, 50));
    cc_startup_cpu[sz.cols] = Percentile(cc_cpu, 50);
    first_screen["cc" + std::to_string(sz.cols)] = {Percentile(cc_burst, 50), Percentile(cc_trace, 50)};
  }

  // The naive way: one look = tmux list-sessions + ps, on cloudcoop's own tmux server (real mode)
  // or on a private server with 100 sessions.
  std::string sock = "cc-bench-" + std::to_string(getpid());
  std::vector<std::string> tmux = {"tmux", "-L", sock};
  if (real) {
    tmux = {"tmux", "-S", std::string(real_state) + "/run/tmux.sock"};
  } else {
    RunCmd({"tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s", "agent-000", "--", "sleep", "3600"});
    for (int i = 1; i < 100; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "agent-%03d", i);
      RunCmd({"tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s", name, "--", "sleep", "3600"});
    }
  }
  std::vector<double> naive_wall, naive_cpu;
  for (int i = 0; i < runs; ++i) {
    std::vector<std::string> ls_argv = tmux;
    for (const char* w : {"list-sessions", "-F", "#{session_name} #{session_created} #{pane_pid}"}) ls_argv.push_back(w);
    Cmd ls = RunCmd(ls_argv);
    Cmd ps = RunCmd({"ps", "-e", "-o", "pid,ppid,pcpu,rss,etime,args"});
    naive_wall.push_back(ls.wall_ms + ps.wall_ms);
    naive_cpu.push_back(ls.cpu_ms + ps.cpu_ms);
    if (i == 0) std::printf("naive look: tmux lists %zu sessions, ps %zu processes\n", Count(ls.out, "\n"), Count(ps.out, "\n") - 1);
  }
  std::printf("naive (tmux list-sessions + ps, 100 sessions): %.1f / %.1f ms, CPU %.1f ms per look\n",
              Percentile(naive_wall, 50), Percentile(naive_wall, 90), Percentile(naive_cpu, 50));

  // ---- 2. CPU per refresh with 100 agents ---------------------------------------------------------
  std::printf("== CPU per refresh (each program runs %.0f s after its first screen, 1 s refresh)\n", hold_s);
  for (Screen sz : {Screen{80, 24}, Screen{200, 60}}) {
    std::string trace = work + "/trace-cpu-" + std::to_string(sz.cols);
    PtyRun cc = RunInPty({binary}, cc_env(trace), sz.cols, sz.rows, hold_s * 1000, "q");
    int snapshots = 0;
    std::vector<double> snap_cpu, frame_cpu;
    bool after_first = false;
    for (const std::string& line : ReadLines(trace)) {
      auto f = Fields(line);
      if (f["kind"] == "snapshot") {
        ++snapshots;
        snap_cpu.push_back(std::stod(f["cpu_ns"]) / 1e6);
      } else if (f["kind"] == "frame") {
        if (after_first) frame_cpu.push_back(std::stod(f["cpu_ns"]) / 1e6);
        if (f.count("first_full")) after_first = true;
      }
    }
    // Refreshes after the first one; the start-up CPU comes from the first-screen runs.
    double per_refresh = snapshots > 1 ? (cc.cpu_ms - cc_startup_cpu[sz.cols]) / (snapshots - 1) : -1;
    std::printf("%dx%d  cloudcoop: %d refreshes, CPU %.1f ms in all, %.2f ms per refresh (its trace: snapshot %.3f ms + "
                "draw %.3f ms on the UI thread)\n",
                sz.cols, sz.rows, snapshots, cc.cpu_ms, per_refresh, Mean(snap_cpu), Mean(frame_cpu));
  }
  {
    PtyRun top0 = RunInPty({"/usr/bin/top", "-d", "1"}, base_env, 200, 60, 0, "q");
    PtyRun top = RunInPty({"/usr/bin/top", "-d", "1"}, base_env, 200, 60, hold_s * 1000, "q");
    size_t frames = Count(top.output, "top - ");
    double per = frames > 1 ? (top.cpu_ms - top0.cpu_ms) / static_cast<double>(frames - 1) : -1;
    std::printf("200x60  top -d 1: %zu refreshes, CPU %.1f ms in all, %.2f ms per refresh\n", frames, top.cpu_ms, per);
  }
  std::printf("naive look (tmux list-sessions + ps): %.2f ms CPU per refresh\n", Percentile(naive_cpu, 50));
  if (!real) RunCmd({"tmux", "-L", sock, "kill-server"});
  std::string sockfile = "/tmp/tmux-" + std::to_string(getuid()) + "/" + sock;
  unlink(sockfile.c_str());
  return 0;
}
