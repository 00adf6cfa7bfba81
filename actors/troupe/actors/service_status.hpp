#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "troupe/actors/health.hpp"
#include "troupe/actors/service_state.hpp"

namespace troupe {

/// One entry of a service's state history.
struct state_change {
  /// Name of the service that changed state.
  std::string service;
  service_state from = service_state::initialized;
  service_state to = service_state::initialized;
  /// Why: the request or error that caused the change.
  std::string reason;
  timestamp at;
};

/// A snapshot of one service: state, counters and recent history. Answered
/// by the `status` request.
struct service_status {
  std::string name;
  std::string type;
  service_state state = service_state::initialized;
  health_status health = health_status::healthy;
  /// When the service last entered `running` (epoch when never).
  timestamp started_at;
  /// Time spent in `running` since `started_at` (zero when not running).
  std::chrono::nanoseconds uptime{0};
  /// Domain messages and bus deliveries handled while running.
  uint64_t messages_in = 0;
  /// Messages published or sent through the service's helpers.
  uint64_t messages_out = 0;
  /// Messages that arrived while not running or could not be handled.
  uint64_t messages_dropped = 0;
  /// Errors recorded since the last `reset_errors()`.
  uint64_t errors = 0;
  /// Starts from `stopped` or `failed`.
  uint64_t restarts = 0;
  /// Work items tracked and not yet finished.
  uint64_t in_flight = 0;
  /// Messages published and not yet taken by every subscriber.
  uint64_t publish_unacked = 0;
  /// Whether the host holds the service back now: `publish_unacked` reached
  /// its publish window, so deliveries and ticks wait.
  bool held_back = false;
  /// How often the service was held back since it was spawned.
  uint64_t held_back_times = 0;
  /// Bus messages waiting for the service while it is held back.
  uint64_t held_messages = 0;
  /// Messages in the actor's mailbox when the status was taken, as CAF
  /// last moved them out of its inbox (an approximation: messages that
  /// arrived since are not counted until the actor fetches them).
  uint64_t mailbox_size = 0;
  /// The latest error text, empty when none.
  std::string last_error;
  /// Set when the last stop hit its deadline with work still in flight.
  bool stopped_hard = false;
  /// The most recent state changes, oldest first (bounded).
  std::vector<state_change> history;
  /// What the service says about itself (`set_metadata`): version, peer
  /// address, model name...
  std::map<std::string, std::string> metadata;
};

} // namespace troupe
