#pragma once

#include <string>

#include <caf/fwd.hpp>

#include "troupe/actors/service_actor.hpp"
#include "troupe/actors/service_options.hpp"

namespace troupe::app {

/// Spawns a built-in service type (`ticker`, `counter`, `echo`, `bridge`; see
/// builtin_type_schemas() for their settings). Returns an invalid handle for
/// an unknown type — `load_app` has already rejected those.
service_actor spawn_builtin(const std::string& type, caf::actor_system& sys,
                            service_options opts);

} // namespace troupe::app
