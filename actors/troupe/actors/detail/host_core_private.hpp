#pragma once

// What the files implementing host_core share; included by them only.

#include <chrono>

#include "troupe/actors/health.hpp"

namespace troupe::detail {

/// The wall-clock time of a state change or a health check update.
inline timestamp now() {
  return std::chrono::time_point_cast<std::chrono::nanoseconds>(
    std::chrono::system_clock::now());
}

/// The health check that `record_error` sets and `reset_errors` clears.
constexpr const char* errors_check = "errors";

} // namespace troupe::detail
