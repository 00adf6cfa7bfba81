#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/result.hpp>
#include <caf/typed_response_promise.hpp>
#include <spdlog/common.h>
#include <spdlog/fwd.h>

#include "troupe/actors/detail/lifecycle_core.hpp"
#include "troupe/actors/service.hpp"
#include "troupe/actors/service_options.hpp"

namespace troupe {
class counter;
class histogram;
} // namespace troupe

namespace troupe::detail {

struct bus_delivery;

/// Logs, at warn, an error that no handler of `self` takes (one sent to it
/// as an ordinary message, or the answer to a request made without an error
/// callback), and drops it. Services and supervisors install this as their
/// error handler instead of CAF's default, which quits the actor: a state
/// listener whose default handler answers each change with an error would
/// otherwise kill the service or supervisor it listens to.
void log_stray_error(caf::scheduled_actor* self, spdlog::logger& log,
                     const caf::error& err);

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

  // -- lifecycle requests -----------------------------------------------------

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

  // -- host plumbing ----------------------------------------------------------

  void deliver(const std::string& topic, const caf::message& msg);
  /// Delivers every item; the publisher's acknowledgement (`b.ack`, if it
  /// waits for one) goes when the batch is dropped or, if the service took
  /// a `delivery_hold`, once that is gone. While the service is held back
  /// (see `publish`), keeps the batch and its acknowledgement until the
  /// service may go on.
  void deliver_batch(const bus_batch& b);
  void run_task(uint64_t id, uint64_t generation);

  /// Marks the code that runs while it lives as one dispatch (a handler, a
  /// task, a hook): what it publishes goes to the bus as one batch when the
  /// outermost scope ends.
  class dispatch_scope {
  public:
    explicit dispatch_scope(host_core& core) noexcept : core_(core) {
      if (core_.dispatch_depth_++ == 0 &&
          (++core_.dispatches_ & (sample_every - 1)) == 0)
        started_ = std::chrono::steady_clock::now();
    }
    ~dispatch_scope() {
      if (--core_.dispatch_depth_ != 0)
        return;
      if (!core_.outbox_.empty())
        core_.flush_outbox();
      if (started_ != std::chrono::steady_clock::time_point{})
        core_.observe_processing(std::chrono::steady_clock::now() - started_);
    }
    dispatch_scope(const dispatch_scope&) = delete;
    dispatch_scope& operator=(const dispatch_scope&) = delete;

  private:
    host_core& core_;
    std::chrono::steady_clock::time_point started_{};
  };

  /// One dispatch in this many is timed (troupe_service_processing_seconds):
  /// two clock reads per message would cost a per-message service ~10 %.
  static constexpr uint64_t sample_every = 16;
  void on_deadline(uint64_t generation);

  /// Installed by the template host: switches to the behavior of a state.
  std::function<void(service_state)> on_enter;

  // -- domain dispatch accounting ---------------------------------------------

  service_state current() const noexcept { return life_.state(); }
  void count_in(uint64_t n = 1) noexcept { messages_in_ += n; }
  void count_out(uint64_t n) noexcept { messages_out_ += n; }
  /// Why a message was lost: the `reason` label of
  /// `troupe_service_messages_lost_total`.
  enum class lost : uint8_t {
    /// Arrived while the service was not running (e.g. failed, restarting).
    not_running,
    /// Of a type no handler takes, or outside the service's interface.
    unhandled,
    /// Published without a topic bus.
    no_bus,
    /// The rest of a batch after the run ended half-way (a handler threw).
    run_ended,
    /// Held back (see `publish`) when the run ended.
    held_at_stop,
    /// Published on a topic that no service subscribed to at the time
    /// (normal for events nobody listens to; work lost otherwise).
    no_subscriber,
    /// Published, reached a subscriber that failed (or died) before it
    /// handled it, and could not be delivered to its next instance
    /// (counted by the publisher: the subscriber is gone).
    subscriber_failed,
  };
  static constexpr size_t lost_reasons = 7;
  /// Counts `n` lost messages: in the status (`messages_dropped`), in the
  /// service's metrics by reason (kept across restarts), and in a log line
  /// at most once a second.
  void count_dropped(lost reason, const char* why, uint64_t n = 1);
  /// Counts `n` lost for a reason of the service's own (see
  /// service::count_lost); not in `messages_dropped`.
  void count_lost(const std::string& reason, uint64_t n);
  /// The lost counter for `reason` in the service's registry.
  counter& lost_counter(const std::string& reason);
  /// Changes whenever a run ends (stop, failure): work of an earlier run
  /// compares its generation to this.
  uint64_t run_generation() const noexcept { return run_generation_; }
  bool current_is_request() const;
  /// A domain handler or task threw: record a fatal error.
  void handler_failed(const char* where, const std::string& what);

  // -- toolkit for the service ------------------------------------------------

  const std::string& name() const noexcept { return opts_.name; }
  const settings& config() const noexcept { return life_.config(); }
  /// The service's logger, created at the first call (from the actor's
  /// thread, as every call here): an idle service that logs nothing never
  /// pays for one.
  spdlog::logger& log() const;
  const std::shared_ptr<spdlog::logger>& shared_log() const;
  caf::scheduled_actor* self() const noexcept { return self_; }
  std::chrono::steady_clock::time_point clock_now() const noexcept;
  void record_error(std::string what, bool fatal, const char* source);
  void reset_errors();
  void set_health(std::string check, health_status status, std::string msg);
  void clear_health(const std::string& check);
  /// `for_tracked`: the task also runs while a stop waits for tracked work
  /// (`service::every_tracked`).
  task_id add_task(std::chrono::nanoseconds interval, std::function<void()> fn,
                   bool periodic, bool for_tracked = false);
  void cancel(task_id id);
  work_token track();
  /// Units of tracked work not yet finished.
  uint64_t in_flight() const noexcept {
    return in_flight_ ? in_flight_->count : 0;
  }
  /// Queues `msg` in the outbox, which goes to the bus as one
  /// acknowledged batch when the current dispatch ends (at once outside a
  /// dispatch). Once `publish_window` messages are unacknowledged, the host
  /// holds the service back: bus deliveries and task ticks wait (their
  /// publishers wait for their acknowledgements in turn) until half of
  /// them were taken.
  void publish(std::string topic, caf::message msg);
  /// 0: never hold this service back (the bridge, which keeps its own
  /// credit).
  void set_publish_window(uint64_t n) noexcept { publish_window_ = n; }
  void publish_batch(bus_batch batch);
  void publish_batch(bus_batch batch, std::function<void()> on_taken);
  delivery_hold hold_delivery();
  /// `replies`: kept while a stop waits for tracked work (see
  /// `service::subscribe_replies`).
  void add_subscription(std::string prefix, service::subscription_handler fn,
                        bool replies);
  metric_registry& metrics() const noexcept { return *opts_.metrics; }
  const service_options& options() const noexcept { return opts_; }
  void set_metadata(std::string key, std::string value);

private:
  struct task {
    std::function<void()> fn;
    std::chrono::nanoseconds interval;
    bool periodic;
    // Kept, like reply subscriptions, while a stop waits for tracked work.
    bool for_tracked = false;
  };

  struct subscription {
    std::string prefix;
    // Shared: a delivery keeps the handler alive while it runs, even when
    // the handler cancels the run and clears the list (cheaper than
    // copying the std::function per message).
    std::shared_ptr<service::subscription_handler> fn;
    bool replies = false;
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

  /// Cancels tasks and subscriptions of the current run; with
  /// `keep_replies`, reply subscriptions stay (a stop waiting for work).
  void cancel_run(bool keep_replies = false);

  /// Completes a stop: `on_stop`, then `stopped` (or `failed`).
  void finish_stop(bool hard);

  void schedule(uint64_t id, std::chrono::nanoseconds delay);

  void apply_log_level(const settings& cfg);

  /// The logger for a record at `level`: the service's own, or, while it
  /// has none and the record would not be written, a silent one (so that
  /// records below the level create no logger).
  spdlog::logger& log_at(spdlog::level::level_enum level) const;

  // -- publish credit (host_core_bus.cpp)

  /// Sends the outbox to the bus as one acknowledged batch.
  void flush_outbox();
  /// Sends `b` to the bus as an acknowledged batch counted against the
  /// publish window.
  /// `on_taken` (may be empty) runs when it was taken, in the same run.
  void send_credited(bus_batch b, std::function<void()> on_taken = {});
  /// Whether deliveries and ticks must wait (held back, or others wait).
  bool holding_back() const noexcept {
    return held_back_ || held_next_ < held_.size();
  }
  /// Delivers `b` (its `ack`, if any, is what `hold_delivery` holds).
  void dispatch_batch(const bus_batch& b);
  /// Hands one bus message to the matching subscriptions.
  void deliver_one(const std::string& topic, const caf::message& msg);
  /// Sends `batch` to the bus as a request; `done` runs on its answer,
  /// with the number of items that matched no subscriber and the number
  /// that a failed subscriber lost for good.
  void request_publish(bus_batch batch,
                       const std::function<void(uint64_t, uint64_t)>& done);
  /// Runs what waited while held back, until held back again.
  void resume();
  /// Drops what waited (the run ended): counted as lost, publishers told.
  void drop_held();
  /// The run failed: gives what waited back to the bus, to be delivered to
  /// the next instance (what no publisher waits for stays, for drop_held).
  void give_back_held();
  /// The run failed: tells the bus (once per run, before cancel_run
  /// unsubscribes) to keep this service's prefixes, and what is published
  /// under them, for its next instance; from now until the next start,
  /// bus batches that reach this one go back (`suspended_`).
  void suspend_on_bus();
  void run_task_now(uint64_t id);
  caf::scheduled_actor* self_;
  service& impl_;
  service_options opts_;
  // Null until the first record at or above `level_` (see `log`): an
  // spdlog logger and its sink list cost ~260 bytes per service.
  mutable std::shared_ptr<spdlog::logger> log_;
  spdlog::level::level_enum level_;

  // state, transitions, configuration, history, listeners, errors and
  // restarts: shared with the supervisor
  lifecycle_core life_;

  // counters
  uint64_t messages_in_ = 0;
  uint64_t messages_out_ = 0;
  uint64_t messages_dropped_ = 0;
  bool stopped_hard_ = false;
  // Set by fail(), cleared when a hook starts: tells a hook's caller that a
  // fatal record_error inside the hook already failed the service.
  bool failed_in_hook_ = false;

  // health checks by name
  std::map<std::string, health_check> checks_;

  // shown in status
  std::map<std::string, std::string> metadata_;

  // tasks and subscriptions of the current run
  uint64_t run_generation_ = 0;
  // Subscribed on the bus in this run; failed since (see suspend_on_bus).
  bool bus_subscribed_ = false;
  bool suspended_ = false;
  uint64_t next_task_id_ = 0;
  // Ordered, not hashed: an idle service with one periodic task paid a
  // 13-bucket array for it (issue 25).
  std::map<uint64_t, task> tasks_;
  std::vector<subscription> subscriptions_;

  // stop with work in flight
  // Made by the first `track` (null until then: nothing in flight).
  std::shared_ptr<in_flight_counter> in_flight_;
  std::optional<caf::typed_response_promise<service_state>> stop_promise_;
  uint64_t stop_generation_ = 0;

  // the acknowledgement of the batch being delivered (dispatch_batch only;
  // null when its publisher waits for none)
  const std::shared_ptr<bus_delivery>* current_ack_ = nullptr;

  /// Records the duration of a sampled dispatch.
  void observe_processing(std::chrono::steady_clock::duration d);
  uint64_t dispatches_ = 0;
  histogram* processing_ = nullptr;
  /// Records how long a sampled bus batch waited in the mailbox.
  void observe_mailbox_wait(int64_t sent_ns);
  uint64_t batches_seen_ = 0;
  histogram* mailbox_wait_ = nullptr;

  // publish credit: the outbox of the current dispatch, messages published
  // and not yet acknowledged, and what waits while held back
  std::vector<bus_item> outbox_;
  int dispatch_depth_ = 0;
  uint64_t publish_window_ = 0;
  uint64_t unacked_ = 0;
  bool held_back_ = false;
  uint64_t held_back_times_ = 0;
  // Bus deliveries kept while held back (each with its publisher's
  // acknowledgement, `ack`). A vector and the index of the next one, not a
  // deque: a deque's first block would cost every idle service ~600 bytes.
  std::vector<bus_batch> held_;
  size_t held_next_ = 0;
  uint64_t held_messages_ = 0;
  std::vector<uint64_t> due_tasks_;
  std::array<counter*, lost_reasons> lost_{};

  // rate limit for drop warnings
  std::chrono::steady_clock::time_point last_drop_log_{};
  uint64_t drops_since_log_ = 0;
};

} // namespace troupe::detail
