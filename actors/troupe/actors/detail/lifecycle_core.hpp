#pragma once

// The lifecycle bookkeeping that a service host (host_core) and a
// supervisor (supervisor_core) share: the state and its transition checks,
// the configuration, the history of changes and their listeners, and the
// counters that go into a status. One copy, so the two cannot diverge.
// Included only by the host's and the supervisor's sources.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/result.hpp>
#include <spdlog/fwd.h>

#include "troupe/actors/service.hpp"
#include "troupe/actors/service_state.hpp"
#include "troupe/actors/service_status.hpp"

namespace troupe::detail {

/// One entry of a lifecycle's history: a `state_change` without the
/// owner's name, which every entry would copy (an idle service keeps four;
/// issue 25).
struct history_entry {
  service_state from = service_state::initialized;
  service_state to = service_state::initialized;
  timestamp at;
  std::string reason;
};

/// `(start_atom, settings)` for a host or a supervisor core: `configure`,
/// then `start` unless configure answered an error (which is the answer).
template <class Core>
caf::result<service_state> configure_then_start(Core& core,
                                                const settings& cfg) {
  auto r = core.configure(cfg);
  if (r.flag == caf::rt_error)
    return r;
  // Both cores' configure answers at once; a delegated one would start
  // nothing here.
  if (r.flag != caf::rt_value)
    return caf::make_error(caf::sec::invalid_argument,
                           "configure did not answer at once");
  return core.start();
}

/// Announces a state change of a service or supervisor: appends `change`
/// to `history` (keeping the newest `limit` entries), logs it (a change to
/// `failed` as an error), and sends `(state_changed_atom, change)` as `self`
/// to every listener still alive, forgetting the ones that are gone. Sent
/// as `self` so a supervisor tells its current child from a replaced
/// instance.
void announce_change(caf::scheduled_actor* self, spdlog::logger& log,
                     std::vector<history_entry>& history, size_t limit,
                     std::vector<caf::actor_addr>& listeners,
                     const state_change& change);

/// State, transitions, history, listeners and counters of a service host or
/// a supervisor.
class lifecycle_core {
public:
  /// `kind` names the owner in refusals ("service", "supervisor"); `name`
  /// is the owner's (kept by reference: it must outlive this); `restarts`
  /// is the count an earlier instance left (service_options).
  lifecycle_core(const char* kind, const std::string& name,
                 size_t history_limit, uint64_t restarts);

  lifecycle_core(const lifecycle_core&) = delete;
  lifecycle_core& operator=(const lifecycle_core&) = delete;

  service_state state() const noexcept { return state_; }

  // -- transitions ------------------------------------------------------------

  /// Whether `action` may run now, by the transition table
  /// (`check_transition`).
  transition allowed(lifecycle_action action,
                     bool requires_configuration = false) const;

  /// The same as an error: none when allowed, else the refusal with a text
  /// naming the owner and its state ("cannot start service 'x' while
  /// running").
  caf::error check(lifecycle_action action,
                   bool requires_configuration = false) const;

  /// Moves to `next`: appends the change to the history (the newest
  /// `history_limit`), logs it (a change to `failed` as an error), and
  /// tells every listener still alive (see announce_change). Entering
  /// `running` starts the uptime clock; entering it from a start that began
  /// in `stopped` or `failed` counts a restart.
  void enter(caf::scheduled_actor* self, spdlog::logger& log,
             service_state next, const std::string& reason);

  /// Adds a state listener, held weakly: a supervisor holds its children,
  /// and a child holding its supervisor would keep both alive forever.
  void add_listener(const caf::actor& listener);

  // -- configuration ----------------------------------------------------------

  bool configured() const noexcept { return configured_; }
  const settings& config() const noexcept { return config_; }
  /// A configure or reconfigure took `cfg`.
  void set_config(settings cfg);

  // -- counters ---------------------------------------------------------------

  /// Counts an error and keeps `what` as the last one.
  void note_error(std::string what);
  /// Forgets the errors (service::reset_errors).
  void reset_errors();
  uint64_t errors() const noexcept { return errors_; }
  const std::string& last_error() const noexcept { return last_error_; }
  uint64_t restarts() const noexcept { return restarts_; }
  /// When the newest change happened.
  timestamp last_change_at() const noexcept { return history_.back().at; }

  /// Fills the lifecycle fields of `st`: name, state, started_at, uptime
  /// (while running or stopping, by `now` on the actor's clock), errors,
  /// restarts, last_error and history.
  void fill(service_status& st,
            std::chrono::steady_clock::time_point now) const;

private:
  // Pointers, not copies: an idle service's bytes count (issue 25).
  const char* kind_;
  const std::string* name_;
  size_t history_limit_;
  service_state state_ = service_state::initialized;
  // The state a start began in (counts a restart once it runs).
  service_state start_from_ = service_state::initialized;
  bool configured_ = false;
  settings config_;
  timestamp started_at_{};
  std::chrono::steady_clock::time_point running_since_{};
  uint64_t restarts_ = 0;
  uint64_t errors_ = 0;
  std::string last_error_;
  std::vector<history_entry> history_;
  std::vector<caf::actor_addr> listeners_;
};

} // namespace troupe::detail
