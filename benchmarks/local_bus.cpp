// In-process scenarios on the local topic bus: a pipeline of relays and a
// fan-out to many subscribers, each beside raw CAF actors sending directly,
// in the same run, alternating repetitions (see report.hpp `alternate`).
//
// Each measurement builds its own actor system and tears it down
// (actor_setup.hpp `in_fresh_system`). Only the message flow is timed, never
// set-up or teardown.

#include "scenarios.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actor_setup.hpp"
#include "local_actors.hpp"
#include "measure.hpp"
#include "troupe/actors/topic_bus.hpp"

namespace troupe::bench {

namespace {

using emit_atom = caf::atom_constant<caf::atom("emit")>;

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
  return in_fresh_system(opts.threads, [&](auto& sys, auto& guard) {
    auto done = std::make_shared<countdown>(1);
    auto tally = guard.add(sys.spawn(raw_tally, n, done));
    auto next = tally;
    for (int i = 0; i < pipeline_stages; ++i)
      next = guard.add(sys.spawn(raw_relay, next));
    auto src = guard.add(sys.spawn(raw_source, std::vector{next}));
    return run_flow(sys, src, std::vector{tally}, *done, n, "raw pipeline");
  });
}

double troupe_pipeline(const run_options& opts, uint64_t n) {
  return in_fresh_system(opts.threads, [&](auto& sys, auto& guard) {
    auto bus = guard.add(spawn_topic_bus(sys));
    auto done = std::make_shared<countdown>(1);
    auto topic = [](int i) { return "pipe." + std::to_string(i); };
    auto tally = guard.add(spawn_service<tally_service>(
      sys, bench_options("tally", bus), topic(pipeline_stages), n, done));
    std::vector<service_actor> all{caf::actor_cast<service_actor>(tally)};
    for (int i = 1; i <= pipeline_stages; ++i)
      all.push_back(guard.add(spawn_service<relay_service>(
        sys, bench_options("relay" + std::to_string(i), bus), topic(i - 1),
        topic(i))));
    auto src = guard.add(spawn_service<source_service>(
      sys, bench_options("source", bus), topic(0)));
    all.push_back(caf::actor_cast<service_actor>(src));
    start_all(sys, all);
    return run_flow(sys, src, std::vector{tally}, *done, n, "troupe pipeline");
  });
}

constexpr size_t fanout_width = 100;

double raw_fanout(const run_options& opts, uint64_t n) {
  return in_fresh_system(opts.threads, [&](auto& sys, auto& guard) {
    auto done = std::make_shared<countdown>(fanout_width);
    std::vector<caf::actor> tallies;
    for (size_t i = 0; i < fanout_width; ++i)
      tallies.push_back(guard.add(sys.spawn(raw_tally, n, done)));
    auto src = guard.add(sys.spawn(raw_source, tallies));
    return run_flow(sys, src, tallies, *done, n, "raw fan-out");
  });
}

double troupe_fanout(const run_options& opts, uint64_t n) {
  return in_fresh_system(opts.threads, [&](auto& sys, auto& guard) {
    auto bus = guard.add(spawn_topic_bus(sys));
    auto done = std::make_shared<countdown>(fanout_width);
    std::vector<tally_service::interface> tallies;
    for (size_t i = 0; i < fanout_width; ++i)
      tallies.push_back(guard.add(spawn_service<tally_service>(
        sys, bench_options("tally" + std::to_string(i), bus), "fan", n, done)));
    auto src = guard.add(
      spawn_service<source_service>(sys, bench_options("source", bus), "fan"));
    start_all(sys, tallies);
    start_all(sys, std::vector{src});
    return run_flow(sys, src, tallies, *done, n, "troupe fan-out");
  });
}

} // namespace

std::vector<scenario> bus_scenarios() {
  return {
    paired({"pipeline4",
            "source -> 4 relays -> tally over the local topic bus vs a raw "
            "chain of actors sending directly (msg/s at the tally)",
            "msg/s", raw_pipeline, troupe_pipeline, 50'000, 500'000,
            " values through " + std::to_string(pipeline_stages) + " relays"}),
    paired({"fanout100",
            "1 publisher -> 100 subscribers on the local topic bus vs raw "
            "sends to 100 actors (deliveries/s)",
            "deliveries/s", raw_fanout, troupe_fanout, 2'000, 20'000,
            " values to " + std::to_string(fanout_width) + " subscribers"}),
  };
}

} // namespace troupe::bench
