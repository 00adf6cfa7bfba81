#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <spdlog/logger.h>

#include "troupe/actors/service_registry.hpp"
#include "troupe/actors/service_status.hpp"
#include "troupe/app/control_plane.hpp"
#include "troupe/config/app_config.hpp"

namespace troupe {
class metric_registry;
} // namespace troupe

namespace troupe::app {

/// How `app_runtime::shutdown` ended.
struct shutdown_result {
  /// Every service stopped within its deadline and the app's.
  bool clean = true;
  /// The service that was still stopping when `app.shutdown_timeout`
  /// passed; empty when none.
  std::string hung;
  /// Messages still in flight (published and not taken, or held back)
  /// when the drain stopped a service anyway: work it could not account
  /// for. 0 when every stop found the app quiet.
  uint64_t unfinished = 0;
};

/// Messages lost by one service, by reason, over all its instances
/// (`troupe_service_messages_lost_total`).
struct lost_messages {
  std::string service;
  std::string reason;
  uint64_t count = 0;
};

/// A running app: its services under one root supervisor (restart strategy,
/// intensity and backoff from `[app]`), in dependency order, with the
/// control plane's view of them. Driven from the main thread (start,
/// shutdown, reload) and from HTTP threads (the `control_model` calls); every
/// call blocks on requests with a timeout, never on a scheduler thread.
class app_runtime final : public control_model {
public:
  app_runtime(caf::actor_system& sys, service_registry& types,
              config::app_config cfg, std::shared_ptr<spdlog::logger> log);
  ~app_runtime() override;

  app_runtime(const app_runtime&) = delete;
  app_runtime& operator=(const app_runtime&) = delete;

  /// Starts the enabled, autostarted services by dependency level: every
  /// service of a level at once, the next level once all of them run.
  /// Returns the first error (naming the service); the services already
  /// started are then stopped again. While it waits it asks
  /// `stop_requested` every 20 ms; once that says yes it returns at once
  /// with `errc::not_running` ("start interrupted") and leaves the start in
  /// progress for `shutdown` to abort.
  caf::error start(const std::function<bool()>& stop_requested = {});

  /// Returns the status of every service in start order, also the ones not
  /// started (state `initialized`) and the ones waiting for a restart.
  std::vector<service_status> statuses();

  /// Returns whether the root supervisor gave up: more restarts than
  /// `[supervisor] max_restarts` within its period stopped every service.
  bool gave_up();

  /// Calls `fn` (on an actor system thread) as soon as the root supervisor
  /// gives up, so that the main loop need not wait for its next status
  /// print. `fn` must stay callable until `shutdown` returns.
  void on_give_up(std::function<void()> fn);

  /// Returns whether the root supervisor answers within `timeout` and has
  /// not given up: what the systemd watchdog is fed on.
  bool supervisor_healthy(std::chrono::nanoseconds timeout);

  /// The phased drain: services stop by dependency level in reverse (the
  /// top of the graph, where intake belongs, first), every service of a
  /// level at once; after each level, the app is given time to go quiet (no
  /// message counter moving, nothing in flight) so what is already inside
  /// finishes. Bridges flush on stop. A start still in progress is aborted
  /// and everything it started stopped. Everything must be done within
  /// `timeout`.
  shutdown_result shutdown(std::chrono::nanoseconds timeout);

  /// Messages each service lost so far, by reason (non-zero ones only).
  std::vector<lost_messages> lost();

  /// Applies a reloaded config: `reconfigure` for services whose settings
  /// changed; added, removed and retyped services are logged (restart the
  /// app to apply those).
  void reload(const config::app_config& next);

  // -- control_model ----------------------------------------------------------

  service_page services(const service_query& q) override;
  std::optional<nlohmann::json> service(const std::string& name) override;
  control_health health(bool all) override;
  bool live() override;
  std::string metrics_text() override;
  control_result action(const std::string& name, control_action act,
                        bool cascade) override;
  control_result add(const nlohmann::json& spec) override;
  control_result remove(const std::string& name, bool cascade) override;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::app
