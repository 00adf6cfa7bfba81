#pragma once

// Deterministic tests of services on CAF's test coordinator. Include after
// `#define CAF_SUITE ...` in a test translation unit; one translation unit of
// the test binary must include <caf/test/unit_test_impl.hpp>.

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/test/dsl.hpp>

#include "troupe/actors/errc.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/service_actor.hpp"

namespace troupe::testing {

/// An actor system config with troupe's error category registered.
struct test_config : caf::actor_system_config {
  test_config() { init_actor_system_config(*this); }
};

/// A fixture with a deterministic scheduler and helpers that drive services
/// through requests. Time only moves when the test advances it
/// (`advance_time`), so periodic tasks and deadlines are exact.
///
/// ```
/// CAF_TEST_FIXTURE_SCOPE(my_tests, troupe::testing::service_fixture)
/// CAF_TEST(ticks once per second) {
///   auto svc = troupe::spawn_service<ticker>(sys, {"t", "ticker"});
///   CAF_REQUIRE(start(svc));
///   advance_time(std::chrono::seconds{1});
///   consume_messages();
///   CAF_CHECK_EQUAL(status(svc).messages_out, 1u);
/// }
/// CAF_TEST_FIXTURE_SCOPE_END()
/// ```
struct service_fixture : test_coordinator_fixture<test_config> {
  /// Drops pending timers before CAF's fixture tears down: its destructor
  /// fires timers until none are left, and a periodic task always re-arms.
  ~service_fixture() override {
    for (int i = 0; i < 2; ++i) {
      consume_messages();
      sched.clock().cancel_all();
    }
  }

  /// Sends a request to `hdl`, lets every actor process its mailbox (without
  /// firing timers) and returns the answer or the error.
  template <class T, class Handle, class... Ts>
  caf::expected<T> call(const Handle& hdl, Ts... xs) {
    auto dest = caf::actor_cast<caf::actor>(hdl);
    auto rh = self->request(dest, caf::infinite, std::move(xs)...);
    consume_messages();
    caf::expected<T> result{caf::make_error(caf::sec::request_timeout)};
    rh.receive([&](T& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  template <class Handle>
  caf::expected<service_state> configure(const Handle& hdl, settings cfg = {}) {
    return call<service_state>(hdl, configure_atom::value, std::move(cfg));
  }

  template <class Handle>
  caf::expected<service_state> start(const Handle& hdl) {
    return call<service_state>(hdl, start_atom::value);
  }

  template <class Handle>
  caf::expected<service_state>
  stop(const Handle& hdl, caf::timespan deadline = std::chrono::seconds{5}) {
    return call<service_state>(hdl, stop_atom::value, std::string{"test"},
                               deadline);
  }

  /// Sends a stop that may wait (for tracked work) and lets every actor
  /// handle its mailbox without firing timers, so that its deadline does
  /// not pass. Read the answer with `stop_answer` once the stop can have
  /// ended.
  template <class Handle>
  auto begin_stop(const Handle& hdl, caf::timespan deadline) {
    auto rh = self->request(caf::actor_cast<caf::actor>(hdl), caf::infinite,
                            stop_atom::value, std::string{"test"}, deadline);
    consume_messages();
    return rh;
  }

  /// The state a stop from `begin_stop` answered; an error fails the test.
  template <class ResponseHandle>
  service_state stop_answer(ResponseHandle& rh) {
    std::optional<service_state> result;
    rh.receive([&](service_state st) { result = st; },
               [&](caf::error& err) {
                 CAF_FAIL("stop answered an error: " << describe(err));
               });
    if (!result)
      CAF_FAIL("the stop was not answered");
    return *result;
  }

  template <class Handle>
  caf::expected<service_state> reconfigure(const Handle& hdl,
                                           settings cfg = {}) {
    return call<service_state>(hdl, reconfigure_atom::value, std::move(cfg));
  }

  /// Returns the status of `hdl`, failing the test when it does not answer.
  template <class Handle>
  service_status status(const Handle& hdl) {
    auto st = call<service_status>(hdl, status_atom::value);
    if (!st)
      CAF_FAIL("status failed: " << describe(st.error()));
    return std::move(*st);
  }

  /// Returns the health of `hdl`, failing the test when it does not answer.
  template <class Handle>
  health_report health(const Handle& hdl) {
    auto h = call<health_report>(hdl, health_atom::value);
    if (!h)
      CAF_FAIL("health failed: " << describe(h.error()));
    return std::move(*h);
  }
};

} // namespace troupe::testing
