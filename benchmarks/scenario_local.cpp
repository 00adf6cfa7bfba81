// In-process scenarios: every figure is troupe (services, domain handlers,
// the local topic bus) beside the same work done with plain CAF actors, in
// the same run, alternating repetitions (see report.hpp `alternate`).
//
// Each measurement builds its own actor system and tears it down, so no
// measurement inherits another's mailboxes, threads or heap. Only the
// message flow is timed, never set-up or teardown.

#include "scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "measure.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/service_host.hpp"
#include "troupe/actors/topic_bus.hpp"

namespace troupe::bench {

namespace {

using count_atom = caf::atom_constant<caf::atom("count")>;
using emit_atom = caf::atom_constant<caf::atom("emit")>;

using std::chrono::seconds;

// -- actor system set-up and teardown
// -------------------------------------------

struct bench_config : caf::actor_system_config {
  explicit bench_config(const run_options& opts) {
    init_actor_system_config(*this);
    if (opts.threads > 0)
      set("scheduler.max-threads", opts.threads);
  }
};

// Sends an exit to every actor it holds when leaving scope. Declared after
// the actor system, it runs before the system's destructor, which waits for
// every actor: a measurement that throws half-way still ends cleanly.
class exit_guard {
public:
  exit_guard() = default;
  exit_guard(const exit_guard&) = delete;
  exit_guard& operator=(const exit_guard&) = delete;

  ~exit_guard() {
    for (auto& h : actors_)
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  }

  template <class Handle>
  Handle add(Handle h) {
    actors_.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  void reserve(size_t n) { actors_.reserve(n); }

private:
  std::vector<caf::actor> actors_;
};

// Sends the same request to every handle at once (from one event-based actor,
// so answers are not serialized behind each other) and returns the answers
// in the order of `hs`. Throws on an error answer or when answers are late.
template <class T, class Handle, class... Ts>
std::vector<T> ask_all(caf::actor_system& sys, const std::vector<Handle>& hs,
                       const std::string& what, Ts... xs) {
  auto out = std::make_shared<std::vector<T>>(hs.size());
  auto done = std::make_shared<countdown>(hs.size());
  if (hs.empty())
    return {};
  // Lives exactly as long as answers are pending.
  sys.spawn([hs, out, done, xs...](caf::event_based_actor* self) {
    for (size_t i = 0; i < hs.size(); ++i)
      self->request(hs[i], caf::infinite, xs...)
        .then(
          [out, done, i](T& x) {
            (*out)[i] = std::move(x);
            done->arrive();
          },
          [self, done](caf::error& err) {
            done->abort(self->system().render(err));
          });
  });
  done->wait(what);
  return std::move(*out);
}

// Starts every service and checks that each one is running.
template <class Handle>
void start_all(caf::actor_system& sys, const std::vector<Handle>& hs) {
  for (auto s : ask_all<service_state>(sys, hs, "start", start_atom::value))
    if (s != service_state::running)
      throw std::runtime_error("start answered state " + to_string(s));
}

service_options options(std::string name, caf::actor bus = {}) {
  return service_options{std::move(name), "bench", std::move(bus)};
}

// -- 1 -> 1 messages
// -------------------------------------------------------------

struct sink_state {
  uint64_t received = 0;
};

template <class T>
caf::behavior raw_sink(caf::stateful_actor<sink_state>* self) {
  return {
    [self](const T&) { ++self->state.received; },
    [self](count_atom) { return self->state.received; },
  };
}

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
  result r;
  r.name = std::move(name);
  r.unit = "msg/s";
  r.workload = std::to_string(n) + " messages, 1 sender -> 1 receiver";
  alternate(
    opts, r,
    [&] {
      bench_config cfg{opts};
      caf::actor_system sys{cfg};
      exit_guard guard;
      auto sink = guard.add(sys.spawn(raw_sink<T>));
      return send_burst(sys, sink, n, payload);
    },
    [&] {
      bench_config cfg{opts};
      caf::actor_system sys{cfg};
      exit_guard guard;
      auto sink =
        guard.add(spawn_service<sink_service<T>>(sys, options("sink")));
      start_all(sys, std::vector{sink});
      return send_burst(sys, sink, n, payload);
    });
  return r;
}

// -- request / response
// ------------------------------------------------------------

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
  result r;
  r.name = std::move(name);
  r.unit = "us";
  r.higher_is_better = false;
  r.workload = std::to_string(n) + " sequential requests from an actor";
  alternate(
    opts, r,
    [&] {
      bench_config cfg{opts};
      caf::actor_system sys{cfg};
      exit_guard guard;
      auto echo = guard.add(sys.spawn(raw_echo));
      return request_percentile(sys, echo, n, p);
    },
    [&] {
      bench_config cfg{opts};
      caf::actor_system sys{cfg};
      exit_guard guard;
      auto echo = guard.add(spawn_service<echo_service>(sys, options("echo")));
      start_all(sys, std::vector{echo});
      return request_percentile(sys, echo, n, p);
    });
  return r;
}

// -- bus: pipeline and fan-out
// -------------------------------------------------------

// Sends `n` sequence numbers to each target in turn, as the bus does for
// its subscribers.
caf::behavior raw_source(caf::event_based_actor* self,
                         std::vector<caf::actor> targets) {
  return {[self, targets = std::move(targets)](emit_atom, uint64_t n) {
    for (uint64_t i = 0; i < n; ++i)
      for (auto& t : targets)
        self->send(t, i);
  }};
}

caf::behavior raw_relay(caf::event_based_actor* self, caf::actor next) {
  return {[self, next = std::move(next)](uint64_t x) { self->send(next, x); }};
}

// Counts values, checks they come in order 0, 1, 2, ... and arrives at
// `done` once it has seen `expected` of them.
caf::behavior raw_tally(caf::stateful_actor<sink_state>* self,
                        uint64_t expected, std::shared_ptr<countdown> done) {
  return {
    [self, expected, done = std::move(done)](uint64_t x) {
      auto& n = self->state.received;
      if (x != n)
        done->abort("raw tally got " + std::to_string(x) + " at position " +
                    std::to_string(n));
      if (++n == expected)
        done->arrive();
    },
    [self](count_atom) { return self->state.received; },
  };
}

// Publishes `n` sequence numbers on a topic when asked.
class source_service : public service {
public:
  using interface = service_actor::extend<caf::reacts_to<emit_atom, uint64_t>>;

  explicit source_service(std::string topic) : topic_(std::move(topic)) {}

  auto handlers() {
    return std::make_tuple([this](emit_atom, uint64_t n) {
      for (uint64_t i = 0; i < n; ++i)
        publish(topic_, i);
    });
  }

private:
  std::string topic_;
};

// Republishes every value of one topic on another.
class relay_service : public service {
public:
  relay_service(std::string in, std::string out)
    : in_(std::move(in)), out_(std::move(out)) {}

  hook_result on_start() override {
    subscribe<uint64_t>(
      in_, [this](const std::string&, const uint64_t& x) { publish(out_, x); });
    return hook_result::success();
  }

private:
  std::string in_;
  std::string out_;
};

// The service twin of raw_tally.
class tally_service : public service {
public:
  using interface =
    service_actor::extend<caf::replies_to<count_atom>::with<uint64_t>>;

  tally_service(std::string topic, uint64_t expected,
                std::shared_ptr<countdown> done)
    : topic_(std::move(topic)), expected_(expected), done_(std::move(done)) {}

  auto handlers() {
    return std::make_tuple([this](count_atom) { return received_; });
  }

  hook_result on_start() override {
    subscribe<uint64_t>(topic_, [this](const std::string&, const uint64_t& x) {
      if (x != received_)
        done_->abort(name() + " got " + std::to_string(x) + " at position " +
                     std::to_string(received_));
      if (++received_ == expected_)
        done_->arrive();
    });
    return hook_result::success();
  }

private:
  std::string topic_;
  uint64_t expected_;
  std::shared_ptr<countdown> done_;
  uint64_t received_ = 0;
};

// Triggers the source, waits until every tally has all values, and checks
// each tally's count afterwards (no duplicates). Returns deliveries/s.
template <class Source, class Tally>
double run_flow(caf::actor_system& sys, const Source& src,
                const std::vector<Tally>& tallies, countdown& done, uint64_t n,
                const std::string& what) {
  stopwatch sw;
  caf::anon_send(src, emit_atom::value, n);
  done.wait(what);
  auto secs = sw.seconds();
  for (auto got : ask_all<uint64_t>(sys, tallies, "count", count_atom::value))
    expect_count(what + ": values counted by a tally", n, got);
  return static_cast<double>(n * tallies.size()) / secs;
}

constexpr int pipeline_stages = 4;

double raw_pipeline(const run_options& opts, uint64_t n) {
  bench_config cfg{opts};
  caf::actor_system sys{cfg};
  exit_guard guard;
  auto done = std::make_shared<countdown>(1);
  auto tally = guard.add(sys.spawn(raw_tally, n, done));
  auto next = tally;
  for (int i = 0; i < pipeline_stages; ++i)
    next = guard.add(sys.spawn(raw_relay, next));
  auto src = guard.add(sys.spawn(raw_source, std::vector{next}));
  return run_flow(sys, src, std::vector{tally}, *done, n, "raw pipeline");
}

double troupe_pipeline(const run_options& opts, uint64_t n) {
  bench_config cfg{opts};
  caf::actor_system sys{cfg};
  exit_guard guard;
  auto bus = guard.add(spawn_topic_bus(sys));
  auto done = std::make_shared<countdown>(1);
  auto topic = [](int i) { return "pipe." + std::to_string(i); };
  auto tally = guard.add(spawn_service<tally_service>(
    sys, options("tally", bus), topic(pipeline_stages), n, done));
  std::vector<service_actor> all{caf::actor_cast<service_actor>(tally)};
  for (int i = 1; i <= pipeline_stages; ++i)
    all.push_back(guard.add(spawn_service<relay_service>(
      sys, options("relay" + std::to_string(i), bus), topic(i - 1), topic(i))));
  auto src = guard.add(
    spawn_service<source_service>(sys, options("source", bus), topic(0)));
  all.push_back(caf::actor_cast<service_actor>(src));
  start_all(sys, all);
  return run_flow(sys, src, std::vector{tally}, *done, n, "troupe pipeline");
}

constexpr size_t fanout_width = 100;

double raw_fanout(const run_options& opts, uint64_t n) {
  bench_config cfg{opts};
  caf::actor_system sys{cfg};
  exit_guard guard;
  auto done = std::make_shared<countdown>(fanout_width);
  std::vector<caf::actor> tallies;
  for (size_t i = 0; i < fanout_width; ++i)
    tallies.push_back(guard.add(sys.spawn(raw_tally, n, done)));
  auto src = guard.add(sys.spawn(raw_source, tallies));
  return run_flow(sys, src, tallies, *done, n, "raw fan-out");
}

double troupe_fanout(const run_options& opts, uint64_t n) {
  bench_config cfg{opts};
  caf::actor_system sys{cfg};
  exit_guard guard;
  auto bus = guard.add(spawn_topic_bus(sys));
  auto done = std::make_shared<countdown>(fanout_width);
  std::vector<tally_service::interface> tallies;
  for (size_t i = 0; i < fanout_width; ++i)
    tallies.push_back(guard.add(spawn_service<tally_service>(
      sys, options("tally" + std::to_string(i), bus), "fan", n, done)));
  auto src = guard.add(
    spawn_service<source_service>(sys, options("source", bus), "fan"));
  start_all(sys, tallies);
  start_all(sys, std::vector{src});
  return run_flow(sys, src, tallies, *done, n, "troupe fan-out");
}

// -- lifecycle
// -------------------------------------------------------------------------

// A service with nothing of its own: what the lifecycle costs by itself.
class idle_service : public service {};

struct churn_state {
  uint64_t to_launch = 0;
  uint64_t to_finish = 0;
  std::function<void()> launch;
  // Actors launched and not yet down; killed if the driver ends early, so
  // that a failed run cannot leave actors behind.
  std::vector<caf::actor> live;

  ~churn_state() {
    for (auto& h : live)
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
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
    auto& sys = self->system();
    if (!services) {
      auto h = sys.spawn(raw_sink<int>);
      self->monitor(h);
      self->state.live.push_back(h);
      self->send_exit(h, caf::exit_reason::user_shutdown);
      return;
    }
    auto h = spawn_service<idle_service>(sys, options("idle"));
    self->monitor(h);
    self->state.live.push_back(caf::actor_cast<caf::actor>(h));
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
    auto start = [=] {
      self->request(h, caf::infinite, start_atom::value)
        .then([=](service_state s) { expect(s, service_state::running, stop); },
              on_error);
    };
    self->request(h, caf::infinite, configure_atom::value, settings{})
      .then(
        [=](service_state s) { expect(s, service_state::configured, start); },
        on_error);
  };
  self->set_down_handler([self, done, fail](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = std::find_if(st.live.begin(), st.live.end(),
                          [&](auto& h) { return h.address() == dm.source; });
    if (i != st.live.end()) {
      std::swap(*i, st.live.back());
      st.live.pop_back();
    }
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

double churn(const run_options& opts, uint64_t total, bool services) {
  bench_config cfg{opts};
  caf::actor_system sys{cfg};
  exit_guard guard;
  auto done = std::make_shared<countdown>(1);
  stopwatch sw;
  guard.add(sys.spawn(churn_driver, total, uint64_t{64}, services, done));
  done->wait(services ? "service lifecycles" : "raw spawn/exit");
  return static_cast<double>(total) / sw.seconds();
}

// Resident bytes per live actor: RSS with `k` idle actors (raw) or running
// services (troupe) minus RSS before spawning them, divided by `k`. Free heap
// is returned to the kernel first, so that reused free lists do not hide new
// allocations.
double resident_per_actor(const run_options& opts, uint64_t k, bool services) {
  bench_config cfg{opts};
  caf::actor_system sys{cfg};
  exit_guard guard;
  guard.reserve(k);
  std::vector<caf::actor> raw;
  std::vector<service_actor> svcs;
  raw.reserve(k);
  svcs.reserve(k);
  release_free_heap();
  auto before = resident_bytes();
  if (services) {
    for (uint64_t i = 0; i < k; ++i)
      svcs.push_back(guard.add(caf::actor_cast<service_actor>(
        spawn_service<idle_service>(sys, options("idle")))));
    start_all(sys, svcs);
  } else {
    for (uint64_t i = 0; i < k; ++i)
      raw.push_back(guard.add(sys.spawn(raw_sink<int>)));
    // One request each, so every actor has been initialized and has run.
    ask_all<uint64_t>(sys, raw, "count", count_atom::value);
  }
  auto after = resident_bytes();
  if (before == 0 || after <= before)
    throw std::runtime_error("resident set did not grow while " +
                             std::to_string(k) +
                             " actors were alive (VmRSS unreadable?)");
  return static_cast<double>(after - before) / static_cast<double>(k);
}

} // namespace

std::string caf_version() {
  return std::to_string(CAF_MAJOR_VERSION) + "." +
         std::to_string(CAF_MINOR_VERSION) + "." +
         std::to_string(CAF_PATCH_VERSION);
}

std::vector<scenario> local_scenarios() {
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
    {"pipeline4",
     "source -> 4 relays -> tally over the local topic bus vs a raw chain of "
     "actors sending directly (msg/s at the tally)",
     [](const run_options& opts) {
       uint64_t n = opts.quick ? 50'000 : 500'000;
       result r;
       r.name = "pipeline4";
       r.unit = "msg/s";
       r.workload = std::to_string(n) + " values through " +
                    std::to_string(pipeline_stages) + " relays";
       alternate(
         opts, r, [&] { return raw_pipeline(opts, n); },
         [&] { return troupe_pipeline(opts, n); });
       return r;
     }},
    {"fanout100",
     "1 publisher -> 100 subscribers on the local topic bus vs raw sends to "
     "100 actors (deliveries/s)",
     [](const run_options& opts) {
       uint64_t n = opts.quick ? 2'000 : 20'000;
       result r;
       r.name = "fanout100";
       r.unit = "deliveries/s";
       r.workload = std::to_string(n) + " values to " +
                    std::to_string(fanout_width) + " subscribers";
       alternate(
         opts, r, [&] { return raw_fanout(opts, n); },
         [&] { return troupe_fanout(opts, n); });
       return r;
     }},
    {"lifecycle",
     "spawn+configure+start+stop+exit of idle services vs raw actor "
     "spawn+exit, 64 in flight (actors/s)",
     [](const run_options& opts) {
       uint64_t n = opts.quick ? 5'000 : 100'000;
       result r;
       r.name = "lifecycle";
       r.unit = "actors/s";
       r.workload = std::to_string(n) + " whole lifecycles, 64 at a time";
       alternate(
         opts, r, [&] { return churn(opts, n, false); },
         [&] { return churn(opts, n, true); });
       return r;
     }},
    {"lifecycle.memory",
     "resident bytes per live actor: running idle services vs idle raw "
     "stateful actors (VmRSS delta / count)",
     [](const run_options& opts) {
       uint64_t k = opts.quick ? 5'000 : 20'000;
       result r;
       r.name = "lifecycle.memory";
       r.unit = "bytes/actor";
       r.higher_is_better = false;
       r.workload = std::to_string(k) + " actors alive at once";
       alternate(
         opts, r, [&] { return resident_per_actor(opts, k, false); },
         [&] { return resident_per_actor(opts, k, true); });
       return r;
     }},
  };
}

} // namespace troupe::bench
