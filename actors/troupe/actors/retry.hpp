#pragma once

// Retry with exponential backoff: the policy and the delay computation. A
// service retries through `service::retry` and `service::retry_request`,
// which wait on the actor clock (virtual time in tests).

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>

#include <caf/error.hpp>

namespace troupe {

/// How often and how patiently to retry.
struct retry_policy {
  /// Attempts in total, the first included; 0 means no limit (then set a
  /// `deadline`).
  uint32_t max_attempts = 5;
  /// The delay before the second attempt.
  std::chrono::nanoseconds initial_delay = std::chrono::milliseconds{100};
  /// No delay is longer than this.
  std::chrono::nanoseconds max_delay = std::chrono::seconds{10};
  /// Each delay is the previous one times this (before jitter).
  double multiplier = 2.0;
  /// Fraction in [0, 1]: each delay is drawn uniformly from
  /// [d * (1 - jitter), d], so retries of many clients spread out.
  double jitter = 0.2;
  /// No attempt starts later than this after the first; zero: no deadline.
  std::chrono::nanoseconds deadline{0};
  /// Seed of the jitter; 0 draws one from `std::random_device`.
  uint64_t seed = 0;
  /// Which errors are worth another attempt; null means
  /// `default_retryable`. Any other error ends the retry at once.
  std::function<bool(const caf::error&)> retryable;
};

/// Returns whether `err` is transient by default: a request timeout
/// (`caf::sec::request_timeout`, `errc::timeout`), a service that is not
/// running (yet), or an open circuit breaker (`errc::circuit_open`).
bool default_retryable(const caf::error& err) noexcept;

/// The wait before attempt `attempt` (0 for the first wait) of an
/// exponential backoff: `initial * multiplier^attempt` capped at `max`, then
/// shortened by `jitter * u` of itself (`jitter` and `u` in [0, 1]; `u` is
/// the caller's uniform draw). Retries (`backoff`) and the supervisor's
/// restarts (`backoff_delay`) both wait this long.
std::chrono::nanoseconds jittered_backoff(std::chrono::nanoseconds initial,
                                          std::chrono::nanoseconds max,
                                          double multiplier, uint64_t attempt,
                                          double jitter, double u) noexcept;

/// The delays of one retry run: exponential, capped, jittered. Pure logic.
class backoff {
public:
  /// Starts a run of `policy`.
  explicit backoff(const retry_policy& policy);

  /// Returns the delay before the next attempt and advances.
  std::chrono::nanoseconds next();

private:
  retry_policy policy_;
  uint64_t attempt_ = 0;
  std::mt19937_64 rng_;
};

/// The continuation an operation calls exactly once with its outcome: a
/// default-constructed `caf::error` for success. Later calls are ignored.
using retry_done = std::function<void(const caf::error&)>;

/// An operation to retry: starts one attempt and eventually calls `done`.
using retry_operation = std::function<void(retry_done done)>;

/// Receives the final outcome of a retry: success (no error), the first
/// error that was not retryable, or the last error when attempts or the
/// deadline ran out.
using retry_handler = std::function<void(const caf::error&)>;

} // namespace troupe
