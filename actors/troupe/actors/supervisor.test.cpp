#define CAF_SUITE supervisor

#include "troupe/actors/supervisor.hpp"

#include <map>

#include <caf/after.hpp>
#include <memory>

#include "troupe/actors/detail/supervisor_core.hpp"
#include "troupe/actors/service_host.hpp"
#include "troupe/actors/testing.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// What every worker did, in order: "start:a", "stop:b", ...
using journal = std::vector<std::string>;

// Per-child switches a test flips before the next instance starts.
struct knobs {
  bool fail_start = false;
};

// A child service that fails on command ("fatal") and records its hooks.
class worker : public service {
public:
  using interface = service_actor::extend<caf::reacts_to<std::string>>;

  worker(std::shared_ptr<journal> j, std::shared_ptr<knobs> k)
    : journal_(std::move(j)), knobs_(std::move(k)) {}

  auto handlers() {
    return std::make_tuple([this](const std::string& cmd) {
      if (cmd == "fatal")
        record_error("boom", true);
      else if (cmd == "unhealthy")
        set_health("probe", health_status::unhealthy, "bad");
      else if (cmd == "hold")
        held_ = track(); // work that never finishes
    });
  }

  hook_result on_start() override {
    journal_->push_back("start:" + name());
    if (knobs_->fail_start)
      return hook_result::fail("cannot start");
    return hook_result::success();
  }

  hook_result on_stop() override {
    journal_->push_back("stop:" + name());
    return hook_result::success();
  }

private:
  std::shared_ptr<journal> journal_;
  std::shared_ptr<knobs> knobs_;
  work_token held_;
};

struct fixture : testing::service_fixture {
  std::shared_ptr<journal> events = std::make_shared<journal>();
  std::map<std::string, std::shared_ptr<knobs>> switches;

  child_spec spec(const std::string& name,
                  restart_policy policy = restart_policy::permanent) {
    auto& k = switches[name];
    if (!k)
      k = std::make_shared<knobs>();
    child_spec s;
    s.name = name;
    s.type = "worker";
    s.restart = policy;
    s.factory = [j = events, k](caf::actor_system& sys, service_options o) {
      return caf::actor_cast<service_actor>(
        spawn_service<worker>(sys, std::move(o), j, k));
    };
    return s;
  }

  // Exact, jitter-free timing unless a test asks for jitter.
  static supervisor_options
  options(restart_strategy strategy = restart_strategy::one_for_one) {
    supervisor_options o;
    o.name = "sup";
    o.strategy = strategy;
    o.max_restarts = 10;
    o.period = 10s;
    o.backoff_min = 10ms;
    o.backoff_max = 1s;
    o.jitter = 0;
    o.seed = 1;
    return o;
  }

  supervisor_actor started(supervisor_options o, std::vector<child_spec> cs) {
    auto sup = spawn_supervisor(sys, std::move(o), std::move(cs));
    auto r = start(sup);
    CAF_REQUIRE(r);
    CAF_REQUIRE_EQUAL(*r, service_state::running);
    events->clear();
    return sup;
  }

  template <class Handle>
  std::vector<child_info> kids(const Handle& sup) {
    auto r = call<std::vector<child_info>>(sup, children_atom::value);
    CAF_REQUIRE(r);
    return std::move(*r);
  }

  template <class Handle>
  child_info kid(const Handle& sup, const std::string& name) {
    for (auto& k : kids(sup))
      if (k.name == name)
        return k;
    CAF_FAIL("no child " << name);
    return {};
  }

  template <class Handle>
  void tell(const Handle& sup, const std::string& child, std::string cmd) {
    auto h = kid(sup, child).handle;
    CAF_REQUIRE(h);
    self->send(caf::actor_cast<caf::actor>(h), std::move(cmd));
    consume_messages();
  }

  template <class Handle>
  void fail(const Handle& sup, const std::string& child) {
    tell(sup, child, "fatal");
  }

  void elapse(caf::timespan d) {
    advance_time(d);
    consume_messages();
  }

  template <class Atom>
  caf::expected<service_state> manage(const supervisor_actor& sup, Atom op,
                                      std::string name) {
    return call<service_state>(sup, op, std::move(name));
  }
};

} // namespace

// The public handle takes management requests only: the children's state
// changes and the restart timer are the supervisor's own
// (detail::supervisor_plumbing), so a handle cannot forge a timer tick.
static_assert(caf::detail::tl_index_of<
                supervisor_actor::signatures,
                caf::reacts_to<detail::restart_timer_atom, uint64_t>>::value ==
                -1,
              "a supervisor_actor handle must not take restart timer ticks");
static_assert(caf::detail::tl_index_of<
                supervisor_actor::signatures,
                caf::reacts_to<state_changed_atom, state_change>>::value == -1,
              "a supervisor_actor handle must not take state changes");
static_assert(caf::detail::tl_index_of<
                detail::supervisor_impl::signatures,
                caf::reacts_to<detail::restart_timer_atom, uint64_t>>::value !=
                -1,
              "the supervisor takes its timer ticks through its plumbing");

CAF_TEST_FIXTURE_SCOPE(supervisor_tests, fixture)

CAF_TEST(names of policies and strategies round trip) {
  for (auto p : {restart_policy::permanent, restart_policy::transient,
                 restart_policy::temporary})
    CAF_CHECK(parse_restart_policy(to_string(p)) == p);
  CAF_CHECK(!parse_restart_policy("sometimes"));
  for (auto s : {restart_strategy::one_for_one, restart_strategy::one_for_all,
                 restart_strategy::rest_for_one})
    CAF_CHECK(parse_restart_strategy(to_string(s)) == s);
  CAF_CHECK(!parse_restart_strategy("all_for_one"));
}

CAF_TEST(backoff doubles from min up to max and jitter only shortens) {
  supervisor_options o;
  o.backoff_min = 100ms;
  o.backoff_max = 1s;
  o.jitter = 0.5;
  CAF_CHECK_EQUAL(backoff_delay(o, 0, 0.0), caf::timespan{100ms});
  CAF_CHECK_EQUAL(backoff_delay(o, 1, 0.0), caf::timespan{200ms});
  CAF_CHECK_EQUAL(backoff_delay(o, 3, 0.0), caf::timespan{800ms});
  CAF_CHECK_EQUAL(backoff_delay(o, 4, 0.0), caf::timespan{1s});
  CAF_CHECK_EQUAL(backoff_delay(o, 1000, 0.0), caf::timespan{1s});
  CAF_CHECK_EQUAL(backoff_delay(o, 2, 0.5), caf::timespan{300ms});
  // Never below the minimum, whatever the jitter draws.
  CAF_CHECK_EQUAL(backoff_delay(o, 0, 0.99), caf::timespan{100ms});
}

CAF_TEST(start runs children in order and stop in reverse) {
  auto sup = spawn_supervisor(sys, options(), {spec("a"), spec("b")});
  CAF_REQUIRE(start(sup));
  CAF_CHECK_EQUAL(*events, (journal{"start:a", "start:b"}));
  for (auto& k : kids(sup)) {
    CAF_CHECK_EQUAL(k.state, service_state::running);
    CAF_CHECK_EQUAL(status(k.handle).state, service_state::running);
  }
  auto r = stop(sup);
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::stopped);
  CAF_CHECK_EQUAL(*events, (journal{"start:a", "start:b", "stop:b", "stop:a"}));
  for (auto& k : kids(sup)) {
    CAF_CHECK(!k.handle);
    CAF_CHECK_EQUAL(k.state, service_state::stopped);
  }
  CAF_CHECK_EQUAL(status(sup).state, service_state::stopped);
}

CAF_TEST(reconfigure follows the transition table as a service does) {
  auto sup = spawn_supervisor(sys, options(), {spec("a")});
  // initialized: configure first (the table forbids reconfigure here).
  auto r = call<service_state>(sup, reconfigure_atom::value, settings{});
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::invalid_transition));
  CAF_CHECK_EQUAL(status(sup).state, service_state::initialized);
  CAF_REQUIRE(call<service_state>(sup, configure_atom::value, settings{}));
  r = call<service_state>(sup, reconfigure_atom::value, settings{});
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::configured);
  CAF_REQUIRE(start(sup));
  r = call<service_state>(sup, reconfigure_atom::value, settings{});
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::running);
}

CAF_TEST(a child failing its first start fails the supervisor start) {
  auto b = spec("b");
  switches["b"]->fail_start = true;
  auto sup = spawn_supervisor(sys, options(), {spec("a"), b, spec("c")});
  auto r = start(sup);
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::child_failed));
  CAF_CHECK(describe(r.error()).find("'b'") != std::string::npos);
  // c never started; a was stopped again.
  // b failed in on_start and gets its on_stop to clean up.
  CAF_CHECK_EQUAL(*events, (journal{"start:a", "start:b", "stop:b", "stop:a"}));
  CAF_CHECK_EQUAL(status(sup).state, service_state::failed);
  CAF_CHECK_EQUAL(kid(sup, "c").state, service_state::initialized);
}

CAF_TEST(a listener that does not take state changes cannot kill it) {
  auto sup = started(options(), {spec("a")});
  auto deaf = sys.spawn([]() -> caf::behavior { return {[](int) {}}; });
  self->send(sup, subscribe_state_atom::value, deaf);
  consume_messages();
  CAF_REQUIRE(stop(sup));
  consume_messages();
  CAF_CHECK_EQUAL(status(sup).state, service_state::stopped);
  CAF_CHECK(start(sup));
  CAF_CHECK_EQUAL(kid(sup, "a").state, service_state::running);
  self->send_exit(deaf, caf::exit_reason::user_shutdown);
}

CAF_TEST(one_for_one restarts only the failed child) {
  auto sup = started(options(), {spec("a"), spec("b"), spec("c")});
  auto before = kids(sup);
  fail(sup, "b");
  auto b = kid(sup, "b");
  CAF_CHECK(b.restart_pending);
  CAF_CHECK_EQUAL(b.last_error, "boom");
  elapse(10ms);
  auto after = kids(sup);
  CAF_CHECK(after[0].handle == before[0].handle);
  CAF_CHECK(after[1].handle != before[1].handle);
  CAF_CHECK(after[2].handle == before[2].handle);
  CAF_CHECK_EQUAL(after[1].state, service_state::running);
  CAF_CHECK_EQUAL(after[1].restarts, 1u);
  CAF_CHECK_EQUAL(after[0].restarts, 0u);
  CAF_CHECK(!after[1].restart_pending);
  // The new instance counts the restarts of the ones before it.
  CAF_CHECK_EQUAL(status(after[1].handle).restarts, 1u);
  CAF_CHECK_EQUAL(*events, (journal{"stop:b", "start:b"}));
  CAF_CHECK_EQUAL(status(sup).state, service_state::running);
}

CAF_TEST(one_for_all restarts every child in order) {
  auto sup = started(options(restart_strategy::one_for_all),
                     {spec("a"), spec("b"), spec("c")});
  auto before = kids(sup);
  fail(sup, "b");
  // The siblings stop at once (reverse order); all start after the backoff.
  CAF_CHECK_EQUAL(*events, (journal{"stop:c", "stop:b", "stop:a"}));
  events->clear();
  elapse(10ms);
  CAF_CHECK_EQUAL(*events, (journal{"start:a", "start:b", "start:c"}));
  auto after = kids(sup);
  for (size_t i = 0; i < 3; ++i) {
    CAF_CHECK(after[i].handle != before[i].handle);
    CAF_CHECK_EQUAL(after[i].state, service_state::running);
    CAF_CHECK_EQUAL(after[i].restarts, 1u);
  }
}

CAF_TEST(rest_for_one restarts the failed child and the later ones) {
  auto sup = started(options(restart_strategy::rest_for_one),
                     {spec("a"), spec("b"), spec("c")});
  auto before = kids(sup);
  fail(sup, "b");
  elapse(10ms);
  CAF_CHECK_EQUAL(*events, (journal{"stop:c", "stop:b", "start:b", "start:c"}));
  auto after = kids(sup);
  CAF_CHECK(after[0].handle == before[0].handle);
  CAF_CHECK(after[1].handle != before[1].handle);
  CAF_CHECK(after[2].handle != before[2].handle);
  CAF_CHECK_EQUAL(after[0].restarts, 0u);
  CAF_CHECK_EQUAL(after[2].restarts, 1u);
}

CAF_TEST(one_for_all leaves a child stopped by request alone) {
  auto sup = started(options(restart_strategy::one_for_all),
                     {spec("a"), spec("b"), spec("c")});
  CAF_REQUIRE(manage(sup, stop_child_atom::value, "c"));
  fail(sup, "a");
  elapse(10ms);
  CAF_CHECK_EQUAL(kid(sup, "a").state, service_state::running);
  CAF_CHECK_EQUAL(kid(sup, "b").state, service_state::running);
  auto c = kid(sup, "c");
  CAF_CHECK(!c.handle);
  CAF_CHECK_EQUAL(c.state, service_state::stopped);
  CAF_CHECK_EQUAL(c.restarts, 0u);
}

CAF_TEST(stopping the supervisor cancels a pending restart) {
  auto sup = started(options(), {spec("a")});
  fail(sup, "a");
  CAF_REQUIRE(kid(sup, "a").restart_pending);
  auto r = stop(sup);
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::stopped);
  elapse(10s);
  auto a = kid(sup, "a");
  CAF_CHECK(!a.handle);
  CAF_CHECK(!a.restart_pending);
  CAF_CHECK_EQUAL(a.restarts, 0u);
  // And a start brings every child back.
  CAF_REQUIRE(start(sup));
  CAF_CHECK_EQUAL(kid(sup, "a").state, service_state::running);
  CAF_CHECK_EQUAL(status(sup).restarts, 1u);
}

CAF_TEST(transient restarts after a failure but not after a normal stop) {
  auto sup = started(options(), {spec("t", restart_policy::transient)});
  // A stop the supervisor did not ask for is a normal exit.
  CAF_REQUIRE(stop(kid(sup, "t").handle));
  elapse(1s);
  auto t = kid(sup, "t");
  CAF_CHECK_EQUAL(t.state, service_state::stopped);
  CAF_CHECK(!t.restart_pending);
  CAF_CHECK_EQUAL(t.restarts, 0u);
  CAF_REQUIRE(manage(sup, start_child_atom::value, "t"));
  fail(sup, "t");
  CAF_CHECK(kid(sup, "t").restart_pending);
  elapse(10ms);
  t = kid(sup, "t");
  CAF_CHECK_EQUAL(t.state, service_state::running);
  CAF_CHECK_EQUAL(t.restarts, 2u); // the manual start and the restart
}

CAF_TEST(permanent restarts after a normal stop) {
  auto sup = started(options(), {spec("p")});
  auto old = kid(sup, "p").handle;
  CAF_REQUIRE(stop(old));
  elapse(10ms);
  auto p = kid(sup, "p");
  CAF_CHECK(p.handle != old);
  CAF_CHECK_EQUAL(p.state, service_state::running);
}

CAF_TEST(a supervisor counts restarts and keeps history like a service) {
  // One lifecycle_core for both: a restart counts once it runs (not when a
  // start from stopped fails), uptime runs through stopping, and the
  // history keeps the newest `history_limit` changes.
  auto sup = started(options(), {spec("a")});
  CAF_CHECK_EQUAL(status(sup).restarts, 0u);
  CAF_REQUIRE(stop(sup));
  switches["a"]->fail_start = true;
  auto r = start(sup);
  CAF_CHECK(!r);
  auto st = status(sup);
  CAF_CHECK_EQUAL(st.state, service_state::failed);
  CAF_CHECK_EQUAL(st.restarts, 0u);
  CAF_CHECK(st.last_error.find("child 'a' failed to start") !=
            std::string::npos);
  switches["a"]->fail_start = false;
  r = start(sup);
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::running);
  st = status(sup);
  CAF_CHECK_EQUAL(st.restarts, 1u);
  CAF_CHECK_EQUAL(st.errors, 1u);
  // spawned, then starting, running, stopping, stopped, starting, failed,
  // starting, running.
  CAF_CHECK_EQUAL(st.history.size(), 9u);
  // A nested supervisor keeps as much history as its options say, as a
  // service does (it used to keep 32 changes whatever they said).
  auto nested = supervisor_factory(options(), {spec("b")});
  service_options o{"inner", "supervisor"};
  o.history_limit = 3;
  auto inner = caf::actor_cast<supervisor_actor>(nested(sys, o));
  CAF_REQUIRE(start(inner));
  CAF_REQUIRE(stop(inner));
  CAF_REQUIRE(start(inner));
  st = status(inner);
  CAF_CHECK_EQUAL(st.restarts, 1u);
  CAF_CHECK_EQUAL(st.history.size(), 3u);
  CAF_CHECK_EQUAL(st.history.back().to, service_state::running);
  anon_send_exit(inner, caf::exit_reason::user_shutdown);
}

CAF_TEST(temporary is never restarted) {
  auto sup = started(options(), {spec("tmp", restart_policy::temporary)});
  fail(sup, "tmp");
  elapse(10s);
  auto tmp = kid(sup, "tmp");
  CAF_CHECK_EQUAL(tmp.state, service_state::failed);
  CAF_CHECK(!tmp.restart_pending);
  CAF_CHECK_EQUAL(tmp.restarts, 0u);
  CAF_CHECK(events->empty());
  CAF_CHECK_EQUAL(status(sup).state, service_state::running);
}

CAF_TEST(a child whose actor dies is respawned) {
  auto sup = started(options(), {spec("a")});
  auto old = kid(sup, "a").handle;
  self->send_exit(old, caf::exit_reason::user_shutdown);
  consume_messages();
  auto a = kid(sup, "a");
  CAF_CHECK(!a.handle);
  CAF_CHECK(a.restart_pending);
  CAF_CHECK(a.last_error.find("actor terminated") != std::string::npos);
  elapse(10ms);
  a = kid(sup, "a");
  CAF_REQUIRE(a.handle);
  CAF_CHECK(a.handle != old);
  CAF_CHECK_EQUAL(status(a.handle).state, service_state::running);
}

CAF_TEST(a restart that fails to start is retried with a longer wait) {
  auto sup = started(options(), {spec("a")});
  switches["a"]->fail_start = true;
  fail(sup, "a");
  elapse(10ms); // the restart runs and fails in on_start
  auto a = kid(sup, "a");
  CAF_CHECK(a.restart_pending);
  CAF_CHECK_EQUAL(a.last_backoff, caf::timespan{20ms});
  CAF_CHECK_EQUAL(*events, (journal{"stop:a", "start:a", "stop:a"}));
  switches["a"]->fail_start = false;
  elapse(20ms);
  a = kid(sup, "a");
  CAF_CHECK_EQUAL(a.state, service_state::running);
  CAF_CHECK_EQUAL(a.restarts, 2u);
  CAF_CHECK_EQUAL(status(a.handle).restarts, 2u);
}

CAF_TEST(backoff waits grow within bounds and nothing restarts early) {
  auto o = options();
  o.backoff_min = 100ms;
  o.backoff_max = 1s;
  o.jitter = 0.2;
  o.seed = 42;
  auto sup = started(o, {spec("x")});
  std::vector<caf::timespan> waits;
  for (int i = 0; i < 3; ++i) {
    auto old = kid(sup, "x").handle;
    fail(sup, "x");
    auto wait = kid(sup, "x").last_backoff;
    CAF_CHECK_GREATER_OR_EQUAL(wait, o.backoff_min);
    CAF_CHECK_LESS_OR_EQUAL(wait, o.backoff_max);
    if (!waits.empty())
      CAF_CHECK_GREATER(wait, waits.back());
    waits.push_back(wait);
    elapse(wait - 1ns);
    CAF_CHECK(kid(sup, "x").restart_pending);
    CAF_CHECK(!kid(sup, "x").handle);
    elapse(1ns);
    auto x = kid(sup, "x");
    CAF_CHECK(!x.restart_pending);
    CAF_CHECK(x.handle && x.handle != old);
    CAF_CHECK_EQUAL(x.state, service_state::running);
  }
}

CAF_TEST(a child stopped by request is not restarted) {
  auto sup = started(options(), {spec("a"), spec("b")});
  auto r = manage(sup, stop_child_atom::value, "a");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::stopped);
  elapse(10s);
  auto a = kid(sup, "a");
  CAF_CHECK(!a.handle);
  CAF_CHECK(!a.restart_pending);
  CAF_CHECK_EQUAL(*events, (journal{"stop:a"}));
  r = manage(sup, start_child_atom::value, "a");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::running);
  CAF_CHECK_EQUAL(kid(sup, "a").restarts, 1u);
  r = manage(sup, restart_child_atom::value, "b");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(kid(sup, "b").restarts, 1u);
  r = manage(sup, stop_child_atom::value, "nobody");
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::unknown_child));
}

CAF_TEST(children can be added and removed at run time) {
  auto sup = started(options(), {spec("a")});
  auto r = call<service_state>(sup, add_child_atom::value, spec("d"));
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::running);
  CAF_CHECK_EQUAL(kids(sup).size(), 2u);
  r = call<service_state>(sup, add_child_atom::value, spec("d"));
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::duplicate_name));
  auto d = kid(sup, "d").handle;
  r = manage(sup, remove_child_atom::value, "d");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(kids(sup).size(), 1u);
  CAF_CHECK_EQUAL(*events, (journal{"start:d", "stop:d"}));
  // The removed child's actor is gone and it is not restarted.
  elapse(10s);
  CAF_CHECK_EQUAL(kids(sup).size(), 1u);
  auto st = call<service_status>(d, status_atom::value);
  CAF_CHECK(!st);
  // A child that cannot start is not kept.
  auto e = spec("e");
  switches["e"]->fail_start = true;
  r = call<service_state>(sup, add_child_atom::value, e);
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::child_failed));
  CAF_CHECK_EQUAL(kids(sup).size(), 1u);
}

CAF_TEST(health rolls up the children) {
  auto sup = started(options(), {spec("a"), spec("b")});
  CAF_CHECK_EQUAL(health(sup).overall, health_status::healthy);
  tell(sup, "b", "unhealthy");
  auto h = health(sup);
  CAF_CHECK_EQUAL(h.overall, health_status::unhealthy);
  CAF_REQUIRE_EQUAL(h.checks.size(), 2u);
  CAF_CHECK_EQUAL(h.checks[1].name, "b");
}

CAF_TEST(exceeding the intensity escalates to the parent supervisor) {
  auto inner = options();
  inner.name = "inner";
  inner.max_restarts = 2;
  child_spec nested;
  nested.name = "inner";
  nested.type = "supervisor";
  nested.factory = supervisor_factory(inner, {spec("w")});
  auto top = started(options(), {nested});
  auto first = kid(top, "inner").handle;
  auto as_sup = [](const service_actor& h) {
    return caf::actor_cast<supervisor_actor>(h);
  };
  // Two failures are within the limit: the inner supervisor restarts w.
  for (int i = 0; i < 2; ++i) {
    fail(as_sup(first), "w");
    elapse(1s);
    CAF_CHECK_EQUAL(kid(as_sup(first), "w").state, service_state::running);
  }
  // The third within the period is one too many: the inner supervisor stops
  // w and fails, which its parent sees like any child's failure.
  self->send(first, subscribe_state_atom::value,
             caf::actor_cast<caf::actor>(self));
  events->clear();
  fail(as_sup(first), "w");
  std::vector<std::string> changes;
  for (bool got = true; got;) {
    got = false;
    self->receive(
      [&](state_changed_atom, const state_change& c) {
        changes.push_back(to_string(c.to));
        got = true;
      },
      caf::after(std::chrono::seconds(0)) >> [] {});
  }
  CAF_CHECK_EQUAL(changes, (std::vector<std::string>{"stopping", "failed",
                                                     "stopping", "stopped"}));
  CAF_CHECK_EQUAL(*events, (journal{"stop:w"}));
  auto pending = kid(top, "inner");
  CAF_CHECK(pending.restart_pending);
  CAF_CHECK(pending.last_error.find("restart intensity exceeded") !=
            std::string::npos);
  // The parent restarts a fresh inner supervisor, which starts w anew.
  elapse(10ms);
  auto restarted = kid(top, "inner");
  CAF_REQUIRE(restarted.handle);
  CAF_CHECK(restarted.handle != first);
  CAF_CHECK_EQUAL(restarted.state, service_state::running);
  CAF_CHECK_EQUAL(status(restarted.handle).restarts, 1u);
  CAF_CHECK_EQUAL(kid(as_sup(restarted.handle), "w").state,
                  service_state::running);
}

CAF_TEST(a supervisor stop keeps its deadline over those of its children) {
  auto slow = spec("a");
  slow.stop_deadline = 10s;
  auto sup = started(options(), {slow, spec("b")});
  tell(sup, "a", "hold");
  auto rh = begin_stop(sup, 2s);
  // A local: CAF_CHECK_EQUAL keeps references past the temporary.
  auto st = call<service_status>(sup, status_atom::value);
  CAF_CHECK_EQUAL(st->state, service_state::stopping);
  // "b" stopped at once; "a" waits for its work, but only as long as the
  // supervisor's 2 s allow, not its own 10 s.
  elapse(2s);
  auto answered = stop_answer(rh);
  CAF_CHECK_EQUAL(answered, service_state::stopped);
  CAF_CHECK_EQUAL(*events, (journal{"stop:b", "stop:a"}));
}

CAF_TEST_FIXTURE_SCOPE_END()
