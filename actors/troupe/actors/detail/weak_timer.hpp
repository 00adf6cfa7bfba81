#pragma once

// Timers that do not keep their receiver alive, one timer thread per actor
// system.
//
// A CAF 0.17 delayed message holds a strong reference to its receiver until
// it fires, so a stopped service with a pending `every(10s)` task stayed in
// memory (and counted as a running actor, which an actor system's
// destructor waits for) until the tick would have come. `send_later` keeps
// the receiver weakly instead, passes the message on if the receiver still
// lives and drops it otherwise.
//
// CAF's own clock costs one event (and, for a weak receiver, one forwarding
// actor) per delayed message, and takes them through a 64-slot ring buffer
// that blocks its producers when full. At 100,000 services, each with a
// periodic task, that was 100,000 clock events a second and the app could
// not drain. So each actor system gets one troupe timer: a heap of pending
// deliveries (about 48 bytes each) served by one thread, which hands every
// message that is due to its receiver in one burst. Deadlines of long
// delays are rounded up to a grid (at most 1% late, see `due_for`) so that
// many periodic tasks of one period wake the thread once, not once each.
// Under CAF's deterministic test coordinator the message goes through the
// actor system's (virtual) clock instead, as before.

#include <chrono>

#include <caf/fwd.hpp>
#include <caf/message.hpp>

namespace troupe::detail {

/// Delivers `msg` to `receiver` (anonymously, as a normal message) after
/// `delay`, unless `receiver` has been destroyed by then. Messages for one
/// receiver that are due at the same moment arrive in the order they were
/// scheduled.
void send_later(caf::actor_system& sys, const caf::strong_actor_ptr& receiver,
                std::chrono::nanoseconds delay, caf::message msg);

/// The moment a message scheduled at `now` with `delay` is delivered: `now +
/// delay`, rounded up to a grid of 1% of the delay's order of magnitude (1 ms
/// from 100 ms on, 10 ms from 1 s, 100 ms from 10 s; shorter delays are not
/// rounded), so that periodic tasks of one period share their wake-ups and
/// no message is more than 1% late.
std::chrono::steady_clock::time_point
due_for(std::chrono::steady_clock::time_point now,
        std::chrono::nanoseconds delay);

/// Messages waiting in `sys`'s troupe timer (0 if it has none yet).
size_t pending_timers(caf::actor_system& sys);

} // namespace troupe::detail
