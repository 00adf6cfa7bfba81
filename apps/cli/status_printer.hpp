#pragma once

// Shared by `troupe demo` and `troupe run`.

#include <algorithm>
#include <cstdio>
#include <vector>

#include <unistd.h>

#include "troupe/actors/service_status.hpp"
#include "troupe/app/status_table.hpp"

namespace troupe::cli {

// Live status: redrawn in place on a terminal, one log line per service
// otherwise (CI, pipes, files).
class status_printer {
public:
  status_printer() : tty_(isatty(STDOUT_FILENO) != 0) {}

  void print(const std::vector<service_status>& sts) {
    if (tty_) {
      auto table = app::render_status_table(sts);
      if (lines_ > 0)
        std::printf("\033[%zuF\033[J", lines_);
      std::fputs(table.c_str(), stdout);
      lines_ =
        static_cast<size_t>(std::count(table.begin(), table.end(), '\n'));
    } else {
      for (auto& st : sts)
        std::printf("status %s\n", app::render_status_line(st).c_str());
    }
    std::fflush(stdout);
  }

  void final(const std::vector<service_status>& sts) {
    lines_ = 0;
    std::printf("final status:\n%s", app::render_status_table(sts).c_str());
    std::fflush(stdout);
  }

private:
  bool tty_;
  size_t lines_ = 0;
};

} // namespace troupe::cli
