#pragma once

// The logic of a supervisor actor (supervisor.cpp builds the behavior and
// forwards every message here). Included only by the supervisor's sources.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/make_message.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <spdlog/logger.h>

#include "troupe/actors/detail/lifecycle_core.hpp"
#include "troupe/actors/supervisor.hpp"

namespace troupe::detail {

class supervisor_core;

/// The state of a supervisor actor.
struct supervisor_state {
  std::unique_ptr<supervisor_core> core;
  static inline const char* name = "troupe.supervisor";
};

/// The supervisor's own restart timer; never sent by others.
using restart_timer_atom = caf::atom_constant<caf::atom("sup_timer")>;

/// The supervisor's timer for its children's answer deadlines.
using answer_timer_atom = caf::atom_constant<caf::atom("sup_answer")>;

/// What a supervisor takes besides its interface: its children's state
/// changes (it listens to each, `subscribe_state_atom`) and its own restart
/// timer. Not in `supervisor_actor`, so a handle cannot forge a timer tick
/// (as `host_plumbing` for a service).
using supervisor_plumbing =
  caf::typed_actor<caf::reacts_to<state_changed_atom, state_change>,
                   caf::reacts_to<restart_timer_atom, uint64_t>,
                   caf::reacts_to<answer_timer_atom>>;

/// The supervisor actor: its interface plus its plumbing. Its handle
/// narrows to `supervisor_actor`.
using supervisor_impl = supervisor_actor::extend_with<supervisor_plumbing>;

/// The supervisor actor as its core sees it.
using supervisor_pointer = supervisor_impl::stateful_pointer<supervisor_state>;

/// Supervisor logic: the supervisor's own lifecycle, its children's records,
/// failure detection, restart groups, backoff and intensity. Every operation
/// that talks to children runs as a job; jobs run one at a time, in order,
/// so a restart never interleaves with a stop or a manual operation.
class supervisor_core {
public:
  supervisor_core(supervisor_pointer self, supervisor_options opts,
                  service_options own, std::vector<child_spec> specs);

  /// Kills every child still alive: children never outlive their supervisor.
  ~supervisor_core();

  supervisor_core(const supervisor_core&) = delete;
  supervisor_core& operator=(const supervisor_core&) = delete;

  // -- the supervisor's own lifecycle ----------------------------------------

  caf::result<service_state> configure(const settings& cfg);
  caf::result<service_state> start();
  /// Stops every child, the highest level first, within `deadline`: each
  /// child gets the smaller of its own stop deadline and what is left.
  caf::result<service_state> stop(const std::string& reason,
                                  caf::timespan deadline);
  caf::result<service_state> reconfigure(const settings& cfg);
  service_status status() const;
  /// One check per child, asked with one deadline: 9/10 of `start_timeout`,
  /// or of `within` (what the asker waits) when that is shorter.
  caf::result<health_report> health(caf::timespan within);
  void add_listener(const caf::actor& listener);

  // -- management ------------------------------------------------------------

  std::vector<child_info> children() const;
  caf::result<service_state> start_child(const std::string& name);
  caf::result<service_state> stop_child(const std::string& name);
  caf::result<service_state> restart_child(const std::string& name);
  caf::result<service_state> add_child(child_spec spec);
  caf::result<service_state> remove_child(const std::string& name);
  caf::result<service_state> reconfigure_child(const std::string& name,
                                               settings cfg);
  caf::result<std::vector<service_status>>
  stop_children(const std::vector<std::string>& names);
  caf::result<child_activity> activity();
  caf::result<std::vector<service_status>> child_statuses();

  // -- events ----------------------------------------------------------------

  /// A child reported a state change (the sender tells which instance).
  void on_state_change(const state_change& change);
  /// A monitored child actor terminated.
  void on_down(const caf::down_msg& msg);
  /// The backoff of restart group `group` elapsed.
  void on_timer(uint64_t group);
  /// The earliest answer deadline (await_answer) may have passed.
  void on_answer_timer();

private:
  /// What the supervisor knows about the current instance of a child.
  enum class phase : uint8_t {
    none,     // no actor
    starting, // its start, (start_atom, settings), in flight
    up,       // running and watched for failure
    stopping, // the supervisor asked it to stop
    ended,    // its actor lives but it stopped or failed on its own
  };

  struct child {
    child_spec spec;
    service_actor handle;
    service_state state = service_state::initialized;
    phase ph = phase::none;
    bool started_once = false;
    uint64_t restarts = 0;
    // Restarts in a row, for backoff; reset after `period` without failure.
    uint64_t consecutive = 0;
    std::optional<caf::actor_clock::time_point> last_failure;
    // Nonzero while a restart is scheduled: the group it restarts with.
    uint64_t group = 0;
    caf::timespan last_backoff{0};
    std::string last_error;
    // Dependency level (see supervisor_options::by_level).
    uint32_t level = 0;
  };

  using child_ptr = std::shared_ptr<child>;
  using done_fn = std::function<void()>;
  using error_fn = std::function<void(const caf::error&)>;
  using started_fn = std::function<void(child_ptr, caf::error)>;
  // Collects the final statuses of children stopped by request.
  using status_sink = std::shared_ptr<std::vector<service_status>>;

  // The start of all children in progress, level by level. `over` once it
  // answered (finished, failed or aborted by a stop): late answers of
  // children it started are then ignored.
  struct start_run {
    std::vector<std::vector<child_ptr>> levels;
    // The level being started: children not yet answered, the next one to
    // launch, those launched and not answered.
    size_t level = 0;
    size_t pending = 0;
    size_t next = 0;
    size_t in_flight = 0;
    bool launching = false;
    child_ptr failed;
    caf::error err;
    bool over = false;
    started_fn k;
  };

  struct job {
    std::string what;
    std::function<void(done_fn)> run;
    // Answers a waiting request when the job is dropped unrun.
    error_fn abandon;
  };

  // jobs
  void enqueue(std::string what, std::function<void(done_fn)> run,
               error_fn abandon = nullptr);
  void pump();
  void abandon_jobs(const std::string& why);

  // Answer deadlines, for a child's start, stop and health requests. Not CAF
  // request timeouts: CAF 0.17 keeps each in its clock until it fires, answered
  // or not, so a start of N children held 2 N of them (~0.4 KB a service) for
  // start_timeout and woke the clock thread for each. Here a waiting request
  // costs one map entry until it is answered, and one timer serves all.
  // `await_answer` keeps `next` until `answer(key, err)` runs it, or the
  // deadline does, with `caf::sec::request_timeout`; whichever comes
  // second finds nothing.
  using answer_key = std::pair<caf::actor_clock::time_point, uint64_t>;
  answer_key await_answer(caf::timespan timeout, error_fn next);
  void answer(const answer_key& key, const caf::error& err);
  void arm_answer_timer(caf::timespan delay);

  // primitive child operations (children.cpp)
  void start_one(const child_ptr& c, const error_fn& k);
  // Starts `c` by request (counted as a restart when it ran before) and
  // answers `promise` with its state or the error; then `done`.
  void start_by_request(const child_ptr& c,
                        caf::typed_response_promise<service_state> promise,
                        const done_fn& done);
  void stop_one(const child_ptr& c, const std::string& reason, const done_fn& k,
                const status_sink& sink = nullptr);
  // Stops `list` by level, the highest first, each level at once.
  void stop_all(const std::vector<child_ptr>& list, const std::string& reason,
                const done_fn& k, const status_sink& sink = nullptr);
  void stop_levels(
    const std::shared_ptr<std::vector<std::vector<child_ptr>>>& groups,
    size_t i, const std::string& reason, const done_fn& k,
    const status_sink& sink);
  // Calls `ask(i, xs[i], h, settle)` for each child, at most `window` (256)
  // at a time, each `settle` once its request was answered either way, and
  // `done` once all settled (at once for none); `h` is the child's instance
  // as the round began, as if every request went at once. Every request
  // fan-out of a supervisor goes through here: CAF 0.17 keeps an actor's
  // pending requests in a flat map (and their timeouts in its clock) that
  // it searches linearly, so 100,000 requests in flight cost N^2 (a status
  // round of 100,000 services took minutes).
  using ask_fn = std::function<void(size_t, const child_ptr&,
                                    const service_actor&, const done_fn&)>;
  void fan_out(std::vector<child_ptr> xs, ask_fn ask, done_fn done);
  struct fan_run;
  void launch(const std::shared_ptr<fan_run>& run);
  // Starts every child level by level; `k(nullptr, {})` once all run, else
  // `k(first child that failed, its error)` after its whole level answered.
  void start_all(started_fn k);
  void start_level(const std::shared_ptr<start_run>& run, size_t i);
  // Launches children of the current level up to the window.
  void launch_starts(const std::shared_ptr<start_run>& run);
  // Answers the start in progress with `err` and ends its job now.
  void abort_start(const caf::error& err);
  // Recomputes every child's level (after children came or went).
  void assign_levels();
  void restart_group(uint64_t group, size_t i, const done_fn& k);
  void dispose(const child_ptr& c);
  child_ptr find(const std::string& name) const;
  child_ptr find_sender() const;
  caf::error no_child(const std::string& name) const;
  caf::error not_running() const;
  // depends_on among siblings, kept at run time as the app's control plane
  // keeps it (a dependency elsewhere, e.g. under another supervisor, is
  // the app's to check): an error naming the first sibling `c` depends on
  // that is not running, or nothing.
  caf::error dependency_down(const child_ptr& c, std::string_view verb) const;
  // An error naming the running siblings that depend on `c`, or nothing.
  caf::error dependents_up(const child_ptr& c, std::string_view verb) const;

  // failure handling
  void child_ended(const child_ptr& c, bool abnormal, const std::string& why);
  void schedule_restart(const child_ptr& c, const std::string& why);
  void escalate(const std::string& why);
  void cancel_restarts();
  // A failed child will not be started again: the bus drops (counts as
  // lost at their publishers) the messages it keeps for its next instance,
  // instead of keeping them for `[app] redelivery_keep_for`.
  void no_next_instance(const child_ptr& c);

  void enter(service_state next, const std::string& reason);

  supervisor_pointer self_;
  supervisor_options opts_;
  service_options own_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<child_ptr> children_;
  // The children with an instance, by its actor id: state changes and down
  // messages find their child in constant time.
  std::unordered_map<caf::actor_id, child_ptr> by_id_;

  // state, transitions, configuration, history, listeners, errors and
  // restarts: shared with the service host
  lifecycle_core life_;
  // While the supervisor's own stop runs: when it must be done.
  std::optional<caf::actor_clock::time_point> stop_until_;

  std::deque<job> jobs_;
  bool busy_ = false;

  // Requests waiting for an answer, by deadline (await_answer), and when
  // the answer timer fires next (none: not armed).
  std::map<answer_key, error_fn> awaiting_;
  uint64_t awaited_ = 0;
  std::optional<caf::actor_clock::time_point> answer_timer_at_;
  // The supervisor's own start while it runs, with what ends its job.
  std::shared_ptr<start_run> start_run_;
  done_fn start_done_;
  caf::typed_response_promise<service_state> start_promise_;
  uint64_t next_group_ = 0;
  std::deque<caf::actor_clock::time_point> recent_restarts_;
  std::mt19937_64 rng_;
};

} // namespace troupe::detail
