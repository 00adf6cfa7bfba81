#include <algorithm>

#include "troupe/actors/supervisor.hpp"

#include "troupe/actors/retry.hpp"

namespace troupe {

std::string to_string(restart_policy x) {
  switch (x) {
  case restart_policy::permanent:
    return "permanent";
  case restart_policy::transient:
    return "transient";
  case restart_policy::temporary:
    return "temporary";
  }
  return "unknown";
}

std::optional<restart_policy>
parse_restart_policy(std::string_view name) noexcept {
  if (name == "permanent")
    return restart_policy::permanent;
  if (name == "transient")
    return restart_policy::transient;
  if (name == "temporary")
    return restart_policy::temporary;
  return std::nullopt;
}

std::string to_string(restart_strategy x) {
  switch (x) {
  case restart_strategy::one_for_one:
    return "one_for_one";
  case restart_strategy::one_for_all:
    return "one_for_all";
  case restart_strategy::rest_for_one:
    return "rest_for_one";
  }
  return "unknown";
}

std::optional<restart_strategy>
parse_restart_strategy(std::string_view name) noexcept {
  if (name == "one_for_one")
    return restart_strategy::one_for_one;
  if (name == "one_for_all")
    return restart_strategy::one_for_all;
  if (name == "rest_for_one")
    return restart_strategy::rest_for_one;
  return std::nullopt;
}

caf::timespan backoff_delay(const supervisor_options& opts, uint64_t attempt,
                            double u) {
  auto lo = std::max(opts.backoff_min, caf::timespan{0});
  auto hi = std::max(opts.backoff_max, lo);
  // Doubling; never below the minimum, whatever the jitter draws.
  auto d = jittered_backoff(lo, hi, 2.0, attempt, opts.jitter, u);
  return std::clamp(caf::timespan{d}, lo, hi);
}

} // namespace troupe
