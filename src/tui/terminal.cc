#include "tui/terminal.h"

#include <fcntl.h>
#include <langinfo.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tui/model.h"

// ncurses last, without its function-like macros (erase(), clear(), move() ...).
#define NCURSES_WIDECHAR 1
#define NCURSES_NOMACROS 1
#include <ncursesw/curses.h>

namespace cloudcoop::tui {
namespace {

int g_resize_pipe[2] = {-1, -1};
volatile sig_atomic_t g_terminate = 0;

void Wake() {
  if (g_resize_pipe[1] >= 0) {
    char c = 1;
    ssize_t ignored = write(g_resize_pipe[1], &c, 1);
    (void)ignored;
  }
}

void OnSigwinch(int) {
  int saved = errno;
  Wake();
  errno = saved;
}

void OnTerminate(int) {
  int saved = errno;
  g_terminate = 1;
  Wake();
  errno = saved;
}

enum Pair : short { kPairGreen = 1, kPairYellow, kPairRed, kPairCyan, kPairDanger };

attr_t AttrFor(Style s, bool color) {
  switch (s) {
    case Style::kNormal: return A_NORMAL;
    case Style::kDim: return A_DIM;
    case Style::kBold: return A_BOLD;
    case Style::kTitle: return A_REVERSE | A_BOLD;
    case Style::kHeading: return A_BOLD | A_UNDERLINE;
    case Style::kSelected: return A_REVERSE;
    case Style::kRunning: return color ? COLOR_PAIR(kPairGreen) : A_NORMAL;
    case Style::kWarn: return color ? COLOR_PAIR(kPairYellow) : A_BOLD;
    case Style::kBad: return color ? (COLOR_PAIR(kPairRed) | A_BOLD) : A_BOLD;
    case Style::kCreating: return color ? COLOR_PAIR(kPairCyan) : A_NORMAL;
    case Style::kOk: return color ? (COLOR_PAIR(kPairGreen) | A_BOLD) : A_NORMAL;
    case Style::kKey: return color ? (COLOR_PAIR(kPairCyan) | A_BOLD) : A_BOLD;
    case Style::kKeyDisabled: return A_DIM;
    case Style::kInput: return A_UNDERLINE;
    case Style::kDanger: return color ? (COLOR_PAIR(kPairDanger) | A_BOLD) : (A_REVERSE | A_BOLD);
    case Style::kCount: break;
  }
  return A_NORMAL;
}

int TranslateKey(int rc, wint_t wc) {
  if (rc == KEY_CODE_YES) {
    switch (wc) {
      case KEY_UP: return kKeyUp;
      case KEY_DOWN: return kKeyDown;
      case KEY_LEFT: return kKeyLeft;
      case KEY_RIGHT: return kKeyRight;
      case KEY_PPAGE: return kKeyPageUp;
      case KEY_NPAGE: return kKeyPageDown;
      case KEY_HOME: return kKeyHome;
      case KEY_END: return kKeyEnd;
      case KEY_ENTER: return kKeyEnter;
      case KEY_BACKSPACE: return kKeyBackspace;
      case KEY_DC: return kKeyDelete;
      case KEY_BTAB: return kKeyBackTab;
      default: return kKeyOther;
    }
  }
  switch (wc) {
    case '\n':
    case '\r': return kKeyEnter;
    case 27: return kKeyEscape;
    case '\t': return kKeyTab;
    case 127:
    case 8: return kKeyBackspace;
    case 3: return kKeyCtrlC;
    case 12: return kKeyCtrlL;
    case 21: return kKeyCtrlU;
    default: return static_cast<int>(wc);
  }
}

}  // namespace

StatusOr<std::unique_ptr<Terminal>> Terminal::Open(bool want_color) {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    return FailedPreconditionError("the dashboard needs a terminal (stdin and stdout are not both one)")
        .WithFix("run `cloudcoop` in a terminal, or use `cloudcoop agent list` in scripts");
  }
  const char* term = std::getenv("TERM");
  if (term == nullptr || *term == '\0' || std::strcmp(term, "dumb") == 0) {
    return FailedPreconditionError(std::string("the dashboard cannot drive this terminal: TERM is ") +
                                   (term == nullptr || *term == '\0' ? "not set" : "\"dumb\""))
        .WithFix("set TERM to your terminal's type, e.g. export TERM=xterm-256color");
  }
  std::unique_ptr<Terminal> t(new Terminal());
  const char* codeset = nl_langinfo(CODESET);
  t->unicode_ = codeset != nullptr && std::strcmp(codeset, "UTF-8") == 0;

  // Our own SIGWINCH handler (installed before ncurses, which then leaves it alone) wakes the
  // input loop through a pipe.
  if (g_resize_pipe[0] < 0) {
    if (pipe2(g_resize_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoError(errno, "create the resize pipe");
  }
  struct sigaction sa {};
  sa.sa_handler = OnSigwinch;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGWINCH, &sa, nullptr);
  // SIGTERM and SIGHUP (the SSH connection went away) end the loop cleanly instead of leaving the
  // terminal in raw mode or an operation half-done.
  struct sigaction quit {};
  quit.sa_handler = OnTerminate;
  sigemptyset(&quit.sa_mask);
  quit.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &quit, nullptr);
  sigaction(SIGHUP, &quit, nullptr);

  // Escape alone should close a dialog quickly; 50 ms still joins escape sequences over SSH.
  set_escdelay(50);
  SCREEN* screen = newterm(nullptr, stdout, stdin);
  if (screen == nullptr) {
    return FailedPreconditionError(std::string("the dashboard cannot drive this terminal: no terminfo entry for TERM=") + term)
        .WithFix("set TERM to a known type (e.g. export TERM=xterm-256color), or install ncurses-term");
  }
  t->screen_ = screen;
  raw();
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  nodelay(stdscr, TRUE);
  leaveok(stdscr, TRUE);
  curs_set(0);
  if (want_color && has_colors()) {
    start_color();
    use_default_colors();
    init_pair(kPairGreen, COLOR_GREEN, -1);
    init_pair(kPairYellow, COLOR_YELLOW, -1);
    init_pair(kPairRed, COLOR_RED, -1);
    init_pair(kPairCyan, COLOR_CYAN, -1);
    init_pair(kPairDanger, COLOR_WHITE, COLOR_RED);
    t->color_ = true;
  }
  return t;
}

Terminal::~Terminal() {
  if (screen_ != nullptr) {
    if (!suspended_) endwin();
    delscreen(static_cast<SCREEN*>(screen_));
  }
  signal(SIGWINCH, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
}

bool Terminal::terminate_requested() const { return g_terminate != 0; }

int Terminal::width() const { return COLS; }
int Terminal::height() const { return LINES; }
int Terminal::resize_fd() const { return g_resize_pipe[0]; }

void Terminal::Draw(const Screen& s) {
  if (suspended_) return;
  bool full = !last_ || last_->width() != s.width() || last_->height() != s.height();
  for (int y = 0; y < s.height() && y < LINES; ++y) {
    for (int x = 0; x < s.width() && x < COLS; ++x) {
      const Cell& c = s.at(x, y);
      if (!full) {
        const Cell& o = last_->at(x, y);
        if (o.ch == c.ch && o.style == c.style && o.continuation == c.continuation) continue;
      }
      if (c.continuation) continue;
      attr_t a = AttrFor(c.style, color_);
      if (c.ch < 0x80) {
        mvwaddch(stdscr, y, x, static_cast<chtype>(c.ch) | a);
      } else {
        cchar_t cc;
        wchar_t wc[2] = {static_cast<wchar_t>(c.ch), 0};
        setcchar(&cc, wc, a & ~A_COLOR, static_cast<short>(PAIR_NUMBER(a)), nullptr);
        mvwadd_wch(stdscr, y, x, &cc);
      }
    }
  }
  wnoutrefresh(stdscr);
  doupdate();
  last_ = s;
}

void Terminal::Invalidate() {
  last_.reset();
  clearok(curscr, TRUE);
}

std::vector<int> Terminal::ReadKeys(bool (*stop_after)(int), bool* stopped) {
  std::vector<int> keys;
  if (stopped != nullptr) *stopped = false;
  if (suspended_) return keys;
  for (int i = 0; i < 256; ++i) {
    wint_t wc = 0;
    int rc = wget_wch(stdscr, &wc);
    if (rc == ERR) break;
    if (rc == KEY_CODE_YES && wc == KEY_RESIZE) continue;  // we follow SIGWINCH ourselves
    keys.push_back(TranslateKey(rc, wc));
    if (stop_after != nullptr && stop_after(keys.back())) {
      if (stopped != nullptr) *stopped = true;
      break;
    }
  }
  return keys;
}

bool Terminal::TakeResize() {
  char buf[64];
  while (read(g_resize_pipe[0], buf, sizeof buf) > 0) {
  }
  struct winsize ws {};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0) return false;
  if (ws.ws_row == LINES && ws.ws_col == COLS) return false;
  resize_term(ws.ws_row, ws.ws_col);
  Invalidate();
  return true;
}

void Terminal::Suspend() {
  if (suspended_) return;
  def_prog_mode();
  endwin();
  fflush(stdout);
  suspended_ = true;
}

void Terminal::Resume() {
  if (!suspended_) return;
  reset_prog_mode();
  suspended_ = false;
  struct winsize ws {};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0 &&
      (ws.ws_row != LINES || ws.ws_col != COLS)) {
    resize_term(ws.ws_row, ws.ws_col);
  }
  Invalidate();
}

}  // namespace cloudcoop::tui
