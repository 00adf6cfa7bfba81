#pragma once

// The app's side of systemd's Type=notify protocol (sd_notify(3)): READY,
// STOPPING, RELOADING, STATUS and the watchdog. Quiet no-ops when systemd
// did not start the process (no NOTIFY_SOCKET).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace troupe::app {

/// Sends state changes to the service manager named by `NOTIFY_SOCKET`.
/// Every call is cheap and never throws; without `NOTIFY_SOCKET` nothing is
/// sent.
class systemd_notifier {
public:
  /// Reads `NOTIFY_SOCKET` and the watchdog settings (`WATCHDOG_USEC`,
  /// `WATCHDOG_PID`) from the environment.
  systemd_notifier();

  /// Returns whether a service manager listens (`NOTIFY_SOCKET` set).
  bool active() const noexcept { return active_; }

  /// The watchdog timeout systemd expects pings within (`WatchdogSec=`);
  /// zero when the watchdog is off.
  std::chrono::microseconds watchdog_timeout() const noexcept {
    return watchdog_;
  }

  /// `READY=1` with a status line: the start finished.
  void ready(std::string_view status);

  /// `RELOADING=1` with a status line: a reload began (`ready` ends it).
  void reloading(std::string_view status);

  /// `STOPPING=1` with a status line: the drain began.
  void stopping(std::string_view status);

  /// `STATUS=...`: a free-form line shown by `systemctl status`.
  void status(std::string_view status);

  /// `WATCHDOG=1`: the app is alive and well.
  void watchdog();

private:
  void send(const std::string& state);

  bool active_ = false;
  std::chrono::microseconds watchdog_{0};
};

/// Pings the watchdog every half `watchdog_timeout()` on a thread of its
/// own, but only while `healthy(limit)` says yes within `limit` (a quarter
/// of the timeout): a wedged or given-up app stops pinging and systemd
/// restarts it (`Restart=on-failure` covers a watchdog timeout). Does
/// nothing when the watchdog is off. Stops on destruction.
class watchdog_feeder {
public:
  /// Asks `healthy(limit)` before each ping; it must answer within `limit`.
  using health_check = std::function<bool(std::chrono::microseconds limit)>;

  watchdog_feeder(systemd_notifier& notifier, health_check healthy);
  ~watchdog_feeder();

  watchdog_feeder(const watchdog_feeder&) = delete;
  watchdog_feeder& operator=(const watchdog_feeder&) = delete;

private:
  void run(std::chrono::microseconds period);

  systemd_notifier& notifier_;
  health_check healthy_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

} // namespace troupe::app
