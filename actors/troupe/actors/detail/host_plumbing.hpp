#pragma once

// The messages a service host takes besides its public interface: bus
// deliveries and its own timers. Not part of troupe::service_actor, so that
// nobody holding a service's handle can send them; the topic bus and the
// host's timers reach the actor through untyped handles.

#include <cstdint>
#include <string>

#include <caf/message.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/bus_batch.hpp"

namespace troupe::detail {

/// Added to a service's interface by the host (service_host.hpp).
using host_plumbing =
  caf::typed_actor<caf::reacts_to<deliver_atom, std::string, caf::message>,
                   caf::reacts_to<deliver_batch_atom, bus_batch>,
                   caf::reacts_to<task_atom, uint64_t, uint64_t>,
                   caf::reacts_to<deadline_atom, uint64_t>>;

} // namespace troupe::detail
