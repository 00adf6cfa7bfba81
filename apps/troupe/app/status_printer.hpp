#pragma once

// Shared by `troupe demo` and `troupe run` (troupe::app::run_app).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <vector>

#include <sys/ioctl.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "troupe/actors/service_status.hpp"
#include "troupe/app/status_table.hpp"

namespace troupe::app {

// Live status: redrawn in place on a terminal, one log line per service
// otherwise (CI, pipes, files). Beyond a screenful of services (the
// terminal's height; 50 lines when not a terminal) it sums them by type and
// lists only those that need attention.
class status_printer {
public:
  status_printer() : tty_(isatty(STDOUT_FILENO) != 0) {
    winsize ws{};
    if (tty_ && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
      screen_ = ws.ws_row;
  }

  /// Writes the status; the caller flushes stdout.
  void print(const std::vector<service_status>& sts) {
    if (tty_) {
      auto table = render(sts);
      if (lines_ > 0)
        std::printf("\033[%zuF\033[J", lines_);
      std::fputs(table.c_str(), stdout);
      lines_ =
        static_cast<size_t>(std::count(table.begin(), table.end(), '\n'));
    } else if (fits(sts)) {
      for (auto& st : sts)
        std::printf("status %s\n", app::render_status_line(st).c_str());
    } else {
      for (auto& line : app::render_type_lines(sts))
        std::printf("status %s\n", line.c_str());
      size_t listed = 0;
      for (auto& st : sts)
        if (app::status_needs_attention(st) && listed++ < max_listed())
          std::printf("status %s\n", app::render_status_line(st).c_str());
    }
  }

  void final(const std::vector<service_status>& sts) {
    lines_ = 0;
    std::printf("final status:\n%s", render(sts).c_str());
    std::fflush(stdout);
  }

private:
  // One line per service fits: the header, the services and a line left.
  bool fits(const std::vector<service_status>& sts) const {
    return sts.size() + 2 <= screen_;
  }

  size_t max_listed() const { return screen_ > 20 ? screen_ - 15 : 5; }

  std::string render(const std::vector<service_status>& sts) const {
    return fits(sts) ? app::render_status_table(sts)
                     : app::render_type_summary(sts, max_listed());
  }

  bool tty_;
  size_t screen_ = 50;
  size_t lines_ = 0;
};

/// Gives the heap's free pages back to the system. Loading an app file and
/// collecting the statuses of many services allocate a lot for a moment;
/// glibc keeps what was freed resident, so an app of 10,000 services held
/// ~12 KB of RSS per service while using ~6 KB (issue 25).
inline void release_free_memory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

/// Prints the group's status every `interval` until `run_for` has passed (if
/// set), a stop signal arrives or `gave_up()` says the app cannot go on;
/// calls `on_reload` for each SIGHUP/SIGUSR1.
template <class Group, class Signals, class Logger, class Reload,
          class GaveUp = bool (*)()>
void run_until_stopped(
  Group& group, Signals& signals, Logger& log,
  std::chrono::nanoseconds interval,
  std::optional<std::chrono::nanoseconds> run_for, Reload on_reload,
  GaveUp gave_up = [] { return false; }) {
  status_printer printer;
  auto until = run_for ? std::chrono::steady_clock::now() + *run_for
                       : std::chrono::steady_clock::time_point::max();
  for (;;) {
    printer.print(group.statuses());
    // The statuses are gone; the line is seen once memory was given back.
    release_free_memory();
    std::fflush(stdout);
    if (gave_up())
      return;
    auto now = std::chrono::steady_clock::now();
    if (now >= until)
      return;
    auto wait = std::min<std::chrono::nanoseconds>(interval, until - now);
    if (signals.wait_for_stop(wait)) {
      log.info("signal {} received: stopping (again to force)",
               signals.stop_signal());
      return;
    }
    if (signals.take_reload_request())
      on_reload();
  }
}

} // namespace troupe::app
