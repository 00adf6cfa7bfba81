#include "troupe/app/service_types.hpp"

#include "troupe/app/demo_service_schemas.hpp"
#include "troupe/bridge/endpoint_config.hpp"

namespace troupe::app {

const config::type_catalog& builtin_type_schemas() {
  static const config::type_catalog catalog = [] {
    config::type_catalog out;
    out.emplace("ticker", ticker_schema());
    out.emplace("counter", counter_schema());
    out.emplace("echo", echo_schema());
    out.emplace("bridge", bridge::bridge_schema());
    return out;
  }();
  return catalog;
}

} // namespace troupe::app
