#pragma once

// An Erlang/OTP-style supervisor: starts services in order, watches them,
// restarts them by policy and strategy, and escalates to its own parent when
// they fail too often. It answers the service lifecycle itself, so a
// supervisor can be the child of another supervisor.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "troupe/actors/service_actor.hpp"
#include "troupe/actors/service_options.hpp"

namespace troupe {

// -- restart policy and strategy ----------------------------------------------

/// When a child is restarted after it ends.
enum class restart_policy : uint8_t {
  /// Always: after a failure and after a stop it did not ask for.
  permanent,
  /// Only after a failure (`failed`, or its actor died abnormally).
  transient,
  /// Never.
  temporary,
};

/// Returns the stable name of `x` ("permanent", ...).
std::string to_string(restart_policy x);

/// Parses "permanent", "transient" or "temporary"; nothing otherwise.
std::optional<restart_policy> parse_restart_policy(std::string_view) noexcept;

/// Which children are restarted when one of them must be.
enum class restart_strategy : uint8_t {
  /// Only the child that ended.
  one_for_one,
  /// All children: the others are stopped (reverse order), then all start.
  one_for_all,
  /// The child that ended and every child after it in start order.
  rest_for_one,
};

/// Returns the stable name of `x` ("one_for_one", ...).
std::string to_string(restart_strategy x);

/// Parses "one_for_one", "one_for_all" or "rest_for_one"; nothing otherwise.
std::optional<restart_strategy>
  parse_restart_strategy(std::string_view) noexcept;

// -- child specification ------------------------------------------------------

/// Everything a supervisor needs to start and restart one child.
struct child_spec {
  /// Unique among the supervisor's children.
  std::string name;
  /// The registered type name, for status and logs.
  std::string type;
  /// Spawns a fresh instance.
  service_factory factory;
  /// The settings of every start: sent with it, `(start_atom, config)`
  /// (configure, then start, in one request).
  settings config;
  /// When to restart the child.
  restart_policy restart = restart_policy::permanent;
  /// How long the child may take to stop before it is killed.
  caf::timespan stop_deadline = std::chrono::seconds{5};
  /// Passed to the factory; an empty name or type is taken from the spec,
  /// and `restarts` is set by the supervisor.
  service_options options;
  /// The siblings this child needs running before it starts (and stopped
  /// only after it). Used when `supervisor_options::by_level` is on; names
  /// that are not siblings are ignored.
  std::vector<std::string> depends_on;
};

// -- supervisor options -------------------------------------------------------

/// How a supervisor restarts its children.
struct supervisor_options {
  /// Names the supervisor in status, logs and its parent's child list.
  std::string name = "supervisor";
  restart_strategy strategy = restart_strategy::one_for_one;
  /// Restart intensity: more than `max_restarts` restarts within `period`
  /// make the supervisor stop all children and enter `failed` (escalation).
  uint32_t max_restarts = 3;
  caf::timespan period = std::chrono::seconds{5};
  /// The first restart of a child waits `backoff_min`; each further restart
  /// within `period` of the previous one doubles the wait, up to
  /// `backoff_max`.
  caf::timespan backoff_min = std::chrono::milliseconds{100};
  caf::timespan backoff_max = std::chrono::seconds{10};
  /// Each wait is shortened by a random fraction in `[0, jitter)`, never
  /// below `backoff_min`, so restarts of many children spread out. Keep it
  /// below 0.5 for waits that always grow.
  double jitter = 0.2;
  /// Seeds the jitter; 0 picks a random seed.
  uint64_t seed = 0;
  /// How long a child may take to answer its start (configure and start in
  /// one request, `(start_atom, settings)`). A health
  /// round over the children lasts at most 9/10 of it, or of what the asker
  /// waits (`(health_atom, within)`) when that is shorter; each child is
  /// asked with the time left, so nested supervisors answer in time.
  caf::timespan start_timeout = std::chrono::seconds{30};
  /// Off: each child depends on the one before it, so children start one
  /// at a time in order and stop one at a time in reverse. On: a child
  /// depends only on the siblings in its `child_spec::depends_on`; its
  /// dependency level is 0 without any, else one more than its deepest
  /// dependency's. Every child of a level starts at once, the next level
  /// when all of the previous one run; stops go level by level in reverse.
  bool by_level = false;
};

/// The wait before restart number `attempt` (0 for the first) of a child,
/// given `u` drawn uniformly from `[0, 1)`: `backoff_min * 2^attempt` capped
/// at `backoff_max`, shortened by `jitter * u` of itself, never below
/// `backoff_min`.
caf::timespan backoff_delay(const supervisor_options& opts, uint64_t attempt,
                            double u);

// -- management ---------------------------------------------------------------

/// One child as the supervisor sees it.
struct child_info {
  std::string name;
  std::string type;
  /// The current instance; null while the child has no actor (stopped,
  /// waiting for a restart, or not started yet).
  service_actor handle;
  /// The last state the child reported (or `stopped` once its actor is
  /// gone).
  service_state state = service_state::initialized;
  restart_policy restart = restart_policy::permanent;
  /// Starts of this child after its first one (automatic and manual).
  uint64_t restarts = 0;
  /// Whether a restart is scheduled.
  bool restart_pending = false;
  /// The wait before the latest scheduled restart (zero before any).
  caf::timespan last_backoff{0};
  /// Why the child last failed, empty when it never did.
  std::string last_error;
  /// Its dependency level: children of one level start and stop together,
  /// level 0 first on start and last on stop (see `supervisor_options`).
  uint32_t level = 0;
};

/// What moves in the children that run, summed: for "has it gone quiet?".
struct child_activity {
  /// Children in state `running` that answered.
  uint64_t running = 0;
  /// Their messages in + out + dropped.
  uint64_t moved = 0;
  /// Their `in_flight + publish_unacked + held_messages`.
  uint64_t in_flight = 0;
  /// Children that answered an error instead (gone meanwhile).
  uint64_t unanswered = 0;
};

/// `(children_atom)` answers the child list in start order.
using children_atom = caf::atom_constant<caf::atom("children")>;
/// `(start_child_atom, name)` starts a stopped child.
using start_child_atom = caf::atom_constant<caf::atom("start_chld")>;
/// `(stop_child_atom, name)` stops a child; it is not restarted.
using stop_child_atom = caf::atom_constant<caf::atom("stop_chld")>;
/// `(restart_child_atom, name)` stops a child (if running) and starts a fresh
/// instance.
using restart_child_atom = caf::atom_constant<caf::atom("rstrt_chld")>;
/// `(add_child_atom, child_spec)` adds a child and starts it when the
/// supervisor runs.
using add_child_atom = caf::atom_constant<caf::atom("add_child")>;
/// `(remove_child_atom, name)` stops a child and forgets it.
using remove_child_atom = caf::atom_constant<caf::atom("rm_child")>;
/// `(reconfigure_child_atom, name, settings)` reconfigures a running child
/// and keeps the settings for its restarts (a stopped child takes them at
/// its next start).
using reconfigure_child_atom = caf::atom_constant<caf::atom("reconf_chd")>;
/// `(stop_children_atom, names)` stops the named children level by level
/// (the highest first, each level at once); none is restarted. Answers the
/// status each one had when its stop came (children without an instance
/// are left out).
using stop_children_atom = caf::atom_constant<caf::atom("stop_chlds")>;
/// `(activity_atom)` asks every running child for its status and answers
/// the sum (`child_activity`).
using activity_atom = caf::atom_constant<caf::atom("activity")>;
/// `(child_statuses_atom)` asks every child with an instance for its status
/// at once and answers those that answered, in start order.
using child_statuses_atom = caf::atom_constant<caf::atom("chld_stats")>;
} // namespace troupe

// Supervisor payloads travel between actors of one process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::child_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::child_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<troupe::child_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::child_activity)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<troupe::service_status>)

namespace troupe {

/// The supervisor's interface: the service lifecycle (so it can be a child)
/// plus management requests. The child requests answer the child's state
/// after the operation; unknown names answer `errc::unknown_child`.
///
/// | request                          | answer                    |
/// |----------------------------------|---------------------------|
/// | `(children_atom)`                | `std::vector<child_info>` |
/// | `(start_child_atom, name)`       | child's `service_state`   |
/// | `(stop_child_atom, name)`        | child's `service_state`   |
/// | `(restart_child_atom, name)`     | child's `service_state`   |
/// | `(add_child_atom, child_spec)`   | child's `service_state`   |
/// | `(remove_child_atom, name)`      | `stopped`                 |
/// | `(stop_children_atom, names)`    | `std::vector<service_status>` |
/// | `(activity_atom)`                | `child_activity`          |
/// | `(child_statuses_atom)`          | `std::vector<service_status>` |
///
/// A `stop` while the supervisor is still `starting` aborts the start: the
/// pending `start` answers an error, the level being started finishes
/// (children still starting are stopped as soon as they answer, or killed
/// when they do not), and every child started is stopped.
using supervisor_actor = service_actor::extend<
  caf::replies_to<children_atom>::with<std::vector<child_info>>,
  caf::replies_to<start_child_atom, std::string>::with<service_state>,
  caf::replies_to<stop_child_atom, std::string>::with<service_state>,
  caf::replies_to<restart_child_atom, std::string>::with<service_state>,
  caf::replies_to<add_child_atom, child_spec>::with<service_state>,
  caf::replies_to<remove_child_atom, std::string>::with<service_state>,
  caf::replies_to<reconfigure_child_atom, std::string,
                  settings>::with<service_state>,
  caf::replies_to<stop_children_atom,
                  std::vector<std::string>>::with<std::vector<service_status>>,
  caf::replies_to<activity_atom>::with<child_activity>,
  caf::replies_to<child_statuses_atom>::with<std::vector<service_status>>>;

/// Spawns a supervisor in state `initialized` over `children` (in start
/// order: a child starts only after the ones before it run, or with
/// `opts.by_level` after its `depends_on`). Nothing starts until it
/// receives `start`.
///
/// ```
/// auto sup = troupe::spawn_supervisor(sys, opts, {db_spec, api_spec});
/// self->request(sup, caf::infinite, troupe::start_atom::value) ...
/// ```
supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  supervisor_options opts,
                                  std::vector<child_spec> children);

/// A factory that spawns a supervisor, for nesting one supervisor under
/// another. The name given by the parent (`service_options::name`) wins over
/// `opts.name`.
service_factory supervisor_factory(supervisor_options opts,
                                   std::vector<child_spec> children);

} // namespace troupe
