#pragma once

#include <chrono>
#include <memory>
#include <mutex>

namespace troupe::bridge {

namespace detail {
class receiver_loop;
} // namespace detail

/// Runs the receiver of a bridge on the caller's thread, one wake-up per
/// `step`, instead of on a thread of its own: for tests on the fake
/// transport, which then decide exactly when input is read, replies are
/// sent and credit is looked at. Hand it to the bridge's constructor; it
/// holds the receiver from `start` until `stop`.
///
/// ```
/// auto net = std::make_shared<fake_transport>();
/// auto rx = std::make_shared<manual_receiver>();
/// auto br = spawn_service<bridge_service>(sys, opts, net, rx); // + start
/// net->endpoint("in")->inject({"t.a", "{}"});
/// rx->step(); // the bridge actor now has the message in its mailbox
/// ```
class manual_receiver {
public:
  manual_receiver();
  ~manual_receiver();
  manual_receiver(const manual_receiver&) = delete;
  manual_receiver& operator=(const manual_receiver&) = delete;

  /// One wake-up of the receiver: waits up to `max_wait` for input or a
  /// wake-up (none by default), sends the replies and calls the bridge
  /// queued, and hands what every endpoint with credit has ready to the
  /// bridge actor. Returns false when no bridge is running.
  bool step(std::chrono::milliseconds max_wait = {});

private:
  friend class bridge_service;

  /// Installs the receiver of a bridge that starts.
  void attach(std::unique_ptr<detail::receiver_loop> loop);

  /// Removes it (after a step that runs now) and sends the replies still
  /// queued: what joining the receiver thread does.
  void detach();

  std::mutex mtx_;
  std::unique_ptr<detail::receiver_loop> loop_;
};

} // namespace troupe::bridge
