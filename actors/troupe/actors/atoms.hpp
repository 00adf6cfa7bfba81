#pragma once

#include <caf/atom.hpp>

namespace troupe {

/// Lifecycle requests.
using configure_atom = caf::atom_constant<caf::atom("configure")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using reconfigure_atom = caf::atom_constant<caf::atom("reconfig")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using health_atom = caf::atom_constant<caf::atom("health")>;
using subscribe_state_atom = caf::atom_constant<caf::atom("state_sub")>;

/// Sent to state listeners: `(state_changed_atom, state_change)`.
using state_changed_atom = caf::atom_constant<caf::atom("state_chg")>;

/// Topic bus.
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsub")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
/// Publishes a `bus_batch`; delivers one to a subscriber that takes batches.
using publish_batch_atom = caf::atom_constant<caf::atom("pub_batch")>;
using deliver_batch_atom = caf::atom_constant<caf::atom("dlv_batch")>;
/// The bus's note to itself: send what it gathered for batch subscribers.
using bus_flush_atom = caf::atom_constant<caf::atom("bus_flush")>;
/// `(bus_suspend_atom, subscriber)`: a named subscriber failed; the bus keeps
/// what it subscribed to for its next instance.
using bus_suspend_atom = caf::atom_constant<caf::atom("bus_susp")>;
/// `(bus_redeliver_atom, bus_batch)`: a batch its subscriber did not handle.
using bus_redeliver_atom = caf::atom_constant<caf::atom("bus_redlv")>;
/// `(bus_giveup_atom, name)`: the failed subscriber `name` will not come
/// back (its supervisor does not restart it); what waits for it is lost.
using bus_giveup_atom = caf::atom_constant<caf::atom("bus_giveup")>;
/// The bus's note to itself: drop what it kept too long for a subscriber.
using bus_expire_atom = caf::atom_constant<caf::atom("bus_expire")>;

/// Host-internal timers (tasks and stop deadlines).
using task_atom = caf::atom_constant<caf::atom("task")>;
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;

} // namespace troupe
