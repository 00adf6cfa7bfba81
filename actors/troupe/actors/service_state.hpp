#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "troupe/actors/errc.hpp"

namespace troupe {

/// The lifecycle states of a service. Their names are stable strings used in
/// logs, status, HTTP and metrics.
///
/// ```
/// initialized -> configured -> starting -> running -> stopping -> stopped
///       any state --fatal error / hook failure--> failed
/// stopped -> configured (configure / reconfigure)
/// stopped / failed -> starting (restart)
/// ```
enum class service_state : uint8_t {
  initialized,
  configured,
  starting,
  running,
  stopping,
  stopped,
  failed,
};

/// Number of states, for tables indexed by state.
constexpr size_t service_state_count = 7;

/// Returns the stable name of `x` ("running", ...).
std::string to_string(service_state x);

/// Parses a state name; nothing for unknown names.
std::optional<service_state> parse_service_state(std::string_view) noexcept;

/// The lifecycle requests that change state.
enum class lifecycle_action : uint8_t {
  configure,
  start,
  stop,
  reconfigure,
};

/// Returns the stable name of `x` ("configure", ...).
std::string to_string(lifecycle_action x);

/// The verdict of the transition table for one request in one state.
struct transition {
  /// Whether the request may proceed.
  bool allowed;
  /// The error kind when it may not (invalid_transition or not_configured).
  errc refusal;
  /// The state the service settles in on success.
  service_state target;
};

/// The lifecycle transition table: whether `action` is valid in `from`, and
/// where it leads. `configured` tells whether the service holds a
/// configuration (start needs one when `requires_configuration`).
///
/// | action      | valid from                                   | target     |
/// |-------------|----------------------------------------------|------------|
/// | configure   | initialized, configured, stopped             | configured |
/// | start       | configured, stopped, failed; initialized when no
/// configuration is required | running | | stop        | running, failed |
/// stopped    | | reconfigure | running (stays running); configured, stopped |
/// configured |
transition check_transition(service_state from, lifecycle_action action,
                            bool requires_configuration,
                            bool configured) noexcept;

} // namespace troupe
