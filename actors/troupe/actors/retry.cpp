#include "troupe/actors/retry.hpp"

#include <algorithm>
#include <cmath>

#include <caf/sec.hpp>

#include "troupe/actors/errc.hpp"

namespace troupe {

bool default_retryable(const caf::error& err) noexcept {
  if (err.category() == caf::atom("system"))
    return err.code() == static_cast<uint8_t>(caf::sec::request_timeout);
  return is(err, errc::timeout) || is(err, errc::not_running) ||
         is(err, errc::circuit_open);
}

std::chrono::nanoseconds jittered_backoff(std::chrono::nanoseconds initial,
                                          std::chrono::nanoseconds max,
                                          double multiplier, uint64_t attempt,
                                          double jitter, double u) noexcept {
  auto lo = static_cast<double>(std::max(initial.count(), int64_t{0}));
  auto hi = std::max(static_cast<double>(max.count()), 0.0);
  // Growing in floating point cannot overflow (at worst +inf); cap before
  // converting back.
  auto grown =
    lo * std::pow(std::max(multiplier, 1.0),
                  static_cast<double>(std::min<uint64_t>(attempt, 1024)));
  auto base = std::min(grown, hi);
  auto cut = std::clamp(jitter, 0.0, 1.0) * std::clamp(u, 0.0, 1.0);
  return std::chrono::nanoseconds{static_cast<int64_t>(base * (1.0 - cut))};
}

backoff::backoff(const retry_policy& policy)
  : policy_(policy),
    rng_(policy.seed != 0 ? policy.seed : std::random_device{}()) {}

std::chrono::nanoseconds backoff::next() {
  double u = 0;
  if (policy_.jitter > 0)
    u = std::uniform_real_distribution<double>{0.0, 1.0}(rng_);
  return jittered_backoff(policy_.initial_delay, policy_.max_delay,
                          policy_.multiplier, attempt_++, policy_.jitter, u);
}

} // namespace troupe
