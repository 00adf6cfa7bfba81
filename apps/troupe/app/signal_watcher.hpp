#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace troupe::app {

/// Turns SIGINT, SIGTERM and SIGHUP/SIGUSR1 (reload) into events the main loop
/// can wait for.
///
/// Construct it first in `main`, before the actor system starts threads: it
/// blocks the signals in the calling thread (threads started later inherit
/// the mask) and receives them on a thread of its own with `sigwait`. The
/// first SIGINT/SIGTERM requests a graceful stop; a second one exits the
/// process at once with status 130 (SIGINT) or 143 (SIGTERM).
class signal_watcher {
public:
  signal_watcher();
  ~signal_watcher();

  signal_watcher(const signal_watcher&) = delete;
  signal_watcher& operator=(const signal_watcher&) = delete;

  /// Waits up to `timeout` for a stop or reload request; returns whether a
  /// stop was requested (check `take_reload_request` when it returns false).
  bool wait_for_stop(std::chrono::nanoseconds timeout);

  /// Returns whether a stop was requested.
  bool stop_requested() const noexcept { return stop_signal_ != 0; }

  /// Returns the signal that requested the stop (0 when none).
  int stop_signal() const noexcept { return stop_signal_; }

  /// Returns and clears whether SIGHUP or SIGUSR1 arrived since the last
  /// call.
  bool take_reload_request() noexcept { return reload_.exchange(false); }

  /// Ends the current (or next) `wait_for_stop` early, without a stop:
  /// something else happened that the main loop should look at (the
  /// supervisor gave up). Safe from any thread.
  void wake();

private:
  void run();

  std::atomic<int> stop_signal_{0};
  std::atomic<bool> reload_{false};
  std::atomic<bool> woken_{false};
  std::atomic<bool> shutting_down_{false};
  std::mutex mtx_;
  std::condition_variable cv_;
  std::thread thread_;
};

} // namespace troupe::app
