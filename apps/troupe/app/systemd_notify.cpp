#include "troupe/app/systemd_notify.hpp"

#include <cstdlib>
#include <utility>

#include <systemd/sd-daemon.h>

namespace troupe::app {

namespace {

// One line: a newline would start another assignment in the datagram.
std::string status_line(std::string_view status) {
  std::string out{"STATUS="};
  for (char c : status)
    out += (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}

} // namespace

systemd_notifier::systemd_notifier() {
  auto* sock = std::getenv("NOTIFY_SOCKET");
  active_ = sock != nullptr && *sock != '\0';
  uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is us.
  if (active_ && sd_watchdog_enabled(0, &usec) > 0)
    watchdog_ = std::chrono::microseconds{usec};
}

void systemd_notifier::send(const std::string& state) {
  if (active_)
    sd_notify(0, state.c_str());
}

void systemd_notifier::ready(std::string_view status) {
  send("READY=1\n" + status_line(status));
}

void systemd_notifier::reloading(std::string_view status) {
  send("RELOADING=1\n" + status_line(status));
}

void systemd_notifier::stopping(std::string_view status) {
  send("STOPPING=1\n" + status_line(status));
}

void systemd_notifier::status(std::string_view status) {
  send(status_line(status));
}

void systemd_notifier::watchdog() {
  send("WATCHDOG=1");
}

watchdog_feeder::watchdog_feeder(systemd_notifier& notifier,
                                 health_check healthy)
  : notifier_(notifier), healthy_(std::move(healthy)) {
  auto timeout = notifier_.watchdog_timeout();
  if (timeout.count() > 0)
    thread_ = std::thread([this, timeout] { run(timeout / 2); });
}

watchdog_feeder::~watchdog_feeder() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    done_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void watchdog_feeder::run(std::chrono::microseconds period) {
  auto next = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> guard{mtx_};
  while (!done_) {
    guard.unlock();
    // A supervisor that does not answer in time is exactly what the
    // watchdog is for: no ping.
    bool ok = healthy_(period / 2);
    guard.lock();
    if (done_)
      return;
    if (ok)
      notifier_.watchdog();
    next += period;
    cv_.wait_until(guard, next, [this] { return done_; });
  }
}

} // namespace troupe::app
