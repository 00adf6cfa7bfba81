#pragma once

// Pieces shared by the in-process scenarios (local_*.cpp): a raw counting
// actor and the atom that asks for its count. Includes CAF; only the local
// scenario files include it.

#include <cstdint>

#include <caf/atom.hpp>
#include <caf/stateful_actor.hpp>

namespace troupe::bench {

/// Asks a sink or tally how many values it has handled.
using count_atom = caf::atom_constant<caf::atom("count")>;

/// State of a raw counting actor.
struct sink_state {
  uint64_t received = 0;
};

/// A raw actor that counts every `T` and answers `count_atom` with the count.
template <class T>
caf::behavior raw_sink(caf::stateful_actor<sink_state>* self) {
  return {
    [self](const T&) { ++self->state.received; },
    [self](count_atom) { return self->state.received; },
  };
}

} // namespace troupe::bench
