#pragma once

// Registering a service type by name. Includes the (CAF-heavy) service host:
// include it only where types are registered, not in widely used headers.

#include <string>
#include <type_traits>
#include <utility>

#include <caf/actor_cast.hpp>

#include "troupe/actors/service_host.hpp"
#include "troupe/actors/service_registry.hpp"

namespace troupe {

namespace detail {

template <class T, class = void>
struct has_type_schema : std::false_type {};

template <class T>
struct has_type_schema<T, std::void_t<decltype(T::type_schema())>>
  : std::true_type {};

} // namespace detail

/// Describes service type `T` under `name` with the schema of its settings;
/// the schema's description is the type's.
template <class T>
service_type_info service_type_of(std::string name, config::schema schema) {
  static_assert(std::is_base_of_v<service, T>,
                "a service type must derive from troupe::service");
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

/// Describes service type `T` under `name`: its schema comes from a static
/// `T::type_schema()` when `T` has one (and is what `settings_schema()`
/// should return), else it takes no settings.
template <class T>
service_type_info service_type_of(std::string name,
                                  std::string description = {}) {
  if constexpr (detail::has_type_schema<T>::value) {
    auto info = service_type_of<T>(std::move(name), T::type_schema());
    if (!description.empty())
      info.description = std::move(description);
    return info;
  } else {
    return service_type_of<T>(std::move(name),
                              config::schema{std::move(description)});
  }
}

/// Registers service type `T` under `name` in the process-wide registry.
/// Returns the error of `service_registry::add` (a duplicate name).
template <class T>
caf::error register_service(std::string name, std::string description = {}) {
  return service_registry::global().add(
    service_type_of<T>(std::move(name), std::move(description)));
}

} // namespace troupe
