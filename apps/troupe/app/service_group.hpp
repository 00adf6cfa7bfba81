#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/scoped_actor.hpp>

#include "troupe/actors/service_actor.hpp"

namespace troupe::app {

/// A list of services started in order and stopped in reverse, driven from
/// outside the actor world (a `main` thread) with blocking requests.
class service_group {
public:
  /// One member: its name, lifecycle handle and settings.
  struct member {
    std::string name;
    service_actor handle;
    settings cfg;
  };

  explicit service_group(
    caf::actor_system& sys,
    std::chrono::milliseconds timeout = std::chrono::seconds{5});

  /// Adds a service; it starts after every service added before it.
  void add(std::string name, service_actor handle, settings cfg = {});

  /// Configures and starts every member in order. Stops at the first
  /// failure and returns its error (naming the service).
  caf::error start_all();

  /// Stops every running member in reverse order, each within `deadline`.
  /// Returns the first error, after trying all.
  caf::error stop_all(std::chrono::nanoseconds deadline);

  /// Returns the member named `name`, or null.
  const member* find(const std::string& name) const;

  /// Sends `reconfigure` with `cfg` to the member named `name` and waits for
  /// the answer; on success the member keeps `cfg` for later restarts.
  caf::error reconfigure(const std::string& name, settings cfg);

  /// Returns the status of every member, in order. A member that does not
  /// answer shows as `failed` with the error as its last error.
  std::vector<service_status> statuses();

  /// Returns the members.
  const std::vector<member>& members() const noexcept { return members_; }

private:
  caf::scoped_actor self_;
  std::chrono::milliseconds timeout_;
  std::vector<member> members_;
};

} // namespace troupe::app
