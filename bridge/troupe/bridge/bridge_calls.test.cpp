// Calls from a local service to a ZMQ peer through req and dealer
// endpoints: first against the fake transport (the test plays the peer
// frame by frame), then against a real REP and ROUTER peer on 127.0.0.1.
// Every wait is for an event, bounded by 5 s.

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/service_host.hpp"
#include "troupe/actors/topic_bus.hpp"
#include "troupe/bridge/bridge_service.hpp"
#include "troupe/bridge/call.hpp"
#include "troupe/bridge/fake_transport.hpp"
#include "troupe/bridge/proxy_config.hpp"
#include "troupe/bridge/proxy_runner.hpp"
#include "troupe/bridge/test_support.hpp"

using namespace troupe;
using namespace troupe::bridge;
using namespace std::chrono_literals;

namespace {

struct calls_system_config : caf::actor_system_config {
  calls_system_config() { init_actor_system_config(*this); }
};

using result_atom = caf::atom_constant<caf::atom("result")>;

// A service stand-in: on (endpoint, topic, payload, timeout in ms) it calls
// through the bridge "br" and reports (result_atom, ok, text) to `report`.
caf::behavior caller(caf::event_based_actor* self, const bus_actor& bus,
                     const caf::actor& report) {
  return {[=](const std::string& endpoint, const std::string& topic,
              const std::string& payload, int64_t timeout_ms) {
    auto c = call(self, envelope{topic, payload, "", ""},
                  std::chrono::milliseconds{timeout_ms},
                  [self, report](caf::expected<envelope> r) {
                    if (r)
                      self->send(report, result_atom::value, true,
                                 r->topic + " " + r->payload);
                    else
                      self->send(report, result_atom::value, false,
                                 describe(r.error()));
                  });
    self->send(bus, publish_atom::value, call_topic("br", endpoint),
               caf::make_message(std::move(c)));
  }};
}

class bridge_calls : public testing::Test {
protected:
  bridge_calls() : sys(cfg), self(sys), bus(spawn_topic_bus(sys)) {
    who = sys.spawn(caller, bus, caf::actor_cast<caf::actor>(self));
  }

  ~bridge_calls() override {
    if (br)
      self->send_exit(br, caf::exit_reason::user_shutdown);
    self->send_exit(who, caf::exit_reason::user_shutdown);
    self->send_exit(bus, caf::exit_reason::user_shutdown);
  }

  void start(config::table endpoints, std::shared_ptr<transport> t) {
    br =
      spawn_service<bridge_service>(sys, {"br", "bridge", bus}, std::move(t));
    configure_and_start(config::table{{"endpoints", std::move(endpoints)}});
  }

  /// Configures the bridge `br` with `top` and starts it.
  void configure_and_start(config::table top) {
    std::optional<service_state> st;
    std::string err;
    auto on_state = [&](service_state s) { st = s; };
    auto on_error = [&](const caf::error& e) { err = describe(e); };
    self->request(br, 5s, configure_atom::value, settings{std::move(top)})
      .receive(on_state, on_error);
    ASSERT_TRUE(st) << err;
    st.reset();
    self->request(br, 5s, start_atom::value).receive(on_state, on_error);
    ASSERT_TRUE(st) << err;
  }

  /// Makes `n` calls of calc.double through each of `endpoints` in turn
  /// and checks every reply.
  void expect_doubled(std::initializer_list<const char*> endpoints, int n) {
    for (int i = 1; i <= n; ++i)
      for (auto* endpoint : endpoints) {
        ask(endpoint, "calc.double", std::to_string(i));
        EXPECT_EQ(result(), "reply calc.double " + std::to_string(2 * i))
          << endpoint;
      }
  }

  void ask(const std::string& endpoint, const std::string& topic,
           const std::string& payload, int64_t timeout_ms = 5000) {
    self->send(who, endpoint, topic, payload, timeout_ms);
  }

  // The next result a call reported: "reply TOPIC PAYLOAD" or
  // "error DESCRIPTION"; "none" after 5 s.
  std::string result() {
    std::string out = "none";
    self->receive(
      [&](result_atom, bool ok, const std::string& text) {
        out = (ok ? "reply " : "error ") + text;
      },
      caf::after(5s) >> [] {});
    return out;
  }

  nlohmann::json stats(const std::string& name) {
    return troupe::bridge::test_support::endpoint_stats(self, br, name);
  }

  calls_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  bus_actor bus;
  caf::actor who;
  bridge_service::interface br;
  std::shared_ptr<fake_transport> net = std::make_shared<fake_transport>();
};

config::table ep(std::initializer_list<config::table::value_type> kv) {
  return config::table{kv};
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

} // namespace

TEST_F(bridge_calls, dealer_matches_replies_by_id_and_drops_late_ones) {
  start(config::table{{"rpc", ep({{"socket", "dealer"},
                                  {"connect", config::list{"x"}}})}},
        net);
  auto rpc = net->endpoint("rpc");
  ask("rpc", "calc.a", "1");
  // Long enough for the receiver thread to send it before its deadline
  // (an unsent call past its deadline is never sent).
  ask("rpc", "calc.b", "2", 500);
  auto a = rpc->take_within(5s);
  auto b = rpc->take_within(5s);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->size(), 4u);
  EXPECT_EQ((*a)[1], "");
  EXPECT_EQ((*a)[2], "calc.a");
  EXPECT_EQ((*a)[3], "1");
  // b gets no answer: a timeout error, and its reply later is dropped.
  EXPECT_TRUE(starts_with(result(), "error troupe.timeout: endpoint 'rpc'"));
  rpc->inject({(*b)[0], "", "calc.b", "20"});
  rpc->inject({"999", "", "calc.x", "0"});
  rpc->inject({(*a)[0], "", "calc.a", "10"});
  EXPECT_EQ(result(), "reply calc.a 10");
  auto s = stats("rpc");
  EXPECT_EQ(s["direction"], "call");
  EXPECT_EQ(s["calls"], 2);
  EXPECT_EQ(s["sent"], 2);
  EXPECT_EQ(s["replies"], 1);
  EXPECT_EQ(s["timeouts"], 1);
  EXPECT_EQ(s["received"], 3);
  EXPECT_EQ(s["dropped_by_reason"]["late_reply"], 2);
  EXPECT_EQ(s["in_flight"], 0);
}

TEST_F(bridge_calls, req_sends_one_call_at_a_time_and_drops_beyond_hwm) {
  start(config::table{{"rpc", ep({{"socket", "req"},
                                  {"connect", config::list{"x"}},
                                  {"hwm", 1},
                                  {"on_full", "drop_newest"}})}},
        net);
  auto rpc = net->endpoint("rpc");
  ask("rpc", "q.1", "1");
  ask("rpc", "q.2", "2");
  ask("rpc", "q.3", "3"); // one in flight, one waits: no room
  EXPECT_TRUE(starts_with(result(), "error troupe.timeout: endpoint 'rpc': 1 "
                                    "calls already wait"));
  auto first = rpc->take_within(5s);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, (multipart{"q.1", "1"})); // REQ: no id, no delimiter
  auto s = stats("rpc");
  EXPECT_EQ(s["in_flight"], 1);
  EXPECT_EQ(s["waiting"], 1);
  EXPECT_EQ(rpc->sent_count(), 0u); // q.2 waits for q.1's reply
  rpc->inject({"q.1", "11"});
  EXPECT_EQ(result(), "reply q.1 11");
  auto second = rpc->take_within(5s);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, (multipart{"q.2", "2"}));
  rpc->inject({"q.2", "22"});
  EXPECT_EQ(result(), "reply q.2 22");
  s = stats("rpc");
  EXPECT_EQ(s["calls"], 3);
  EXPECT_EQ(s["sent"], 2);
  EXPECT_EQ(s["replies"], 2);
  EXPECT_EQ(s["dropped_by_reason"]["queue_full"], 1);
  EXPECT_EQ(s["dropped"], 1);
}

TEST_F(bridge_calls, a_timed_out_req_call_lets_the_next_one_go) {
  start(config::table{{"rpc", ep({{"socket", "req"},
                                  {"connect", config::list{"x"}},
                                  {"timeout", "300ms"}})}},
        net);
  auto rpc = net->endpoint("rpc");
  ask("rpc", "q.1", "1");
  ASSERT_TRUE(rpc->take_within(5s)); // q.1, never answered
  EXPECT_TRUE(starts_with(result(), "error troupe.timeout"));
  ask("rpc", "q.2", "2");
  auto second = rpc->take_within(5s);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, (multipart{"q.2", "2"}));
  rpc->inject({"q.2", "22"});
  EXPECT_EQ(result(), "reply q.2 22");
  auto s = stats("rpc");
  EXPECT_EQ(s["sent"], 2);
  EXPECT_EQ(s["timeouts"], 1);
  EXPECT_EQ(s["replies"], 1);
}

TEST_F(bridge_calls, wrong_endpoints_and_stopping_are_clear_errors) {
  start(config::table{{"rpc", ep({{"socket", "dealer"},
                                  {"connect", config::list{"x"}}})},
                      {"out", ep({{"socket", "push"}, {"bind", "y"}})}},
        net);
  ask("nope", "t", "1");
  EXPECT_EQ(result(), "error troupe.unknown_child: bridge 'br' has no "
                      "endpoint 'nope'");
  ask("out", "t", "1");
  EXPECT_TRUE(starts_with(result(), "error troupe.type_mismatch: endpoint "
                                    "'out' of bridge 'br' is a push"));
  ask("rpc", "t", "1");
  ASSERT_TRUE(net->endpoint("rpc")->take_within(5s));
  EXPECT_EQ(net->endpoint("out")->sent_count(), 0u);
  self
    ->request(br, 5s, stop_atom::value, std::string{"test"}, caf::timespan{5s})
    .receive([](service_state) {}, [](const caf::error&) {});
  EXPECT_EQ(result(), "error troupe.not_running: bridge 'br' stopped before "
                      "the reply");
}

namespace {

std::vector<std::string> recv_all(zmq::socket_t& s) {
  std::vector<std::string> out;
  zmq::message_t m;
  do {
    if (!s.recv(m))
      break;
    out.push_back(m.to_string());
  } while (m.more());
  return out;
}

void send_all(zmq::socket_t& s, const std::vector<std::string>& frames) {
  for (size_t i = 0; i < frames.size(); ++i)
    s.send(zmq::buffer(frames[i]), i + 1 < frames.size()
                                     ? zmq::send_flags::sndmore
                                     : zmq::send_flags::none);
}

} // namespace

TEST_F(bridge_calls, real_rep_and_router_peers_answer_calls) {
  zmq::context_t z{1};
  zmq::socket_t rep{z, zmq::socket_type::rep};
  zmq::socket_t router{z, zmq::socket_type::router};
  for (auto* s : {&rep, &router}) {
    s->set(zmq::sockopt::rcvtimeo, 5000);
    s->set(zmq::sockopt::linger, 0);
    s->bind("tcp://127.0.0.1:*");
  }
  auto rep_at = rep.get(zmq::sockopt::last_endpoint);
  auto router_at = router.get(zmq::sockopt::last_endpoint);
  start(
    config::table{
      {"viarep", ep({{"socket", "dealer"}, {"connect", config::list{rep_at}}})},
      {"viareq",
       ep({{"socket", "req"}, {"connect", config::list{router_at}}})}},
    make_zmq_transport());
  // A REP peer sees [topic][payload]; its reply comes back with our id.
  ask("viarep", "calc.double", "21");
  auto got = recv_all(rep);
  ASSERT_EQ(got, (std::vector<std::string>{"calc.double", "21"}));
  send_all(rep, {"calc.double", "42"});
  EXPECT_EQ(result(), "reply calc.double 42");
  // A ROUTER peer sees [identity][request id][""][topic][payload] from our
  // REQ (ZMQ_REQ_CORRELATE adds the id) and returns the envelope.
  ask("viareq", "calc.half", "42");
  got = recv_all(router);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[2], "");
  EXPECT_EQ(got[4], "42");
  send_all(router, {got[0], got[1], "", "calc.half", "21"});
  EXPECT_EQ(result(), "reply calc.half 21");
  EXPECT_EQ(stats("viarep")["replies"], 1);
  EXPECT_EQ(stats("viareq")["replies"], 1);
}

namespace {

// Answers every request on "calc." with its payload doubled.
caf::behavior doubler(caf::event_based_actor* self, const bus_actor& bus) {
  self->send(bus, subscribe_atom::value, std::string{"calc."},
             caf::actor_cast<caf::actor>(self));
  return {[](deliver_atom, const std::string&, const caf::message& m) {
    if (m.match_element<request>(0)) {
      auto& r = m.get_as<request>(0);
      reply(r, std::to_string(2 * std::stoi(r.message.payload)));
    }
  }};
}

} // namespace

TEST_F(bridge_calls, troupe_req_and_heartbeating_dealer_call_a_troupe_router) {
  // One bridge calls itself over TCP: a router endpoint serves, a req
  // endpoint (ZMQ_REQ_CORRELATE: [id][""] before the request) and a dealer
  // endpoint that heartbeats beside its calls ([0][""] beats) call it.
  auto d = sys.spawn(doubler, bus);
  self->request(bus, 5s, status_atom::value)
    .receive([](uint64_t, uint64_t, uint64_t) {}, [](caf::error&) {});
  br = spawn_service<bridge_service>(sys, {"br", "bridge", bus});
  ASSERT_NO_FATAL_FAILURE(configure_and_start(config::table{
    {"heartbeat_interval", "10ms"},
    {"endpoints",
     config::table{
       {"srv", ep({{"socket", "router"}, {"bind", "tcp://127.0.0.1:*"}})}}}}));
  auto at = stats("srv")["address"].get<std::string>();
  self
    ->request(br, 5s, stop_atom::value, std::string{"test"}, caf::timespan{1s})
    .receive([](service_state) {}, [](caf::error&) {});
  // Now with the callers, at the address the router got.
  ASSERT_NO_FATAL_FAILURE(configure_and_start(config::table{
    {"heartbeat_interval", "10ms"},
    {"endpoints",
     config::table{
       {"srv", ep({{"socket", "router"}, {"bind", at}})},
       {"viareq", ep({{"socket", "req"}, {"connect", config::list{at}}})},
       {"viadealer", ep({{"socket", "dealer"},
                         {"connect", config::list{at}},
                         {"heartbeat", true}})}}}}));
  expect_doubled({"viareq", "viadealer"}, 20);
  // Beats went out beside the calls (every 10 ms); their answers come in
  // but are not replies to calls.
  auto dealer = troupe::bridge::test_support::wait_stats(
    self, br, "viadealer", [](auto& s) { return s["received"] > 21; });
  EXPECT_GT(dealer["received"], 21);
  EXPECT_EQ(dealer["replies"], 20);
  EXPECT_EQ(dealer["dropped_by_reason"]["late_reply"], 0);
  EXPECT_EQ(stats("viareq")["replies"], 20);
  EXPECT_EQ(stats("srv")["malformed_total"], 0);
  self->send_exit(d, caf::exit_reason::user_shutdown);
}

TEST_F(bridge_calls, troupe_callers_reach_a_troupe_router_through_a_proxy) {
  // A requests proxy (ROUTER front, DEALER back) between the callers and
  // the server: each request reaches the router with one more identity in
  // front ([proxy][client][id][""]), and the reply must go back with all
  // of them.
  proxy_config pc;
  pc.mode = proxy_mode::requests;
  pc.frontend.name = "frontend";
  pc.frontend.bind = "tcp://127.0.0.1:*";
  pc.backend.name = "backend";
  pc.backend.bind = "tcp://127.0.0.1:*";
  pc.linger = 0s;
  proxy_runner proxy;
  ASSERT_EQ(proxy.start(pc), "");
  auto d = sys.spawn(doubler, bus);
  self->request(bus, 5s, status_atom::value)
    .receive([](uint64_t, uint64_t, uint64_t) {}, [](caf::error&) {});
  br = spawn_service<bridge_service>(sys, {"br", "bridge", bus});
  auto front = proxy.frontend_address();
  ASSERT_NO_FATAL_FAILURE(configure_and_start(config::table{
    {"heartbeat_interval", "10ms"},
    {"endpoints",
     config::table{
       {"srv", ep({{"socket", "router"},
                   {"connect", config::list{proxy.backend_address()}}})},
       {"viareq", ep({{"socket", "req"}, {"connect", config::list{front}}})},
       {"viadealer", ep({{"socket", "dealer"},
                         {"connect", config::list{front}},
                         {"heartbeat", true}})}}}}));
  expect_doubled({"viareq", "viadealer"}, 20);
  EXPECT_EQ(stats("viareq")["replies"], 20);
  EXPECT_EQ(stats("viadealer")["replies"], 20);
  EXPECT_EQ(stats("srv")["malformed_total"], 0);
  // The proxy first: stopped after the bridge, a heartbeat of the dealer
  // still on its way could reach the proxy once the router had gone, and
  // the proxy's DEALER backend, with no peer left, blocks on sending it
  // (ZeroMQ's DEALER semantics), so TERMINATE waited the whole 5 s.
  EXPECT_TRUE(proxy.stop(5s));
  self
    ->request(br, 5s, stop_atom::value, std::string{"test"}, caf::timespan{1s})
    .receive([](service_state) {}, [](caf::error&) {});
  self->send_exit(d, caf::exit_reason::user_shutdown);
}
