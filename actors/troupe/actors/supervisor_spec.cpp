#include <algorithm>
#include <cmath>

#include "troupe/actors/supervisor.hpp"

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
  using ns = caf::timespan;
  auto lo = std::max(opts.backoff_min, ns{0});
  auto hi = std::max(opts.backoff_max, lo);
  // Doubling in floating point cannot overflow; cap before converting back.
  auto grown =
    static_cast<double>(lo.count()) *
    std::pow(2.0, static_cast<double>(std::min<uint64_t>(attempt, 62)));
  auto base = std::min(grown, static_cast<double>(hi.count()));
  auto jitter = std::clamp(opts.jitter, 0.0, 1.0) * std::clamp(u, 0.0, 1.0);
  auto delay = ns{static_cast<ns::rep>(base * (1.0 - jitter))};
  return std::clamp(delay, lo, hi);
}

} // namespace troupe
