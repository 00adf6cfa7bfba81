// The bridge's logic against the in-memory fake transport: no sockets, so
// the tests decide exactly when an endpoint takes messages ("would block"
// otherwise) and feed exactly the frames they want. A real actor system and
// the real local bus; every wait is for an event, bounded by 5 s.
//
// The receiver runs no thread here: a test reads input with `rx->step()`
// (manual_receiver.hpp) and then `settle()`s, which orders requests behind
// what the step handed on (CAF keeps messages between two actors in
// order), so that what the bridge, the bus and the subscribers did with it
// is done when the test looks: no polling, no sleep.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/delivery_hold.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/service_host.hpp"
#include "troupe/actors/topic_bus.hpp"
#include "troupe/bridge/bag.hpp"
#include "troupe/bridge/bridge_service.hpp"
#include "troupe/bridge/fake_transport.hpp"
#include "troupe/bridge/manual_receiver.hpp"
#include "troupe/bridge/test_support.hpp"

using namespace troupe;
using namespace troupe::bridge;
using namespace std::chrono_literals;

namespace {

struct fake_system_config : caf::actor_system_config {
  fake_system_config() { init_actor_system_config(*this); }
};

config::table ep(std::initializer_list<config::table::value_type> kv) {
  return config::table{kv};
}

class bridge_logic : public testing::Test {
protected:
  bridge_logic() : sys(cfg), self(sys), bus(spawn_topic_bus(sys)) {}

  ~bridge_logic() override {
    if (br)
      self->send_exit(br, caf::exit_reason::user_shutdown);
    // Also after a failed assertion: the actor system waits for them.
    for (auto& a : others)
      self->send_exit(a, caf::exit_reason::user_shutdown);
    self->send_exit(bus, caf::exit_reason::user_shutdown);
  }

  void start(config::table endpoints, config::table top = {}) {
    top.insert_or_assign("endpoints", config::value{std::move(endpoints)});
    br = spawn_service<bridge_service>(sys, {"br", "bridge", bus}, net, rx);
    for (auto* step : {"configure", "start"}) {
      std::optional<service_state> st;
      std::string err;
      auto on_error = [&](const caf::error& e) { err = describe(e); };
      auto on_state = [&](service_state s) { st = s; };
      if (std::string{step} == "configure")
        self->request(br, 5s, configure_atom::value, settings{top})
          .receive(on_state, on_error);
      else
        self->request(br, 5s, start_atom::value).receive(on_state, on_error);
      ASSERT_TRUE(st) << step << ": " << err;
    }
  }

  nlohmann::json stats(const std::string& name) {
    return troupe::bridge::test_support::endpoint_stats(self, br, name);
  }

  /// Returns once the bridge, the bus and then each of `subs` (service
  /// hosts, which answer the bus's deliveries after their handlers ran)
  /// handled everything sent to them before, and the bridge handled what
  /// that caused: the bus's acknowledgements, which return credit.
  void settle(std::initializer_list<caf::actor> subs = {}) {
    auto sync = [this](const caf::actor& a) {
      self->request(a, 5s, status_atom::value)
        .receive([](const service_status&) {}, [](const caf::error&) {});
    };
    auto sync_bus = [this] {
      self->request(bus, 5s, status_atom::value)
        .receive([](uint64_t, uint64_t, uint64_t) {}, [](caf::error&) {});
    };
    auto sync_bridge = [this] {
      self->request(br, 5s, stats_atom::value)
        .receive([](const std::string&) {}, [](const caf::error&) {});
    };
    sync_bridge();
    sync_bus();
    for (auto& sub : subs)
      sync(sub);
    sync_bus();
    // Last, the bridge again: a publish's acknowledgement goes to it from
    // whichever thread drops the last share of the delivery, which can be
    // the bus's after the test's actor took the items; the bus has sent it
    // by the time it answered above, and the bridge must have handled it
    // (its credit back) before the receiver steps again.
    sync_bridge();
  }

  /// Subscribes the test's own actor to `prefix` on the bus, and waits
  /// until the bus has taken the subscription.
  void subscribe_self(std::string prefix) {
    self->send(bus, subscribe_atom::value, std::move(prefix),
               caf::actor_cast<caf::actor>(self));
    self->request(bus, 5s, status_atom::value)
      .receive([](uint64_t, uint64_t, uint64_t) {}, [](caf::error&) {});
  }

  /// Receives the bus's deliveries to the test's own actor, adding their
  /// items to `got`, until `got` reaches `want`; fails when none comes
  /// within 5 s.
  testing::AssertionResult receive_items(int& got, int want) {
    while (got < want) {
      bool timed_out = false;
      self->receive(
        [&](deliver_atom, const std::string&, const caf::message& m) {
          got += static_cast<int>(test_support::items(m));
        },
        caf::after(5s) >> [&] { timed_out = true; });
      if (timed_out)
        return testing::AssertionFailure()
               << "no delivery within 5 s at " << got << " of " << want;
    }
    return testing::AssertionSuccess();
  }

  template <class Pred>
  nlohmann::json wait_stats(const std::string& name, Pred pred) {
    return troupe::bridge::test_support::wait_stats(self, br, name, pred);
  }

  void publish(std::string topic, int64_t x) {
    self->send(bus, publish_atom::value, std::move(topic),
               caf::make_message(x));
  }

  fake_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  bus_actor bus;
  std::shared_ptr<fake_transport> net = std::make_shared<fake_transport>();
  /// Actors a test spawned besides the bridge and the bus.
  std::vector<caf::actor> others;
  std::shared_ptr<manual_receiver> rx = std::make_shared<manual_receiver>();
  bridge_service::interface br;
};

std::vector<std::string> payloads(fake_transport::fake_endpoint& e, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    if (auto m = e.take_within(5s))
      out.push_back(m->at(1));
  return out;
}

} // namespace

TEST_F(bridge_logic, malformed_frames_are_counted_by_reason) {
  start(config::table{
    {"in",
     ep({{"socket", "pull"}, {"bind", "x"}, {"max_message_bytes", 64}})}});
  auto in = net->endpoint("in");
  in->inject({"t"});                       // missing_payload
  in->inject({"t", std::string(65, '1')}); // too_large (ZMQ: a disconnect)
  in->inject({"", "{}"});                  // empty_topic
  in->inject({"t", "not json"});           // invalid_json
  in->inject({"t", "{}", "[1]"});          // invalid_meta
  in->inject({"t", "{}", "{}", "x"});      // too_many_frames
  in->inject({std::string{"\xff"}, "{}"}); // topic_not_utf8
  in->inject({"t.ok", "{}"});
  ASSERT_TRUE(rx->step());
  auto s = stats("in");
  EXPECT_EQ(s["received"], 1);
  EXPECT_EQ(s["malformed_total"], 7);
  for (auto* r : {"missing_payload", "too_large", "empty_topic", "invalid_json",
                  "invalid_meta", "too_many_frames", "topic_not_utf8"})
    EXPECT_EQ(s["malformed"][r], 1) << r;
}

TEST_F(bridge_logic, meta_sequence_gaps_are_counted_per_source) {
  start(config::table{
    {"in", ep({{"socket", "sub"}, {"connect", config::list{"x"}}})}});
  auto in = net->endpoint("in");
  auto meta = [](const char* src, int seq) {
    return nlohmann::json{{"src", src}, {"seq", seq}}.dump();
  };
  // a: 1, 2, 5 (two missing); b: 7, 8 (none missing, first seen at 7).
  for (int seq : {1, 2, 5})
    in->inject({"t", "{}", meta("a", seq)});
  for (int seq : {7, 8})
    in->inject({"t", "{}", meta("b", seq)});
  ASSERT_TRUE(rx->step());
  auto s = stats("in");
  EXPECT_EQ(s["received"], 5);
  EXPECT_EQ(s["gaps"], 2);
}

TEST_F(bridge_logic, drop_newest_counts_what_the_endpoint_would_not_take) {
  net->endpoint("out")->set_capacity(2);
  start(config::table{
    {"out",
     ep({{"socket", "push"}, {"bind", "x"}, {"on_full", "drop_newest"}})}});
  for (int64_t i = 0; i < 10; ++i)
    publish("n", i);
  auto s = wait_stats("out", [](auto& s) { return s["dropped"] == 8; });
  EXPECT_EQ(s["sent"], 2);
  EXPECT_EQ(s["dropped"], 8);
  EXPECT_EQ(s["queued"], 0);
  EXPECT_EQ(payloads(*net->endpoint("out"), 2),
            (std::vector<std::string>{"0", "1"}));
}

TEST_F(bridge_logic, drop_oldest_keeps_the_newest_hwm_messages) {
  auto out = net->endpoint("out");
  out->set_capacity(0);
  start(config::table{{"out", ep({{"socket", "push"},
                                  {"bind", "x"},
                                  {"hwm", 3},
                                  {"on_full", "drop_oldest"}})}});
  for (int64_t i = 0; i < 10; ++i)
    publish("n", i);
  auto s = wait_stats("out", [](auto& s) { return s["dropped"] == 7; });
  EXPECT_EQ(s["dropped"], 7);
  EXPECT_EQ(s["queued"], 3);
  out->set_capacity(100);
  EXPECT_EQ(payloads(*out, 3), (std::vector<std::string>{"7", "8", "9"}));
  s = wait_stats("out", [](auto& s) { return s["queued"] == 0; });
  EXPECT_EQ(s["sent"], 3);
}

TEST_F(bridge_logic, drop_oldest_keeps_the_queue_within_max_queued_bytes) {
  auto out = net->endpoint("out");
  out->set_capacity(0);
  // Each message is 1 (topic) + 1 (payload) bytes: at most 3 fit in 7.
  start(config::table{{"out", ep({{"socket", "push"},
                                  {"bind", "x"},
                                  {"on_full", "drop_oldest"},
                                  {"max_queued_bytes", 7}})}});
  for (int64_t i = 0; i < 10; ++i)
    publish("n", i);
  auto s = wait_stats("out", [](auto& s) { return s["dropped"] == 7; });
  EXPECT_EQ(s["queued"], 3);
  EXPECT_EQ(s["queued_bytes"], 6);
  EXPECT_EQ(s["max_queued"], 10000); // hwm
  EXPECT_EQ(s["max_queued_bytes"], 7);
  EXPECT_EQ(s["dropped_by_reason"]["drop_oldest"], 7);
  out->set_capacity(100);
  EXPECT_EQ(payloads(*out, 3), (std::vector<std::string>{"7", "8", "9"}));
  s = wait_stats("out", [](auto& s) { return s["queued"] == 0; });
  EXPECT_EQ(s["queued_bytes"], 0);
}

TEST_F(bridge_logic, block_drops_beyond_max_queued_as_queue_full) {
  auto out = net->endpoint("out");
  out->set_capacity(0);
  start(config::table{
    {"out", ep({{"socket", "push"}, {"bind", "x"}, {"max_queued", 4}})}});
  // Plain publishes (nobody waits for an acknowledgement): the bound holds.
  for (int64_t i = 0; i < 10; ++i)
    publish("n", i);
  auto s = wait_stats("out", [](auto& s) { return s["dropped"] == 6; });
  EXPECT_EQ(s["queued"], 4);
  EXPECT_EQ(s["dropped_by_reason"]["queue_full"], 6);
  EXPECT_EQ(s["dropped_by_reason"]["drop_oldest"], 0);
  out->set_capacity(100);
  EXPECT_EQ(payloads(*out, 4), (std::vector<std::string>{"0", "1", "2", "3"}));
  s = wait_stats("out", [](auto& s) { return s["queued"] == 0; });
  EXPECT_EQ(s["sent"], 4);
  EXPECT_EQ(s["dropped"], 6);
}

TEST_F(bridge_logic, block_keeps_everything_in_order_until_taken) {
  auto out = net->endpoint("out");
  out->set_capacity(4);
  // A stall of any length: never sent past the full subscriber.
  start(config::table{
    {"out", ep({{"socket", "pub"}, {"bind", "x"}, {"stall_timeout", "1h"}})}});
  for (int64_t i = 0; i < 50; ++i)
    publish("n", i);
  auto s = wait_stats("out", [](auto& s) { return s["queued"] == 46; });
  EXPECT_EQ(s["queued"], 46);
  EXPECT_EQ(s["dropped"], 0);
  // Taking one frees one place: the queue drains as the peer reads.
  std::vector<std::string> got;
  for (int i = 0; i < 50; ++i)
    if (auto m = out->take_within(5s); m && m->at(0) == "n")
      got.push_back(m->at(1));
  ASSERT_EQ(got.size(), 50u);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(got[i], std::to_string(i));
  s = wait_stats("out", [](auto& s) { return s["queued"] == 0; });
  EXPECT_EQ(s["dropped"], 0);
}

TEST_F(bridge_logic, a_stalled_subscriber_is_sent_past_after_stall_timeout) {
  auto out = net->endpoint("out");
  out->set_capacity(0); // the (one) subscriber takes nothing
  start(config::table{{"out", ep({{"socket", "pub"},
                                  {"bind", "x"},
                                  {"stall_timeout", "50ms"}})}},
        config::table{{"heartbeat_interval", "0s"}});
  for (int64_t i = 0; i < 20; ++i)
    publish("n", i);
  // Held back for 50 ms, then every one goes out past the full pipe.
  auto s = wait_stats("out", [](auto& s) { return s["sent"] == 20; });
  EXPECT_EQ(s["sent"], 20);
  EXPECT_EQ(s["queued"], 0);
  EXPECT_EQ(s["dropped"], 20);
  EXPECT_EQ(s["dropped_by_reason"]["slow_subscriber"], 20);
  EXPECT_EQ(out->missed_count(), 20u);
  // Once the subscriber takes messages again, nothing more is missed.
  out->set_capacity(5);
  for (int64_t i = 20; i < 25; ++i)
    publish("n", i);
  s = wait_stats("out", [](auto& s) { return s["sent"] == 25; });
  EXPECT_EQ(s["dropped_by_reason"]["slow_subscriber"], 20);
  EXPECT_EQ(payloads(*out, 5),
            (std::vector<std::string>{"20", "21", "22", "23", "24"}));
}

TEST_F(bridge_logic, a_pub_goodbye_goes_past_a_stalled_subscriber) {
  auto out = net->endpoint("out");
  out->set_capacity(0); // a subscriber that takes nothing, never sent past
  start(
    config::table{
      {"out", ep({{"socket", "pub"}, {"bind", "x"}, {"stall_timeout", "1h"}})}},
    config::table{{"heartbeat_interval", "1h"}});
  std::optional<service_state> st;
  self
    ->request(br, 5s, stop_atom::value, std::string{"test"}, caf::timespan{1s})
    .receive([&](service_state s) { st = s; }, [](const caf::error&) {});
  ASSERT_EQ(st, service_state::stopped);
  // Handed to ZMQ past the full subscriber (which misses it; the others
  // get it), not held back from every subscriber by that one.
  EXPECT_EQ(out->missed_count(), 1u);
}

TEST_F(bridge_logic, a_full_block_endpoint_holds_its_publisher_back) {
  auto out = net->endpoint("out");
  out->set_capacity(4);
  start(config::table{{"out", ep({{"socket", "push"}, {"bind", "x"}})}});
  bus_batch b;
  for (int64_t i = 0; i < 10; ++i)
    b.items.push_back(bus_item{"n", caf::make_message(i)});
  // A publisher that waits for the bus to say its batch was taken.
  auto probe = sys.spawn([bus = bus, b](caf::event_based_actor* a) {
    auto taken = std::make_shared<bool>(false);
    a->request(bus, caf::infinite, publish_batch_atom::value, b)
      .then([taken](uint64_t, uint64_t) { *taken = true; });
    return caf::behavior{[taken](status_atom) { return *taken; }};
  });
  auto taken = [&] {
    bool out = false;
    self->request(probe, 5s, status_atom::value)
      .receive([&](bool x) { out = x; }, [](const caf::error&) {});
    return out;
  };
  auto s = wait_stats("out", [](auto& s) { return s["queued"] == 6; });
  ASSERT_EQ(s["queued"], 6);
  // The bridge has handled the batch. Whatever it answered the bus is
  // through the bus once the bus answers this, and through the probe
  // before the probe answers: in order, so no answer means none was sent.
  self->request(bus, 5s, status_atom::value)
    .receive([](uint64_t, uint64_t, uint64_t) {}, [](const caf::error&) {});
  EXPECT_FALSE(taken());
  // Once the peer took everything, the publisher may go on.
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(out->take_within(5s));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!taken() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(taken());
  self->send_exit(probe, caf::exit_reason::user_shutdown);
}

TEST_F(bridge_logic, an_unanswered_request_gets_a_timeout_error_reply) {
  start(config::table{
    {"rpc", ep({{"socket", "rep"}, {"bind", "x"}, {"timeout", "20ms"}})}});
  auto rpc = net->endpoint("rpc");
  rpc->inject({"peer-1", "", "nobody.home", "1"});
  ASSERT_TRUE(rx->step());
  EXPECT_EQ(rpc->sent_count(), 0u); // nobody answered yet
  // The timeout's reply wakes the receiver, which sends it.
  std::optional<multipart> reply;
  for (int i = 0; i < 10 && !reply; ++i) {
    ASSERT_TRUE(rx->step(5s));
    reply = rpc->take();
  }
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->size(), 4u);
  EXPECT_EQ((*reply)[0], "peer-1"); // routed back to the asking peer
  EXPECT_EQ((*reply)[1], "");
  EXPECT_EQ((*reply)[2], "troupe.error");
  EXPECT_EQ(nlohmann::json::parse((*reply)[3])["code"], "timeout");
  EXPECT_EQ(stats("rpc")["timeouts"], 1);
  // A malformed request is answered at once, with the reason.
  rpc->inject({"peer-2", "", "calc.x"});
  ASSERT_TRUE(rx->step());
  reply = rpc->take();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)[0], "peer-2");
  auto err = nlohmann::json::parse(reply->at(3));
  EXPECT_EQ(err["code"], "malformed");
  EXPECT_EQ(err["message"], "missing_payload");
}

TEST_F(bridge_logic, a_request_through_proxies_is_answered_on_its_whole_route) {
  // Each ROUTER-DEALER proxy on the way puts one more identity in front:
  // [proxy][client][request id][""][topic][payload]. The reply goes back
  // with all four routing frames, and nothing is counted malformed.
  start(config::table{
    {"rpc", ep({{"socket", "router"}, {"bind", "x"}, {"timeout", "20ms"}})}});
  auto rpc = net->endpoint("rpc");
  rpc->inject({"proxy-2", "proxy-1", "client-7", "42", "", "nobody.home", "1"});
  std::optional<multipart> reply;
  for (int i = 0; i < 10 && !reply; ++i) {
    ASSERT_TRUE(rx->step(5s));
    reply = rpc->take();
  }
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->size(), 7u);
  EXPECT_EQ(
    std::vector<std::string>(reply->begin(), reply->begin() + 5),
    (std::vector<std::string>{"proxy-2", "proxy-1", "client-7", "42", ""}));
  EXPECT_EQ((*reply)[5], "troupe.error");
  EXPECT_EQ(nlohmann::json::parse((*reply)[6])["code"], "timeout");
  EXPECT_EQ(stats("rpc")["malformed_total"], 0);
  // A DEALER peer without a delimiter: the identity alone routes, and the
  // payload may be empty.
  rpc->inject({"peer-3", "nobody.home", ""});
  reply.reset();
  for (int i = 0; i < 10 && !reply; ++i) {
    ASSERT_TRUE(rx->step(5s));
    reply = rpc->take();
  }
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->size(), 3u);
  EXPECT_EQ((*reply)[0], "peer-3");
  EXPECT_EQ((*reply)[1], "troupe.error");
}

TEST_F(bridge_logic, a_restarted_bridge_keeps_the_recording_before_it) {
  // record = "FILE": the first start in a process replaces FILE and any
  // FILE.rN of an earlier run; a restart records into FILE.r1, so what came
  // before a crash stays.
  auto dir = std::filesystem::temp_directory_path() /
             ("troupe-record-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = (dir / "in.bag").string();
  { std::ofstream stale{file + ".r1"}; } // left by an earlier run
  auto endpoints = config::table{
    {"in", ep({{"socket", "pull"}, {"bind", "x"}, {"record", file}})}};
  auto count = [](const std::string& path) {
    std::string err;
    auto r = bag_reader::open(path, err);
    bag_summary sum;
    if (!r || !r->summarize(sum, err))
      return std::string{"error: "} + err;
    return std::to_string(sum.messages);
  };
  auto run = [&](int messages) {
    for (int i = 0; i < messages; ++i)
      net->endpoint("in")->inject({"w.x", std::to_string(i)});
    ASSERT_TRUE(rx->step());
    settle();
    self
      ->request(br, 5s, stop_atom::value, std::string{"test"},
                caf::timespan{5s})
      .receive([](service_state) {}, [](const caf::error&) {});
  };
  start(endpoints);
  EXPECT_FALSE(std::filesystem::exists(file + ".r1")); // the stale one went
  run(3);
  // The same bridge started again (a supervisor's restart spawns a new
  // instance; the rule is per process and file, so it is the same).
  std::optional<service_state> st;
  self->request(br, 5s, start_atom::value)
    .receive([&](service_state s) { st = s; }, [](const caf::error&) {});
  ASSERT_TRUE(st);
  run(5);
  EXPECT_EQ(count(file), "3");
  EXPECT_EQ(count(file + ".r1"), "5");
  std::filesystem::remove_all(dir);
}

TEST_F(bridge_logic, inbound_batches_never_exceed_the_credit_window) {
  subscribe_self("w.");
  // All 100 are ready at once; a window of 8 lets at most 8 through before
  // the actor has passed them on.
  auto in = net->endpoint("in");
  for (int i = 0; i < 100; ++i)
    in->inject({"w.x", std::to_string(i)});
  start(
    config::table{{"in", ep({{"socket", "pull"}, {"bind", "x"}, {"hwm", 8}})}});
  // Each step takes one window: 8 until the bus took them, then no more.
  int got = 0;
  for (int round = 0; round < 13; ++round) {
    ASSERT_TRUE(rx->step());
    ASSERT_TRUE(rx->step()); // no credit left: reads nothing
    auto want = std::min(got + 8, 100);
    ASSERT_TRUE(receive_items(got, want));
    ASSERT_EQ(got, want) << "round " << round;
    settle();
    ASSERT_EQ(stats("in")["in_flight"], 0) << "round " << round;
  }
  EXPECT_EQ(got, 100);
  auto s = stats("in");
  EXPECT_EQ(s["received"], 100);
  EXPECT_EQ(s["window"], 8);
  EXPECT_EQ(s["in_flight"], 0);
  EXPECT_EQ(s["in_flight_max"], 8);
}

TEST_F(bridge_logic,
       inbound_bytes_never_exceed_the_byte_window_by_more_than_a_read) {
  subscribe_self("w.");
  // 100 messages of 3 + 97 = 100 bytes (a JSON string), all ready; a
  // window of 1000 bytes
  // (and 1000 messages) lets at most one read of 64 past it.
  auto in = net->endpoint("in");
  for (int i = 0; i < 100; ++i)
    in->inject({"w.x", '"' + std::string(95, 'a') + '"'});
  start(config::table{{"in", ep({{"socket", "pull"},
                                 {"bind", "x"},
                                 {"hwm", 1000},
                                 {"max_in_flight_bytes", 1000}})}});
  // A step reads 64 (one read: 10 fill the window), then nothing until the
  // bus took them: 64 + 36.
  int got = 0;
  for (int want : {64, 100}) {
    ASSERT_TRUE(rx->step());
    ASSERT_TRUE(rx->step());
    ASSERT_TRUE(receive_items(got, want));
    ASSERT_EQ(got, want);
    settle();
  }
  auto s = stats("in");
  EXPECT_EQ(s["received"], 100);
  EXPECT_EQ(s["window_bytes"], 1000);
  EXPECT_EQ(s["in_flight_bytes"], 0);
  // Bytes are not tracked at their peak; messages are: 10 fill the window,
  // a read takes 64.
  EXPECT_EQ(s["in_flight_max"], 64);
}

namespace {

using count_atom = caf::atom_constant<caf::atom("tcount")>;
using release_atom = caf::atom_constant<caf::atom("trelease")>;

// A subscriber that holds back every delivery until told to release them.
class holding_subscriber : public service {
public:
  using interface =
    service_actor::extend<caf::replies_to<count_atom>::with<int>,
                          caf::reacts_to<release_atom>>;

  auto handlers() {
    return std::make_tuple([this](count_atom) { return got_; },
                           [this](release_atom) {
                             holding_ = false;
                             holds_.clear();
                           });
  }

  hook_result on_start() override {
    subscribe<envelope>("w.", [this](const std::string&, const envelope&) {
      ++got_;
      if (holding_)
        holds_.push_back(hold_delivery());
    });
    return hook_result::success();
  }

private:
  int got_ = 0;
  bool holding_ = true;
  std::vector<delivery_hold> holds_;
};

using seen_atom = caf::atom_constant<caf::atom("tseen")>;

// Records "topic payload via" of every envelope, one handler call each.
class recording_subscriber : public service {
public:
  using interface = service_actor::extend<
    caf::replies_to<seen_atom>::with<std::vector<std::string>>>;

  auto handlers() {
    return std::make_tuple([this](seen_atom) { return seen_; });
  }

  hook_result on_start() override {
    subscribe<envelope>(
      "local.", [this](const std::string& topic, const envelope& e) {
        seen_.push_back(topic + " " + e.payload + " " + e.via);
      });
    return hook_result::success();
  }

private:
  std::vector<std::string> seen_;
};

} // namespace

TEST_F(bridge_logic, a_per_message_subscriber_takes_batches_one_at_a_time) {
  auto sub = spawn_service<recording_subscriber>(sys, {"sub", "sub", bus});
  others.push_back(caf::actor_cast<caf::actor>(sub));
  self->request(sub, 5s, start_atom::value)
    .receive([](service_state) {},
             [](const caf::error& e) { FAIL() << describe(e); });
  auto in = net->endpoint("in");
  for (int i = 0; i < 3; ++i)
    in->inject({"a", "a" + std::to_string(i)});
  in->inject({"b", "b0"});
  start(config::table{{"in", ep({{"socket", "pull"},
                                 {"bind", "x"},
                                 {"codec", "raw"},
                                 {"batch", true},
                                 {"local_prefix", "local."}})}});
  ASSERT_TRUE(rx->step());
  settle({caf::actor_cast<caf::actor>(sub)});
  auto s = stats("in");
  EXPECT_EQ(s["received"], 4);
  EXPECT_EQ(s["in_flight"], 0);
  std::vector<std::string> seen;
  self->request(sub, 5s, seen_atom::value)
    .receive([&](std::vector<std::string>& x) { seen = std::move(x); },
             [](const caf::error& e) { FAIL() << describe(e); });
  EXPECT_EQ(seen,
            (std::vector<std::string>{"local.a a0 br/in", "local.a a1 br/in",
                                      "local.a a2 br/in", "local.b b0 br/in"}));
  service_status st;
  self->request(sub, 5s, status_atom::value)
    .receive([&](service_status& x) { st = std::move(x); },
             [](const caf::error& e) { FAIL() << describe(e); });
  EXPECT_EQ(st.messages_in, 5u); // four envelopes and the seen request
  EXPECT_EQ(st.messages_dropped, 0u);
  self->send_exit(sub, caf::exit_reason::user_shutdown);
}

namespace {

// Like recording_subscriber, through `subscribe_message` (untyped), and
// keeping every message it was handed: the host reuses an unrolled item's
// message only when nobody kept it.
class untyped_recorder : public service {
public:
  using interface = recording_subscriber::interface;

  auto handlers() {
    return std::make_tuple([this](seen_atom) {
      std::vector<std::string> out;
      for (auto& m : kept_) {
        if (!m.match_element<envelope>(0)) {
          out.emplace_back("not an envelope");
          continue;
        }
        auto& e = m.get_as<envelope>(0);
        out.push_back(e.topic + " " + e.payload + " " + e.meta);
      }
      return out;
    });
  }

  hook_result on_start() override {
    subscribe_message("", [this](const std::string&, const caf::message& m) {
      kept_.push_back(m);
      return true;
    });
    return hook_result::success();
  }

private:
  std::vector<caf::message> kept_;
};

} // namespace

TEST_F(bridge_logic, an_untyped_subscriber_takes_default_batches_one_by_one) {
  auto sub = spawn_service<untyped_recorder>(sys, {"sub", "sub", bus});
  others.push_back(caf::actor_cast<caf::actor>(sub));
  self->request(sub, 5s, start_atom::value)
    .receive([](service_state) {},
             [](const caf::error& e) { FAIL() << describe(e); });
  auto in = net->endpoint("in");
  for (int i = 0; i < 3; ++i)
    in->inject({"a", "a" + std::to_string(i)});
  in->inject({"a", "m0", R"({"seq":1})"}); // a meta frame: sent alone
  in->inject({"b", "b0"});
  // Default settings but meta, which keeps the third frame.
  start(config::table{{"in", ep({{"socket", "pull"},
                                 {"bind", "x"},
                                 {"codec", "raw"},
                                 {"meta", true}})}});
  ASSERT_TRUE(rx->step());
  settle({caf::actor_cast<caf::actor>(sub)});
  auto s = stats("in");
  EXPECT_EQ(s["received"], 5);
  EXPECT_EQ(s["in_flight"], 0);
  std::vector<std::string> seen;
  self->request(sub, 5s, seen_atom::value)
    .receive([&](std::vector<std::string>& x) { seen = std::move(x); },
             [](const caf::error& e) { FAIL() << describe(e); });
  EXPECT_EQ(seen, (std::vector<std::string>{"a a0 ", "a a1 ", "a a2 ",
                                            R"(a m0 {"seq":1})", "b b0 "}));
  service_status st;
  self->request(sub, 5s, status_atom::value)
    .receive([&](service_status& x) { st = std::move(x); },
             [](const caf::error& e) { FAIL() << describe(e); });
  EXPECT_EQ(st.messages_in, 6u); // five envelopes and the seen request
  EXPECT_EQ(st.messages_dropped, 0u);
  self->send_exit(sub, caf::exit_reason::user_shutdown);
}

TEST_F(bridge_logic, a_slow_subscriber_holds_the_peer_back_through_the_window) {
  auto sub = spawn_service<holding_subscriber>(sys, {"sub", "sub", bus});
  others.push_back(caf::actor_cast<caf::actor>(sub));
  self->request(sub, 5s, start_atom::value)
    .receive([](service_state) {},
             [](const caf::error& e) { FAIL() << describe(e); });
  auto in = net->endpoint("in");
  for (int i = 0; i < 100; ++i)
    in->inject({"w.x", std::to_string(i)});
  start(
    config::table{{"in", ep({{"socket", "pull"}, {"bind", "x"}, {"hwm", 8}})}});
  auto count = [&] {
    int n = -1;
    self->request(sub, 5s, count_atom::value)
      .receive([&](int x) { n = x; }, [](const caf::error&) {});
    return n;
  };
  auto sub_actor = caf::actor_cast<caf::actor>(sub);
  // The window fills and stays full: no credit while the subscriber holds.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(rx->step());
    settle({sub_actor});
  }
  auto s = stats("in");
  ASSERT_EQ(s["in_flight"], 8);
  EXPECT_EQ(count(), 8);
  EXPECT_EQ(s["received"], 8);
  // Released, the rest flows: a window per step.
  self->send(sub, release_atom::value);
  settle({sub_actor});
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(stats("in")["in_flight"], 0) << "step " << i;
    ASSERT_TRUE(rx->step());
    settle({sub_actor});
  }
  EXPECT_EQ(count(), 100);
  s = stats("in");
  EXPECT_EQ(s["in_flight"], 0);
  EXPECT_EQ(s["received"], 100);
  EXPECT_EQ(s["in_flight_max"], 8);
  self->send_exit(sub, caf::exit_reason::user_shutdown);
}

TEST_F(bridge_logic, an_endpoint_that_cannot_open_fails_start) {
  net->fail_open("out", "bind x: Address already in use");
  br = spawn_service<bridge_service>(sys, {"br", "bridge", bus}, net);
  self
    ->request(
      br, 5s, configure_atom::value,
      settings{config::table{
        {"endpoints",
         config::table{{"out", ep({{"socket", "push"}, {"bind", "x"}})}}}}})
    .receive([](service_state) {}, [](const caf::error&) {});
  std::string err;
  self->request(br, 5s, start_atom::value)
    .receive([](service_state) {},
             [&](const caf::error& e) { err = describe(e); });
  EXPECT_NE(err.find("endpoint 'out': bind x: Address already in use"),
            std::string::npos)
    << err;
}

TEST_F(bridge_logic,
       a_batch_endpoint_publishes_one_envelope_batch_per_topic_run) {
  subscribe_self("local.");
  // Ready before the bridge starts, so that one read takes them all.
  auto in = net->endpoint("in");
  for (int i = 0; i < 5; ++i)
    in->inject({"a", "a" + std::to_string(i)});
  in->inject({"b", "b0"});
  in->inject({"a", "a5"});
  start(config::table{{"in", ep({{"socket", "pull"},
                                 {"bind", "x"},
                                 {"codec", "raw"},
                                 {"batch", true},
                                 {"local_prefix", "local."}})}});
  ASSERT_TRUE(rx->step());
  std::vector<std::pair<std::string, std::vector<std::string>>> runs;
  while (runs.size() < 3) {
    bool timed_out = false;
    self->receive(
      [&](deliver_atom, const std::string& topic, const caf::message& m) {
        ASSERT_TRUE(m.match_elements<envelope_batch>()) << to_string(m);
        auto& b = m.get_as<envelope_batch>(0);
        EXPECT_EQ(b.topic, topic);
        EXPECT_EQ(b.via, "br/in");
        std::vector<std::string> xs;
        for (size_t i = 0; i < b.size(); ++i)
          xs.emplace_back(b[i]);
        runs.emplace_back(topic, std::move(xs));
      },
      caf::after(5s) >> [&] { timed_out = true; });
    ASSERT_FALSE(timed_out) << runs.size() << " runs";
  }
  using run = std::pair<std::string, std::vector<std::string>>;
  EXPECT_EQ(runs[0], (run{"local.a", {"a0", "a1", "a2", "a3", "a4"}}));
  EXPECT_EQ(runs[1], (run{"local.b", {"b0"}}));
  EXPECT_EQ(runs[2], (run{"local.a", {"a5"}}));
  // Credit counts messages, not batches: all of it comes back.
  settle();
  auto s = stats("in");
  EXPECT_EQ(s["in_flight"], 0);
  EXPECT_EQ(s["received"], 7);
  EXPECT_EQ(s["in_flight_max"], 7);
}

TEST_F(bridge_logic, an_envelope_batch_goes_out_as_one_message_per_payload) {
  auto out = net->endpoint("out");
  out->set_capacity(4);
  start(config::table{{"out", ep({{"socket", "push"}, {"bind", "x"}})}});
  envelope_batch b{"n"};
  for (int i = 0; i < 10; ++i)
    b.add(std::to_string(i));
  self->send(bus, publish_atom::value, std::string{"n"},
             caf::make_message(std::move(b)));
  // Four fit; six wait in order under `block`.
  auto s = wait_stats("out", [](auto& s) { return s["queued"] == 6; });
  EXPECT_EQ(s["sent"], 4);
  std::vector<std::string> expected{"0", "1", "2", "3", "4",
                                    "5", "6", "7", "8", "9"};
  EXPECT_EQ(payloads(*out, 10), expected);
  s = wait_stats("out", [](auto& s) { return s["sent"] == 10; });
  EXPECT_EQ(s["queued"], 0);
  EXPECT_EQ(s["dropped"], 0);
}
