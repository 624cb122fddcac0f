// The view: a pure function from the model to a screen of styled cells. No terminal, no clock, no
// host: the same model always gives the same screen, which is what the golden tests compare.
#ifndef CLOUDCOOP_TUI_VIEW_H_
#define CLOUDCOOP_TUI_VIEW_H_

#include <string>
#include <vector>

#include "tui/model.h"
#include "tui/screen.h"

namespace cloudcoop::tui {

// Where each part of the table screen goes at the model's size. -1: not shown.
struct Layout {
  int title_y = 0;
  int summary_y = 1;
  int banner_y = -1;  // the lock-out after a panic
  int heading_y = 2;
  int rows_y = 3;
  int rows_h = 0;
  int detail_y = -1;  // details of the selected agent (tall terminals)
  int detail_h = 0;
  int progress_y = -1;  // the running operation
  int message_y = -1;
  int message_h = 0;
  int footer_y = 0;
};

Layout ComputeLayout(const Model& m);

// The message (and its fix) wrapped to the screen width.
std::vector<std::string> MessageLines(const Model& m);

Screen Render(const Model& m);

}  // namespace cloudcoop::tui

#endif  // CLOUDCOOP_TUI_VIEW_H_
