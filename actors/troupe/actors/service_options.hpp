#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <caf/fwd.hpp>
#include <spdlog/common.h>

#include "troupe/actors/topic_bus.hpp"

namespace troupe {

class metric_registry;

/// How the framework hosts one service instance.
struct service_options {
  service_options() = default;

  /// Names the service, its type, and the bus it publishes on.
  service_options(std::string name, std::string type = {}, bus_actor bus = {})
    : name(std::move(name)), type(std::move(type)), bus(std::move(bus)) {}

  /// Unique name within the app; also the logger's name.
  std::string name;
  /// The registered type name, for status and logs.
  std::string type;
  /// The local topic bus (see topic_bus.hpp); publish without one counts as
  /// dropped.
  bus_actor bus;
  /// Initial log level; `log_level` in the settings overrides it.
  std::optional<spdlog::level::level_enum> log_level;
  /// How many state changes the status keeps.
  size_t history_limit = 32;
  /// Restarts of earlier instances of this service; a supervisor sets it when
  /// it spawns a replacement, so `status().restarts` stays cumulative.
  uint64_t restarts = 0;
  /// The service's metrics. Pass one to read it from outside (the control
  /// plane renders it into /metrics) and to keep its values across service
  /// restarts; when null, the host creates one.
  std::shared_ptr<metric_registry> metrics;
  /// The period of a health check added without one (`health_check_interval`
  /// in the app file).
  std::chrono::nanoseconds health_check_interval = std::chrono::seconds{10};
  /// How many published messages may wait for their subscribers before the
  /// host holds the service back (its bus deliveries and task ticks wait
  /// until half of them were taken): the credit that slows a producer to
  /// the pace of its consumers. 0: never held back. `publish_window` in the
  /// app file.
  uint64_t publish_window = 10000;
  /// Where the new actor is first scheduled: the execution unit (worker
  /// thread) of the actor that spawns it, as `self->spawn` does, instead
  /// of the scheduler's shared queue. A supervisor sets it to its own
  /// `context()` while it runs a handler; set it only from there. Null:
  /// the scheduler picks a worker (`sys.spawn`).
  caf::execution_unit* launch_on = nullptr;
};

} // namespace troupe
