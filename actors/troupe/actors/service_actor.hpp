#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/bus_batch.hpp"
#include "troupe/actors/health.hpp"
#include "troupe/actors/service_options.hpp"
#include "troupe/actors/service_status.hpp"
#include "troupe/config/settings.hpp"

// Lifecycle payloads travel between actors of one process only; they are
// never serialized, so they need no inspect() overloads.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::config::settings)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::service_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::health_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::health_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::service_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::state_change)

namespace troupe {

/// The settings a service receives.
using settings = config::settings;

/// The typed lifecycle interface every service answers, in every state.
///
/// | request                                        | answer           |
/// |------------------------------------------------|------------------|
/// | `(configure_atom, settings)`                   | new state        |
/// | `(start_atom)`                                 | new state        |
/// | `(start_atom, settings)`                       | new state        |
/// | `(stop_atom, reason, deadline)`                | new state        |
/// | `(reconfigure_atom, settings)`                 | new state        |
/// | `(status_atom)`                                | `service_status` |
/// | `(health_atom)`                                | `health_report`  |
/// | `(health_atom, within)`                        | `health_report`  |
/// | `(subscribe_state_atom, listener)`             | (none)           |
///
/// `(start_atom, settings)` is `configure` with `settings` and then `start`
/// in one request (how a supervisor starts a child: one round trip instead
/// of two); when `configure` is refused or fails, it answers that error
/// and does not start.
///
/// `(health_atom, within)` is the same request from an asker that waits
/// `within` at most (a parent supervisor): a service answers at once either
/// way; a supervisor ends its own round of asking its children before that
/// (see supervisor.hpp).
///
/// Invalid requests answer a `troupe::errc` error; they never kill the actor.
/// A listener receives `(state_changed_atom, state_change)` on every change.
/// Bus deliveries and the host's timers are not part of it (see
/// detail/host_plumbing.hpp): nobody holding a handle can send them.
using service_actor = caf::typed_actor<
  caf::replies_to<configure_atom, settings>::with<service_state>,
  caf::replies_to<start_atom>::with<service_state>,
  caf::replies_to<start_atom, settings>::with<service_state>,
  caf::replies_to<stop_atom, std::string, caf::timespan>::with<service_state>,
  caf::replies_to<reconfigure_atom, settings>::with<service_state>,
  caf::replies_to<status_atom>::with<service_status>,
  caf::replies_to<health_atom>::with<health_report>,
  caf::replies_to<health_atom, caf::timespan>::with<health_report>,
  caf::reacts_to<subscribe_state_atom, caf::actor>>;

/// Spawns one instance of a service in state `initialized`: how the type
/// registry and a supervisor create (and re-create) services.
///
/// ```
/// troupe::service_factory f = [](caf::actor_system& sys,
///                                troupe::service_options opts) {
///   return caf::actor_cast<troupe::service_actor>(
///     troupe::spawn_service<greeter>(sys, std::move(opts)));
/// };
/// ```
///
/// `opts.launch_on`, when set, is the caller's execution unit: valid only
/// during the call, on the caller's thread (pass `opts` to `spawn_service`
/// there, or ignore the field).
using service_factory =
  std::function<service_actor(caf::actor_system&, service_options)>;

} // namespace troupe
