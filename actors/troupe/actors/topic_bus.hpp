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
/// - `(subscribe_atom, prefix, subscriber, true)`: the same, and the
///   subscriber takes batches (service hosts do);
/// - `(publish_atom, topic, caf::message)`: sends `(deliver_atom, topic,
///   message)` to every matching subscriber — or, to a subscriber that takes
///   batches, gathers the messages and sends `(deliver_batch_atom,
///   bus_batch)` once it worked through its mailbox (or has 256 of them),
///   so that a burst costs one actor message per subscriber instead of one
///   per message. Messages from one publisher reach each subscriber in the
///   order they were published.
/// - `(publish_batch_atom, bus_batch)`: publishes each item in order. Sent
///   as a request (`service::publish_batch(batch, on_taken)`, and every
///   plain `publish`), it is answered (with the number of its items that
///   matched no subscriber, a `uint64_t`) once every batch-taking
///   subscriber it reached let go of the `deliver_batch` messages carrying
///   its items (a service host does after its handlers ran and any
///   `delivery_hold` is gone) or is gone: those batches share one
///   acknowledgement (`bus_batch::ack`), and whichever subscriber drops the
///   last reference sends the answer to the publisher itself, so nothing
///   goes back through the bus. What the batch adds to outboxes leaves at
///   once.
/// - `(status_atom)` answers `(subscriptions, published, delivered)`.
caf::actor spawn_topic_bus(caf::actor_system& sys);

} // namespace troupe
