#define CAF_SUITE service_host

#include "troupe/actors/service_host.hpp"

#include <caf/after.hpp>

#include <stdexcept>

#include "troupe/actors/testing.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// What a probe hook should do when called.
enum class act { succeed, refuse, fail, throw_ };

hook_result perform(act a, const char* hook) {
  switch (a) {
  case act::succeed:
    return hook_result::success();
  case act::refuse:
    return hook_result::refuse(std::string{hook} + " says no");
  case act::fail:
    return hook_result::fail(std::string{hook} + " broke");
  case act::throw_:
    throw std::runtime_error(std::string{hook} + " exploded");
  }
  return hook_result::success();
}

// Scripted behavior shared between a test and its probe service.
struct script {
  act configure = act::succeed;
  act start = act::succeed;
  act stop = act::succeed;
  act reconfigure = act::succeed;
  act error = act::fail;
  bool requires_configuration = false;
  // Started tasks and observations.
  bool tick_every_second = false;
  // every(1s) and every_tracked(1s), and tracked work: counts both.
  bool tick_tracked = false;
  int tracked_ticks = 0;
  bool tick_every_zero = false;
  int ticks = 0;
  int on_stop_calls = 0;
  std::vector<std::string> errors_seen;
  std::vector<std::string> async_seen;
  int64_t last_configured_value = 0;
  // Work in flight held by the probe (released by the test).
  work_token held;
  bool hold_work_on_start = false;
  // Non-empty: the hook records this fatal error, then returns success.
  std::string fatal_in_configure;
  std::string fatal_in_start;
  std::string fatal_in_stop;
};

class probe : public service {
public:
  using interface = service_actor::extend<caf::replies_to<int>::with<int>,
                                          caf::reacts_to<std::string>,
                                          caf::replies_to<double>::with<int>>;

  explicit probe(std::shared_ptr<script> s) : s_(std::move(s)) {}

  auto handlers() {
    return std::make_tuple(
      [](int x) { return x * 2; },
      // Commands let tests use the toolkit from inside the actor.
      [this](const std::string& x) {
        if (x.rfind("fatal:", 0) == 0)
          record_error(x.substr(6), true);
        else if (x.rfind("minor:", 0) == 0)
          record_error(x.substr(6), false);
        else if (x == "reset")
          reset_errors();
        else if (x.rfind("unhealthy:", 0) == 0)
          set_health(x.substr(10), health_status::unhealthy, "bad");
        else if (x.rfind("healthy:", 0) == 0)
          clear_health(x.substr(8));
        else
          s_->async_seen.push_back(x);
      },
      [](double) -> int { throw std::runtime_error("handler bug"); });
  }

  hook_result on_configure(const settings& cfg) override {
    s_->last_configured_value = cfg.get_or<int64_t>("value", -1);
    if (!s_->fatal_in_configure.empty())
      record_error(s_->fatal_in_configure, true);
    return perform(s_->configure, "on_configure");
  }

  hook_result on_start() override {
    if (s_->tick_every_second)
      every(1s, [s = s_] { ++s->ticks; });
    if (s_->tick_tracked) {
      every(1s, [s = s_] { ++s->ticks; });
      // Ends the tracked work at its third run, as a late reply would.
      every_tracked(1s, [s = s_] {
        if (++s->tracked_ticks == 3)
          s->held.done();
      });
    }
    if (s_->tick_every_zero)
      every(0s, [s = s_] { ++s->ticks; }); // throws: a zero period

    if (s_->hold_work_on_start)
      s_->held = track();
    if (!s_->fatal_in_start.empty())
      record_error(s_->fatal_in_start, true);
    return perform(s_->start, "on_start");
  }

  hook_result on_stop() override {
    ++s_->on_stop_calls;
    if (!s_->fatal_in_stop.empty())
      record_error(s_->fatal_in_stop, true);
    return perform(s_->stop, "on_stop");
  }

  hook_result on_reconfigure(const settings& cfg) override {
    auto r = perform(s_->reconfigure, "on_reconfigure");
    if (r)
      s_->last_configured_value = cfg.get_or<int64_t>("value", -1);
    return r;
  }

  hook_result on_error(const error_info& err) override {
    s_->errors_seen.push_back(err.source + ": " + err.what);
    return perform(s_->error, "on_error");
  }

  bool requires_configuration() const override {
    return s_->requires_configuration;
  }

private:
  std::shared_ptr<script> s_;
};

struct fixture : testing::service_fixture {
  std::shared_ptr<script> s = std::make_shared<script>();
  probe::interface svc;

  fixture() {
    svc = spawn_service<probe>(sys, service_options{"probe", "probe"}, s);
    run();
  }

  // Shorthands for requests to the probe.
  template <class T, class... Ts>
  caf::expected<T> call(Ts... xs) {
    return service_fixture::call<T>(svc, std::move(xs)...);
  }
  auto configure(settings cfg = {}) {
    return service_fixture::configure(svc, std::move(cfg));
  }
  auto start() { return service_fixture::start(svc); }
  auto stop(caf::timespan deadline = 5s) {
    return service_fixture::stop(svc, deadline);
  }
  auto reconfigure(settings cfg = {}) {
    return service_fixture::reconfigure(svc, std::move(cfg));
  }
  auto status() { return service_fixture::status(svc); }
  auto health() { return service_fixture::health(svc); }
  service_state state() { return status().state; }

  // Drives the service to `target` through valid requests only.
  void reach(service_state target) {
    using st = service_state;
    switch (target) {
    case st::initialized:
      return;
    case st::configured:
      CAF_REQUIRE(configure());
      return;
    case st::running:
      CAF_REQUIRE(configure());
      CAF_REQUIRE(start());
      return;
    case st::stopped:
      reach(st::running);
      CAF_REQUIRE(stop());
      return;
    case st::failed:
      s->start = act::fail;
      CAF_REQUIRE(configure());
      CAF_REQUIRE(!start());
      s->start = act::succeed;
      return;
    case st::stopping:
      s->hold_work_on_start = true;
      reach(st::running);
      // Stop waits for the held work; do not run to completion.
      self->send(caf::actor_cast<caf::actor>(svc), stop_atom::value,
                 std::string{"test"}, caf::timespan{1h});
      consume_message();
      return;
    case st::starting:
      CAF_FAIL("starting is transient: on_start runs synchronously");
    }
  }
};

bool names_states(const caf::error& err, service_state current,
                  lifecycle_action requested) {
  auto text = describe(err);
  return text.find(to_string(current)) != std::string::npos &&
         text.find(to_string(requested)) != std::string::npos;
}

} // namespace

// The public handle is lifecycle-only: bus deliveries and the host's timers
// are the host's own (detail::host_plumbing), not in service_actor.
static_assert(caf::detail::tl_index_of<
                service_actor::signatures,
                caf::reacts_to<task_atom, uint64_t, uint64_t>>::value == -1,
              "a service_actor handle must not take the host's timer ticks");
static_assert(caf::detail::tl_index_of<
                service_actor::signatures,
                caf::reacts_to<deliver_batch_atom, bus_batch>>::value == -1,
              "a service_actor handle must not take bus deliveries");
static_assert(caf::detail::tl_index_of<
                detail::host_plumbing::signatures,
                caf::reacts_to<task_atom, uint64_t, uint64_t>>::value != -1,
              "the host takes its timer ticks through its plumbing");

CAF_TEST_FIXTURE_SCOPE(service_host_tests, fixture)

CAF_TEST(a new service is initialized) {
  CAF_CHECK_EQUAL(state(), service_state::initialized);
  CAF_CHECK_EQUAL(status().name, "probe");
  CAF_CHECK_EQUAL(health().overall, health_status::healthy);
}

CAF_TEST(the full happy path visits every state) {
  auto r = configure(settings{config::table{{"value", 7}}});
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::configured);
  CAF_CHECK_EQUAL(s->last_configured_value, 7);
  r = start();
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::running);
  r = reconfigure(settings{config::table{{"value", 8}}});
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::running);
  CAF_CHECK_EQUAL(s->last_configured_value, 8);
  r = stop();
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::stopped);
  CAF_CHECK_EQUAL(s->on_stop_calls, 1);
  // stopped -> configured -> running again counts as a restart.
  r = configure(settings{config::table{{"value", 9}}});
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::configured);
  r = start();
  CAF_REQUIRE(r);
  auto st = status();
  CAF_CHECK_EQUAL(st.restarts, 0u); // configured -> running is a fresh start
  CAF_REQUIRE(stop());
  CAF_REQUIRE(start()); // stopped -> running is a restart
  st = status();
  CAF_CHECK_EQUAL(st.restarts, 1u);
  // History records every change, in order, with the reason.
  std::vector<std::string> seen;
  for (auto& c : st.history)
    seen.push_back(to_string(c.to));
  std::vector<std::string> expected{
    "initialized", "configured", "starting", "running", "stopping",
    "stopped",     "configured", "starting", "running", "stopping",
    "stopped",     "starting",   "running"};
  CAF_CHECK_EQUAL(seen, expected);
}

CAF_TEST(start without configure works unless configuration is required) {
  auto r = start();
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::running);
}

CAF_TEST(start with settings configures and starts in one request) {
  auto r = call<service_state>(start_atom::value,
                               settings{config::table{{"value", 5}}});
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::running);
  CAF_CHECK_EQUAL(s->last_configured_value, 5);
  std::vector<std::string> seen;
  for (auto& c : status().history)
    seen.push_back(to_string(c.to));
  std::vector<std::string> expected{"initialized", "configured", "starting",
                                    "running"};
  CAF_CHECK_EQUAL(seen, expected);
  // A configure that is refused answers its error; the start does not
  // happen (from stopped it would be a restart).
  CAF_REQUIRE(stop());
  s->configure = act::refuse;
  r = call<service_state>(start_atom::value, settings{});
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::hook_refused));
  CAF_CHECK(describe(r.error()).find("on_configure says no") !=
            std::string::npos);
  CAF_CHECK_EQUAL(state(), service_state::stopped);
  // One that fails leaves it failed, not started (start from failed is
  // allowed on its own).
  s->configure = act::fail;
  r = call<service_state>(start_atom::value, settings{});
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::hook_failed));
  CAF_CHECK_EQUAL(state(), service_state::failed);
  CAF_CHECK_EQUAL(status().restarts, 0u);
  // Not valid while running: the configure's transition error.
  s->configure = act::succeed;
  CAF_REQUIRE(start());
  r = call<service_state>(start_atom::value, settings{});
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::invalid_transition));
  CAF_CHECK_EQUAL(state(), service_state::running);
}

CAF_TEST(requires_configuration refuses start with a clear error) {
  s->requires_configuration = true;
  auto r = start();
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::not_configured));
  CAF_CHECK(describe(r.error()).find("requires configuration") !=
            std::string::npos);
  CAF_CHECK_EQUAL(state(), service_state::initialized);
  CAF_REQUIRE(configure());
  CAF_CHECK(start());
}

CAF_TEST(every invalid transition answers a typed error and keeps the actor) {
  using st = service_state;
  using la = lifecycle_action;
  struct row {
    st from;
    la action;
  };
  const row rows[] = {
    {st::initialized, la::stop},   {st::initialized, la::reconfigure},
    {st::configured, la::stop},    {st::running, la::configure},
    {st::running, la::start},      {st::stopped, la::stop},
    {st::failed, la::configure},   {st::failed, la::reconfigure},
    {st::stopping, la::configure}, {st::stopping, la::start},
    {st::stopping, la::stop},      {st::stopping, la::reconfigure},
  };
  for (auto& r : rows) {
    CAF_MESSAGE(to_string(r.action) << " while " << to_string(r.from));
    // A fresh service per row.
    s = std::make_shared<script>();
    svc = spawn_service<probe>(sys, service_options{"probe", "probe"}, s);
    run();
    reach(r.from);
    CAF_REQUIRE_EQUAL(state(), r.from);
    caf::expected<service_state> res = service_state::initialized;
    switch (r.action) {
    case la::configure:
      res = call<service_state>(configure_atom::value, settings{});
      break;
    case la::start:
      res = call<service_state>(start_atom::value);
      break;
    case la::stop:
      res = call<service_state>(stop_atom::value, std::string{"x"},
                                caf::timespan{1s});
      break;
    case la::reconfigure:
      res = call<service_state>(reconfigure_atom::value, settings{});
      break;
    }
    CAF_REQUIRE(!res);
    CAF_CHECK(is(res.error(), errc::invalid_transition));
    CAF_CHECK(names_states(res.error(), r.from, r.action));
    // The actor is alive and still where it was.
    CAF_CHECK_EQUAL(state(), r.from);
    if (r.from == st::stopping)
      s->held.done(); // let the pending stop finish
    run();
  }
}

CAF_TEST(hook refusal keeps the prior state) {
  s->configure = act::refuse;
  auto r = configure();
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::hook_refused));
  CAF_CHECK(describe(r.error()).find("on_configure says no") !=
            std::string::npos);
  CAF_CHECK_EQUAL(state(), service_state::initialized);
  s->configure = act::succeed;
  s->start = act::refuse;
  CAF_REQUIRE(configure());
  r = start();
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::hook_refused));
  CAF_CHECK_EQUAL(state(), service_state::configured);
  s->start = act::succeed;
  CAF_REQUIRE(start());
  s->reconfigure = act::refuse;
  r = reconfigure(settings{config::table{{"value", 99}}});
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::hook_refused));
  CAF_CHECK_EQUAL(state(), service_state::running);
  CAF_CHECK_NOT_EQUAL(s->last_configured_value, 99);
}

CAF_TEST(hook failure moves to failed and calls on_error) {
  CAF_REQUIRE(configure());
  s->start = act::fail;
  auto r = start();
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::hook_failed));
  CAF_CHECK(describe(r.error()).find("on_start broke") != std::string::npos);
  CAF_CHECK_EQUAL(state(), service_state::failed);
  CAF_REQUIRE_EQUAL(s->errors_seen.size(), 1u);
  CAF_CHECK_EQUAL(s->errors_seen[0],
                  "on_start: on_start failed: on_start broke");
  CAF_CHECK_EQUAL(health().overall, health_status::fatal);
  CAF_CHECK_EQUAL(status().errors, 1u);
}

CAF_TEST(an exception in a hook is a failure with its message) {
  s->configure = act::throw_;
  auto r = configure();
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::hook_failed));
  CAF_CHECK(describe(r.error()).find("on_configure exploded") !=
            std::string::npos);
  CAF_CHECK_EQUAL(state(), service_state::failed);
  // Still alive and restartable.
  auto st = start();
  CAF_REQUIRE(st);
  CAF_CHECK_EQUAL(*st, service_state::running);
  CAF_CHECK_EQUAL(status().restarts, 1u);
}

CAF_TEST(a periodic task with a zero period fails on_start not the actor) {
  s->tick_every_zero = true;
  auto r = start();
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::hook_failed));
  CAF_CHECK_EQUAL(state(), service_state::failed);
  CAF_CHECK_EQUAL(s->ticks, 0);
}

CAF_TEST(an exception in on_stop leaves the service failed) {
  CAF_REQUIRE(start());
  s->stop = act::throw_;
  auto r = stop();
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::hook_failed));
  CAF_CHECK_EQUAL(state(), service_state::failed);
}

CAF_TEST(on_stop refusal cannot veto a stop) {
  CAF_REQUIRE(start());
  s->stop = act::refuse;
  auto r = stop();
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, service_state::stopped);
  CAF_CHECK_EQUAL(status().errors, 1u);
}

CAF_TEST(on_error may recover a failure to stopped) {
  s->error = act::succeed;
  s->start = act::fail;
  auto r = start();
  CAF_REQUIRE(!r);
  CAF_CHECK_EQUAL(state(), service_state::stopped);
  CAF_CHECK_EQUAL(health().overall, health_status::degraded);
}

CAF_TEST(domain requests are answered only while running) {
  auto r = call<int>(21);
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::not_running));
  CAF_CHECK(describe(r.error()).find("initialized") != std::string::npos);
  CAF_REQUIRE(start());
  r = call<int>(21);
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, 42);
  CAF_CHECK_EQUAL(status().messages_in, 1u);
  CAF_REQUIRE(stop());
  r = call<int>(21);
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::not_running));
}

CAF_TEST(async domain messages while not running are counted as dropped) {
  auto hdl = caf::actor_cast<caf::actor>(svc);
  self->send(hdl, std::string{"early"});
  run();
  CAF_CHECK(s->async_seen.empty());
  CAF_CHECK_EQUAL(status().messages_dropped, 1u);
  CAF_REQUIRE(start());
  self->send(hdl, std::string{"on time"});
  run();
  CAF_REQUIRE_EQUAL(s->async_seen.size(), 1u);
  CAF_CHECK_EQUAL(s->async_seen[0], "on time");
  CAF_CHECK_EQUAL(status().messages_dropped, 1u);
  CAF_CHECK_EQUAL(status().messages_in, 1u);
}

CAF_TEST(messages outside the interface are counted as dropped) {
  CAF_REQUIRE(start());
  auto hdl = caf::actor_cast<caf::actor>(svc);
  self->send(hdl, 1.5f, 2.5f);
  run();
  CAF_CHECK_EQUAL(status().messages_dropped, 1u);
  CAF_CHECK_EQUAL(state(), service_state::running);
}

CAF_TEST(an exception in a domain handler fails the service not the actor) {
  CAF_REQUIRE(start());
  auto r = call<int>(1.5);
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::handler_failed));
  CAF_CHECK_EQUAL(state(), service_state::failed);
  CAF_CHECK(status().last_error.find("handler bug") != std::string::npos);
  CAF_CHECK(start()); // restartable
}

CAF_TEST(tasks run while running and never after stop) {
  s->tick_every_second = true;
  CAF_REQUIRE(start());
  CAF_CHECK_EQUAL(s->ticks, 0);
  advance_time(1s);
  consume_messages();
  CAF_CHECK_EQUAL(s->ticks, 1);
  advance_time(1s);
  consume_messages();
  advance_time(1s);
  consume_messages();
  CAF_CHECK_EQUAL(s->ticks, 3);
  CAF_REQUIRE(stop());
  // Timers already in the clock fire, but no tick runs after stopped.
  advance_time(10s);
  consume_messages();
  CAF_CHECK_EQUAL(trigger_timeouts(), 0u);
  run();
  CAF_CHECK_EQUAL(s->ticks, 3);
  // A restart registers the task anew; exactly one tick per second again.
  CAF_REQUIRE(start());
  advance_time(1s);
  consume_messages();
  CAF_CHECK_EQUAL(s->ticks, 4);
  CAF_REQUIRE(stop());
}

CAF_TEST(a tracked task runs while a stop waits and never after it) {
  s->tick_tracked = true;
  s->hold_work_on_start = true;
  CAF_REQUIRE(start());
  advance_time(1s);
  consume_messages();
  CAF_CHECK_EQUAL(s->ticks, 1);
  CAF_CHECK_EQUAL(s->tracked_ticks, 1);
  auto rh = begin_stop(svc, 10s);
  CAF_CHECK_EQUAL(status().state, service_state::stopping);
  // Stopping: the plain task ended, the tracked one goes on, and its
  // third run ends the work and with it the stop.
  advance_time(1s);
  consume_messages();
  CAF_CHECK_EQUAL(s->ticks, 1);
  CAF_CHECK_EQUAL(s->tracked_ticks, 2);
  CAF_CHECK_EQUAL(status().state, service_state::stopping);
  advance_time(1s);
  consume_messages();
  CAF_CHECK_EQUAL(s->tracked_ticks, 3);
  CAF_CHECK_EQUAL(stop_answer(rh), service_state::stopped);
  CAF_CHECK(!status().stopped_hard);
  // Stopped: neither runs again.
  advance_time(10s);
  consume_messages();
  run();
  CAF_CHECK_EQUAL(s->ticks, 1);
  CAF_CHECK_EQUAL(s->tracked_ticks, 3);
}

CAF_TEST(without tracked work a tracked task ends with the stop at once) {
  s->tick_tracked = true;
  CAF_REQUIRE(start());
  CAF_REQUIRE(stop());
  advance_time(5s);
  consume_messages();
  run();
  CAF_CHECK_EQUAL(s->tracked_ticks, 0);
}

CAF_TEST(a pending timer does not keep a stopped service alive) {
  s->tick_every_second = true;
  CAF_REQUIRE(start());
  CAF_REQUIRE(stop());
  // The next tick is still in the clock; once the last handle goes, the
  // service goes with it (CAF's own delayed messages would hold it).
  caf::weak_actor_ptr alive{caf::actor_cast<caf::strong_actor_ptr>(svc).get()};
  svc = nullptr;
  consume_messages();
  CAF_CHECK(alive.lock() == nullptr);
  // The tick comes due and is dropped; nothing runs.
  advance_time(1s);
  consume_messages();
  CAF_CHECK_EQUAL(s->ticks, 0);
}

CAF_TEST(a listener that does not take state changes cannot kill the service) {
  // Its default handler answers each change with an error, which comes back
  // to the service as an asynchronous message; that is logged, not fatal.
  auto deaf = sys.spawn([]() -> caf::behavior { return {[](int) {}}; });
  self->send(caf::actor_cast<caf::actor>(svc), subscribe_state_atom::value,
             deaf);
  run();
  CAF_REQUIRE(start());
  CAF_REQUIRE(stop());
  run();
  CAF_CHECK_EQUAL(status().state, service_state::stopped);
  CAF_CHECK(start());
  self->send_exit(deaf, caf::exit_reason::user_shutdown);
}

CAF_TEST(a fatal error moves to failed and notifies state listeners) {
  CAF_REQUIRE(start());
  auto hdl = caf::actor_cast<caf::actor>(svc);
  self->send(hdl, subscribe_state_atom::value,
             caf::actor_cast<caf::actor>(self));
  run();
  CAF_REQUIRE(stop());
  // Drain the notifications for the stop.
  std::vector<std::string> changes;
  auto drain = [&] {
    for (;;) {
      bool got = false;
      self->receive(
        [&](state_changed_atom, const state_change& c) {
          changes.push_back(to_string(c.from) + "->" + to_string(c.to));
          got = true;
        },
        caf::after(std::chrono::seconds(0)) >> [] {});
      if (!got)
        return;
    }
  };
  drain();
  std::vector<std::string> expected{"running->stopping", "stopping->stopped"};
  CAF_CHECK_EQUAL(changes, expected);
  changes.clear();
  s->start = act::succeed;
  CAF_REQUIRE(start());
  self->send(hdl, std::string{"fatal:disk gone"});
  run();
  drain();
  expected = {"stopped->starting", "starting->running", "running->failed"};
  CAF_CHECK_EQUAL(changes, expected);
  CAF_CHECK_EQUAL(health().overall, health_status::fatal);
  CAF_CHECK_EQUAL(status().last_error, "disk gone");
  CAF_REQUIRE_EQUAL(s->errors_seen.size(), 1u);
  CAF_CHECK_EQUAL(s->errors_seen[0], "record_error: disk gone");
}

CAF_TEST(a fatal error recorded inside a hook fails that transition) {
  s->fatal_in_configure = "no config store";
  auto r = configure(settings{});
  CAF_REQUIRE(!r);
  CAF_CHECK(is(r.error(), errc::hook_failed));
  CAF_CHECK_EQUAL(state(), service_state::failed);
  CAF_CHECK_EQUAL(status().last_error, "no config store");
  s->fatal_in_configure.clear();
  s->fatal_in_start = "port taken";
  auto st = start(); // from failed: a restart whose on_start fails
  CAF_REQUIRE(!st);
  CAF_CHECK(is(st.error(), errc::hook_failed));
  CAF_CHECK_EQUAL(state(), service_state::failed);
  CAF_CHECK_EQUAL(status().last_error, "port taken");
  std::vector<std::string> seen{"record_error: no config store",
                                "record_error: port taken"};
  CAF_CHECK_EQUAL(s->errors_seen, seen);
  s->fatal_in_start.clear();
  CAF_REQUIRE(start());
  s->fatal_in_stop = "flush lost";
  CAF_CHECK(!stop());
  CAF_CHECK_EQUAL(state(), service_state::failed);
  CAF_CHECK_EQUAL(status().last_error, "flush lost");
}

CAF_TEST(non - fatal errors degrade health until reset) {
  CAF_REQUIRE(start());
  auto hdl = caf::actor_cast<caf::actor>(svc);
  self->send(hdl, std::string{"minor:slow disk"});
  run();
  auto st = status();
  CAF_CHECK_EQUAL(st.state, service_state::running);
  CAF_CHECK_EQUAL(st.errors, 1u);
  CAF_CHECK_EQUAL(st.last_error, "slow disk");
  auto h = health();
  CAF_CHECK_EQUAL(h.overall, health_status::degraded);
  CAF_REQUIRE_EQUAL(h.checks.size(), 1u);
  CAF_CHECK_EQUAL(h.checks[0].name, "errors");
  CAF_CHECK_EQUAL(h.checks[0].message, "slow disk");
  self->send(hdl, std::string{"reset"});
  run();
  CAF_CHECK_EQUAL(status().errors, 0u);
  CAF_CHECK_EQUAL(health().overall, health_status::healthy);
}

CAF_TEST(named health checks roll up to the worst) {
  CAF_REQUIRE(start());
  auto hdl = caf::actor_cast<caf::actor>(svc);
  self->send(hdl, std::string{"minor:hiccup"});
  self->send(hdl, std::string{"unhealthy:database"});
  run();
  auto h = health();
  CAF_CHECK_EQUAL(h.overall, health_status::unhealthy);
  CAF_CHECK_EQUAL(h.checks.size(), 2u);
  self->send(hdl, std::string{"healthy:database"});
  run();
  CAF_CHECK_EQUAL(health().overall, health_status::degraded);
}

CAF_TEST(stop waits for work in flight until it finishes) {
  s->hold_work_on_start = true;
  CAF_REQUIRE(start());
  CAF_CHECK_EQUAL(status().in_flight, 1u);
  auto rh = begin_stop(svc, 10s);
  // Not answered yet: still stopping, domain messages refused.
  CAF_CHECK_EQUAL(state(), service_state::stopping);
  auto r = call<int>(1);
  CAF_CHECK(!r && is(r.error(), errc::not_running));
  // Finishing the work completes the stop.
  s->held.done();
  run();
  auto answered = stop_answer(rh);
  CAF_CHECK_EQUAL(answered, service_state::stopped);
  CAF_CHECK(!status().stopped_hard);
}

CAF_TEST(stop completes hard when the deadline passes) {
  s->hold_work_on_start = true;
  CAF_REQUIRE(start());
  auto rh = begin_stop(svc, 2s);
  CAF_CHECK_EQUAL(state(), service_state::stopping);
  advance_time(2s);
  run();
  auto answered = stop_answer(rh);
  CAF_CHECK_EQUAL(answered, service_state::stopped);
  auto st = status();
  CAF_CHECK_EQUAL(st.state, service_state::stopped);
  CAF_CHECK(st.stopped_hard);
  CAF_CHECK_EQUAL(st.in_flight, 1u);
  // Late completion of the work is harmless.
  s->held.done();
  run();
  CAF_CHECK_EQUAL(state(), service_state::stopped);
}

CAF_TEST_FIXTURE_SCOPE_END()
