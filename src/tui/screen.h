// A grid of styled cells: what the view produces and the terminal draws. Independent of ncurses, so
// the whole view can be unit-tested as text.
#ifndef CLOUDCOOP_TUI_SCREEN_H_
#define CLOUDCOOP_TUI_SCREEN_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cloudcoop::tui {

// Meaning, not colour: the terminal maps each style to attributes (and colours unless NO_COLOR).
enum class Style : uint8_t {
  kNormal,
  kDim,
  kBold,
  kTitle,     // the title bar
  kHeading,   // table column headings
  kSelected,  // the selected row
  kRunning,
  kWarn,      // exited, warnings
  kBad,       // killed, failed, lost, errors
  kCreating,
  kOk,
  kKey,          // an available key in the footer
  kKeyDisabled,  // a key that does not apply now
  kInput,        // a text field
  kDanger,       // panic, lock-out
  kCount,
};

struct Cell {
  char32_t ch = U' ';
  Style style = Style::kNormal;
  bool continuation = false;  // the right half of a double-width character
};

// Display width of one code point: 0 (combining, control), 1, or 2 (East Asian wide, emoji).
int CharWidth(char32_t c);
// Decodes UTF-8; invalid bytes become U+FFFD.
std::u32string DecodeUtf8(std::string_view text);
std::string EncodeUtf8(std::u32string_view text);
// Display width of a UTF-8 string (control characters count 1: they are shown as '?').
int TextWidth(std::string_view text);

class Screen {
 public:
  Screen(int width, int height);
  int width() const { return width_; }
  int height() const { return height_; }

  // Writes text at (x, y) clipped to `max_width` columns (and the screen); returns the columns used.
  // Control characters are shown as '?'. With `ascii_only`, non-ASCII characters are shown as '?'.
  int Put(int x, int y, std::string_view text, Style style, int max_width = -1);
  void Fill(int x, int y, int w, char32_t ch, Style style);
  void SetStyle(int x, int y, int w, Style style);
  void set_ascii_only(bool v) { ascii_only_ = v; }

  const Cell& at(int x, int y) const { return cells_[static_cast<size_t>(y * width_ + x)]; }
  // One row as UTF-8 text, trailing blanks removed.
  std::string Row(int y) const;
  // Every row, '\n'-terminated.
  std::string ToText() const;

 private:
  Cell& mut(int x, int y) { return cells_[static_cast<size_t>(y * width_ + x)]; }
  int width_;
  int height_;
  bool ascii_only_ = false;
  std::vector<Cell> cells_;
};

// Cuts text to `width` display columns, ending with `ellipsis` when it was cut.
std::string FitText(std::string_view text, int width, std::string_view ellipsis = "…");
// FitText, then pads with spaces to exactly `width` columns (right-aligned when `right`).
std::string PadText(std::string_view text, int width, bool right = false, std::string_view ellipsis = "…");

}  // namespace cloudcoop::tui

#endif  // CLOUDCOOP_TUI_SCREEN_H_
