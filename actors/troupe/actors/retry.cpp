#include "troupe/actors/retry.hpp"

#include <algorithm>

#include <caf/sec.hpp>

#include "troupe/actors/errc.hpp"

namespace troupe {

bool default_retryable(const caf::error& err) noexcept {
  if (err.category() == caf::atom("system"))
    return err.code() == static_cast<uint8_t>(caf::sec::request_timeout);
  return is(err, errc::timeout) || is(err, errc::not_running) ||
         is(err, errc::circuit_open);
}

backoff::backoff(const retry_policy& policy)
  : base_(static_cast<double>(policy.initial_delay.count())),
    max_(static_cast<double>(policy.max_delay.count())),
    multiplier_(std::max(policy.multiplier, 1.0)),
    jitter_(std::clamp(policy.jitter, 0.0, 1.0)),
    rng_(policy.seed != 0 ? policy.seed : std::random_device{}()) {}

std::chrono::nanoseconds backoff::next() {
  auto d = std::min(base_, max_);
  base_ = std::min(base_ * multiplier_, max_);
  if (jitter_ > 0) {
    std::uniform_real_distribution<double> u{1.0 - jitter_, 1.0};
    d *= u(rng_);
  }
  return std::chrono::nanoseconds{static_cast<int64_t>(d)};
}

} // namespace troupe
