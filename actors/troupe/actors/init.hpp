#pragma once

namespace caf {
class actor_system_config;
} // namespace caf

namespace troupe {

/// Registers troupe's error category (so `system.render(err)` names troupe
/// errors) on an actor system config and tunes CAF's idle workers for low
/// latency (no 50 us naps between polls). Call before constructing the
/// system.
void init_actor_system_config(caf::actor_system_config& cfg);

/// Sends all framework logs to stderr at `warn`, for test binaries.
void init_logging_for_tests();

} // namespace troupe
