#pragma once

// Between the topic bus (topic_bus.cpp) and the service host
// (host_core_bus.cpp): how a subscriber's acknowledgement of a bus batch
// (`bus_batch::ack`) reaches its publisher.

#include <memory>

#include <caf/fwd.hpp>

namespace troupe::detail {

/// Called by the one who is about to drop `ack` on this thread (a host at
/// the end of a delivery, the bus at the end of a publish): when nobody
/// else holds it, the answer to the publisher will be sent from here, so
/// it goes through `unit` (this worker's queue, as a response would)
/// instead of the scheduler's shared way in, which may wake another
/// worker. Does nothing when others still hold `ack` or it is empty.
void ack_from_here(const std::shared_ptr<void>& ack, caf::execution_unit* unit);

} // namespace troupe::detail
