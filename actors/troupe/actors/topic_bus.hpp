#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

namespace troupe {

/// Spawns the local topic bus of one process: an actor that keeps
/// subscriptions by topic prefix and forwards every published message once
/// to each subscriber whose prefix matches.
///
/// Messages it understands:
/// - `(subscribe_atom, prefix, subscriber)` / `(unsubscribe_atom, prefix,
///   subscriber)`: subscribers are monitored and forgotten when they die;
/// - `(subscribe_atom, prefix, subscriber, true)`: the same, and the
///   subscriber takes batches;
/// - `(subscribe_atom, prefix, subscriber, true, name)`: the same, under a
///   service name (service hosts subscribe so). The subscriber's next
///   instance subscribes with the same name, which lets the bus deliver to
///   it what the last one did not handle (below);
/// - `(publish_atom, topic, caf::message)`: sends `(deliver_atom, topic,
///   message)` to every matching subscriber — or, to a subscriber that takes
///   batches, gathers the messages and sends `(deliver_batch_atom,
///   bus_batch)` once it worked through its mailbox (or has 256 of them),
///   so that a burst costs one actor message per subscriber instead of one
///   per message. Messages from one publisher reach each subscriber in the
///   order they were published, except those delivered again to a failed
///   subscriber's next instance (below), which may come after later ones.
/// - `(publish_batch_atom, bus_batch)`: publishes each item in order. Sent
///   as a request (`service::publish_batch(batch, on_taken)`, and every
///   plain `publish`), it is answered (`(unrouted, lost)`: the number of
///   its items that matched no subscriber, and of those a failed
///   subscriber lost for good, two `uint64_t`) once every batch-taking
///   subscriber it reached let go of the `deliver_batch` messages carrying
///   its items (a service host does after its handlers ran and any
///   `delivery_hold` is gone) or is gone: those batches share one
///   acknowledgement (`bus_batch::ack`), and whichever subscriber drops the
///   last reference sends the answer to the publisher itself, so nothing
///   goes back through the bus. What the batch adds to outboxes leaves at
///   once.
/// - `(bus_suspend_atom, subscriber)`: a named subscriber failed. Its
///   prefixes and what is published under them from then on, by publishers
///   that wait for their messages to be taken, wait for its next instance
///   (`keep_for`, 30 s, at most; then they count as lost in each publisher's
///   answer). Batches that reach the failed subscriber, or that die in its
///   mailbox, come back as `(bus_redeliver_atom, bus_batch)` and wait too
///   (see detail/bus_ack.hpp). `(bus_giveup_atom, name)` (sent by a
///   supervisor that will not restart it) counts them as lost at once.
/// - `(status_atom)` answers `(subscriptions, published, delivered)`;
///   `(status_atom, bus_redeliver_atom)` answers `(redelivered, waiting,
///   lost)`: batches delivered again, messages waiting for a subscriber's
///   next instance, and messages lost for want of one.
caf::actor spawn_topic_bus(caf::actor_system& sys);

/// The same, keeping messages for a failed subscriber's next instance for
/// `keep_for` (30 s by default).
caf::actor spawn_topic_bus(caf::actor_system& sys, caf::timespan keep_for);

} // namespace troupe
