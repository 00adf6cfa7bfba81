#define CAF_SUITE supervisor_levels

// Start and stop by dependency level (supervisor_options::by_level), the
// bulk stop and the activity sum the app's drain uses.

#include "troupe/actors/supervisor.hpp"

#include <algorithm>
#include <map>
#include <memory>

#include "troupe/actors/service_host.hpp"
#include "troupe/actors/testing.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// What every child did, in order: "start:a", "stop:b", "hang:h", ...
using journal = std::vector<std::string>;

struct knobs {
  bool fail_start = false;
};

class worker : public service {
public:
  worker(std::shared_ptr<journal> j, std::shared_ptr<knobs> k)
    : journal_(std::move(j)), knobs_(std::move(k)) {}

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
};

// A child whose start never answers: a dependency that hangs. It answers
// everything else (a stop too, once it comes).
struct hang_state {
  std::vector<caf::typed_response_promise<service_state>> held;
};

service_actor::behavior_type
hanging(service_actor::stateful_pointer<hang_state> self,
        const std::shared_ptr<journal>& j, const std::string& name) {
  auto hang = [self, j, name]() -> caf::result<service_state> {
    j->push_back("hang:" + name);
    auto p = self->make_response_promise<service_state>();
    self->state.held.push_back(p);
    return p;
  };
  return {
    [](configure_atom, const settings&) { return service_state::configured; },
    [hang](start_atom) { return hang(); },
    [hang](start_atom, const settings&) { return hang(); },
    [j, name](stop_atom, const std::string&, caf::timespan) {
      j->push_back("stop:" + name);
      return service_state::stopped;
    },
    [](reconfigure_atom, const settings&) { return service_state::configured; },
    [name](status_atom) {
      service_status st;
      st.name = name;
      st.state = service_state::starting;
      return st;
    },
    [](health_atom) { return health_report{}; },
    [](health_atom, caf::timespan) { return health_report{}; },
    [](subscribe_state_atom, const caf::actor&) {},
  };
}

// A child that holds every status and health request until the test
// releases them: shows how many a supervisor keeps in flight at once.
using release_atom = caf::atom_constant<caf::atom("release")>;

struct held_requests {
  size_t count = 0;
  std::vector<caf::actor> holders;

  // Each holder answers what it holds (a promise is delivered from its own
  // actor).
  void release() {
    for (auto& h : holders)
      caf::anon_send(h, release_atom::value);
    holders.clear();
    count = 0;
  }
};

struct holding_state {
  std::vector<caf::typed_response_promise<service_status>> statuses;
  std::vector<caf::typed_response_promise<health_report>> healths;
};

caf::behavior holding(caf::stateful_actor<holding_state>* self,
                      const std::shared_ptr<held_requests>& h,
                      const std::string& name) {
  auto hold = [self, h] {
    ++h->count;
    h->holders.emplace_back(self);
  };
  // Both forms of the health request are held alike.
  auto hold_health = [self, hold] {
    hold();
    return self->state.healths.emplace_back(
      self->make_response_promise<health_report>());
  };
  return {
    [](configure_atom, const settings&) { return service_state::configured; },
    [](start_atom) { return service_state::running; },
    [](start_atom, const settings&) { return service_state::running; },
    [](stop_atom, const std::string&, caf::timespan) {
      return service_state::stopped;
    },
    [](reconfigure_atom, const settings&) { return service_state::configured; },
    [self, hold](status_atom) {
      hold();
      return self->state.statuses.emplace_back(
        self->make_response_promise<service_status>());
    },
    [hold_health](health_atom) { return hold_health(); },
    [hold_health](health_atom, caf::timespan) { return hold_health(); },
    [](subscribe_state_atom, const caf::actor&) {},
    [self, name](release_atom) {
      service_status st;
      st.name = name;
      st.state = service_state::running;
      for (auto& p : self->state.statuses)
        p.deliver(st);
      for (auto& p : self->state.healths)
        p.deliver(health_report{});
      self->state.statuses.clear();
      self->state.healths.clear();
    },
  };
}

// `n` children h0, h1, ... that hold their requests in `held`.
std::vector<child_spec>
holding_specs(const std::shared_ptr<held_requests>& held, int n) {
  std::vector<child_spec> specs;
  for (int i = 0; i < n; ++i) {
    child_spec s;
    s.name = "h" + std::to_string(i);
    s.type = "holding";
    s.factory = [held, name = s.name](caf::actor_system& sys,
                                      const service_options&) {
      return caf::actor_cast<service_actor>(sys.spawn(holding, held, name));
    };
    specs.push_back(std::move(s));
  }
  return specs;
}

struct fixture : testing::service_fixture {
  std::shared_ptr<journal> events = std::make_shared<journal>();
  std::map<std::string, std::shared_ptr<knobs>> switches;

  child_spec spec(const std::string& name, std::vector<std::string> deps = {}) {
    auto& k = switches[name];
    if (!k)
      k = std::make_shared<knobs>();
    child_spec s;
    s.name = name;
    s.type = "worker";
    s.depends_on = std::move(deps);
    s.factory = [j = events, k](caf::actor_system& sys, service_options o) {
      return caf::actor_cast<service_actor>(
        spawn_service<worker>(sys, std::move(o), j, k));
    };
    return s;
  }

  child_spec hang_spec(const std::string& name,
                       std::vector<std::string> deps = {}) {
    child_spec s;
    s.name = name;
    s.type = "hanging";
    s.depends_on = std::move(deps);
    s.factory = [j = events, name](caf::actor_system& sys,
                                   const service_options&) {
      return sys.spawn(hanging, j, name);
    };
    return s;
  }

  static supervisor_options options() {
    supervisor_options o;
    o.name = "sup";
    o.by_level = true;
    o.start_timeout = 1s;
    o.jitter = 0;
    o.seed = 1;
    return o;
  }

  std::vector<child_info> kids(const supervisor_actor& sup) {
    auto r = call<std::vector<child_info>>(sup, children_atom::value);
    CAF_REQUIRE(r);
    return std::move(*r);
  }

  child_info kid(const supervisor_actor& sup, const std::string& name) {
    for (auto& k : kids(sup))
      if (k.name == name)
        return k;
    CAF_FAIL("no child " << name);
    return {};
  }

  // Position of `what` in the journal; the journal's size when absent.
  size_t at(const std::string& what) const {
    return static_cast<size_t>(std::find(events->begin(), events->end(), what) -
                               events->begin());
  }

  bool saw(const std::string& what) const { return at(what) < events->size(); }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_level_tests, fixture)

CAF_TEST(levels follow depends_on) {
  auto sup = spawn_supervisor(sys, options(),
                              {spec("a"), spec("b"), spec("c", {"a", "b"}),
                               spec("d", {"c"}), spec("e", {"a", "x"})});
  std::map<std::string, uint32_t> level;
  for (auto& k : kids(sup))
    level[k.name] = k.level;
  CAF_CHECK_EQUAL(level["a"], 0u);
  CAF_CHECK_EQUAL(level["b"], 0u);
  CAF_CHECK_EQUAL(level["c"], 1u);
  CAF_CHECK_EQUAL(level["d"], 2u);
  // A name that is not a sibling is ignored.
  CAF_CHECK_EQUAL(level["e"], 1u);
  // Without by_level every child is its own level, in order.
  auto o = options();
  o.by_level = false;
  auto seq = spawn_supervisor(sys, o, {spec("p"), spec("q"), spec("r")});
  auto ks = kids(seq);
  for (uint32_t i = 0; i < ks.size(); ++i)
    CAF_CHECK_EQUAL(ks[i].level, i);
}

CAF_TEST(depends_on is kept at run time among siblings) {
  // c depends on a; e on a sibling-less name (another supervisor's
  // business, not checked here).
  auto sup = spawn_supervisor(
    sys, options(), {spec("a"), spec("c", {"a"}), spec("e", {"elsewhere"})});
  CAF_REQUIRE(start(sup));
  auto op = [&](auto atom, const char* name) {
    return call<service_state>(sup, atom, std::string{name});
  };
  auto refused = [](const caf::expected<service_state>& r,
                    const std::string& text) {
    return !r && is(r.error(), errc::invalid_transition) &&
           describe(r.error()).find(text) != std::string::npos;
  };
  // a's dependent runs: no stop, no removal.
  auto r = op(stop_child_atom::value, "a");
  CAF_CHECK(refused(r, "cannot stop 'a': 'c' depends on it and runs"));
  r = op(remove_child_atom::value, "a");
  CAF_CHECK(refused(r, "cannot remove 'a': 'c' depends on it and runs"));
  CAF_CHECK(kid(sup, "a").handle);
  // Dependents first, then it goes.
  CAF_CHECK(op(stop_child_atom::value, "c"));
  r = op(stop_child_atom::value, "a");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::stopped);
  // c cannot start or restart while a is down.
  r = op(start_child_atom::value, "c");
  CAF_CHECK(refused(r, "cannot start 'c': it depends on 'a', not running"));
  r = op(restart_child_atom::value, "c");
  CAF_CHECK(refused(r, "cannot restart 'c': it depends on 'a', not running"));
  CAF_CHECK(!kid(sup, "c").handle);
  CAF_CHECK(op(start_child_atom::value, "a"));
  r = op(start_child_atom::value, "c");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::running);
  CAF_CHECK(op(restart_child_atom::value, "c"));
  // A dependency on no sibling does not hold e back.
  CAF_CHECK(op(restart_child_atom::value, "e"));
  CAF_CHECK(op(stop_child_atom::value, "e"));
  CAF_CHECK(op(start_child_atom::value, "e"));
}

CAF_TEST(start goes level by level and stop in reverse) {
  auto sup = spawn_supervisor(
    sys, options(),
    {spec("a"), spec("b"), spec("c", {"a", "b"}), spec("d", {"c"})});
  auto r = start(sup);
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::running);
  CAF_REQUIRE_EQUAL(events->size(), 4u);
  CAF_CHECK(at("start:a") < at("start:c"));
  CAF_CHECK(at("start:b") < at("start:c"));
  CAF_CHECK(at("start:c") < at("start:d"));
  events->clear();
  r = stop(sup);
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::stopped);
  CAF_REQUIRE_EQUAL(events->size(), 4u);
  CAF_CHECK_EQUAL(events->at(0), "stop:d");
  CAF_CHECK_EQUAL(events->at(1), "stop:c");
  CAF_CHECK(saw("stop:a"));
  CAF_CHECK(saw("stop:b"));
  for (auto& k : kids(sup))
    CAF_CHECK(!k.handle);
}

CAF_TEST(a level starts at once and a hanging dependency holds back the next) {
  // h hangs in start; its sibling s runs meanwhile, its dependent d waits.
  auto sup = spawn_supervisor(
    sys, options(), {hang_spec("h"), spec("s"), spec("d", {"h", "s"})});
  auto rh = self->request(caf::actor_cast<caf::actor>(sup), caf::infinite,
                          start_atom::value);
  consume_messages();
  CAF_CHECK(saw("hang:h"));
  CAF_CHECK(saw("start:s"));
  CAF_CHECK(!saw("start:d"));
  CAF_CHECK_EQUAL(kid(sup, "s").state, service_state::running);
  CAF_CHECK(!kid(sup, "d").handle);
  // Past start_timeout the start fails naming h; s is stopped again and d
  // never started.
  advance_time(1s);
  consume_messages();
  caf::expected<service_state> r{service_state::initialized};
  rh.receive([&](service_state st) { r = st; },
             [&](caf::error& err) { r = std::move(err); });
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::child_failed));
  CAF_CHECK(describe(r.error()).find("'h'") != std::string::npos);
  CAF_CHECK(saw("stop:s"));
  CAF_CHECK(!saw("start:d"));
  CAF_CHECK_EQUAL(kid(sup, "d").state, service_state::initialized);
  for (auto& k : kids(sup))
    CAF_CHECK(!k.handle);
  CAF_CHECK_EQUAL(status(sup).state, service_state::failed);
}

CAF_TEST(start and health and stop leave no timeout per child in the clock) {
  // The configure and start of each child wait start_timeout for their
  // answers behind one supervisor timer. As CAF request timeouts they were
  // two clock entries per child, kept until they fired (start_timeout, 30 s
  // by default) although answered: ~0.4 KB a service for 30 s after an
  // app started.
  std::vector<child_spec> specs;
  specs.reserve(100);
  for (int i = 0; i < 100; ++i)
    specs.push_back(spec("w" + std::to_string(i)));
  auto before = sched.clock().schedule().size();
  auto sup = spawn_supervisor(sys, options(), std::move(specs));
  CAF_REQUIRE(start(sup));
  CAF_CHECK_EQUAL(status(sup).state, service_state::running);
  CAF_CHECK_LESS_OR_EQUAL(sched.clock().schedule().size(), before + 1);
  // The timer fires at the first deadline and finds nothing waiting.
  advance_time(options().start_timeout);
  consume_messages();
  CAF_CHECK_EQUAL(sched.clock().schedule().size(), before);
  CAF_CHECK_EQUAL(status(sup).state, service_state::running);
  // The same for a health round.
  auto rep = call<health_report>(sup, health_atom::value);
  CAF_REQUIRE(rep);
  CAF_CHECK_EQUAL(rep->checks.size(), 100u);
  CAF_CHECK_LESS_OR_EQUAL(sched.clock().schedule().size(), before + 1);
  // A stop by name asks each child for its final status first, with a
  // grace, and then stops it: neither leaves a clock entry per child.
  std::vector<std::string> half;
  half.reserve(50);
  for (int i = 0; i < 50; ++i)
    half.push_back("w" + std::to_string(i));
  auto rows =
    call<std::vector<service_status>>(sup, stop_children_atom::value, half);
  CAF_REQUIRE(rows);
  CAF_CHECK_EQUAL(rows->size(), 50u);
  CAF_CHECK_LESS_OR_EQUAL(sched.clock().schedule().size(), before + 1);
  // The same for the stops (each waits its stop deadline plus a grace).
  CAF_REQUIRE(stop(sup));
  CAF_CHECK_LESS_OR_EQUAL(sched.clock().schedule().size(), before + 1);
}

CAF_TEST(a failure in the middle of a level stops what started) {
  auto sup = spawn_supervisor(
    sys, options(),
    {spec("a"), spec("b"), spec("c"), spec("d", {"a"}), spec("e", {"d"})});
  switches["b"]->fail_start = true;
  auto r = start(sup);
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::child_failed));
  CAF_CHECK(describe(r.error()).find("'b'") != std::string::npos);
  // Every child of level 0 was started, c after b failed too; nothing of a
  // later level.
  CAF_CHECK(saw("start:a"));
  CAF_CHECK(saw("start:b"));
  CAF_CHECK(saw("start:c"));
  CAF_CHECK(!saw("start:d"));
  CAF_CHECK(!saw("start:e"));
  CAF_CHECK(saw("stop:a"));
  CAF_CHECK(saw("stop:c"));
  CAF_CHECK_EQUAL(kid(sup, "d").state, service_state::initialized);
  for (auto& k : kids(sup))
    CAF_CHECK(!k.handle);
  CAF_CHECK_EQUAL(status(sup).state, service_state::failed);
}

CAF_TEST(a stop aborts a start in progress) {
  auto sup = spawn_supervisor(sys, options(),
                              {hang_spec("h"), spec("s"), spec("d", {"h"})});
  auto rh = self->request(caf::actor_cast<caf::actor>(sup), caf::infinite,
                          start_atom::value);
  consume_messages();
  CAF_CHECK_EQUAL(status(sup).state, service_state::starting);
  // The stop does not wait for start_timeout: it answers once h and s
  // stopped, and the start answers an error.
  auto r = stop(sup);
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::stopped);
  caf::expected<service_state> started{service_state::initialized};
  rh.receive([&](service_state st) { started = st; },
             [&](caf::error& err) { started = std::move(err); });
  CAF_REQUIRE(!started);
  CAF_CHECK(is(started.error(), errc::not_running));
  CAF_CHECK(saw("stop:h"));
  CAF_CHECK(saw("stop:s"));
  CAF_CHECK(!saw("start:d"));
  for (auto& k : kids(sup))
    CAF_CHECK(!k.handle);
  // The aborted start's timeout passing later changes nothing.
  advance_time(1s);
  consume_messages();
  CAF_CHECK_EQUAL(status(sup).state, service_state::stopped);
  CAF_CHECK_EQUAL(kid(sup, "d").state, service_state::initialized);
}

CAF_TEST(stop_children stops by level and answers final statuses) {
  auto sup = spawn_supervisor(
    sys, options(), {spec("a"), spec("b", {"a"}), spec("c", {"b"}), spec("z")});
  CAF_REQUIRE(start(sup));
  auto act = call<child_activity>(sup, activity_atom::value);
  CAF_REQUIRE(act);
  CAF_CHECK_EQUAL(act->running, 4u);
  CAF_CHECK_EQUAL(act->in_flight, 0u);
  events->clear();
  auto r = call<std::vector<service_status>>(
    sup, stop_children_atom::value, std::vector<std::string>{"a", "c", "b"});
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*events, (journal{"stop:c", "stop:b", "stop:a"}));
  CAF_REQUIRE_EQUAL(r->size(), 3u);
  // As each one was when its stop came.
  for (auto& st : *r)
    CAF_CHECK_EQUAL(st.state, service_state::running);
  // The others run on and are not restarted.
  CAF_CHECK_EQUAL(kid(sup, "z").state, service_state::running);
  advance_time(10s);
  consume_messages();
  CAF_CHECK(!kid(sup, "a").handle);
  act = call<child_activity>(sup, activity_atom::value);
  CAF_REQUIRE(act);
  CAF_CHECK_EQUAL(act->running, 1u);
  auto bad = call<std::vector<service_status>>(
    sup, stop_children_atom::value, std::vector<std::string>{"nope"});
  CAF_REQUIRE(!bad);
  CAF_CHECK(is(bad.error(), errc::unknown_child));
}

CAF_TEST(
  status health and activity rounds keep at most 256 requests in flight) {
  // CAF 0.17 searches an actor's pending requests linearly: a round of
  // 100,000 requests at once cost N^2. 600 children: 256, 256, then 88.
  auto held = std::make_shared<held_requests>();
  auto sup = spawn_supervisor(sys, options(), holding_specs(held, 600));
  CAF_REQUIRE(start(sup));
  auto round = [&](auto atom, auto answer) {
    auto r =
      self->request(caf::actor_cast<caf::actor>(sup), caf::infinite, atom);
    std::vector<size_t> waves;
    for (consume_messages(); held->count > 0; consume_messages()) {
      waves.push_back(held->count);
      held->release();
    }
    CAF_CHECK_EQUAL(waves, (std::vector<size_t>{256, 256, 88}));
    r.receive(answer, [](caf::error& err) { CAF_FAIL(describe(err)); });
  };
  round(child_statuses_atom::value, [](std::vector<service_status>& sts) {
    CAF_CHECK_EQUAL(sts.size(), 600u);
  });
  round(health_atom::value, [](health_report& rep) {
    CAF_CHECK_EQUAL(rep.checks.size(), 600u);
    CAF_CHECK_EQUAL(rep.overall, health_status::healthy);
  });
  round(activity_atom::value, [](child_activity& act) {
    CAF_CHECK_EQUAL(act.running, 600u);
    CAF_CHECK_EQUAL(act.unanswered, 0u);
  });
}

CAF_TEST(a nested supervisor answers the health round of its parent in time) {
  // Parent and child supervisor with the same start_timeout; the child's
  // three children never answer. The parent's round ends at 9/10 of the
  // timeout and asks the child with that long; the child's own round ends
  // at 9/10 of that (0.81 s), so the parent gets the child's report, naming
  // the hung children. Before, the child waited 0.9 s too and the parent
  // gave up at the same moment: "inner: no health answer".
  auto held = std::make_shared<held_requests>();
  child_spec inner;
  inner.name = "inner";
  inner.type = "supervisor";
  inner.factory = [held](caf::actor_system& sys, const service_options&) {
    auto o = options();
    o.name = "inner";
    return caf::actor_cast<service_actor>(
      spawn_supervisor(sys, o, holding_specs(held, 3)));
  };
  auto sup = spawn_supervisor(sys, options(), {inner});
  CAF_REQUIRE(start(sup));
  auto r = self->request(caf::actor_cast<caf::actor>(sup), caf::infinite,
                         health_atom::value);
  consume_messages();
  CAF_CHECK_EQUAL(held->count, 3u);
  advance_time(options().start_timeout / 100 * 81);
  consume_messages();
  CAF_REQUIRE(!self->mailbox().empty()); // answered before the parent's 0.9
  r.receive(
    [](health_report& rep) {
      CAF_REQUIRE_EQUAL(rep.checks.size(), 1u);
      auto& chk = rep.checks.front();
      CAF_CHECK_EQUAL(chk.name, "inner");
      CAF_CHECK_EQUAL(chk.status, health_status::unhealthy);
      // The child's report: its first hung child, not the parent's timeout.
      CAF_CHECK_EQUAL(chk.message.rfind("h0: no health answer", 0), 0u);
    },
    [](caf::error& err) { CAF_FAIL(describe(err)); });
  held->release();
  consume_messages();
}

CAF_TEST(
  a health round answers within one start_timeout however many children hang) {
  // 600 children that never answer health: 256 are asked and time out
  // together at 9/10 of start_timeout; the round's deadline has then
  // passed, so the other 344 count as unanswered without a request of their
  // own. Before, each wave of 256 waited a whole timeout (three here), and a
  // parent asking with the same timeout gave up first.
  auto held = std::make_shared<held_requests>();
  auto sup = spawn_supervisor(sys, options(), holding_specs(held, 600));
  CAF_REQUIRE(start(sup));
  auto r = self->request(caf::actor_cast<caf::actor>(sup), caf::infinite,
                         health_atom::value);
  consume_messages();
  CAF_CHECK_EQUAL(held->count, 256u);
  advance_time(options().start_timeout / 10 * 9);
  consume_messages();
  CAF_CHECK_EQUAL(held->count, 256u); // nobody else was asked
  CAF_REQUIRE(!self->mailbox().empty());
  r.receive(
    [](health_report& rep) {
      CAF_REQUIRE_EQUAL(rep.checks.size(), 600u);
      CAF_CHECK_EQUAL(rep.overall, health_status::unhealthy);
      size_t timed_out = 0;
      size_t never_asked = 0;
      for (auto& chk : rep.checks) {
        CAF_CHECK_EQUAL(chk.status, health_status::unhealthy);
        if (chk.message.find("deadline passed before it was asked") !=
            std::string::npos)
          ++never_asked;
        else if (chk.message.find("no health answer") != std::string::npos)
          ++timed_out;
      }
      CAF_CHECK_EQUAL(timed_out, 256u);
      CAF_CHECK_EQUAL(never_asked, 344u);
    },
    [](caf::error& err) { CAF_FAIL(describe(err)); });
  held->release();
  consume_messages();
}

CAF_TEST_FIXTURE_SCOPE_END()
