#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

/// The status named `name` (as `to_string` writes it); nullopt otherwise.
std::optional<health_status>
parse_health_status(std::string_view name) noexcept;

/// One named health check and its latest result.
struct health_check {
  std::string name;
  health_status status = health_status::healthy;
  std::string message;
  timestamp updated;
};

/// What a periodic health check (`service::add_health_check`) found.
struct health_result {
  health_status status = health_status::healthy;
  std::string message;

  /// A passing check with an optional note.
  static health_result healthy(std::string message = {}) {
    return {health_status::healthy, std::move(message)};
  }

  /// A check that found a problem the service can live with.
  static health_result degraded(std::string message) {
    return {health_status::degraded, std::move(message)};
  }

  /// A check that found the service unable to do its work.
  static health_result unhealthy(std::string message) {
    return {health_status::unhealthy, std::move(message)};
  }
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
