#pragma once

// A circuit breaker as pure logic: the caller passes the time, so tests use
// explicit time points and a service passes `now()` (the actor clock).

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string_view>

namespace troupe {

/// The state of a circuit breaker.
enum class breaker_state : uint8_t {
  /// Calls go through; failures are counted.
  closed,
  /// Trial calls go through; a failure opens again, enough successes close.
  half_open,
  /// Calls are rejected until the cool-down has passed.
  open,
};

/// Returns the stable name of `x` ("closed", "half_open", "open").
std::string_view to_string(breaker_state x) noexcept;

/// When a circuit breaker opens and closes again.
struct circuit_breaker_policy {
  /// Failures within `window` that open the breaker.
  uint32_t failure_threshold = 5;
  /// How far back failures count.
  std::chrono::nanoseconds window = std::chrono::seconds{60};
  /// How long the breaker stays open before it lets trial calls through.
  std::chrono::nanoseconds cool_down = std::chrono::seconds{30};
  /// Successful trial calls that close a half-open breaker.
  uint32_t success_threshold = 1;
  /// Trial calls allowed at once while half-open.
  uint32_t half_open_calls = 1;
};

/// Stops calling a failing dependency for a while, then tries again
/// carefully. Ask `allow_call(now)` before a call and report its outcome with
/// `success(now)` or `failure(now)`.
///
/// ```
/// if (!breaker.allow_call(now())) return reply_busy();
/// call_db([this](bool ok) {
///   ok ? breaker.success(now()) : breaker.failure(now());
/// });
/// ```
class circuit_breaker {
public:
  /// Time as given by the caller (the actor clock in a service).
  using time_point = std::chrono::steady_clock::time_point;

  /// Creates a closed breaker.
  explicit circuit_breaker(circuit_breaker_policy policy = {});

  /// Returns whether a call may go ahead at `now`. Open: false until the
  /// cool-down has passed, then the breaker turns half-open. Half-open: true
  /// for up to `half_open_calls` outstanding trial calls. Every false counts
  /// as a rejection.
  bool allow_call(time_point now);

  /// Reports a successful call.
  void success(time_point now);

  /// Reports a failed call.
  void failure(time_point now);

  /// Returns the current state (an open breaker past its cool-down still
  /// says `open` until the next `allow_call`).
  breaker_state state() const noexcept { return state_; }

  /// Returns how many calls were rejected so far.
  uint64_t rejected() const noexcept { return rejected_; }

  /// Returns when the breaker last opened.
  time_point opened_at() const noexcept { return opened_at_; }

  /// Returns the policy.
  const circuit_breaker_policy& policy() const noexcept { return policy_; }

  /// Called on every state change with the new state.
  std::function<void(breaker_state)> on_change;

  /// Called on every rejected call.
  std::function<void()> on_reject;

private:
  void enter(breaker_state next, time_point now);

  circuit_breaker_policy policy_;
  breaker_state state_ = breaker_state::closed;
  std::deque<time_point> failures_;
  time_point opened_at_{};
  uint32_t trials_ = 0;    // outstanding trial calls while half-open
  uint32_t successes_ = 0; // successful trial calls while half-open
  uint64_t rejected_ = 0;
};

} // namespace troupe
