// In-process lifecycle scenarios: what a service's whole life costs in time
// (spawn, configure, start, stop, exit) and in heap memory, beside a raw
// CAF actor's, in the same run, alternating repetitions (see report.hpp
// `alternate`).
//
// Each measurement builds its own actor system and tears it down
// (actor_setup.hpp `in_fresh_system`). Only the lifecycles are timed, never
// set-up or teardown.

#include "scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actor_setup.hpp"
#include "local_actors.hpp"
#include "measure.hpp"

namespace troupe::bench {

namespace {

using std::chrono::seconds;

// A service with nothing of its own: what the lifecycle costs by itself.
class idle_service : public service {};

struct churn_state {
  uint64_t to_launch = 0;
  uint64_t to_finish = 0;
  std::function<void()> launch;
  // Actors launched and not yet down; killed if the driver ends early, so
  // that a failed run cannot leave actors behind.
  std::unordered_map<caf::actor_id, caf::actor> live;

  ~churn_state() {
    for (auto& kv : live)
      caf::anon_send_exit(kv.second, caf::exit_reason::user_shutdown);
  }
};

// Runs `total` actors through their whole life, at most `window` at a time:
// spawn, monitor, (for services: configure, start, stop,) exit, down.
caf::behavior churn_driver(caf::stateful_actor<churn_state>* self,
                           uint64_t total, uint64_t window, bool services,
                           const std::shared_ptr<countdown>& done) {
  auto fail = [self, done](std::string why) {
    done->abort(std::move(why));
    self->quit(caf::exit_reason::user_shutdown);
  };
  auto on_error = [self, fail](caf::error& err) {
    fail(self->system().render(err));
  };
  // Continues with `then` when `got` is the state `want`, fails otherwise.
  auto expect = [fail](service_state got, service_state want,
                       const std::function<void()>& then) {
    if (got == want)
      then();
    else
      fail("expected state " + to_string(want) + ", got " + to_string(got));
  };
  auto& st = self->state;
  st.to_launch = total;
  st.to_finish = total;
  st.launch = [=] {
    --self->state.to_launch;
    if (!services) {
      auto h = self->spawn(raw_sink<int>);
      self->monitor(h);
      self->state.live.emplace(h.id(), h);
      self->send_exit(h, caf::exit_reason::user_shutdown);
      return;
    }
    auto opts = bench_options("idle");
    opts.launch_on = self->context(); // as self->spawn, as a supervisor does
    auto h = spawn_service<idle_service>(self->system(), std::move(opts));
    self->monitor(h);
    self->state.live.emplace(h->id(), caf::actor_cast<caf::actor>(h));
    auto stop = [=] {
      self
        ->request(h, caf::infinite, stop_atom::value, std::string{"bench"},
                  caf::timespan{seconds{5}})
        .then(
          [=](service_state s) {
            expect(s, service_state::stopped, [=] {
              self->send_exit(h, caf::exit_reason::user_shutdown);
            });
          },
          on_error);
    };
    // Configure and start in one request, as a supervisor starts a child.
    self->request(h, caf::infinite, start_atom::value, settings{})
      .then([=](service_state s) { expect(s, service_state::running, stop); },
            on_error);
  };
  self->set_down_handler([self, done, fail](caf::down_msg& dm) {
    auto& st = self->state;
    st.live.erase(dm.source.id());
    if (dm.reason != caf::exit_reason::user_shutdown) {
      fail("an actor went down with " + self->system().render(dm.reason));
      return;
    }
    if (st.to_launch > 0)
      st.launch();
    if (--st.to_finish == 0) {
      done->arrive();
      self->quit();
    }
  });
  for (uint64_t i = 0; i < std::min(total, window); ++i)
    st.launch();
  // Only down messages drive the driver; this keeps it alive meanwhile.
  return {[self](count_atom) { return self->state.to_finish; }};
}

// Whole lifecycles per second of idle services (`Services`) or raw actors.
template <bool Services>
double churn(const run_options& opts, uint64_t total) {
  return in_fresh_system(opts.threads, [&](auto& sys, auto& guard) {
    auto done = std::make_shared<countdown>(1);
    stopwatch sw;
    guard.add(sys.spawn(churn_driver, total, uint64_t{64}, Services, done));
    done->wait(Services ? "service lifecycles" : "raw spawn/exit");
    return static_cast<double>(total) / sw.seconds();
  });
}

// Heap bytes per live actor: heap in use with `k` idle actors (raw) or
// running services (troupe) minus heap in use before spawning them, divided
// by `k`. (VmRSS deltas, used before, stayed flat now and then when new
// actors reused memory that was already resident: bench.smoke failed.)
template <bool Services>
double heap_per_actor(const run_options& opts, uint64_t k) {
  return in_fresh_system(opts.threads, [&](auto& sys, auto& guard) {
    guard.reserve(k);
    std::vector<caf::actor> raw;
    std::vector<service_actor> svcs;
    raw.reserve(k);
    svcs.reserve(k);
    auto before = live_heap_bytes();
    if (Services) {
      for (uint64_t i = 0; i < k; ++i)
        svcs.push_back(guard.add(caf::actor_cast<service_actor>(
          spawn_service<idle_service>(sys, bench_options("idle")))));
      start_all(sys, svcs);
    } else {
      for (uint64_t i = 0; i < k; ++i)
        raw.push_back(guard.add(sys.spawn(raw_sink<int>)));
      // One request each, so every actor has been initialized and has run.
      ask_all<uint64_t>(sys, raw, "count", count_atom::value);
    }
    auto after = live_heap_bytes();
    if (after <= before)
      throw std::runtime_error("heap in use did not grow while " +
                               std::to_string(k) + " actors were alive");
    return static_cast<double>(after - before) / static_cast<double>(k);
  });
}

} // namespace

std::vector<scenario> lifecycle_scenarios() {
  return {
    paired({"lifecycle",
            "spawn+configure+start+stop+exit of idle services vs raw actor "
            "spawn+exit, 64 in flight (actors/s)",
            "actors/s", churn<false>, churn<true>, 5'000, 100'000,
            " whole lifecycles, 64 at a time"}),
    paired({"lifecycle.memory",
            "heap bytes per live actor: running idle services vs idle "
            "raw stateful actors (heap-in-use delta / count)",
            "bytes/actor", heap_per_actor<false>, heap_per_actor<true>, 5'000,
            20'000, " actors alive at once", false}),
  };
}

} // namespace troupe::bench
