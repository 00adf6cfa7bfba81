#define CAF_SUITE weak_timer

#include "troupe/actors/detail/weak_timer.hpp"

#include <chrono>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/test/unit_test.hpp>

using namespace std::chrono_literals;
using troupe::detail::due_for;
using troupe::detail::pending_timers;
using troupe::detail::send_later;

namespace {

using time_point = std::chrono::steady_clock::time_point;

time_point at(std::chrono::nanoseconds since_epoch) {
  return time_point{
    std::chrono::duration_cast<time_point::duration>(since_epoch)};
}

// Forwards every int it receives to `sink`, so a scoped actor can wait for
// the deliveries in order.
caf::behavior relay(caf::event_based_actor*, const caf::actor& sink) {
  return {[sink](int x) { caf::anon_send(sink, x); }};
}

} // namespace

CAF_TEST(short delays are exact and long ones round up by at most one percent) {
  auto now = at(123'456'789ns);
  CAF_CHECK(due_for(now, 5ms) == now + 5ms);
  CAF_CHECK(due_for(now, 0ns) == now);
  CAF_CHECK(due_for(now, -3s) == now); // a past deadline is due at once
  // 100 ms or more: the next whole millisecond.
  CAF_CHECK(due_for(now, 100ms) == at(224ms));
  // A second or more: the next multiple of 10 ms, so that every task with
  // a period of one second wakes the timer at the same moments.
  CAF_CHECK(due_for(now, 1s) == at(1130ms));
  CAF_CHECK(due_for(at(1s), 1s) == at(2s)); // already on the grid: unchanged
  // Ten seconds or more: the next multiple of 100 ms.
  CAF_CHECK(due_for(now, 10s) == at(10200ms));
  for (auto delay : {100ms, 250ms, 999ms, 1000ms, 2000ms, 10000ms, 60000ms}) {
    auto due = due_for(now, delay);
    CAF_CHECK(due >= now + delay);
    CAF_CHECK(due - (now + delay) <= delay / 100);
  }
  // Hours and beyond: no overflow, still in the future.
  CAF_CHECK(due_for(now, std::chrono::nanoseconds::max()) > now + 24h);
}

CAF_TEST(messages arrive in deadline order and ties in scheduling order) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto r = sys.spawn(relay, caf::actor{self});
  auto ptr = caf::actor_cast<caf::strong_actor_ptr>(r);
  send_later(sys, ptr, 60ms, caf::make_message(3));
  send_later(sys, ptr, 20ms, caf::make_message(1));
  send_later(sys, ptr, 40ms, caf::make_message(2));
  send_later(sys, ptr, 0ms, caf::make_message(0));
  // Same deadline (both round to the same 10 ms step): scheduling order.
  auto t = std::chrono::steady_clock::now();
  auto due = due_for(t, 1s);
  send_later(sys, ptr, due - std::chrono::steady_clock::now(),
             caf::make_message(4));
  send_later(sys, ptr, due - std::chrono::steady_clock::now(),
             caf::make_message(5));
  std::vector<int> got;
  for (int i = 0; i < 6; ++i)
    self->receive([&](int x) { got.push_back(x); },
                  caf::after(10s) >> [&] { CAF_FAIL("no timer fired"); });
  CAF_CHECK_EQUAL(got, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  CAF_CHECK_EQUAL(pending_timers(sys), 0u);
  self->send_exit(r, caf::exit_reason::user_shutdown);
}

CAF_TEST(a pending message does not keep its receiver alive) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::weak_actor_ptr alive;
  {
    caf::scoped_actor self{sys};
    auto r = sys.spawn([]() -> caf::behavior { return {[](int) {}}; });
    alive =
      caf::weak_actor_ptr{caf::actor_cast<caf::strong_actor_ptr>(r).get()};
    send_later(sys, caf::actor_cast<caf::strong_actor_ptr>(r), 1h,
               caf::make_message(1));
    CAF_CHECK_EQUAL(pending_timers(sys), 1u);
    self->send_exit(r, caf::exit_reason::user_shutdown);
    self->wait_for(r);
  }
  // The actor is gone although its message waits for an hour; the system
  // ends at once (its destructor stops the timer thread).
  for (int i = 0; i < 100 && alive.lock() != nullptr; ++i)
    std::this_thread::sleep_for(10ms);
  CAF_CHECK(alive.lock() == nullptr);
}

CAF_TEST(one timer serves many receivers in bursts) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::vector<caf::actor> relays;
  for (int i = 0; i < 1000; ++i) {
    relays.push_back(sys.spawn(relay, caf::actor{self}));
    send_later(sys, caf::actor_cast<caf::strong_actor_ptr>(relays.back()), 1s,
               caf::make_message(i));
  }
  CAF_CHECK(pending_timers(sys) <= 1000u);
  int n = 0;
  for (; n < 1000; ++n)
    self->receive([](int) {},
                  caf::after(10s) >> [&] { CAF_FAIL("timers missing"); });
  CAF_CHECK_EQUAL(n, 1000);
  CAF_CHECK_EQUAL(pending_timers(sys), 0u);
  for (auto& r : relays)
    self->send_exit(r, caf::exit_reason::user_shutdown);
}
