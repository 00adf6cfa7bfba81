#pragma once

#include "troupe/config/diagnostic.hpp"
#include "troupe/config/layered_config.hpp"
#include "troupe/config/schema.hpp"
#include "troupe/config/settings.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::config {

/// Service types by name, each with the schema of its settings.
using type_catalog = std::map<std::string, schema, std::less<>>;

/// Keys every `[services.NAME]` table has besides its type's settings.
const schema& service_common_schema();

/// Returns the schema of an app file (`[app]`, `[control]`,
/// `[services.NAME]`), resolving each service's settings by its `type`.
schema app_schema(const type_catalog& types);

/// One `[services.NAME]` entry, validated.
struct service_spec {
  std::string name;
  std::string type;
  std::vector<std::string> depends_on;
  bool autostart = true;
  /// false: listed (and shown in status) but never started automatically.
  bool enabled = true;
  std::string restart = "permanent";
  duration stop_timeout{};
  std::string log_level;
  /// Period of health checks added without one (`service_options`).
  duration health_check_interval{};
  /// Published messages that may wait for subscribers before the service is
  /// held back (`service_options::publish_window`); 0: never.
  int64_t publish_window = 10000;
  /// Exported per service in /metrics even when its type is exported per
  /// type (`[control] metrics_per_service_max`).
  bool metrics_per_service = false;
  /// The `[supervisors.NAME]` this service runs under; empty: the root.
  std::string supervisor;
  /// The type's own settings (common keys removed), defaults filled in.
  config::settings settings;

  friend bool operator==(const service_spec& x, const service_spec& y);
};

/// The one rule for service names, in the app file, over HTTP and in
/// `troupe ctl`: 1 to 64 characters, letters, digits, `_` and `-`, starting
/// with a letter or digit. Names go into URL paths, metric labels and log
/// lines as they are.
inline constexpr std::string_view service_name_rule =
  "1 to 64 letters, digits, '_' or '-', starting with a letter or digit";

/// Returns why `name` breaks the service name rule, or nothing when it is
/// valid. The message quotes the name (escaped when not printable) and the
/// rule.
std::optional<std::string> check_service_name(std::string_view name);

/// Builds the spec of service `name` from its entry, validated against the
/// common schema and its type's (so every common key holds a value).
service_spec make_service_spec(std::string name, const table& entry);

/// A `[supervisors.NAME]` entry: a supervisor under the app's root
/// supervisor, with its own strategy, intensity and backoff, over the
/// services that name it (`supervisor = "NAME"`).
struct supervisor_spec {
  std::string name;
  std::string strategy = "one_for_one";
  int64_t max_restarts = 10;
  duration period{};
  duration backoff_min{};
  duration backoff_max{};
  double jitter = 0.2;
  int64_t seed = 0;
};

/// A whole app file, validated, with every value's origin.
struct app_config {
  layered_config layers;
  std::string name;
  std::string log_level;
  std::string log_file;
  /// "text" or "json".
  std::string log_format = "text";
  /// Bytes before log_file rotates; 0: never.
  int64_t log_max_size = 0;
  /// Rotated files kept.
  int64_t log_max_files = 5;
  duration shutdown_timeout{};
  duration status_interval{};
  /// What the bus keeps for a failed service's next instance, at most this
  /// long (spawn_topic_bus's `keep_for`).
  duration redelivery_keep_for{};
  std::vector<std::string> plugins;
  /// `[supervisor]`: strategy name, intensity and backoff of the root
  /// supervisor.
  std::string restart_strategy;
  int64_t max_restarts = 10;
  duration restart_period{};
  duration backoff_min{};
  duration backoff_max{};
  double restart_jitter = 0.2;
  int64_t restart_seed = 0;
  std::string control_http;
  std::string control_token;
  std::string control_read_token;
  std::vector<std::string> control_public;
  bool control_allow_insecure_bind = false;
  /// Types with more services are exported per type in /metrics; 0: all.
  int64_t control_metrics_per_service_max = 100;
  /// HTTPS: PEM certificate (chain) and private key; both empty: HTTP.
  std::string control_tls_cert;
  std::string control_tls_key;
  /// Services by name.
  std::map<std::string, service_spec, std::less<>> services;
  /// `[supervisors.NAME]` by name.
  std::map<std::string, supervisor_spec, std::less<>> supervisors;

  /// The name of the root supervisor's child that holds `service`: its
  /// supervisor's name, or the service's own name under the root.
  std::string root_child(const std::string& service) const;

  /// Returns the service names in an order where every service comes after
  /// its dependencies (stop in reverse). Ties break by name.
  std::vector<std::string> start_order() const;
};

/// Where an app config comes from.
struct app_sources {
  /// The TOML file; empty for none. Resolved with `resolve_project_path`.
  std::string file;
  /// TOML text used instead of reading `file` (tests, fuzzing).
  std::optional<std::string> text;
  /// `--set key=value` assignments, applied in order.
  std::vector<std::string> sets;
  /// Environment variables; `TROUPE_*__*` become overrides.
  layered_config::environment env;
};

/// The outcome of loading: the config when `errors` is empty.
struct app_load_result {
  app_config config;
  diagnostics errors;
  bool ok() const noexcept { return errors.empty(); }
};

/// Loads, merges (defaults < file < env < CLI) and validates an app config,
/// collecting every error. Also checks that dependencies name known services
/// and form no cycle. Never throws on bad input.
app_load_result load_app(const app_sources& sources, const type_catalog& types);

/// What a reload changes.
struct app_changes {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  /// Same type, different settings or options: gets `reconfigure`.
  std::vector<std::string> changed;
  /// Same name, different type or supervisor: must be replaced.
  std::vector<std::string> replaced;
  bool empty() const noexcept {
    return added.empty() && removed.empty() && changed.empty() &&
           replaced.empty();
  }
};

/// Compares two configs service by service.
app_changes diff(const app_config& before, const app_config& after);

} // namespace troupe::config
