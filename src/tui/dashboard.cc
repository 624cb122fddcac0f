#include "tui/dashboard.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <clocale>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

#include "core/logging.h"
#include "tui/model.h"
#include "tui/terminal.h"
#include "tui/view.h"

namespace cloudcoop::tui {
namespace {

constexpr int kTranscriptMaxLines = 2000;
constexpr int kAuditMaxRecords = 2000;
constexpr int kFirstSnapshotWaitMs = 40;

int64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t MonoNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Benchmark trace: one line per event, from any thread.
class Trace {
 public:
  explicit Trace(const std::string& path) {
    if (!path.empty()) f_ = std::fopen(path.c_str(), "ae");
  }
  ~Trace() {
    if (f_ != nullptr) std::fclose(f_);
  }
  bool on() const { return f_ != nullptr; }
  void Line(const std::string& line) {
    if (f_ == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    std::fprintf(f_, "%s\n", line.c_str());
    std::fflush(f_);
  }

 private:
  std::mutex mu_;
  std::FILE* f_ = nullptr;
};

// Events from the worker threads to the input loop; a byte in a pipe wakes poll().
class EventQueue {
 public:
  EventQueue() {
    if (pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0) fds_[0] = fds_[1] = -1;
  }
  ~EventQueue() {
    if (fds_[0] >= 0) close(fds_[0]);
    if (fds_[1] >= 0) close(fds_[1]);
  }
  int fd() const { return fds_[0]; }
  void Push(Event e) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Only the newest snapshot matters (e.g. many arrived while attached to an agent).
      if (e.kind == Event::Kind::kSnapshot) {
        for (auto it = events_.begin(); it != events_.end();) {
          it = it->kind == Event::Kind::kSnapshot ? events_.erase(it) : std::next(it);
        }
      }
      events_.push_back(std::move(e));
    }
    char c = 1;
    ssize_t ignored = write(fds_[1], &c, 1);  // a full pipe already wakes the loop
    (void)ignored;
  }
  std::deque<Event> Drain() {
    char buf[256];
    while (read(fds_[0], buf, sizeof buf) > 0) {
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::deque<Event> out;
    out.swap(events_);
    return out;
  }

 private:
  int fds_[2] = {-1, -1};
  std::mutex mu_;
  std::deque<Event> events_;
};

// Starts a thread with SIGWINCH blocked, so the signal always reaches the input loop's thread.
std::thread SpawnWorker(std::function<void()> fn) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGWINCH);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  std::thread t(std::move(fn));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

// Takes a snapshot every interval (and on request), and loads transcripts and audit records.
class Refresher {
 public:
  Refresher(HostSource& source, EventQueue& queue, Clock& clock, std::chrono::seconds interval, Trace& trace)
      : source_(source), queue_(queue), clock_(clock), interval_(interval), trace_(trace) {}
  ~Refresher() { Stop(); }

  void Start() {
    now_ = true;
    thread_ = SpawnWorker([this] { Run(); });
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void RefreshNow() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      now_ = true;
    }
    cv_.notify_all();
  }
  void Load(Effect::Kind kind, const std::string& agent) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      loads_.emplace_back(kind, agent);
    }
    cv_.notify_all();
  }

 private:
  void Run() {
    auto next = std::chrono::steady_clock::now();
    while (true) {
      std::vector<std::pair<Effect::Kind, std::string>> loads;
      bool snapshot = false;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_until(lock, next, [&] { return stop_ || now_ || !loads_.empty(); });
        if (stop_) return;
        loads.swap(loads_);
        snapshot = now_ || std::chrono::steady_clock::now() >= next;
        now_ = false;
      }
      for (const auto& [kind, agent] : loads) {
        if (kind == Effect::Kind::kLoadTranscript) {
          auto lines = source_.Transcript(agent, kTranscriptMaxLines);
          Event e;
          e.kind = Event::Kind::kTranscript;
          e.agent = agent;
          e.now = clock_.Monotonic();
          if (lines.ok()) e.lines = std::move(*lines);
          else e.status = lines.status();
          queue_.Push(std::move(e));
        } else {
          auto records = source_.AuditRecords(agent, kAuditMaxRecords);
          Event e;
          e.kind = Event::Kind::kAudit;
          e.agent = agent;
          e.now = clock_.Monotonic();
          if (records.ok()) e.records = std::move(*records);
          else e.status = records.status();
          queue_.Push(std::move(e));
        }
      }
      if (snapshot) {
        int64_t cpu0 = ThreadCpuNs(), wall0 = MonoNs();
        StatusOr<Snapshot> s = source_.GetSnapshot();
        int64_t cpu = ThreadCpuNs() - cpu0, wall = MonoNs() - wall0;
        if (trace_.on()) {
          trace_.Line("snapshot mono_ns=" + std::to_string(MonoNs()) + " cpu_ns=" + std::to_string(cpu) +
                      " wall_ns=" + std::to_string(wall) + " agents=" + std::to_string(s.ok() ? s->agents.size() : 0));
        }
        queue_.Push(Event::SnapshotArrived(std::move(s), clock_.Monotonic()));
        next = std::chrono::steady_clock::now() + interval_;
      }
    }
  }

  HostSource& source_;
  EventQueue& queue_;
  Clock& clock_;
  std::chrono::seconds interval_;
  Trace& trace_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool now_ = false;
  std::vector<std::pair<Effect::Kind, std::string>> loads_;
  std::thread thread_;
};

// One thread per operation; finished ones are joined as the loop goes.
class Operations {
 public:
  Operations(HostSource& source, EventQueue& queue, Clock& clock) : source_(source), queue_(queue), clock_(clock) {}
  ~Operations() { JoinAll(); }

  void Start(const OpRequest& req) {
    auto done = std::make_shared<std::atomic<bool>>(false);
    running_.push_back({SpawnWorker([this, req, done] {
                          Run(req);
                          done->store(true);
                        }),
                        done});
  }
  void JoinFinished() {
    for (auto it = running_.begin(); it != running_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = running_.erase(it);
      } else {
        ++it;
      }
    }
  }
  void JoinAll() {
    for (auto& r : running_) {
      if (r.thread.joinable()) r.thread.join();
    }
    running_.clear();
  }

 private:
  void Run(const OpRequest& req) {
    if (req.kind == OpKind::kAttach) {
      auto argv = source_.AttachArgv(req.agent);
      if (!argv.ok()) {
        queue_.Push(Event::OpDone(OpKind::kAttach, req.agent, argv.status().Annotate("connect to " + req.agent), {},
                                  clock_.Monotonic()));
        return;
      }
      Event e;
      e.kind = Event::Kind::kAttachReady;
      e.agent = req.agent;
      e.lines = std::move(*argv);
      e.now = clock_.Monotonic();
      queue_.Push(std::move(e));
      return;
    }
    StatusOr<std::string> r = InternalError("unknown operation");
    switch (req.kind) {
      case OpKind::kAdd: r = source_.Add(req.form); break;
      case OpKind::kKill: r = source_.Kill(req.agent); break;
      case OpKind::kRestart: r = source_.Restart(req.agent); break;
      case OpKind::kPanic: r = source_.Panic(req.reason); break;
      case OpKind::kAttach: break;
    }
    queue_.Push(Event::OpDone(req.kind, req.agent, r.status(), r.ok() ? *r : std::string(), clock_.Monotonic(), req.form));
  }

  struct Running {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  HostSource& source_;
  EventQueue& queue_;
  Clock& clock_;
  std::list<Running> running_;
};

constexpr Duration kHoldKeysForAttach = std::chrono::seconds(2);

// Runs the attach argv on this terminal with the dashboard suspended.
Status RunAttached(Terminal& term, ProcessRunner& runner, const std::string& agent, const std::vector<std::string>& argv) {
  term.Suspend();
  std::printf("cloudcoop: connected to agent %s; detach with the tmux prefix key, then d, to return to the dashboard\n",
              agent.c_str());
  std::fflush(stdout);
  struct sigaction ignore {}, old_int {}, old_quit {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGINT, &ignore, &old_int);
  sigaction(SIGQUIT, &ignore, &old_quit);
  ProcessSpec spec;
  spec.argv = argv;
  spec.interactive = true;
  spec.env["TMUX"] = std::nullopt;  // attaching from inside another tmux is the user's choice
  StatusOr<ProcessResult> r = runner.Run(spec);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGQUIT, &old_quit, nullptr);
  term.Resume();
  if (!r.ok()) return r.status().Annotate("connect to " + agent);
  if (!r->success()) {
    return UnavailableError("connect to " + agent + ": " + argv[0] + " ended with " + r->Describe())
        .WithFix("check that the agent still runs (l shows its output)");
  }
  return OkStatus();
}

}  // namespace

Status RunDashboard(HostSource& source, const DashboardOptions& o) {
  Clock& clock = o.clock != nullptr ? *o.clock : DefaultClock();
  ProcessRunner& runner = o.runner != nullptr ? *o.runner : DefaultProcessRunner();
  Trace trace(o.trace_path);
  // Only the character type: numbers keep printing with '.' whatever the locale.
  std::setlocale(LC_CTYPE, "");

  EventQueue queue;
  Refresher refresher(source, queue, clock, std::chrono::seconds(std::max(o.refresh_interval_sec, 1)), trace);
  // The first snapshot is taken while the terminal is being set up.
  refresher.Start();
  auto term_or = Terminal::Open(o.color);
  if (!term_or.ok()) return term_or.status();
  Terminal& term = **term_or;
  Operations ops(source, queue, clock);

  Model m = NewModel(term.width(), term.height(), source.capabilities(), source.form_defaults());
  m.color = term.color();
  m.unicode = term.unicode();
  m.refresh_interval_sec = std::max(o.refresh_interval_sec, 1);
  m.hostname_hint = o.hostname_hint;
  m.now = clock.Monotonic();

  bool first_full = false;
  auto draw = [&](int64_t cpu_start) {
    Screen s = Render(m);
    term.Draw(s);
    if (trace.on()) {
      bool full = m.snapshot.has_value();
      trace.Line("frame mono_ns=" + std::to_string(MonoNs()) + " cpu_ns=" + std::to_string(ThreadCpuNs() - cpu_start) +
                 " full=" + (full ? "1" : "0") + (full && !first_full ? " first_full=1" : ""));
      first_full = first_full || full;
    }
  };
  // A fast host answers within a few milliseconds: wait briefly for the first snapshot so the first
  // frame is the full one (no "loading" flash); a slow host gets the loading frame at once after.
  {
    struct pollfd first{queue.fd(), POLLIN, 0};
    if (poll(&first, 1, kFirstSnapshotWaitMs) > 0) {
      for (Event& e : queue.Drain()) {
        for (const Effect& fx : Update(m, e)) {
          if (fx.kind == Effect::Kind::kRefreshNow) refresher.RefreshNow();
        }
      }
    }
  }
  draw(ThreadCpuNs());

  bool quit = false;
  bool keys_left = false;
  while (!quit) {
    int timeout = -1;
    if (m.op || m.panic_op || m.attach) timeout = 100;
    else if (!m.message.text.empty()) timeout = 1000;
    if (keys_left) timeout = 0;
    // While a connect is being prepared (its attach command resolved on another thread), typed keys
    // stay in the terminal, where `tmux attach` reads them, as it would have had the user typed
    // them after it started; for a bounded time, so that a slow preparation does not freeze the
    // dashboard.
    bool hold_keys = m.attach.has_value() && clock.Monotonic() - m.attach->started < kHoldKeysForAttach;
    struct pollfd fds[3] = {{hold_keys ? -1 : term.input_fd(), POLLIN, 0},
                            {queue.fd(), POLLIN, 0},
                            {term.resize_fd(), POLLIN, 0}};
    int ready = poll(fds, 3, timeout);
    if (ready < 0 && errno != EINTR) return ErrnoError(errno, "wait for keys and updates in the dashboard");
    int64_t cpu_start = ThreadCpuNs();
    Duration now = clock.Monotonic();
    std::vector<Event> events;
    if (term.TakeResize()) events.push_back(Event::Resize(term.width(), term.height(), now));
    if ((fds[0].revents & (POLLHUP | POLLERR)) || term.terminate_requested()) {
      // The terminal went away (SSH connection closed), or SIGTERM/SIGHUP: give the terminal back;
      // running operations still finish below.
      break;
    }
    // A key that may start a connect ends the batch, so that what was typed after it is left for the
    // agent's session (above), not played to the dashboard once the client detaches. If the key
    // did not connect, the rest is read at once on the next round.
    bool more_keys = false;
    if (!hold_keys) {
      for (int key : term.ReadKeys(&IsConnectKey, &more_keys)) events.push_back(Event::KeyPress(key, now));
    }
    for (Event& e : queue.Drain()) events.push_back(std::move(e));
    if (events.empty()) events.push_back(Event::Tick(now));
    for (size_t i = 0; i < events.size() && !quit; ++i) {
      std::vector<Effect> effects = Update(m, events[i]);
      for (const Effect& fx : effects) {
        switch (fx.kind) {
          case Effect::Kind::kRefreshNow: refresher.RefreshNow(); break;
          case Effect::Kind::kRedraw: term.Invalidate(); break;
          case Effect::Kind::kStartOp: ops.Start(fx.op); break;
          case Effect::Kind::kLoadTranscript:
          case Effect::Kind::kLoadAudit: refresher.Load(fx.kind, fx.agent); break;
          case Effect::Kind::kQuit: quit = true; break;
          case Effect::Kind::kRunAttach: {
            Status st = RunAttached(term, runner, fx.agent, fx.argv);
            Duration after = clock.Monotonic();
            term.TakeResize();
            events.push_back(Event::Resize(term.width(), term.height(), after));
            events.push_back(Event::OpDone(OpKind::kAttach, fx.agent, st,
                                           st.ok() ? "back from " + fx.agent + " (detached)" : std::string(), after));
            break;
          }
        }
      }
    }
    keys_left = more_keys;
    ops.JoinFinished();
    if (!quit) draw(cpu_start);
  }
  refresher.Stop();
  term_or->reset();  // the terminal goes back to the user first
  ops.JoinAll();
  return OkStatus();
}

}  // namespace cloudcoop::tui
