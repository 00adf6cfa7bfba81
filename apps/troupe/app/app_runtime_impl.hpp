#pragma once

// The private state of app_runtime, shared by the files that implement it:
// app_runtime.cpp (construction, start, statuses, reload),
// app_runtime_drain.cpp (the phased shutdown) and app_runtime_control.cpp
// (the control_model over HTTP). Included by them only: it brings in CAF.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "troupe/actors/ask.hpp"
#include "troupe/actors/errc.hpp"
#include "troupe/actors/supervisor.hpp"
#include "troupe/actors/topic_bus.hpp"
#include "troupe/app/app_runtime.hpp"

namespace troupe::app {

/// Lifecycle requests through the supervisor carry their own deadlines (each
/// child's start and stop timeouts); the outer wait only guards against a
/// supervisor that is gone.
constexpr caf::timespan forever = std::chrono::hours{1};

/// The sum of everything that moves while messages flow, for the drain's
/// "has the app gone quiet?" check.
struct activity {
  uint64_t moved = 0;
  uint64_t in_flight = 0;
  /// Services that run (and answered).
  uint64_t running = 0;
  /// Whether every running service answered: when one did not (too busy),
  /// the app is not quiet.
  bool known = true;
  friend bool operator==(const activity& x, const activity& y) {
    return x.moved == y.moved && x.in_flight == y.in_flight;
  }
};

/// What an app_runtime holds: the actor system, the bus, the root
/// supervisor, and the config as the control plane changed it.
struct app_runtime::impl {
  caf::actor_system& sys;
  service_registry& types;
  std::shared_ptr<spdlog::logger> log;
  bus_actor bus;
  // Spawned by start(), read from HTTP threads: through root_now().
  supervisor_actor root;
  mutable std::mutex root_mtx;
  supervisor_actor root_now() const {
    std::lock_guard<std::mutex> guard{root_mtx};
    return root;
  }
  // Told of the root's state changes (on_give_up); ended with the runtime.
  caf::actor root_watch;
  caf::timespan timeout = std::chrono::seconds{5};

  // Guards cfg, registries and last_seen (main thread and HTTP threads).
  std::mutex mtx;
  config::app_config cfg;
  std::map<std::string, std::shared_ptr<metric_registry>> registries;
  // Each service's status just before the drain stopped it, so that the
  // final table still shows what it did once its actor is gone.
  std::map<std::string, service_status> last_seen;
  // Whether a service should run, where the control plane changed it (a
  // start makes it expected, a stop not); otherwise enabled && autostart.
  // Readiness (GET /readyz) counts expected services only.
  std::map<std::string, bool> expected;

  // Whether `name` should run (see `expected`). Caller holds mtx.
  bool is_expected(const std::string& name);

  // `st` as GET /services shows it: with `enabled` and `expected`. Caller
  // holds mtx.
  nlohmann::json annotated(const service_status& st);

  impl(caf::actor_system& sys, service_registry& types, config::app_config c,
       std::shared_ptr<spdlog::logger> log);

  std::shared_ptr<metric_registry> registry_of(const std::string& name);

  // Caller holds mtx.
  caf::expected<child_spec> make_spec(const config::service_spec& spec);

  supervisor_options root_options();

  // The options of `[supervisors.NAME]`.
  static supervisor_options options_of(const config::supervisor_spec& x);

  // Every service as its supervisor lists it (the services of a nested
  // supervisor in its place); empty when the root does not answer within
  // `timeout`.
  std::vector<child_info> children();

  // The root supervisor's own children (nested supervisors as one child
  // each) within `within`, or why not.
  caf::expected<std::vector<child_info>> root_children(caf::timespan within);

  // The nested supervisors among `xs` (the root's children) that have an
  // instance.
  std::vector<std::pair<std::string, supervisor_actor>>
  nested(const std::vector<child_info>& xs);

  // The supervisor that holds service `name`: the root, or its
  // `[supervisors.NAME]` (null while that one has no instance).
  supervisor_actor supervisor_of(const std::string& name);

  const child_info* find(const std::vector<child_info>& xs,
                         const std::string& name);

  service_status status_of(const child_info& ci);

  // `answered`: what the service answered (taken), or null when it did not:
  // then what the drain saw last, or what the supervisor knows.
  service_status status_of(const child_info& ci, service_status* answered);

  // Every service's status in start order; with `unstarted`, those without
  // an instance (never started) too.
  std::vector<service_status> statuses(bool unstarted = true);

  // -- the drain (app_runtime_drain.cpp) --------------------------------------

  // One request: the root supervisor asks every running service at once
  // and answers the sum.
  activity measure(std::chrono::steady_clock::time_point until);

  // Waits until nothing moves and nothing is in flight (or `until`, or
  // nothing moved for `cap`, or `cap` passed with nothing in flight): what
  // is inside the app when intake stops gets to finish. Returns 0 when it
  // got quiet, else what was still in flight.
  uint64_t wait_quiet(std::chrono::steady_clock::time_point until,
                      std::chrono::nanoseconds cap);
};

} // namespace troupe::app
