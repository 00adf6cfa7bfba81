#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace troupe {

/// Errors the framework answers with. Every one travels as a `caf::error`
/// whose category is `troupe::errc_category` and whose context is a single
/// human-readable string.
enum class errc : uint8_t {
  /// The requested lifecycle transition is not valid in the current state.
  invalid_transition = 1,
  /// `start` on a service that requires configuration and has none.
  not_configured,
  /// A domain request arrived while the service was not running.
  not_running,
  /// A hook refused the transition; the service stays where it was.
  hook_refused,
  /// A hook failed or threw; the service moved to `failed`.
  hook_failed,
  /// A domain handler or task threw; the service moved to `failed`.
  handler_failed,
  /// Stopping took longer than its deadline and was completed hard.
  stop_deadline_exceeded,
  /// A value had the wrong type for where it was sent.
  type_mismatch,
  /// Settings failed the service type's schema; the message lists every
  /// problem, one per line.
  invalid_settings,
  /// No service type is registered under the requested name.
  unknown_type,
  /// A name (service type or service) is already taken.
  duplicate_name,
  /// A plugin library could not be loaded or did not register its types.
  plugin_failed,
  /// A supervisor has no child of the requested name.
  unknown_child,
  /// A supervisor's child failed to start; the message names the child.
  child_failed,
  /// An operation did not finish in time (retryable by default).
  timeout,
  /// A circuit breaker rejected the call (retryable by default).
  circuit_open,
};

/// The error category atom of `errc`.
constexpr caf::atom_value errc_category = caf::atom("troupe");

/// Returns the stable name of `x` ("invalid_transition", ...).
std::string_view to_string(errc x) noexcept;

/// Makes an error of kind `x` with a human-readable `context`.
caf::error make_error(errc x, std::string context);

/// Makes an error of kind `x` without context (lets `caf::result<T>` take a
/// bare `errc`).
caf::error make_error(errc x);

/// Returns whether `err` is the troupe error `x`.
bool is(const caf::error& err, errc x) noexcept;

/// Renders `err` as one line: "troupe.invalid_transition: cannot start ...".
/// Works for any category; needs no actor system.
std::string describe(const caf::error& err);

} // namespace troupe
