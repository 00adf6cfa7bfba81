#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <spdlog/logger.h>

#include "troupe/actors/batch_of.hpp"
#include "troupe/actors/circuit_breaker.hpp"
#include "troupe/actors/delivery_hold.hpp"
#include "troupe/actors/errc.hpp"
#include "troupe/actors/health.hpp"
#include "troupe/actors/hook_result.hpp"
#include "troupe/actors/metrics.hpp"
#include "troupe/actors/retry.hpp"
#include "troupe/actors/service_actor.hpp"
#include "troupe/actors/service_state.hpp"
#include "troupe/actors/work_token.hpp"

namespace troupe::config {
class schema;
} // namespace troupe::config

namespace troupe {

namespace detail {
class host_core;
struct retry_run;
} // namespace detail

/// Identifies a periodic or delayed task of one service.
using task_id = uint64_t;

/// What went wrong, as handed to `service::on_error`.
struct error_info {
  /// Human-readable description.
  std::string what;
  /// Where it came from: "on_start", "handler", "task", "record_error", ...
  std::string source;
};

/// Base class of every service type. A service author overrides the `on_`
/// hooks, optionally declares a domain interface and its handlers, and uses
/// the protected toolkit (tasks, bus, errors, health, logging). The framework
/// hosts the object in a CAF actor (see `spawn_service` in service_host.hpp);
/// every member function runs inside that actor, one message at a time.
///
/// ```
/// class greeter : public troupe::service {
/// public:
///   using interface = troupe::service_actor::extend<
///     caf::replies_to<std::string>::with<std::string>>;
///
///   auto handlers() {
///     return std::make_tuple(
///       [this](const std::string& who) { return greeting_ + ", " + who; });
///   }
///
///   troupe::hook_result on_configure(const troupe::settings& s) override {
///     greeting_ = s.get_or("greeting", "hello");
///     return troupe::hook_result::success();
///   }
///
/// private:
///   std::string greeting_;
/// };
/// ```
class service {
public:
  /// The typed interface of the hosting actor. A service type with domain
  /// messages redefines it as `troupe::service_actor::extend<...>`.
  using interface = service_actor;

  virtual ~service();

  // -- hooks ------------------------------------------------------------------

  /// Receives the service's settings. Called on `configure` and, unless
  /// `on_reconfigure` is overridden, on `reconfigure`.
  virtual hook_result on_configure(const settings& cfg);

  /// Acquires resources, registers tasks and bus subscriptions. The service
  /// is `running` once this succeeds.
  virtual hook_result on_start();

  /// Releases resources. Called after tasks and subscriptions are cancelled
  /// and in-flight work finished (or the stop deadline passed). A refusal is
  /// logged and recorded as an error but cannot veto the stop.
  virtual hook_result on_stop();

  /// Applies new settings while running. The default calls `on_configure`.
  /// A refusal keeps the old settings and the service running.
  virtual hook_result on_reconfigure(const settings& cfg);

  /// Called when a hook fails, a handler or task throws, or a fatal error is
  /// recorded. `success()` recovers the service to `stopped` (restartable);
  /// anything else (the default) leaves it `failed`.
  virtual hook_result on_error(const error_info& err);

  /// Whether `start` must be preceded by a successful `configure`.
  virtual bool requires_configuration() const { return false; }

  /// The schema of this type's settings, or null to accept any. When set,
  /// `configure` and `reconfigure` check the settings against it first
  /// (answering `errc::invalid_settings` with every problem, hooks not
  /// called) and fill in defaults, so `on_configure` sees a complete,
  /// typed view: `cfg.get<config::duration>("period")` is always there.
  virtual const config::schema* settings_schema() const { return nullptr; }

  /// Domain message handlers, dispatched only while `running`. A service
  /// with its own interface hides this with a function returning a tuple of
  /// handlers that matches the interface's extra signatures.
  std::tuple<> handlers() { return {}; }

protected:
  // -- identity and state -----------------------------------------------------

  /// Returns the service's name (unique within its app).
  const std::string& name() const;

  /// Returns the current lifecycle state.
  service_state state() const;

  /// Returns the settings of the last successful configure / reconfigure.
  const settings& config() const;

  /// Returns this service's logger (named after the service).
  spdlog::logger& log() const;

  /// Returns a shared handle to the same logger, for a thread of the
  /// service's own that may still log while the actor is being destroyed.
  std::shared_ptr<spdlog::logger> shared_log() const;

  /// Returns the current time of the actor clock: real time in production,
  /// virtual time under the test coordinator. Use it (not steady_clock) for
  /// anything tests should control.
  std::chrono::steady_clock::time_point now() const;

  // -- errors and health ------------------------------------------------------

  /// Records an error. Fatal: the service moves to `failed` (after
  /// `on_error`) and its state listeners are notified. Non-fatal: counted,
  /// logged, and the health check "errors" turns `degraded`.
  void record_error(std::string what, bool fatal = false);

  /// Clears the error count, the last error and the "errors" health check.
  void reset_errors();

  /// Sets the named health check `check` to `status` with `message`.
  void set_health(std::string check, health_status status,
                  std::string message = {});

  /// Removes the named health check `check`.
  void clear_health(const std::string& check);

  // -- tasks ------------------------------------------------------------------

  /// Runs `fn` every `interval` while running. Cancelled on stop.
  task_id every(std::chrono::nanoseconds interval, std::function<void()> fn);

  /// Runs `fn` once after `delay` if still running. Cancelled on stop.
  task_id after(std::chrono::nanoseconds delay, std::function<void()> fn);

  /// Like `every`, for the work the service tracks (`track()`): it also
  /// runs while a stop waits for tracked work, as `subscribe_replies`
  /// handlers do — e.g. to hand out again jobs whose results are late, so
  /// that a stop can still end the work. Ends with the stop.
  task_id every_tracked(std::chrono::nanoseconds interval,
                        std::function<void()> fn);

  /// Cancels a task; no-op for unknown or finished tasks.
  void cancel(task_id id);

  /// Marks one unit of work in flight; `stop` waits for it (see work_token).
  work_token track();

  // -- local topic bus --------------------------------------------------------

  /// Publishes `value` on the local bus under `topic`.
  template <class T>
  void publish(std::string topic, T&& value) {
    caf::message msg = caf::make_message(std::forward<T>(value));
    publish_message(std::move(topic), std::move(msg));
  }

  /// Publishes an already built message under `topic`.
  void publish_message(std::string topic, caf::message msg);

  /// Publishing is credited: what one handler, task or hook publishes goes
  /// to the bus as one batch when it returns, and once `n` published
  /// messages wait for their subscribers (the `publish_window` service
  /// option, 10000 by default) the host holds this service back — its bus
  /// deliveries and task ticks wait, and their own publishers with them —
  /// until half of them were taken. So a producer goes at the pace of its
  /// slowest consumer without writing any flow control. Direct messages to
  /// the service's own interface are not held back. 0: never held back
  /// (for a service that keeps its own credit, like the bridge).
  void set_publish_window(uint64_t n);

  /// Publishes every item of `batch` in order, with one message to the bus
  /// (cheaper than one `publish` per item when there are many).
  void publish_batch(bus_batch batch);

  /// Publishes every item of `batch` like `publish_batch(batch)`, then calls
  /// `on_taken` (inside this service, while it runs the same run) once every
  /// subscriber that takes batches has handled them (and released any
  /// `delivery_hold` it took) — or once the bus or such a subscriber is
  /// gone. A producer of a long burst keeps a few batches in flight and
  /// publishes the next one from `on_taken`: it then goes at the pace of
  /// its slowest subscriber (e.g. the bridge, held back by ZeroMQ) instead
  /// of filling mailboxes and queues.
  void publish_batch(bus_batch batch, std::function<void()> on_taken);

  /// Calls `fn(topic, value)` for every message of type `T` published under
  /// a topic starting with `prefix`, while running. Messages of other types
  /// under that prefix are counted as dropped. Subscriptions end on stop:
  /// make them in `on_start`.
  ///
  /// When `T` has a batch type (`batch_of<T>`, e.g. `bridge::envelope_batch`
  /// for `bridge::envelope`), such a batch is taken too and `fn` is called
  /// once per item, in order; each item counts as one message in. Should the
  /// service stop or fail half-way, the rest of the batch counts as dropped.
  template <class T, class F>
  void subscribe(std::string prefix, F fn) {
    static_assert(std::is_invocable_v<F, const std::string&, const T&>,
                  "subscribe<T>: handler must take (const std::string&, "
                  "const T&)");
    subscription_handler handler =
      [svc = this, fn = std::move(fn)](const std::string& topic,
                                       const caf::message& msg) mutable {
        (void)svc; // used only when T has a batch type
        if (msg.size() != 1)
          return false;
        if (msg.match_element<T>(0)) {
          fn(topic, msg.get_as<T>(0));
          return true;
        }
        if constexpr (has_batch_of_v<T>) {
          using batch = typename batch_of<T>::type;
          if (msg.match_element<batch>(0)) {
            svc->template unroll<T>(topic, msg.get_as<batch>(0), fn);
            return true;
          }
        }
        return false;
      };
    add_subscription(std::move(prefix), std::move(handler));
  }

  /// A handler for messages of any type: returns false for a message it
  /// does not take (counted as dropped).
  using subscription_handler =
    std::function<bool(const std::string&, const caf::message&)>;

  /// How `subscribe_message` hands over a batch message whose item type
  /// enabled it (`enable_untyped_unroll<T>`; the bridge library does so for
  /// `bridge::envelope_batch`): `per_item`, one message per item, as if
  /// each had been published alone; `whole`, the batch as it is.
  enum class batches { per_item, whole };

  /// Calls `fn(topic, msg)` for every message published under a topic
  /// starting with `prefix`, whatever its type (the bridge forwards such
  /// messages as they are). Ends on stop, like `subscribe`. Batches are
  /// unrolled as `how` says; an item `fn` returns false for counts as
  /// dropped.
  void subscribe_message(std::string prefix, subscription_handler fn,
                         batches how = batches::per_item);

  /// Like `subscribe_message` (batches per item), for the replies to work
  /// the service tracks (`track()`): results of jobs it handed out over the
  /// bus, answers to requests it published. A stop that waits for tracked
  /// work keeps these subscriptions, and handles their messages while
  /// `stopping`, so that the replies can still end the work; every other
  /// subscription and every task ends at once. They end with the stop.
  void subscribe_replies(std::string prefix, subscription_handler fn);

public:
  /// Unrolls a message for an untyped handler when it is a batch of a type
  /// that enabled it (see enable_untyped_unroll); false when it is not.
  using untyped_unroll = bool (*)(service&, const std::string&,
                                  const caf::message&, subscription_handler&);

  /// Lets `subscribe_message` unroll `batch_of<T>::type` messages into one
  /// `T` message per item (process-wide; idempotent). Each item's message
  /// is reused for the next one unless the handler kept a copy.
  template <class T>
  static bool enable_untyped_unroll() {
    static_assert(has_batch_of_v<T>, "enable_untyped_unroll<T>: T needs a "
                                     "batch_of<T> specialization");
    add_untyped_unroll(&unroll_untyped<T>);
    return true;
  }

protected:
  /// Holds back the acknowledgement of the bus batch being delivered now
  /// (when its publisher asked for one, see `publish_batch(batch,
  /// on_taken)`) until the returned hold and its copies are gone. Called
  /// outside a delivery, or for a batch nobody waits for, it returns an
  /// empty hold. Repeated calls within one delivery return the same hold.
  delivery_hold hold_delivery();

  /// Counts `n` messages this service lost for `reason` (a label value such
  /// as "endpoint_queue_full") in `troupe_service_messages_lost_total`,
  /// which `troupe run` adds up after the drain. Counted when the loss
  /// happens; kept across restarts.
  void count_lost(const std::string& reason, uint64_t n = 1);

  /// Counts `n` messages as sent by this service (for messages sent directly
  /// with `self()` rather than through `publish`).
  void count_out(uint64_t n = 1);

  /// Returns the hosting actor, for requests to other actors.
  caf::scheduled_actor* self() const;

  // -- metrics and metadata ---------------------------------------------------

  /// Returns this service's metrics (see metrics.hpp). Register in a hook:
  /// a broken rule throws `metric_error`, which fails that hook.
  metric_registry& metrics() const;

  /// Sets `key` to `value` in the metadata shown in the status.
  void set_metadata(std::string key, std::string value);

  // -- periodic health checks -------------------------------------------------

  /// A synchronous health check.
  using health_probe = std::function<health_result()>;

  /// Receives the outcome of an asynchronous health check.
  using health_done = std::function<void(health_result)>;

  /// An asynchronous health check: starts the check and calls `done` later,
  /// from inside the actor (e.g. in a response handler).
  using async_health_probe = std::function<void(health_done done)>;

  /// Runs `fn` now and then every `health_check_interval` (service option,
  /// `health_check_interval` in the app file) and sets the health check
  /// `name` to its result. A check that throws is `unhealthy` with the
  /// exception text. Cancelled on stop, like every task.
  task_id add_health_check(std::string name, health_probe fn);

  /// Like the above, every `interval`.
  task_id add_health_check(std::string name, std::chrono::nanoseconds interval,
                           health_probe fn);

  /// Runs `fn` now and every `interval` (zero: the default interval); a check
  /// that has not called `done` within `timeout` is `unhealthy` ("timed
  /// out"), and its late answer is ignored.
  task_id add_health_check_async(std::string name,
                                 std::chrono::nanoseconds interval,
                                 std::chrono::nanoseconds timeout,
                                 async_health_probe fn);

  // -- retry ------------------------------------------------------------------

  /// Runs `op` until it succeeds, waiting between attempts as `policy` says
  /// (on the actor clock). `on_result` gets the final outcome; without one,
  /// a final error is recorded: fatal (`record_error(..., true)`) when it is
  /// not retryable, non-fatal when attempts or the deadline ran out. Ends
  /// silently when the service stops.
  void retry(retry_policy policy, retry_operation op,
             retry_handler on_result = {});

  /// Requests `xs...` from `dest`, each attempt with `timeout`, retrying as
  /// `policy` says; `on_result` gets the reply of type `R` or the final
  /// error (`errc::type_mismatch` for a reply of another type).
  template <class R, class Handle, class... Ts>
  void retry_request(const retry_policy& policy, const Handle& dest,
                     std::chrono::nanoseconds timeout,
                     std::function<void(caf::expected<R>)> on_result,
                     Ts&&... xs) {
    retry_request_message(
      policy, caf::actor_cast<caf::actor>(dest), timeout,
      caf::make_message(std::forward<Ts>(xs)...),
      [f = std::move(on_result)](caf::expected<caf::message> r) {
        if (!r)
          f(r.error());
        else if (r->size() == 1 && r->match_element<R>(0))
          f(r->get_as<R>(0));
        else
          f(make_error(errc::type_mismatch, "unexpected reply type"));
      });
  }

  /// The untyped form of `retry_request`.
  void retry_request_message(
    retry_policy policy, const caf::actor& dest,
    std::chrono::nanoseconds timeout, const caf::message& msg,
    std::function<void(caf::expected<caf::message>)> on_result);

  // -- circuit breakers -------------------------------------------------------

  /// Returns the circuit breaker `name`, creating it with `policy` on first
  /// use (later calls return it as it is). Its state is the health check
  /// "breaker:NAME" (`degraded` unless closed) and the gauge
  /// `circuit_breaker_state{breaker="NAME"}` (0 closed, 1 half-open, 2
  /// open); rejected calls count in `circuit_breaker_rejected_total`.
  circuit_breaker& breaker(const std::string& name,
                           circuit_breaker_policy policy = {});

private:
  friend class detail::host_core;

  void add_subscription(std::string prefix, subscription_handler fn,
                        bool replies = false);

  // Wraps `fn` to take batches of enabled types one item at a time.
  subscription_handler unrolled(subscription_handler fn);

  static void add_untyped_unroll(untyped_unroll fn);

  // Written at load time (static initializers of the libraries that enable
  // an unrolling), read by subscriptions: fixed slots, so that readers never
  // see them move; the first empty slot ends the list.
  static std::atomic<untyped_unroll>* untyped_unrolls();
  static constexpr size_t max_untyped_unrolls = 8;

  template <class T>
  static bool unroll_untyped(service& svc, const std::string& topic,
                             const caf::message& msg,
                             subscription_handler& fn) {
    using batch = typename batch_of<T>::type;
    if (!msg.match_element<batch>(0))
      return false;
    caf::message item;
    uint64_t rejected = 0;
    auto each = [&](const std::string& t, const T& x) {
      if (item.empty())
        item = caf::make_message(x);
      else
        item.get_mutable_as<T>(0) = x; // copies only if the handler kept it
      if (!fn(t, item))
        ++rejected;
    };
    svc.unroll<T>(topic, msg.get_as<batch>(0), each);
    if (rejected > 0)
      svc.count_rejected(rejected);
    return true;
  }

  // Items of an unrolled batch that an untyped handler did not take.
  void count_rejected(uint64_t n);

  // Calls `fn` for each item of `b` (see `subscribe`), while this run lasts.
  template <class T, class Batch, class F>
  void unroll(const std::string& topic, const Batch& b, F& fn) {
    uint64_t total = batch_of<T>::size(b);
    uint64_t taken = 0;
    auto run = run_id();
    try {
      batch_of<T>::for_each(b, [&](const T& x) {
        if (taken > 0 && run_id() != run)
          return false; // stopped, or failed, by an earlier item
        ++taken;
        fn(topic, x);
        return true;
      });
    } catch (...) {
      count_unrolled(taken, total, false);
      throw;
    }
    count_unrolled(taken, total, true);
  }

  // The current run (changes when the service leaves `running`).
  uint64_t run_id() const;

  // Accounts for a batch of `total` of which `taken` were handed to the
  // handler (the last of them threw unless `completed`); the host counts
  // the batch itself as one message in, or none when it threw.
  void count_unrolled(uint64_t taken, uint64_t total, bool completed);

  void retry_attempt(const std::shared_ptr<detail::retry_run>& run);

  std::map<std::string, std::unique_ptr<circuit_breaker>> breakers_;

  detail::host_core& host() const;

  detail::host_core* host_ = nullptr;
};

} // namespace troupe
