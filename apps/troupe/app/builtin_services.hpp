#pragma once

#include "troupe/actors/service_registry.hpp"

namespace troupe::app {

/// Registers the service types troupe ships with (`bridge`, `call_proxy`,
/// `proxy`, and the demo types `ticker`, `counter`, `echo`, `generator`,
/// `worker`, `aggregator`) on `reg`. Types already present are left alone, so
/// calling it twice is harmless.
void register_builtin_services(service_registry& reg);

/// Returns a registry holding only the built-in types (for docs and tests
/// that must not see plugins).
const service_registry& builtin_services();

} // namespace troupe::app
