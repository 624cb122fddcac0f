#include "tui/screen.h"

#include <algorithm>

namespace cloudcoop::tui {

int CharWidth(char32_t c) {
  if (c == 0) return 0;
  if (c < 0x20 || (c >= 0x7f && c < 0xa0)) return 1;  // shown as '?'
  // Combining marks and zero-width characters.
  if ((c >= 0x0300 && c <= 0x036f) || (c >= 0x1ab0 && c <= 0x1aff) || (c >= 0x1dc0 && c <= 0x1dff) ||
      (c >= 0x20d0 && c <= 0x20ff) || (c >= 0xfe20 && c <= 0xfe2f) || c == 0x200b || c == 0x200c ||
      c == 0x200d || c == 0x2060 || c == 0xfeff || (c >= 0xfe00 && c <= 0xfe0f)) {
    return 0;
  }
  // East Asian wide and fullwidth ranges, and the emoji blocks terminals draw two columns wide.
  if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) || (c >= 0x3041 && c <= 0x33ff) ||
      (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) ||
      (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) ||
      (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
      (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd)) {
    return 2;
  }
  return 1;
}

std::u32string DecodeUtf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    int len = (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
    char32_t cp = len == 2 ? (b & 0x1f) : len == 3 ? (b & 0x0f) : (b & 0x07);
    bool ok = len != 0 && i + static_cast<size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      unsigned char cb = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((cb & 0xc0) != 0x80) ok = false;
      cp = (cp << 6) | (cb & 0x3f);
    }
    if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
               cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) {
      ok = false;
    }
    if (!ok) {
      out.push_back(0xfffd);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += static_cast<size_t>(len);
  }
  return out;
}

std::string EncodeUtf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    }
  }
  return out;
}

int TextWidth(std::string_view text) {
  int w = 0;
  bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return static_cast<int>(text.size());
  for (char32_t c : DecodeUtf8(text)) w += CharWidth(c);
  return w;
}

std::string FitText(std::string_view text, int width, std::string_view ellipsis) {
  if (width <= 0) return {};
  if (TextWidth(text) <= width) return std::string(text);
  int ew = TextWidth(ellipsis);
  if (ew > width) ellipsis = {}, ew = 0;
  std::u32string out;
  int used = 0;
  for (char32_t c : DecodeUtf8(text)) {
    int cw = CharWidth(c);
    if (used + cw > width - ew) break;
    out.push_back(c);
    used += cw;
  }
  return EncodeUtf8(out) + std::string(ellipsis);
}

std::string PadText(std::string_view text, int width, bool right, std::string_view ellipsis) {
  std::string fitted = FitText(text, width, ellipsis);
  int pad = width - TextWidth(fitted);
  if (pad <= 0) return fitted;
  return right ? std::string(static_cast<size_t>(pad), ' ') + fitted : fitted + std::string(static_cast<size_t>(pad), ' ');
}

Screen::Screen(int width, int height)
    : width_(std::max(width, 1)),
      height_(std::max(height, 1)),
      cells_(static_cast<size_t>(width_) * static_cast<size_t>(height_)) {}

int Screen::Put(int x, int y, std::string_view text, Style style, int max_width) {
  if (y < 0 || y >= height_ || x >= width_) return 0;
  int limit = width_ - x;
  if (max_width >= 0) limit = std::min(limit, max_width);
  int used = 0;
  auto place = [&](char32_t c) -> bool {
    int cw = CharWidth(c);
    if (c < 0x20 || (c >= 0x7f && c < 0xa0)) c = U'?', cw = 1;
    if (ascii_only_ && c >= 0x80) c = U'?', cw = cw == 0 ? 0 : 1;
    if (cw == 0) return true;  // combining marks are dropped: one code point per cell
    if (used + cw > limit) return false;
    int cx = x + used;
    if (cx >= 0) {
      // Overwriting half of a wide character blanks its other half.
      if (mut(cx, y).continuation && cx > 0) mut(cx - 1, y) = Cell{U' ', mut(cx - 1, y).style, false};
      mut(cx, y) = Cell{c, style, false};
      if (cw == 2) mut(cx + 1, y) = Cell{U' ', style, true};
      int after = cx + cw;
      if (after < width_ && mut(after, y).continuation) mut(after, y) = Cell{U' ', mut(after, y).style, false};
    }
    used += cw;
    return true;
  };
  bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    for (char c : text) {
      if (!place(static_cast<unsigned char>(c))) break;
    }
  } else {
    for (char32_t c : DecodeUtf8(text)) {
      if (!place(c)) break;
    }
  }
  return used;
}

void Screen::Fill(int x, int y, int w, char32_t ch, Style style) {
  if (y < 0 || y >= height_) return;
  for (int i = std::max(x, 0); i < std::min(x + w, width_); ++i) mut(i, y) = Cell{ch, style, false};
}

void Screen::SetStyle(int x, int y, int w, Style style) {
  if (y < 0 || y >= height_) return;
  for (int i = std::max(x, 0); i < std::min(x + w, width_); ++i) mut(i, y).style = style;
}

std::string Screen::Row(int y) const {
  std::u32string row;
  for (int x = 0; x < width_; ++x) {
    const Cell& c = at(x, y);
    if (!c.continuation) row.push_back(c.ch);
  }
  while (!row.empty() && row.back() == U' ') row.pop_back();
  return EncodeUtf8(row);
}

std::string Screen::ToText() const {
  std::string out;
  for (int y = 0; y < height_; ++y) out += Row(y) + "\n";
  return out;
}

}  // namespace cloudcoop::tui
