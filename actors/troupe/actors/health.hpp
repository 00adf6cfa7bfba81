#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace troupe {

/// Wall-clock time with nanosecond resolution (the same type as
/// `caf::timestamp`).
using timestamp =
  std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;

/// Health of one check, one service or one app, ordered from best to worst.
enum class health_status : uint8_t {
  healthy,
  degraded,
  unhealthy,
  fatal,
};

/// Returns the stable name of `x` ("healthy", ...).
std::string to_string(health_status x);

/// One named health check and its latest result.
struct health_check {
  std::string name;
  health_status status = health_status::healthy;
  std::string message;
  timestamp updated;
};

/// The health of a service: the worst of its checks.
struct health_report {
  health_status overall = health_status::healthy;
  std::vector<health_check> checks;
};

/// Returns the worst status among `checks` (healthy when there are none).
health_status rollup(const std::vector<health_check>& checks) noexcept;

/// Returns the worst of `x` and `y`.
constexpr health_status worst(health_status x, health_status y) noexcept {
  return x < y ? y : x;
}

} // namespace troupe
