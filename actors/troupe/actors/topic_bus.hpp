#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace troupe {

/// Spawns the local topic bus of one process: an actor that keeps
/// subscriptions by topic prefix and forwards every published message once
/// to each subscriber whose prefix matches.
///
/// Messages it understands:
/// - `(subscribe_atom, prefix, subscriber)` / `(unsubscribe_atom, prefix,
///   subscriber)`: subscribers are monitored and forgotten when they die;
/// - `(publish_atom, topic, caf::message)`: sends `(deliver_atom, topic,
///   message)` to every matching subscriber. Messages from one publisher
///   reach each subscriber in the order they were published.
/// - `(status_atom)` answers `(subscriptions, published, delivered)`.
caf::actor spawn_topic_bus(caf::actor_system& sys);

} // namespace troupe
