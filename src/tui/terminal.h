// The only code that talks to ncurses: draws a Screen, reads keys, follows resizes, and steps aside
// while another program (tmux attach) uses the terminal. Used from one thread only.
#ifndef CLOUDCOOP_TUI_TERMINAL_H_
#define CLOUDCOOP_TUI_TERMINAL_H_

#include <memory>
#include <optional>
#include <vector>

#include "core/status.h"
#include "tui/screen.h"

namespace cloudcoop::tui {

class Terminal {
 public:
  // Takes over the terminal on stdin/stdout (alternate screen, raw keys). `color`: use colours if
  // the terminal has them (the caller already applied NO_COLOR and tui.color).
  static StatusOr<std::unique_ptr<Terminal>> Open(bool color);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  int width() const;
  int height() const;
  bool unicode() const { return unicode_; }
  bool color() const { return color_; }
  // The descriptor to poll for key presses, and the one that becomes readable on SIGWINCH.
  int input_fd() const { return 0; }
  int resize_fd() const;

  // Draws the screen; only what changed since the last frame reaches the terminal.
  void Draw(const Screen& screen);
  // Repaints everything at the next Draw (Ctrl-L, after another program used the terminal).
  void Invalidate();
  // Every key waiting (never blocks), or those up to the first for which `stop_after` holds: the
  // rest stay unread, for whoever reads the terminal next (*stopped says so). Keys are model.h Key
  // values or code points.
  std::vector<int> ReadKeys(bool (*stop_after)(int) = nullptr, bool* stopped = nullptr);
  // After SIGWINCH: reads the new size; true when it changed.
  bool TakeResize();
  // True once SIGTERM or SIGHUP arrived (the loop then quits: the terminal is given back, and a
  // running operation still finishes).
  bool terminate_requested() const;

  // Gives the terminal back (as it was before Open) and takes it again.
  void Suspend();
  void Resume();

 private:
  Terminal() = default;
  bool unicode_ = true;
  bool color_ = false;
  bool suspended_ = false;
  void* screen_ = nullptr;  // SCREEN*
  std::optional<Screen> last_;
};

}  // namespace cloudcoop::tui

#endif  // CLOUDCOOP_TUI_TERMINAL_H_
