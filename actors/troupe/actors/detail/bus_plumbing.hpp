#pragma once

// The messages the topic bus takes besides its public interface
// (troupe::bus_actor): what service hosts and supervisors tell it about
// failed subscribers, batches given back for redelivery, and its own
// timers. Not part of bus_actor, so that nobody holding the bus's handle can
// send them by mistake; the senders cast the handle to this.

#include <string>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/bus_batch.hpp"
#include "troupe/actors/topic_bus.hpp"

namespace troupe::detail {

/// The bus's whole interface (topic_bus.cpp).
using bus_plumbing = bus_actor::extend<
  // A named subscriber failed: its prefixes wait for its next instance.
  caf::reacts_to<bus_suspend_atom, caf::actor>,
  // The failed subscriber `name` will not come back.
  caf::reacts_to<bus_giveup_atom, std::string>,
  // A batch its subscriber did not handle (detail/bus_ack.hpp).
  caf::reacts_to<bus_redeliver_atom, bus_batch>,
  // The bus's notes to itself.
  caf::reacts_to<bus_flush_atom>, caf::reacts_to<bus_expire_atom>>;

/// The bus's internal interface behind its public handle.
inline bus_plumbing plumbing_of(const bus_actor& bus) {
  return caf::actor_cast<bus_plumbing>(bus);
}

} // namespace troupe::detail
