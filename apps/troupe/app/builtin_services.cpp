#include "troupe/app/builtin_services.hpp"

#include <caf/actor_cast.hpp>

#include "troupe/actors/service_host.hpp"
#include "troupe/app/demo_services.hpp"
#include "troupe/bridge/bridge_service.hpp"

namespace troupe::app {

service_actor spawn_builtin(const std::string& type, caf::actor_system& sys,
                            service_options opts) {
  if (type == "ticker")
    return spawn_service<ticker>(sys, std::move(opts));
  if (type == "counter")
    return caf::actor_cast<service_actor>(
      spawn_service<counter>(sys, std::move(opts)));
  if (type == "echo")
    return spawn_service<echo>(sys, std::move(opts));
  if (type == "bridge")
    return caf::actor_cast<service_actor>(
      spawn_service<bridge::bridge_service>(sys, std::move(opts)));
  return {};
}

} // namespace troupe::app
