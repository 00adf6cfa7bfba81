#include <algorithm>

#include "troupe/actors/supervisor.hpp"

#include "troupe/actors/retry.hpp"
#include "troupe/config/enum_names.hpp"

namespace troupe {

namespace {

constexpr enum_names<restart_policy, 3> policy_names{{{
  {restart_policy::permanent, "permanent"},
  {restart_policy::transient, "transient"},
  {restart_policy::temporary, "temporary"},
}}};

constexpr enum_names<restart_strategy, 3> strategy_names{{{
  {restart_strategy::one_for_one, "one_for_one"},
  {restart_strategy::one_for_all, "one_for_all"},
  {restart_strategy::rest_for_one, "rest_for_one"},
}}};

} // namespace

std::string to_string(restart_policy x) {
  return std::string{policy_names.name(x)};
}

std::optional<restart_policy>
parse_restart_policy(std::string_view name) noexcept {
  return policy_names.parse(name);
}

std::string to_string(restart_strategy x) {
  return std::string{strategy_names.name(x)};
}

std::optional<restart_strategy>
parse_restart_strategy(std::string_view name) noexcept {
  return strategy_names.parse(name);
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
