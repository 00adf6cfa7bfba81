#include "troupe/actors/service_state.hpp"

#include "troupe/config/enum_names.hpp"

namespace troupe {

namespace {

constexpr enum_names<service_state, service_state_count> state_names{{{
  {service_state::initialized, "initialized"},
  {service_state::configured, "configured"},
  {service_state::starting, "starting"},
  {service_state::running, "running"},
  {service_state::stopping, "stopping"},
  {service_state::stopped, "stopped"},
  {service_state::failed, "failed"},
}}};
static_assert(state_names.covers());

constexpr enum_names<lifecycle_action, 4> action_names{{{
  {lifecycle_action::configure, "configure"},
  {lifecycle_action::start, "start"},
  {lifecycle_action::stop, "stop"},
  {lifecycle_action::reconfigure, "reconfigure"},
}}};

} // namespace

std::string to_string(service_state x) {
  return std::string{state_names.name(x)};
}

std::optional<service_state>
parse_service_state(std::string_view name) noexcept {
  return state_names.parse(name);
}

std::string to_string(lifecycle_action x) {
  return std::string{action_names.name(x)};
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
