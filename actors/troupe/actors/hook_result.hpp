#pragma once

#include <cstdint>
#include <string>

namespace troupe {

/// What a lifecycle hook answers, as in ROS 2 lifecycle nodes.
///
/// - `success()`: the transition goes ahead.
/// - `refuse(why)`: the service stays in the state it was in; the request is
///   answered with `errc::hook_refused` and `why`.
/// - `fail(why)`: the service moves to `failed`; the request is answered with
///   `errc::hook_failed` and `why`.
///
/// An exception escaping a hook counts as `fail(what())`.
class hook_result {
public:
  /// The three outcomes.
  enum class kind : uint8_t { success, refusal, failure };

  /// The transition goes ahead.
  static hook_result success() { return hook_result{kind::success, {}}; }

  /// The service stays where it was; `why` goes back to the requester.
  static hook_result refuse(std::string why) {
    return hook_result{kind::refusal, std::move(why)};
  }

  /// The service moves to `failed`; `why` goes back to the requester.
  static hook_result fail(std::string why) {
    return hook_result{kind::failure, std::move(why)};
  }

  /// Returns the outcome.
  kind outcome() const noexcept { return kind_; }

  /// Returns the explanation of a refusal or failure.
  const std::string& message() const noexcept { return message_; }

  /// Returns whether the transition may go ahead.
  explicit operator bool() const noexcept { return kind_ == kind::success; }

private:
  hook_result(kind k, std::string msg) : kind_(k), message_(std::move(msg)) {}

  kind kind_;
  std::string message_;
};

} // namespace troupe
