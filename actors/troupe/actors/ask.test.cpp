#define CAF_SUITE ask

// troupe::ask and troupe::ask_all against a real (threaded) actor system:
// the blocking helpers are for threads that are not actors, so the test
// coordinator does not fit them.

#include "troupe/actors/ask.hpp"

#include <atomic>
#include <future>
#include <memory>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/test/unit_test.hpp>

#include "troupe/actors/init.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// Doubles a number; never answers 13; answers 7 with an error.
caf::behavior doubler(caf::event_based_actor* self) {
  return {[self](int x) -> caf::result<int> {
    if (x == 13)
      return self->make_response_promise<int>(); // held: never answered
    if (x == 7)
      return make_error(errc::invalid_settings, "seven");
    return x * 2;
  }};
}

// Counts what it is asked and never answers.
caf::behavior mute(caf::event_based_actor* self,
                   const std::shared_ptr<std::atomic<int>>& asked) {
  return {[self, asked](int) {
    ++*asked;
    return self->make_response_promise<int>();
  }};
}

// Answers with what it was created with, whatever it is asked.
caf::behavior echo_of(caf::event_based_actor*, int n) {
  return {[n](int) { return n; }};
}

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  fixture() {
    init_actor_system_config(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(ask_tests, fixture)

CAF_TEST(ask answers errors and times out) {
  auto d = sys->spawn(doubler);
  CAF_CHECK_EQUAL(ask<int>(*sys, d, 1s, 21), 42);
  auto bad = ask<int>(*sys, d, 1s, 7);
  CAF_REQUIRE(!bad);
  CAF_CHECK(is(bad.error(), errc::invalid_settings));
  auto late = ask<int>(*sys, d, 50ms, 13);
  CAF_REQUIRE(!late);
  CAF_CHECK_EQUAL(late.error(), caf::sec::request_timeout);
  auto none = ask<int>(*sys, caf::actor{}, 1s, 1);
  CAF_REQUIRE(!none);
  CAF_CHECK(is(none.error(), errc::not_running));
  caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
}

CAF_TEST(ask_all answers every handle in order beyond its window) {
  // 600 handles: more than the 256 in flight at a time.
  std::vector<caf::actor> hs;
  hs.reserve(601);
  for (int i = 0; i < 600; ++i)
    hs.push_back(sys->spawn(echo_of, i));
  hs[100] = caf::actor{}; // no actor
  auto d = sys->spawn(doubler);
  hs.push_back(d);
  auto out = ask_all<int>(*sys, hs, 30s, 21);
  CAF_REQUIRE_EQUAL(out.size(), 601u);
  for (int i = 0; i < 600; ++i) {
    if (i == 100) {
      CAF_REQUIRE(!out[i]);
      CAF_CHECK(is(out[i].error(), errc::not_running));
    } else {
      CAF_REQUIRE(out[i]);
      CAF_CHECK_EQUAL(*out[i], i);
    }
  }
  CAF_CHECK(out[600] && *out[600] == 42);
  // Each request has its own error: the doubler refuses 7, holds 13.
  auto bad = ask_all<int>(*sys, std::vector<caf::actor>{d}, 1s, 7);
  CAF_REQUIRE_EQUAL(bad.size(), 1u);
  CAF_CHECK(!bad[0] && is(bad[0].error(), errc::invalid_settings));
  auto late = ask_all<int>(*sys, std::vector<caf::actor>{d, hs[0]}, 1s, 13);
  CAF_REQUIRE_EQUAL(late.size(), 2u);
  CAF_CHECK(!late[0] && late[0].error() == caf::sec::request_timeout);
  CAF_CHECK(late[1] && *late[1] == 0);
  for (auto& h : hs)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
}

CAF_TEST(ask_all waits at most its timeout in all) {
  // 1,000 actors that never answer: the first 256 are asked and time out
  // at the deadline; the others are never asked (else the call would take
  // four timeouts, one per window).
  auto asked = std::make_shared<std::atomic<int>>(0);
  std::vector<caf::actor> hs;
  hs.reserve(1000);
  for (int i = 0; i < 1000; ++i)
    hs.push_back(sys->spawn(mute, asked));
  auto out = ask_all<int>(*sys, hs, 300ms, 1);
  CAF_REQUIRE_EQUAL(out.size(), 1000u);
  for (auto& x : out)
    CAF_CHECK(!x && x.error() == caf::sec::request_timeout);
  CAF_CHECK_EQUAL(asked->load(), 256);
  for (auto& h : hs)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
}

CAF_TEST(ask_all wakes its caller when its actor is killed) {
  // A silent actor hands over who asked it (the ask_all actor); the test
  // kills that one while the caller waits with a deadline of an hour: the
  // call returns, the answer request_timeout.
  std::promise<caf::strong_actor_ptr> asker;
  auto silent = sys->spawn([&asker](caf::event_based_actor* self) {
    return caf::behavior{[self, &asker](int) {
      asker.set_value(self->current_sender());
      return self->make_response_promise<int>();
    }};
  });
  auto who = asker.get_future();
  std::vector<caf::expected<int>> out;
  std::thread caller{
    [&] { out = ask_all<int>(*sys, std::vector<caf::actor>{silent}, 1h, 1); }};
  caf::anon_send_exit(caf::actor_cast<caf::actor>(who.get()),
                      caf::exit_reason::kill);
  caller.join();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(!out[0] && out[0].error() == caf::sec::request_timeout);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

CAF_TEST_FIXTURE_SCOPE_END()
