// In-process scenarios, 1 -> 1 messages and request / response: every figure
// is a running service's domain handler beside the same work done by a plain
// CAF actor, in the same run, alternating repetitions (see report.hpp
// `alternate`).
//
// Each measurement builds its own actor system and tears it down
// (actor_setup.hpp `in_fresh_system`). Only the message flow is timed, never
// set-up or teardown.

#include "scenarios.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/config.hpp>
#include <caf/scoped_actor.hpp>

#include "actor_setup.hpp"
#include "local_actors.hpp"
#include "measure.hpp"

namespace troupe::bench {

namespace {

using std::chrono::seconds;

// Measures `measure(sys, handle)` against a raw actor spawned from
// `raw_fun` and against a running service `Service` named `service_name`,
// each in a fresh actor system.
template <class Service, class RawFun, class Measure>
result raw_vs_service(const run_options& opts, std::string name,
                      std::string unit, std::string workload, RawFun raw_fun,
                      const std::string& service_name, Measure measure,
                      bool higher_is_better = true) {
  return compare(
    opts, std::move(name), std::move(unit), std::move(workload),
    [&] {
      return in_fresh_system(opts.threads, [&](auto& sys, auto& guard) {
        return measure(sys, guard.add(sys.spawn(raw_fun)));
      });
    },
    [&] {
      return in_fresh_system(opts.threads, [&](auto& sys, auto& guard) {
        auto h =
          guard.add(spawn_service<Service>(sys, bench_options(service_name)));
        start_all(sys, std::vector{h});
        return measure(sys, h);
      });
    },
    higher_is_better);
}

// -- 1 -> 1 messages ----------------------------------------------------------

template <class T>
class sink_service : public service {
public:
  using interface =
    service_actor::extend<caf::reacts_to<T>,
                          caf::replies_to<count_atom>::with<uint64_t>>;

  auto handlers() {
    return std::make_tuple([this](const T&) { ++received_; },
                           [this](count_atom) { return received_; });
  }

private:
  uint64_t received_ = 0;
};

// Sends `n` copies of `payload` from one scoped actor, then asks for the
// count: messages from one sender arrive in order, so the answer comes after
// the last of them was handled.
template <class Handle, class T>
double send_burst(caf::actor_system& sys, const Handle& sink, uint64_t n,
                  const T& payload) {
  caf::scoped_actor self{sys};
  stopwatch sw;
  for (uint64_t i = 0; i < n; ++i)
    self->send(sink, payload);
  uint64_t got = 0;
  std::string err;
  self->request(sink, seconds{120}, count_atom::value)
    .receive([&](uint64_t x) { got = x; },
             [&](caf::error& e) { err = sys.render(e); });
  auto secs = sw.seconds();
  if (!err.empty())
    throw std::runtime_error("count request failed: " + err);
  expect_count("messages counted by the sink", n, got);
  return static_cast<double>(n) / secs;
}

template <class T>
result one_to_one(const run_options& opts, std::string name, T payload) {
  uint64_t n = opts.quick ? 200'000 : 2'000'000;
  return raw_vs_service<sink_service<T>>(
    opts, std::move(name), "msg/s",
    std::to_string(n) + " messages, 1 sender -> 1 receiver", raw_sink<T>,
    "sink", [&](auto& sys, const auto& sink) {
      return send_burst(sys, sink, n, payload);
    });
}

// -- request / response -------------------------------------------------------

caf::behavior raw_echo() {
  return {[](int x) { return x; }};
}

class echo_service : public service {
public:
  using interface = service_actor::extend<caf::replies_to<int>::with<int>>;

  auto handlers() {
    return std::make_tuple([](int x) { return x; });
  }
};

struct latency_state {
  uint64_t left = 0;
  std::function<void()> next;
};

// Sends `n` requests one after the other (the next when the previous one is
// answered) and records each round trip in microseconds.
template <class Handle>
void latency_client(caf::stateful_actor<latency_state>* self, Handle target,
                    uint64_t n, std::shared_ptr<std::vector<double>> out,
                    std::shared_ptr<countdown> done) {
  out->reserve(n);
  self->state.left = n;
  self->state.next = [self, target, out = std::move(out),
                      done = std::move(done)] {
    auto& st = self->state;
    if (st.left == 0) {
      done->arrive();
      return; // nothing pending: the actor terminates
    }
    auto x = static_cast<int>(--st.left);
    auto t0 = std::chrono::steady_clock::now();
    self->request(target, caf::infinite, x)
      .then(
        [self, x, t0, out, done](int y) {
          out->push_back(std::chrono::duration<double, std::micro>(
                           std::chrono::steady_clock::now() - t0)
                           .count());
          if (y != x) {
            done->abort("echo answered " + std::to_string(y) + " to " +
                        std::to_string(x));
            return;
          }
          self->state.next();
        },
        [self, done](caf::error& err) {
          done->abort(self->system().render(err));
        });
  };
  self->state.next();
}

template <class Handle>
double request_percentile(caf::actor_system& sys, const Handle& target,
                          uint64_t n, double p) {
  auto out = std::make_shared<std::vector<double>>();
  auto done = std::make_shared<countdown>(1);
  sys.spawn(latency_client<Handle>, target, n, out, done);
  done->wait("sequential requests");
  expect_count("answered requests", n, out->size());
  return percentile(*out, p);
}

result request_latency(const run_options& opts, std::string name, double p) {
  uint64_t n = opts.quick ? 20'000 : 100'000;
  return raw_vs_service<echo_service>(
    opts, std::move(name), "us",
    std::to_string(n) + " sequential requests from an actor", raw_echo, "echo",
    [&](auto& sys, const auto& echo) {
      return request_percentile(sys, echo, n, p);
    },
    false);
}

} // namespace

std::string caf_version() {
  return std::to_string(CAF_MAJOR_VERSION) + "." +
         std::to_string(CAF_MINOR_VERSION) + "." +
         std::to_string(CAF_PATCH_VERSION);
}

std::vector<scenario> message_scenarios() {
  return {
    {"local.int",
     "1 -> 1 int messages: raw event-based actor vs a running service's "
     "domain handler (msg/s)",
     [](const run_options& opts) {
       return one_to_one<int>(opts, "local.int", 42);
     }},
    {"local.string64",
     "1 -> 1 messages carrying a 64-byte std::string, same pair as local.int "
     "(msg/s)",
     [](const run_options& opts) {
       return one_to_one<std::string>(opts, "local.string64",
                                      std::string(64, 'x'));
     }},
    {"request.p50",
     "median round trip of sequential requests from an actor: raw request "
     "vs a service's request handler (us)",
     [](const run_options& opts) {
       return request_latency(opts, "request.p50", 50);
     }},
    {"request.p99",
     "99th percentile of the same round trips as request.p50 (us)",
     [](const run_options& opts) {
       return request_latency(opts, "request.p99", 99);
     }},
  };
}

} // namespace troupe::bench
