#include "troupe/app/builtin_services.hpp"

#include <mutex>

#include <caf/actor_cast.hpp>

#include "troupe/actors/service_host.hpp"
#include "troupe/app/demo_service_schemas.hpp"
#include "troupe/app/demo_services.hpp"
#include "troupe/app/demo_work.hpp"
#include "troupe/bridge/bridge_service.hpp"
#include "troupe/bridge/endpoint_config.hpp"

namespace troupe::app {

namespace {

template <class T>
service_type_info builtin(std::string name, config::schema schema) {
  service_type_info info;
  info.name = std::move(name);
  info.description = schema.description();
  info.schema = std::move(schema);
  info.spawn = [](caf::actor_system& sys, service_options opts) {
    return caf::actor_cast<service_actor>(
      spawn_service<T>(sys, std::move(opts)));
  };
  return info;
}

} // namespace

void register_builtin_services(service_registry& reg) {
  auto add = [&reg](service_type_info info) {
    if (!reg.contains(info.name))
      static_cast<void>(reg.add(std::move(info)));
  };
  add(builtin<bridge::bridge_service>("bridge", bridge::bridge_schema()));
  add(builtin<ticker>("ticker", ticker_schema()));
  add(builtin<counter>("counter", counter_schema()));
  add(builtin<echo>("echo", echo_schema()));
  add(builtin<generator>("generator", generator::type_schema()));
  add(builtin<worker>("worker", worker::type_schema()));
  add(builtin<aggregator>("aggregator", aggregator::type_schema()));
}

const service_registry& builtin_services() {
  static service_registry instance;
  static std::once_flag once;
  std::call_once(once, [] { register_builtin_services(instance); });
  return instance;
}

} // namespace troupe::app
