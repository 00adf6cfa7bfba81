#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "troupe/actors/plugin_abi.hpp"
#include "troupe/actors/service_actor.hpp"
#include "troupe/actors/service_options.hpp"
#include "troupe/config/app_config.hpp"
#include "troupe/config/schema.hpp"

namespace troupe {

/// Everything an app needs to know about a service type.
struct service_type_info {
  /// The name apps use in `type = "..."`.
  std::string name;
  /// One line for `troupe types`.
  std::string description;
  /// The schema of the type's settings (empty: no settings).
  config::schema schema;
  /// Spawns an instance in state `initialized`.
  service_factory spawn;
  /// Where the type came from: "built-in" or the plugin's path.
  std::string origin = "built-in";
};

/// Service types by name. Apps look types up here; plugins add to it. The
/// one process-wide instance (`service_registry::global()`) is the only
/// global mutable state troupe has; tests make their own.
///
/// ```
/// troupe::register_service<greeter>("greeter", "Says hello");
/// auto type = troupe::service_registry::global().lookup("greeter");
/// auto svc = (*type)->spawn(sys, {"hello", "greeter", bus});
/// ```
class service_registry {
public:
  /// Returns the process-wide registry.
  static service_registry& global();

  /// Adds a type. Fails with `errc::duplicate_name` when the name is taken,
  /// `errc::invalid_settings` when it is empty or the factory is missing.
  caf::error add(service_type_info info);

  /// Returns the type named `name`, or `errc::unknown_type` with the known
  /// types and the closest match ("did you mean ...?").
  caf::expected<service_type_info> lookup(std::string_view name) const;

  /// Returns whether a type named `name` is registered.
  bool contains(std::string_view name) const;

  /// Returns the registered names, sorted.
  std::vector<std::string> names() const;

  /// Returns every type's schema by name, for config loading and docs.
  config::type_catalog catalog() const;

  /// Returns every type, sorted by name.
  std::vector<service_type_info> types() const;

  /// Loads a plugin: a shared library exporting
  /// `extern "C" void troupe_register_plugin(troupe::service_registry&)`
  /// (define it with TROUPE_PLUGIN). Types it adds record `path` as their
  /// origin. Loading a path loaded before does nothing. Fails with
  /// `errc::plugin_failed` naming the path and the reason (dlopen's message, a
  /// missing entry point, a duplicate type). A plugin built for another
  /// troupe version or ABI (its TROUPE_PLUGIN_ABI tag differs from ours, or
  /// it has none) is refused before any of its code runs.
  caf::error load_plugin(const std::string& path);

private:
  mutable std::mutex mtx_;
  std::map<std::string, service_type_info, std::less<>> types_;
  std::set<std::string> plugins_;
};

/// The signature of a plugin's entry point.
using plugin_entry = void (*)(service_registry&);

} // namespace troupe

/// Defines a plugin's entry point (and its ABI tag, which the loader checks
/// before it loads the library); the body registers its types on `reg`:
///
/// ```
/// TROUPE_PLUGIN(reg) {
///   reg.add(troupe::service_type_of<my_service>("my_service", "Does X"));
/// }
/// ```
// The parameter is a name, not an expression: it cannot take parentheses.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define TROUPE_PLUGIN(reg)                                                     \
  extern "C" __attribute__((visibility("default"), used))                      \
  const char* const troupe_plugin_abi =                                        \
    TROUPE_PLUGIN_ABI_MARKER TROUPE_PLUGIN_ABI;                                \
  extern "C" __attribute__((visibility("default"))) void                       \
  troupe_register_plugin(troupe::service_registry& reg)
// NOLINTEND(bugprone-macro-parentheses)
