#include "troupe/actors/health.hpp"

#include "troupe/config/enum_names.hpp"

namespace troupe {

namespace {

constexpr enum_names<health_status, 4> health_status_names{{{
  {health_status::healthy, "healthy"},
  {health_status::degraded, "degraded"},
  {health_status::unhealthy, "unhealthy"},
  {health_status::fatal, "fatal"},
}}};

} // namespace

std::string to_string(health_status x) {
  return std::string{health_status_names.name(x)};
}

std::optional<health_status>
parse_health_status(std::string_view name) noexcept {
  return health_status_names.parse(name);
}

health_status rollup(const std::vector<health_check>& checks) noexcept {
  auto result = health_status::healthy;
  for (auto& c : checks)
    result = worst(result, c.status);
  return result;
}

} // namespace troupe
