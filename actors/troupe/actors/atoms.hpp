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

/// Host-internal timers (tasks and stop deadlines).
using task_atom = caf::atom_constant<caf::atom("task")>;
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;

} // namespace troupe
