#pragma once

// Timers that do not keep their receiver alive.
//
// A CAF 0.17 delayed message holds a strong reference to its receiver until
// it fires, so a stopped service with a pending `every(10s)` task stayed in
// memory (and counted as a running actor, which an actor system's
// destructor waits for) until the tick would have come. `send_later` sends
// the delayed message to a small forwarder instead (not a scheduled actor:
// the clock thread runs it), which holds the receiver weakly, passes the
// message on if the receiver still lives and drops it otherwise.

#include <chrono>

#include <caf/fwd.hpp>
#include <caf/message.hpp>

namespace troupe::detail {

/// Delivers `msg` to `receiver` (anonymously, as a normal message) after
/// `delay`, unless `receiver` has been destroyed by then.
void send_later(caf::actor_system& sys, const caf::strong_actor_ptr& receiver,
                std::chrono::nanoseconds delay, caf::message msg);

} // namespace troupe::detail
