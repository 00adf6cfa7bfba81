#define CAF_SUITE topic_bus

#include "troupe/actors/topic_bus.hpp"

#include "troupe/actors/detail/bus_ack.hpp"
#include "troupe/actors/detail/bus_plumbing.hpp"
#include "troupe/actors/metrics.hpp"
#include "troupe/actors/service_host.hpp"
#include "troupe/actors/supervisor.hpp"
#include "troupe/actors/testing.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

using burst_atom = caf::atom_constant<caf::atom("burst")>;

// Publishes `count` integers tagged with its own id on `topic`.
class emitter : public service {
public:
  using interface =
    service_actor::extend<caf::reacts_to<burst_atom, std::string, int32_t>>;

  explicit emitter(int32_t id) : id_(id) {}

  auto handlers() {
    return std::make_tuple(
      [this](burst_atom, const std::string& topic, int32_t count) {
        for (int32_t i = 0; i < count; ++i)
          publish(topic, std::make_pair(id_, i));
        publish(topic, std::string{"not a pair"}); // wrong type for sinks
      });
  }

private:
  int32_t id_;
};

using tagged = std::pair<int32_t, int32_t>;

struct log_t {
  std::vector<std::pair<std::string, tagged>> seen;
  int holds = 0; // distinct non-empty delivery holds taken (holder)
};

// Records every tagged pair published under `prefix`.
class sink : public service {
public:
  sink(std::shared_ptr<log_t> log, std::string prefix)
    : log_(std::move(log)), prefix_(std::move(prefix)) {}

  hook_result on_start() override {
    subscribe<tagged>(prefix_,
                      [this](const std::string& topic, const tagged& x) {
                        log_->seen.emplace_back(topic, x);
                      });
    return hook_result::success();
  }

private:
  std::shared_ptr<log_t> log_;
  std::string prefix_;
};

using batch_atom = caf::atom_constant<caf::atom("batch")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using go_atom = caf::atom_constant<caf::atom("go")>;

// Publishes `count` tagged pairs as one batch and counts how often the bus
// said a batch was taken.
class batcher : public service {
public:
  using interface =
    service_actor::extend<caf::reacts_to<batch_atom, std::string, int32_t>>;

  explicit batcher(std::shared_ptr<int> taken) : taken_(std::move(taken)) {}

  auto handlers() {
    return std::make_tuple(
      [this](batch_atom, const std::string& topic, int32_t count) {
        bus_batch b;
        for (int32_t i = 0; i < count; ++i)
          b.items.push_back(
            bus_item{topic, caf::make_message(std::make_pair(9, i))});
        publish_batch(std::move(b), [this] { ++*taken_; });
      });
  }

private:
  std::shared_ptr<int> taken_;
};

// Takes a delivery hold for every batch and keeps it until told.
class holder : public service {
public:
  using interface = service_actor::extend<caf::reacts_to<release_atom>>;

  explicit holder(std::shared_ptr<log_t> log) : log_(std::move(log)) {}

  auto handlers() {
    return std::make_tuple([this](release_atom) { holds_.clear(); });
  }

  hook_result on_start() override {
    subscribe<tagged>("demo.", [this](const std::string& t, const tagged& x) {
      log_->seen.emplace_back(t, x);
      auto h = hold_delivery();
      if (h && (holds_.empty() || holds_.back() != h)) {
        holds_.push_back(std::move(h));
        ++log_->holds;
      }
    });
    return hook_result::success();
  }

private:
  std::shared_ptr<log_t> log_;
  std::vector<delivery_hold> holds_;
};

// Hands out one job per `go` and tracks it until its reply comes back
// on "reply."; also takes "other." messages, which are not replies.
class requester : public service {
public:
  using interface = service_actor::extend<caf::reacts_to<go_atom>>;

  explicit requester(std::shared_ptr<log_t> log) : log_(std::move(log)) {}

  auto handlers() {
    return std::make_tuple([this](go_atom) { pending_ = track(); });
  }

  hook_result on_start() override {
    subscribe_replies("reply.",
                      [this](const std::string& t, const caf::message& m) {
                        log_->seen.emplace_back(t, m.get_as<tagged>(0));
                        pending_.done();
                        return true;
                      });
    subscribe<tagged>("other.", [this](const std::string& t, const tagged& x) {
      log_->seen.emplace_back(t, x);
    });
    return hook_result::success();
  }

private:
  std::shared_ptr<log_t> log_;
  work_token pending_;
};

// A message type with a batch type: `subscribe<tick>` takes `ticks` too.
struct tick {
  int32_t n = 0;
};

struct ticks {
  std::vector<int32_t> ns;
};

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tick)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ticks)

template <>
struct troupe::batch_of<tick> {
  using type = ticks;

  static size_t size(const ticks& b) { return b.ns.size(); }

  template <class F>
  static void for_each(const ticks& b, F&& f) {
    for (auto n : b.ns)
      if (!f(tick{n}))
        return;
  }
};

namespace {

// Records every tick; throws at `throw_at`, records a fatal error at
// `fail_at`.
class tick_sink : public service {
public:
  tick_sink(std::shared_ptr<std::vector<int32_t>> seen, int32_t throw_at,
            int32_t fail_at)
    : seen_(std::move(seen)), throw_at_(throw_at), fail_at_(fail_at) {}

  hook_result on_start() override {
    subscribe<tick>("t.", [this](const std::string&, const tick& t) {
      seen_->push_back(t.n);
      if (t.n == throw_at_)
        throw std::runtime_error("tick " + std::to_string(t.n));
      if (t.n == fail_at_)
        record_error("tick " + std::to_string(t.n), true);
    });
    return hook_result::success();
  }

private:
  std::shared_ptr<std::vector<int32_t>> seen_;
  int32_t throw_at_;
  int32_t fail_at_;
};

// Publishes every tagged pair it takes from `in.` again under `demo.`.
class relay : public service {
public:
  hook_result on_start() override {
    subscribe<tagged>("in.", [this](const std::string&, const tagged& x) {
      publish("demo.r", x);
    });
    return hook_result::success();
  }
};

// Takes what it publishes itself: each pair below `last` comes back as the
// next one.
class looper : public service {
public:
  using interface = service_actor::extend<caf::reacts_to<burst_atom>>;

  explicit looper(std::shared_ptr<log_t> log) : log_(std::move(log)) {}

  auto handlers() {
    return std::make_tuple([this](burst_atom) {
      publish("loop.x", tagged{0, 0});
    });
  }

  hook_result on_start() override {
    subscribe<tagged>("loop.", [this](const std::string& t, const tagged& x) {
      log_->seen.emplace_back(t, x);
      if (x.second < 20)
        publish("loop.x", tagged{0, x.second + 1});
    });
    return hook_result::success();
  }

private:
  std::shared_ptr<log_t> log_;
};

// Publishes ticks `from`, `from + 1`, ... on "t.x", `count` of them, in
// one dispatch: one acknowledged bus batch of `count` items.
class ticker : public service {
public:
  using interface =
    service_actor::extend<caf::reacts_to<burst_atom, int32_t, int32_t>>;

  auto handlers() {
    return std::make_tuple([this](burst_atom, int32_t from, int32_t count) {
      for (int32_t i = from; i < from + count; ++i)
        publish("t.x", tick{i});
    });
  }
};

struct fixture : testing::service_fixture {
  bus_actor bus = spawn_topic_bus(sys);

  // The bus and its subscribers hold each other; ending the bus breaks the
  // cycle so that the actor system can shut down.
  ~fixture() override {
    anon_send_exit(bus, caf::exit_reason::user_shutdown);
    run();
  }

  service_options opts(std::string name, uint64_t window = 10000) {
    service_options o{std::move(name), "test", bus};
    o.publish_window = window;
    return o;
  }

  void publish_in(int32_t from, int32_t count) {
    for (int32_t i = from; i < from + count; ++i)
      self->send(bus, publish_atom::value, std::string{"in.x"},
                 caf::make_message(tagged{5, i}));
  }

  template <class Handle>
  void start_ok(const Handle& h) {
    auto r = start(h);
    CAF_REQUIRE(r && *r == service_state::running);
  }

  /// (redelivered, waiting, lost) of `on`.
  std::tuple<uint64_t, uint64_t, uint64_t> redelivery(const bus_actor& on) {
    auto rh = self->request(on, caf::infinite, status_atom::value,
                            bus_redeliver_atom::value);
    consume_messages();
    std::tuple<uint64_t, uint64_t, uint64_t> result;
    rh.receive(
      [&](uint64_t a, uint64_t b, uint64_t c) {
        result = {a, b, c};
      },
      [&](caf::error& err) { CAF_FAIL(describe(err)); });
    return result;
  }

  std::tuple<uint64_t, uint64_t, uint64_t> bus_counts() {
    auto rh = self->request(bus, caf::infinite, status_atom::value);
    consume_messages();
    std::tuple<uint64_t, uint64_t, uint64_t> result;
    rh.receive(
      [&](uint64_t a, uint64_t b, uint64_t c) {
        result = {a, b, c};
      },
      [&](caf::error& err) { CAF_FAIL(describe(err)); });
    return result;
  }
};

} // namespace

// The bus's handle offers subscribing, publishing and status only: what
// hosts and supervisors tell it about failed subscribers, and its own
// timers, go through detail::bus_plumbing.
static_assert(caf::detail::tl_index_of<
                bus_actor::signatures,
                caf::reacts_to<bus_suspend_atom, caf::actor>>::value == -1,
              "a bus_actor handle must not take subscriber failures");
static_assert(caf::detail::tl_index_of<bus_actor::signatures,
                                       caf::reacts_to<bus_flush_atom>>::value ==
                -1,
              "a bus_actor handle must not take the bus's own flush");
static_assert(caf::detail::tl_index_of<
                detail::bus_plumbing::signatures,
                caf::reacts_to<bus_giveup_atom, std::string>>::value != -1,
              "supervisors give up on a subscriber through the plumbing");
static_assert(
  caf::detail::tl_index_of<
    bus_actor::signatures,
    caf::reacts_to<subscribe_atom, std::string, caf::actor, bool>>::value == -1,
  "a batch subscription is spelled take_batches, not a positional bool");

CAF_TEST_FIXTURE_SCOPE(topic_bus_tests, fixture)

CAF_TEST(the order of each publisher is preserved for every subscriber) {
  auto log = std::make_shared<log_t>();
  auto s = spawn_service<sink>(sys, opts("sink"), log, "demo.");
  auto a = spawn_service<emitter>(sys, opts("a"), 1);
  auto b = spawn_service<emitter>(sys, opts("b"), 2);
  start_ok(s);
  start_ok(a);
  start_ok(b);
  // Two publishers interleave on the bus; each one's sequence stays ordered.
  self->send(a, burst_atom::value, std::string{"demo.a"}, int32_t{200});
  self->send(b, burst_atom::value, std::string{"demo.b"}, int32_t{200});
  run();
  CAF_REQUIRE_EQUAL(log->seen.size(), 400u);
  int32_t next[3] = {0, 0, 0};
  for (auto& [topic, x] : log->seen) {
    CAF_REQUIRE(x.first == 1 || x.first == 2);
    CAF_CHECK_EQUAL(topic, x.first == 1 ? "demo.a" : "demo.b");
    CAF_CHECK_EQUAL(x.second, next[x.first]);
    next[x.first] = x.second + 1;
  }
  auto st = status(s);
  CAF_CHECK_EQUAL(st.messages_in, 400u);
  // The two strings were of the wrong type: dropped, and counted.
  CAF_CHECK_EQUAL(st.messages_dropped, 2u);
  CAF_CHECK_EQUAL(status(a).messages_out, 201u);
}

CAF_TEST(only subscribers with a matching prefix receive) {
  auto all = std::make_shared<log_t>();
  auto only_b = std::make_shared<log_t>();
  auto s1 = spawn_service<sink>(sys, opts("all"), all, "demo.");
  auto s2 = spawn_service<sink>(sys, opts("only_b"), only_b, "demo.b");
  auto a = spawn_service<emitter>(sys, opts("a"), 1);
  start_ok(s1);
  start_ok(s2);
  start_ok(a);
  self->send(a, burst_atom::value, std::string{"demo.a"}, int32_t{3});
  self->send(a, burst_atom::value, std::string{"demo.b"}, int32_t{2});
  self->send(a, burst_atom::value, std::string{"other"}, int32_t{5});
  run();
  CAF_CHECK_EQUAL(all->seen.size(), 5u);
  CAF_CHECK_EQUAL(only_b->seen.size(), 2u);
}

CAF_TEST(a stopped subscriber is unsubscribed and a restart resubscribes) {
  auto log = std::make_shared<log_t>();
  auto s = spawn_service<sink>(sys, opts("sink"), log, "demo.");
  auto a = spawn_service<emitter>(sys, opts("a"), 1);
  start_ok(s);
  start_ok(a);
  self->send(a, burst_atom::value, std::string{"demo.x"}, int32_t{1});
  run();
  CAF_CHECK_EQUAL(log->seen.size(), 1u);
  CAF_REQUIRE(stop(s));
  self->send(a, burst_atom::value, std::string{"demo.x"}, int32_t{1});
  run();
  CAF_CHECK_EQUAL(log->seen.size(), 1u);
  // Nothing reached the stopped sink: the bus no longer routes to it.
  CAF_CHECK_EQUAL(status(s).messages_dropped, 1u); // the wrong-typed one
  start_ok(s);
  self->send(a, burst_atom::value, std::string{"demo.x"}, int32_t{1});
  run();
  CAF_CHECK_EQUAL(log->seen.size(), 2u);
}

CAF_TEST(the bus forgets subscribers that die) {
  auto log = std::make_shared<log_t>();
  {
    auto s = spawn_service<sink>(sys, opts("sink"), log, "demo.");
    start_ok(s);
    auto counts = bus_counts();
    CAF_CHECK_EQUAL(std::get<0>(counts), 1u);
    anon_send_exit(s, caf::exit_reason::kill);
    run();
  }
  auto counts = bus_counts();
  CAF_CHECK_EQUAL(std::get<0>(counts), 0u);
}

CAF_TEST(on_taken runs once every subscriber handled the batch) {
  auto log = std::make_shared<log_t>();
  auto taken = std::make_shared<int>(0);
  auto s = spawn_service<sink>(sys, opts("sink"), log, "demo.");
  auto p = spawn_service<batcher>(sys, opts("p"), taken);
  start_ok(s);
  start_ok(p);
  // More than one bus batch (256) per subscriber: still one on_taken.
  self->send(p, batch_atom::value, std::string{"demo.x"}, int32_t{600});
  run();
  CAF_CHECK_EQUAL(log->seen.size(), 600u);
  CAF_CHECK_EQUAL(*taken, 1);
  for (size_t i = 0; i < log->seen.size(); ++i)
    CAF_CHECK_EQUAL(log->seen[i].second.second, static_cast<int32_t>(i));
  CAF_CHECK_EQUAL(status(p).messages_out, 600u);
  // Nobody subscribed: taken at once.
  self->send(p, batch_atom::value, std::string{"other"}, int32_t{3});
  run();
  CAF_CHECK_EQUAL(*taken, 2);
}

CAF_TEST(a delivery hold keeps on_taken back until released) {
  auto log = std::make_shared<log_t>();
  auto taken = std::make_shared<int>(0);
  auto h = spawn_service<holder>(sys, opts("holder"), log);
  auto p = spawn_service<batcher>(sys, opts("p"), taken);
  start_ok(h);
  start_ok(p);
  self->send(p, batch_atom::value, std::string{"demo.x"}, int32_t{5});
  run();
  CAF_CHECK_EQUAL(log->seen.size(), 5u);
  CAF_CHECK_EQUAL(*taken, 0);
  self->send(h, release_atom::value);
  run();
  CAF_CHECK_EQUAL(*taken, 1);
}

CAF_TEST(the subscriber answers the publisher without the bus) {
  // The acknowledgement goes from the subscriber straight to the
  // publisher: it arrives even when the bus is gone by the time the
  // subscriber lets go of its hold.
  auto log = std::make_shared<log_t>();
  auto taken = std::make_shared<int>(0);
  auto h = spawn_service<holder>(sys, opts("holder"), log);
  auto p = spawn_service<batcher>(sys, opts("p"), taken);
  start_ok(h);
  start_ok(p);
  // Three bus batches (256 each) for one publish share one hold.
  self->send(p, batch_atom::value, std::string{"demo.x"}, int32_t{600});
  run();
  CAF_CHECK_EQUAL(log->seen.size(), 600u);
  CAF_CHECK_EQUAL(log->holds, 1);
  CAF_CHECK_EQUAL(*taken, 0);
  anon_send_exit(bus, caf::exit_reason::user_shutdown);
  run();
  CAF_CHECK_EQUAL(*taken, 0);
  self->send(h, release_atom::value);
  run();
  CAF_CHECK_EQUAL(*taken, 1);
}

CAF_TEST(hold_delivery outside an acknowledged batch holds nothing) {
  auto log = std::make_shared<log_t>();
  auto h = spawn_service<holder>(sys, opts("holder"), log);
  start_ok(h);
  // Published by hand, not by a service: nobody waits, so the holder gets
  // an empty hold.
  self->send(bus, publish_atom::value, std::string{"demo.x"},
             caf::make_message(tagged{7, 0}));
  run();
  CAF_CHECK_EQUAL(log->seen.size(), 1u);
  CAF_CHECK_EQUAL(log->holds, 0);
}

CAF_TEST(a plain publish waits for its subscribers like publish_batch) {
  auto log = std::make_shared<log_t>();
  auto taken = std::make_shared<int>(0);
  auto h = spawn_service<holder>(sys, opts("holder"), log);
  auto a = spawn_service<emitter>(sys, opts("a"), 1);
  start_ok(h);
  start_ok(a);
  self->send(a, burst_atom::value, std::string{"demo.x"}, int32_t{3});
  run();
  CAF_CHECK_EQUAL(log->seen.size(), 3u);
  // One handler's publishes went out as one batch: one hold.
  CAF_CHECK_EQUAL(log->holds, 1);
  CAF_CHECK_EQUAL(status(a).publish_unacked, 4u); // 3 pairs and a string
  CAF_CHECK(!status(a).held_back);                // window 10000
  auto p = spawn_service<batcher>(sys, opts("p"), taken);
  start_ok(p);
  self->send(p, batch_atom::value, std::string{"demo.x"}, int32_t{2});
  run();
  CAF_CHECK_EQUAL(*taken, 0); // this one was held, with a second hold
  CAF_CHECK_EQUAL(log->holds, 2);
  self->send(h, release_atom::value);
  run();
  CAF_CHECK_EQUAL(*taken, 1);
  CAF_CHECK_EQUAL(status(a).publish_unacked, 0u);
}

CAF_TEST(a service at its publish window waits for its subscribers) {
  auto log = std::make_shared<log_t>();
  auto h = spawn_service<holder>(sys, opts("holder"), log);
  auto r = spawn_service<relay>(sys, opts("relay", 4));
  start_ok(h);
  start_ok(r);
  publish_in(0, 6);
  run();
  // The relay handled all six (one batch) and published them; the holder
  // holds them, so the relay's six wait and it is held back.
  CAF_CHECK_EQUAL(log->seen.size(), 6u);
  auto st = status(r);
  CAF_CHECK_EQUAL(st.publish_unacked, 6u);
  CAF_CHECK(st.held_back);
  CAF_CHECK_EQUAL(st.held_back_times, 1u);
  // What arrives now waits in the relay, handled by nobody.
  publish_in(6, 3);
  run();
  CAF_CHECK_EQUAL(log->seen.size(), 6u);
  CAF_CHECK_EQUAL(status(r).held_messages, 3u);
  CAF_CHECK_EQUAL(status(r).messages_in, 6u);
  // The holder lets go: the relay goes on, in order, and nothing was lost.
  self->send(h, release_atom::value);
  run();
  CAF_REQUIRE_EQUAL(log->seen.size(), 9u);
  for (int32_t i = 0; i < 9; ++i)
    CAF_CHECK_EQUAL(log->seen[static_cast<size_t>(i)].second.second, i);
  st = status(r);
  CAF_CHECK(!st.held_back);
  CAF_CHECK_EQUAL(st.held_messages, 0u);
  CAF_CHECK_EQUAL(st.messages_dropped, 0u);
  // A hold refers to its actor: let go before the system shuts down.
  self->send(h, release_atom::value);
  run();
}

CAF_TEST(what a held back service kept is counted as lost when it stops) {
  auto log = std::make_shared<log_t>();
  auto metrics = std::make_shared<metric_registry>();
  auto h = spawn_service<holder>(sys, opts("holder"), log);
  auto o = opts("relay", 2);
  o.metrics = metrics;
  auto r = spawn_service<relay>(sys, o);
  start_ok(h);
  start_ok(r);
  publish_in(0, 2);
  run();
  publish_in(2, 5);
  run();
  CAF_CHECK_EQUAL(status(r).held_messages, 5u);
  CAF_REQUIRE(stop(r));
  auto st = status(r);
  CAF_CHECK_EQUAL(st.messages_dropped, 5u);
  CAF_CHECK_EQUAL(st.held_messages, 0u);
  auto text = metrics->render();
  CAF_CHECK(text.find("troupe_service_messages_lost_total{reason=\"held_at_"
                      "stop\"} 5") != std::string::npos);

  self->send(h, release_atom::value);
  run();
}

CAF_TEST(one dispatch in 16 is timed) {
  auto metrics = std::make_shared<metric_registry>();
  auto o = opts("a");
  o.metrics = metrics;
  auto a = spawn_service<emitter>(sys, o, 1);
  start_ok(a); // on_configure and on_start: dispatches 1 and 2
  CAF_CHECK(metrics->render().find("processing_seconds") == std::string::npos);
  for (int i = 0; i < 32; ++i) // dispatches 3 to 34
    self->send(a, burst_atom::value, std::string{"none.x"}, int32_t{1});
  run();
  CAF_CHECK(
    metrics->render().find("troupe_service_processing_seconds_count 2") !=
    std::string::npos);
}

CAF_TEST(one bus batch in 16 has its mailbox wait timed) {
  auto log = std::make_shared<log_t>();
  auto metrics = std::make_shared<metric_registry>();
  auto o = opts("sink");
  o.metrics = metrics;
  auto s = spawn_service<sink>(sys, o, log, "demo.");
  start_ok(s);
  for (int32_t i = 0; i < 32; ++i) {
    self->send(bus, publish_atom::value, std::string{"demo.x"},
               caf::make_message(tagged{1, i}, 0)); // two elements: unhandled
    self->send(bus, publish_atom::value, std::string{"demo.x"},
               caf::make_message(tagged{1, i}));
    run(); // one batch of two per round
  }
  CAF_CHECK_EQUAL(log->seen.size(), 32u);
  CAF_CHECK(
    metrics->render().find("troupe_service_mailbox_wait_seconds_count 2") !=
    std::string::npos);
}

CAF_TEST(a service that takes what it publishes does not wait for itself) {
  auto log = std::make_shared<log_t>();
  auto l = spawn_service<looper>(sys, opts("looper", 1), log);
  start_ok(l);
  self->send(l, burst_atom::value);
  run();
  CAF_CHECK_EQUAL(log->seen.size(), 21u);
  CAF_CHECK(!status(l).held_back);
}

CAF_TEST(on_taken does not run after its publisher stopped) {
  auto log = std::make_shared<log_t>();
  auto taken = std::make_shared<int>(0);
  auto h = spawn_service<holder>(sys, opts("holder"), log);
  auto p = spawn_service<batcher>(sys, opts("p"), taken);
  start_ok(h);
  start_ok(p);
  self->send(p, batch_atom::value, std::string{"demo.x"}, int32_t{2});
  run();
  CAF_REQUIRE(stop(p));
  self->send(h, release_atom::value);
  run();
  CAF_CHECK_EQUAL(*taken, 0);
}

CAF_TEST(a subscribe handler takes a batch of its type one item at a time) {
  auto seen = std::make_shared<std::vector<int32_t>>();
  auto s = spawn_service<tick_sink>(sys, opts("sink"), seen, -1, -1);
  start_ok(s);
  self->send(bus, publish_atom::value, std::string{"t.a"},
             caf::make_message(tick{0}));
  self->send(bus, publish_atom::value, std::string{"t.a"},
             caf::make_message(ticks{{1, 2, 3, 4}}));
  self->send(bus, publish_atom::value, std::string{"t.a"},
             caf::make_message(ticks{}));
  self->send(bus, publish_atom::value, std::string{"t.a"},
             caf::make_message(tick{5}));
  run();
  CAF_CHECK_EQUAL(*seen, (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  auto st = status(s);
  // One per item, and the empty batch as one message that held nothing.
  CAF_CHECK_EQUAL(st.messages_in, 7u);
  CAF_CHECK_EQUAL(st.messages_dropped, 0u);
}

CAF_TEST(the rest of a batch after its handler threw counts as dropped) {
  auto seen = std::make_shared<std::vector<int32_t>>();
  auto s = spawn_service<tick_sink>(sys, opts("sink"), seen, 2, -1);
  start_ok(s);
  self->send(bus, publish_atom::value, std::string{"t.a"},
             caf::make_message(ticks{{1, 2, 3, 4, 5}}));
  run();
  CAF_CHECK_EQUAL(*seen, (std::vector<int32_t>{1, 2}));
  auto st = status(s);
  CAF_CHECK_EQUAL(st.state, service_state::failed);
  // 1 handled; 2 threw (neither in nor dropped, like a single message that
  // throws); 3, 4 and 5 never reached the handler.
  CAF_CHECK_EQUAL(st.messages_in, 1u);
  CAF_CHECK_EQUAL(st.messages_dropped, 3u);
}

CAF_TEST(a batch stops at the item whose handler failed the service) {
  auto seen = std::make_shared<std::vector<int32_t>>();
  auto s = spawn_service<tick_sink>(sys, opts("sink"), seen, -1, 3);
  start_ok(s);
  self->send(bus, publish_atom::value, std::string{"t.a"},
             caf::make_message(ticks{{1, 2, 3, 4, 5}}));
  run();
  CAF_CHECK_EQUAL(*seen, (std::vector<int32_t>{1, 2, 3}));
  auto st = status(s);
  CAF_CHECK_EQUAL(st.state, service_state::failed);
  CAF_CHECK_EQUAL(st.messages_in, 3u);
  CAF_CHECK_EQUAL(st.messages_dropped, 2u);
}

CAF_TEST(what a failed subscriber did not handle goes to its next instance) {
  auto seen1 = std::make_shared<std::vector<int32_t>>();
  auto seen2 = std::make_shared<std::vector<int32_t>>();
  auto w1 = spawn_service<tick_sink>(sys, opts("worker"), seen1, 2, -1);
  auto p = spawn_service<ticker>(sys, opts("ticker"));
  start_ok(w1);
  start_ok(p);
  // One batch of 1..5: the worker handles 1, throws at 2 and fails; 3, 4
  // and 5 go back to the bus, which keeps them and what is published
  // meanwhile (10, 11) for the worker's next instance.
  self->send(p, burst_atom::value, int32_t{1}, int32_t{5});
  consume_messages();
  self->send(p, burst_atom::value, int32_t{10}, int32_t{2});
  consume_messages();
  CAF_CHECK_EQUAL(*seen1, (std::vector<int32_t>{1, 2}));
  CAF_CHECK_EQUAL(status(w1).state, service_state::failed);
  CAF_CHECK_EQUAL(status(w1).messages_dropped, 0u);
  CAF_CHECK_EQUAL(redelivery(bus), std::make_tuple(0u, 5u, 0u));
  // The publisher waits for them (its publish window).
  CAF_CHECK_EQUAL(status(p).messages_dropped, 0u);
  // The next instance, under the same name, gets them in the order the bus
  // took them.
  auto w2 = spawn_service<tick_sink>(sys, opts("worker"), seen2, -1, -1);
  start_ok(w2);
  consume_messages();
  CAF_CHECK_EQUAL(*seen2, (std::vector<int32_t>{3, 4, 5, 10, 11}));
  CAF_CHECK_EQUAL(status(w2).messages_in, 5u);
  CAF_CHECK_EQUAL(redelivery(bus), std::make_tuple(2u, 0u, 0u));
  auto st = status(p);
  CAF_CHECK_EQUAL(st.messages_dropped, 0u);
  CAF_CHECK_EQUAL(st.held_back, false);
}

CAF_TEST(what waits for a next instance too long is lost and counted) {
  auto short_bus = spawn_topic_bus(sys, 2s);
  auto with = [&](std::string name) {
    service_options o{std::move(name), "test", short_bus};
    o.publish_window = 10000;
    return o;
  };
  auto seen = std::make_shared<std::vector<int32_t>>();
  auto w = spawn_service<tick_sink>(sys, with("worker"), seen, 1, -1);
  auto reg = std::make_shared<metric_registry>();
  auto po = with("ticker");
  po.metrics = reg;
  auto p = spawn_service<ticker>(sys, po);
  start_ok(w);
  start_ok(p);
  self->send(p, burst_atom::value, int32_t{1}, int32_t{4});
  consume_messages();
  CAF_CHECK_EQUAL(redelivery(short_bus), std::make_tuple(0u, 3u, 0u));
  CAF_CHECK_EQUAL(status(p).messages_dropped, 0u);
  advance_time(1s);
  consume_messages();
  CAF_CHECK_EQUAL(redelivery(short_bus), std::make_tuple(0u, 3u, 0u));
  advance_time(2s);
  consume_messages();
  // Counted where the publisher can see it, with the reason.
  CAF_CHECK_EQUAL(redelivery(short_bus), std::make_tuple(0u, 0u, 3u));
  auto st = status(p);
  CAF_CHECK_EQUAL(st.messages_dropped, 3u);
  auto lost = reg->values("troupe_service_messages_lost_total");
  CAF_CHECK_EQUAL(lost.size(), 1u);
  if (!lost.empty()) {
    CAF_CHECK_EQUAL(lost.front().second, 3.0);
    CAF_CHECK(lost.front().first ==
              (metric_labels{{"reason", "subscriber_failed"}}));
  }
  anon_send_exit(short_bus, caf::exit_reason::user_shutdown);
  consume_messages();
}

CAF_TEST(when no next instance will come what waits is lost at once) {
  auto seen = std::make_shared<std::vector<int32_t>>();
  auto w = spawn_service<tick_sink>(sys, opts("worker"), seen, 1, -1);
  auto p = spawn_service<ticker>(sys, opts("ticker"));
  start_ok(w);
  start_ok(p);
  self->send(p, burst_atom::value, int32_t{1}, int32_t{3});
  consume_messages();
  CAF_CHECK_EQUAL(redelivery(bus), std::make_tuple(0u, 2u, 0u));
  // What a supervisor that will not restart the worker sends.
  self->send(detail::plumbing_of(bus), bus_giveup_atom::value,
             std::string{"worker"});
  consume_messages();
  CAF_CHECK_EQUAL(redelivery(bus), std::make_tuple(0u, 0u, 2u));
  CAF_CHECK_EQUAL(status(p).messages_dropped, 2u);
  // What is published for it from now on matches no subscriber.
  self->send(p, burst_atom::value, int32_t{5}, int32_t{1});
  consume_messages();
  CAF_CHECK_EQUAL(redelivery(bus), std::make_tuple(0u, 0u, 2u));
  CAF_CHECK_EQUAL(status(p).messages_dropped, 3u);
}

CAF_TEST(the next instance of a supervised worker gets what the last missed) {
  // The first instance throws at tick 2; the ones after it do not.
  auto seen = std::make_shared<std::vector<int32_t>>();
  auto instances = std::make_shared<int>(0);
  auto worker = [&](restart_policy policy) {
    child_spec c;
    c.name = "worker";
    c.type = "tick_sink";
    c.restart = policy;
    c.options = opts("worker");
    c.factory = [seen, instances](caf::actor_system& sys, service_options o) {
      auto throw_at = (*instances)++ == 0 ? 2 : -1;
      return caf::actor_cast<service_actor>(
        spawn_service<tick_sink>(sys, std::move(o), seen, throw_at, -1));
    };
    return c;
  };
  supervisor_options so;
  so.name = "sup";
  so.backoff_min = 10ms;
  so.backoff_max = 10ms;
  so.jitter = 0;
  auto sup = spawn_supervisor(sys, so, {worker(restart_policy::permanent)});
  start_ok(sup);
  auto p = spawn_service<ticker>(sys, opts("ticker"));
  start_ok(p);
  self->send(p, burst_atom::value, int32_t{1}, int32_t{5});
  consume_messages();
  CAF_CHECK_EQUAL(*seen, (std::vector<int32_t>{1, 2}));
  CAF_CHECK_EQUAL(redelivery(bus), std::make_tuple(0u, 3u, 0u));
  advance_time(10ms); // the restart's backoff
  consume_messages();
  CAF_CHECK_EQUAL(*instances, 2);
  CAF_CHECK_EQUAL(*seen, (std::vector<int32_t>{1, 2, 3, 4, 5}));
  CAF_CHECK_EQUAL(redelivery(bus), std::make_tuple(1u, 0u, 0u));
  CAF_CHECK_EQUAL(status(p).messages_dropped, 0u);
  CAF_CHECK_EQUAL(status(p).held_back, false);
  anon_send_exit(sup, caf::exit_reason::user_shutdown);
  consume_messages();
}

CAF_TEST(a supervisor that will not restart a worker has its messages lost) {
  auto seen = std::make_shared<std::vector<int32_t>>();
  child_spec c;
  c.name = "worker";
  c.type = "tick_sink";
  c.restart = restart_policy::temporary;
  c.options = opts("worker");
  c.factory = [seen](caf::actor_system& sys, service_options o) {
    return caf::actor_cast<service_actor>(
      spawn_service<tick_sink>(sys, std::move(o), seen, 2, -1));
  };
  supervisor_options so;
  so.name = "sup";
  auto sup = spawn_supervisor(sys, so, {c});
  start_ok(sup);
  auto p = spawn_service<ticker>(sys, opts("ticker"));
  start_ok(p);
  self->send(p, burst_atom::value, int32_t{1}, int32_t{5});
  consume_messages();
  // Counted at once, not after the bus's 30 s.
  CAF_CHECK_EQUAL(redelivery(bus), std::make_tuple(0u, 0u, 3u));
  CAF_CHECK_EQUAL(status(p).messages_dropped, 3u);
  anon_send_exit(sup, caf::exit_reason::user_shutdown);
  consume_messages();
}

CAF_TEST(a batch that dies unhandled in a mailbox goes back to the bus) {
  auto seen = std::make_shared<std::vector<int32_t>>();
  auto w = spawn_service<tick_sink>(sys, opts("worker"), seen, -1, -1);
  start_ok(w);
  // A batch for a "worker" instance that died before handling it: its last
  // copy goes as its mailbox is destroyed.
  {
    auto d = std::make_shared<detail::bus_delivery>();
    d->ack = std::make_shared<detail::publish_ack>();
    d->bus = bus.address();
    d->name = "worker";
    d->to = w.id() + 1000; // not the live one
    bus_batch b{{bus_item{"t.x", caf::make_message(tick{7})}}, 0, std::move(d)};
  }
  consume_messages();
  CAF_CHECK_EQUAL(*seen, (std::vector<int32_t>{7}));
  CAF_CHECK_EQUAL(redelivery(bus), std::make_tuple(1u, 0u, 0u));
  // One that its subscriber took is not given back.
  {
    auto d = std::make_shared<detail::bus_delivery>();
    d->ack = std::make_shared<detail::publish_ack>();
    d->bus = bus.address();
    d->name = "worker";
    d->taken = true;
    bus_batch b{{bus_item{"t.x", caf::make_message(tick{8})}}, 0, std::move(d)};
  }
  consume_messages();
  CAF_CHECK_EQUAL(*seen, (std::vector<int32_t>{7}));
  // Without a next instance yet, it waits for one; when none will come,
  // it is lost, and counted.
  auto ack = std::make_shared<detail::publish_ack>();
  {
    auto d = std::make_shared<detail::bus_delivery>();
    d->ack = ack;
    d->bus = bus.address();
    d->name = "nobody";
    bus_batch b{{bus_item{"t.x", caf::make_message(tick{9})}}, 0, std::move(d)};
  }
  consume_messages();
  CAF_CHECK_EQUAL(ack->lost.load(), 0u);
  CAF_CHECK_EQUAL(redelivery(bus), std::make_tuple(1u, 1u, 0u));
  self->send(detail::plumbing_of(bus), bus_giveup_atom::value,
             std::string{"nobody"});
  consume_messages();
  CAF_CHECK_EQUAL(ack->lost.load(), 1u);
  CAF_CHECK_EQUAL(redelivery(bus), std::make_tuple(1u, 0u, 1u));
}

CAF_TEST(a stop waiting for tracked work still takes replies and nothing else) {
  auto log = std::make_shared<log_t>();
  auto r = spawn_service<requester>(sys, opts("requester"), log);
  start_ok(r);
  self->send(r, go_atom::value);
  run();
  CAF_CHECK_EQUAL(status(r).in_flight, 1u);
  auto rh = begin_stop(r, 10s); // not run(): that would fire its deadline
  CAF_CHECK_EQUAL(status(r).state, service_state::stopping);
  // Not a reply: the bus no longer routes it here.
  self->send(bus, publish_atom::value, std::string{"other.x"},
             caf::make_message(tagged{1, 1}));
  consume_messages();
  CAF_CHECK(log->seen.empty());
  auto counts = bus_counts(); // a local: CAF_CHECK_EQUAL keeps references
  CAF_CHECK_EQUAL(std::get<0>(counts), 1u); // "reply." only
  // The reply arrives while stopping, ends the work and with it the stop.
  self->send(bus, publish_atom::value, std::string{"reply.1"},
             caf::make_message(tagged{1, 2}));
  consume_messages();
  CAF_REQUIRE_EQUAL(log->seen.size(), 1u);
  CAF_CHECK_EQUAL(log->seen[0].first, "reply.1");
  auto answered = stop_answer(rh);
  CAF_CHECK_EQUAL(answered, service_state::stopped);
  auto st = status(r);
  CAF_CHECK(!st.stopped_hard);
  CAF_CHECK_EQUAL(st.messages_in, 2u); // go and the reply
  // Stopped: the reply subscription ended too.
  auto left = bus_counts();
  CAF_CHECK_EQUAL(std::get<0>(left), 0u);
}

CAF_TEST(without tracked work a stop ends reply subscriptions at once) {
  auto log = std::make_shared<log_t>();
  auto r = spawn_service<requester>(sys, opts("requester"), log);
  start_ok(r);
  CAF_REQUIRE(stop(r));
  auto left = bus_counts();
  CAF_CHECK_EQUAL(std::get<0>(left), 0u);
  self->send(bus, publish_atom::value, std::string{"reply.1"},
             caf::make_message(tagged{1, 2}));
  run();
  CAF_CHECK(log->seen.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
