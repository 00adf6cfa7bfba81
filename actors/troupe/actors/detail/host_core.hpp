#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/result.hpp>
#include <caf/typed_response_promise.hpp>
#include <spdlog/common.h>
#include <spdlog/fwd.h>

#include "troupe/actors/service.hpp"
#include "troupe/actors/service_options.hpp"

namespace troupe::detail {

/// Announces a state change of a service or supervisor: appends `change`
/// to `history` (keeping the newest `limit` entries), logs it (a change to
/// `failed` as an error), and sends `(state_changed_atom, change)` as `self`
/// to every listener still alive, forgetting the ones that are gone. Sent
/// as `self` so a supervisor tells its current child from a replaced
/// instance.
void announce_change(caf::scheduled_actor* self, spdlog::logger& log,
                     std::vector<state_change>& history, size_t limit,
                     std::vector<caf::actor_addr>& listeners,
                     const state_change& change);

/// The non-template half of a service host: state machine, hooks, counters,
/// health, tasks and subscriptions. The template half (service_host.hpp) only
/// builds the per-state behaviors and forwards to this class, so the logic is
/// compiled once.
class host_core {
public:
  host_core(caf::scheduled_actor* self, service& impl, service_options opts);
  ~host_core();

  host_core(const host_core&) = delete;
  host_core& operator=(const host_core&) = delete;

  // -- lifecycle requests
  // -------------------------------------------------------

  caf::result<service_state> configure(const settings& cfg);
  caf::result<service_state> start();
  caf::result<service_state> stop(const std::string& reason,
                                  caf::timespan deadline);
  caf::result<service_state> reconfigure(const settings& cfg);

  /// Checks `cfg` against the service type's schema (if it declares one)
  /// and fills in defaults.
  caf::expected<settings> checked(const settings& cfg) const;
  service_status status() const;
  health_report health() const;
  void add_listener(const caf::actor& listener);

  // -- host plumbing
  // ------------------------------------------------------------

  void deliver(const std::string& topic, const caf::message& msg);
  /// Delivers every item; when the bus asked for an acknowledgement, sends
  /// it now or, if the service took a `delivery_hold`, once that is gone.
  void deliver_batch(const bus_batch& b);
  void run_task(uint64_t id, uint64_t generation);
  void on_deadline(uint64_t generation);

  /// Installed by the template host: switches to the behavior of a state.
  std::function<void(service_state)> on_enter;

  // -- domain dispatch accounting
  // -------------------------------------------------

  service_state current() const noexcept { return state_; }
  void count_in(uint64_t n = 1) noexcept { messages_in_ += n; }
  void count_out(uint64_t n) noexcept { messages_out_ += n; }
  void count_dropped(const char* why, uint64_t n = 1);
  /// Changes whenever a run ends (stop, failure): work of an earlier run
  /// compares its generation to this.
  uint64_t run_generation() const noexcept { return run_generation_; }
  bool current_is_request() const;
  /// A domain handler or task threw: record a fatal error.
  void handler_failed(const char* where, const std::string& what);

  // -- toolkit for the service
  // ----------------------------------------------------

  const std::string& name() const noexcept { return opts_.name; }
  const settings& config() const noexcept { return config_; }
  spdlog::logger& log() const noexcept { return *log_; }
  const std::shared_ptr<spdlog::logger>& shared_log() const noexcept {
    return log_;
  }
  caf::scheduled_actor* self() const noexcept { return self_; }
  std::chrono::steady_clock::time_point clock_now() const noexcept;
  void record_error(std::string what, bool fatal, const char* source);
  void reset_errors();
  void set_health(std::string check, health_status status, std::string msg);
  void clear_health(const std::string& check);
  task_id add_task(std::chrono::nanoseconds interval, std::function<void()> fn,
                   bool periodic);
  void cancel(task_id id);
  work_token track();
  void publish(std::string topic, caf::message msg);
  void publish_batch(bus_batch batch);
  void publish_batch(bus_batch batch, std::function<void()> on_taken);
  delivery_hold hold_delivery();
  void add_subscription(std::string prefix, service::subscription_handler fn);
  metric_registry& metrics() const noexcept { return *opts_.metrics; }
  const service_options& options() const noexcept { return opts_; }
  void set_metadata(std::string key, std::string value);

private:
  struct task {
    std::function<void()> fn;
    std::chrono::nanoseconds interval;
    bool periodic;
  };

  struct subscription {
    std::string prefix;
    // Shared: a delivery keeps the handler alive while it runs, even when
    // the handler cancels the run and clears the list (cheaper than
    // copying the std::function per message).
    std::shared_ptr<service::subscription_handler> fn;
  };

  /// Moves to `next`, records history and notifies listeners.
  void enter(service_state next, const std::string& reason);

  /// Runs a hook, turning an escaping exception into a failure.
  hook_result guarded(const char* hook, const std::function<hook_result()>& f);

  /// Applies a hook's verdict. Returns an error for refusal or failure.
  caf::error settle(const char* hook, const hook_result& r,
                    service_state prior);

  /// Enters `failed` (or `stopped` when `on_error` recovers).
  void fail(const std::string& what, const char* source);

  /// Cancels tasks and subscriptions of the current run.
  void cancel_run();

  /// Completes a stop: `on_stop`, then `stopped` (or `failed`).
  void finish_stop(bool hard);

  void schedule(uint64_t id, std::chrono::nanoseconds delay);

  void apply_log_level(const settings& cfg);

  caf::scheduled_actor* self_;
  service& impl_;
  service_options opts_;
  std::shared_ptr<spdlog::logger> log_;

  service_state state_ = service_state::initialized;
  bool configured_ = false;
  settings config_;

  // counters
  timestamp started_at_{};
  std::chrono::steady_clock::time_point running_since_{};
  uint64_t messages_in_ = 0;
  uint64_t messages_out_ = 0;
  uint64_t messages_dropped_ = 0;
  uint64_t errors_ = 0;
  uint64_t restarts_ = 0;
  std::string last_error_;
  bool stopped_hard_ = false;
  // Set by fail(), cleared when a hook starts: tells a hook's caller that a
  // fatal record_error inside the hook already failed the service.
  bool failed_in_hook_ = false;
  std::vector<state_change> history_;

  // health checks by name
  std::map<std::string, health_check> checks_;

  // shown in status
  std::map<std::string, std::string> metadata_;

  // state listeners, held weakly
  std::vector<caf::actor_addr> listeners_;

  // tasks and subscriptions of the current run
  uint64_t run_generation_ = 0;
  uint64_t next_task_id_ = 0;
  std::unordered_map<uint64_t, task> tasks_;
  std::vector<subscription> subscriptions_;

  // stop with work in flight
  std::shared_ptr<in_flight_counter> in_flight_;
  std::optional<caf::typed_response_promise<service_state>> stop_promise_;
  uint64_t stop_generation_ = 0;

  // the acknowledgement of the batch being delivered (deliver_batch only)
  bool delivering_batch_ = false;
  delivery_hold current_hold_;

  // rate limit for drop warnings
  std::chrono::steady_clock::time_point last_drop_log_{};
  uint64_t drops_since_log_ = 0;
};

} // namespace troupe::detail
