#include "troupe/actors/health.hpp"

namespace troupe {

std::string to_string(health_status x) {
  switch (x) {
  case health_status::healthy:
    return "healthy";
  case health_status::degraded:
    return "degraded";
  case health_status::unhealthy:
    return "unhealthy";
  case health_status::fatal:
    return "fatal";
  }
  return "unknown";
}

health_status rollup(const std::vector<health_check>& checks) noexcept {
  auto result = health_status::healthy;
  for (auto& c : checks)
    result = worst(result, c.status);
  return result;
}

} // namespace troupe
