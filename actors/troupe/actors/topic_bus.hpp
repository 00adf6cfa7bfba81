#pragma once

#include <cstdint>
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

namespace troupe {

/// The last element of `(subscribe_atom, prefix, subscriber, take_batches)`:
/// the subscriber takes `(deliver_batch_atom, bus_batch)` messages instead of
/// one `(deliver_atom, topic, message)` per message, under a service name.
struct take_batches {
  /// The subscriber's service name; its next instance subscribes with the
  /// same, which lets the bus deliver to it what the last one did not
  /// handle. Empty: no name, and nothing is delivered again.
  std::string service_name;
};

} // namespace troupe

// Bus messages travel between actors of one process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::take_batches)

namespace troupe {

/// The typed handle of a process's local topic bus: an actor that keeps
/// subscriptions by topic prefix and forwards every published message once
/// to each subscriber whose prefix matches.
///
/// | message                                           | answer             |
/// |---------------------------------------------------|--------------------|
/// | `(subscribe_atom, prefix, subscriber)`            | (none)             |
/// | `(subscribe_atom, prefix, subscriber, take_batches)` | (none)          |
/// | `(unsubscribe_atom, prefix, subscriber)`          | (none)             |
/// | `(publish_atom, topic, caf::message)`             | (none)             |
/// | `(publish_batch_atom, bus_batch)`                 | `(unrouted, lost)` |
/// | `(status_atom)`                                   | `(subscriptions,
/// published, delivered)` | | `(status_atom, bus_redeliver_atom)` |
/// `(redelivered, waiting, lost)` |
///
/// - Subscribers are monitored and forgotten when they die.
/// - `publish` sends `(deliver_atom, topic, message)` to every matching
///   subscriber — or, to one that takes batches, gathers the messages and
///   sends `(deliver_batch_atom, bus_batch)` once the bus worked through its
///   mailbox (or has 256 of them), so that a burst costs one actor message
///   per subscriber instead of one per message. Messages from one publisher
///   reach each subscriber in the order they were published, except those
///   delivered again to a failed subscriber's next instance (below), which
///   may come after later ones.
/// - `publish_batch` publishes each item in order. Sent as a request
///   (`service::publish_batch(batch, on_taken)`, and every plain
///   `publish`), it is answered (`(unrouted, lost)`: the number of its items
///   that matched no subscriber, and of those a failed subscriber lost for
///   good) once every batch-taking subscriber it reached let go of the
///   `deliver_batch` messages carrying its items (a service host does after
///   its handlers ran and any `delivery_hold` is gone) or is gone: those
///   batches share one acknowledgement (`bus_batch::ack`), and whichever
///   subscriber drops the last reference sends the answer to the publisher
///   itself, so nothing goes back through the bus. What the batch adds to
///   outboxes leaves at once.
/// - `(status_atom, bus_redeliver_atom)`: batches delivered again, messages
///   waiting for a failed subscriber's next instance, and messages lost for
///   want of one.
///
/// Service hosts and supervisors also tell the bus when a named subscriber
/// failed and whether it comes back (see detail/bus_plumbing.hpp): what it
/// subscribed to, and what is published under it from then on by publishers
/// that wait for their messages to be taken, waits for its next instance
/// (`keep_for`, 30 s, at most; then it counts as lost in each publisher's
/// answer). Batches that reach the failed subscriber, or that die in its
/// mailbox, wait too (docs/services.md, "Redelivery").
using bus_actor = caf::typed_actor<
  caf::reacts_to<subscribe_atom, std::string, caf::actor>,
  caf::reacts_to<subscribe_atom, std::string, caf::actor, take_batches>,
  caf::reacts_to<unsubscribe_atom, std::string, caf::actor>,
  caf::reacts_to<publish_atom, std::string, caf::message>,
  caf::replies_to<publish_batch_atom, bus_batch>::with<uint64_t, uint64_t>,
  caf::replies_to<status_atom>::with<uint64_t, uint64_t, uint64_t>,
  caf::replies_to<status_atom, bus_redeliver_atom>::with<uint64_t, uint64_t,
                                                         uint64_t>>;

/// Spawns the local topic bus of one process.
bus_actor spawn_topic_bus(caf::actor_system& sys);

/// The same, keeping messages for a failed subscriber's next instance for
/// `keep_for` (30 s by default).
bus_actor spawn_topic_bus(caf::actor_system& sys, caf::timespan keep_for);

} // namespace troupe
