#include "troupe/app/builtin_services.hpp"

#include <mutex>

#include "troupe/actors/register_service.hpp"
#include "troupe/app/demo_service_schemas.hpp"
#include "troupe/app/demo_services.hpp"
#include "troupe/app/demo_work.hpp"
#include "troupe/bridge/bridge_service.hpp"
#include "troupe/bridge/call_proxy.hpp"
#include "troupe/bridge/endpoint_config.hpp"
#include "troupe/bridge/proxy_service.hpp"

namespace troupe::app {

void register_builtin_services(service_registry& reg) {
  auto add = [&reg](service_type_info info) {
    if (!reg.contains(info.name))
      static_cast<void>(reg.add(std::move(info)));
  };
  add(
    service_type_of<bridge::bridge_service>("bridge", bridge::bridge_schema()));
  add(service_type_of<bridge::call_proxy>("call_proxy",
                                          bridge::call_proxy::type_schema()));
  add(service_type_of<bridge::proxy_service>(
    "proxy", bridge::proxy_service::type_schema()));
  add(service_type_of<ticker>("ticker", ticker_schema()));
  add(service_type_of<counter>("counter", counter_schema()));
  add(service_type_of<echo>("echo", echo_schema()));
  add(service_type_of<generator>("generator", generator::type_schema()));
  add(service_type_of<worker>("worker", worker::type_schema()));
  add(service_type_of<aggregator>("aggregator", aggregator::type_schema()));
}

const service_registry& builtin_services() {
  static service_registry instance;
  static std::once_flag once;
  std::call_once(once, [] { register_builtin_services(instance); });
  return instance;
}

} // namespace troupe::app
