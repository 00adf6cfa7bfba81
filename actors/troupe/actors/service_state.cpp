#include "troupe/actors/service_state.hpp"

namespace troupe {

namespace {

constexpr std::string_view state_names[] = {
  "initialized", "configured", "starting", "running",
  "stopping",    "stopped",    "failed",
};

} // namespace

std::string to_string(service_state x) {
  auto i = static_cast<size_t>(x);
  return std::string{i < service_state_count ? state_names[i] : "unknown"};
}

std::optional<service_state>
parse_service_state(std::string_view name) noexcept {
  for (size_t i = 0; i < service_state_count; ++i)
    if (state_names[i] == name)
      return static_cast<service_state>(i);
  return std::nullopt;
}

std::string to_string(lifecycle_action x) {
  switch (x) {
  case lifecycle_action::configure:
    return "configure";
  case lifecycle_action::start:
    return "start";
  case lifecycle_action::stop:
    return "stop";
  case lifecycle_action::reconfigure:
    return "reconfigure";
  }
  return "unknown";
}

transition check_transition(service_state from, lifecycle_action action,
                            bool requires_configuration,
                            bool configured) noexcept {
  using s = service_state;
  constexpr transition invalid{false, errc::invalid_transition, s::failed};
  switch (action) {
  case lifecycle_action::configure:
    if (from == s::initialized || from == s::configured || from == s::stopped)
      return {true, errc{}, s::configured};
    return invalid;
  case lifecycle_action::start:
    if (from == s::configured || from == s::stopped || from == s::failed ||
        from == s::initialized) {
      if (requires_configuration && !configured)
        return {false, errc::not_configured, from};
      return {true, errc{}, s::running};
    }
    return invalid;
  case lifecycle_action::stop:
    if (from == s::running || from == s::failed)
      return {true, errc{}, s::stopped};
    return invalid;
  case lifecycle_action::reconfigure:
    if (from == s::running)
      return {true, errc{}, s::running};
    if (from == s::configured || from == s::stopped)
      return {true, errc{}, s::configured};
    return invalid;
  }
  return invalid;
}

} // namespace troupe
