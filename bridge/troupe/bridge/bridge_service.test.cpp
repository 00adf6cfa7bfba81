// The bridge against real ZMQ sockets on 127.0.0.1 (ports chosen by ZMQ at
// bind time), with a real actor system and the real local bus.

#include "troupe/bridge/bridge_service.hpp"
#include "troupe/bridge/test_support.hpp"

#include <deque>
#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <zmq.hpp>

#include "troupe/actors/ask.hpp"
#include "troupe/actors/atoms.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/service_host.hpp"
#include "troupe/actors/topic_bus.hpp"
#include "troupe/bridge/zmq/curve_security.hpp"

using namespace troupe;
using namespace troupe::bridge;
using namespace std::chrono_literals;

namespace {

struct system_config : caf::actor_system_config {
  system_config() { init_actor_system_config(*this); }
};

class bridge_test : public testing::Test {
protected:
  bridge_test() : sys(cfg), self(sys), bus(spawn_topic_bus(sys)) {}

  ~bridge_test() override {
    if (br)
      self->send_exit(br, caf::exit_reason::user_shutdown);
    self->send_exit(bus, caf::exit_reason::user_shutdown);
  }

  // troupe::ask to the bridge within 5 s; throws on an error.
  template <class T, class... Ts>
  T ask(Ts&&... xs) {
    auto out = troupe::ask<T>(sys, br, 5s, std::forward<Ts>(xs)...);
    if (!out)
      throw std::runtime_error("request failed: " + describe(out.error()));
    return std::move(*out);
  }

  // Configures and starts a bridge with `endpoints` (a config table).
  void start_bridge(config::table endpoints, bool expect_ok = true) {
    br = spawn_service<bridge_service>(sys, {"br", "bridge", bus});
    ask<service_state>(configure_atom::value,
                       settings{config::table{{"endpoints", endpoints}}});
    std::optional<service_state> st;
    self->request(br, 5s, start_atom::value)
      .receive([&](service_state s) { st = s; },
               [&](const caf::error& e) { start_error = describe(e); });
    if (expect_ok) {
      ASSERT_TRUE(st) << start_error;
    }
  }

  nlohmann::json stats() {
    return nlohmann::json::parse(ask<std::string>(stats_atom::value));
  }

  nlohmann::json endpoint_stats(const std::string& name) {
    return troupe::bridge::test_support::endpoint_stats(self, br, name);
  }

  std::string address(const std::string& name) {
    return endpoint_stats(name)["address"];
  }

  template <class Pred>
  nlohmann::json wait_stats(const std::string& name, Pred pred) {
    return troupe::bridge::test_support::wait_stats(self, br, name, pred);
  }

  void subscribe_self(const std::string& prefix) {
    self->send(bus, subscribe_atom::value, prefix,
               caf::actor_cast<caf::actor>(self));
    // The bus answers nothing; a status round trip orders the subscription
    // before whatever the test does next.
    self->request(bus, 5s, status_atom::value)
      .receive([](uint64_t, uint64_t, uint64_t) {}, [](caf::error&) {});
  }

  // Receives the next bus delivery, or fails after 5 s.
  // The next envelope the bus delivered to this test; inbound endpoints
  // publish envelope batches by default (batch = true), taken apart here as
  // a service's handler sees them.
  std::pair<std::string, envelope> next_delivery() {
    if (pending_.empty()) {
      bool got = false;
      self->receive(
        [&](deliver_atom, const std::string& topic, const caf::message& msg) {
          got = true;
          if (msg.match_element<envelope_batch>(0)) {
            auto& b = msg.get_as<envelope_batch>(0);
            for (size_t i = 0; i < b.size(); ++i)
              pending_.emplace_back(
                topic, envelope{b.topic, std::string{b[i]}, {}, b.via});
          } else if (msg.match_element<envelope>(0)) {
            pending_.emplace_back(topic, msg.get_as<envelope>(0));
          } else {
            pending_.emplace_back(topic, envelope{});
          }
        },
        caf::after(5s) >> [] {});
      if (!got)
        throw std::runtime_error("no delivery within 5 s");
    }
    auto out = std::move(pending_.front());
    pending_.pop_front();
    return out;
  }

  std::deque<std::pair<std::string, envelope>> pending_;

  system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  bus_actor bus;
  bridge_service::interface br;
  std::string start_error;
  zmq::context_t zctx{1};
};

void send_frames(zmq::socket_t& s, const std::vector<std::string>& frames) {
  for (size_t i = 0; i < frames.size(); ++i)
    s.send(zmq::buffer(frames[i]), i + 1 < frames.size()
                                     ? zmq::send_flags::sndmore
                                     : zmq::send_flags::none);
  if (frames.empty()) // zero frames cannot be sent; an empty frame is one
    s.send(zmq::message_t{}, zmq::send_flags::none);
}

std::vector<std::string> recv_frames(zmq::socket_t& s) {
  std::vector<std::string> out;
  s.set(zmq::sockopt::rcvtimeo, 5000);
  bool more = true;
  while (more) {
    zmq::message_t m;
    if (!s.recv(m))
      throw std::runtime_error("recv timed out");
    more = m.more();
    out.emplace_back(static_cast<const char*>(m.data()), m.size());
  }
  return out;
}

config::table endpoint(std::initializer_list<config::table::value_type> kv) {
  return config::table{kv};
}

} // namespace

TEST_F(bridge_test, inbound_messages_reach_the_bus_and_bad_ones_are_counted) {
  start_bridge(config::table{{"in", endpoint({{"socket", "pull"},
                                              {"bind", "tcp://127.0.0.1:*"},
                                              {"max_message_bytes", 64}})}});
  subscribe_self("");
  zmq::socket_t push{zctx, zmq::socket_type::push};
  push.connect(address("in"));
  send_frames(push, {"echo.a", R"({"n":1})"});
  // Every kind of bad input, then a good message: it still gets through.
  send_frames(push, {"just-a-topic"});       // 1 frame
  send_frames(push, {"t", "{}", "{}", "x"}); // 4 frames
  send_frames(push, {"bad\xff", "{}"});      // topic not UTF-8
  send_frames(push, {"t", "{not json"});     // invalid JSON
  send_frames(push, {"t", "{}", "[1]"});     // meta not object
  send_frames(push, {"", "{}"});             // empty topic
  send_frames(push, {"echo.b", R"({"n":2})", R"({"seq":1})"}); // with meta
  auto [t1, e1] = next_delivery();
  EXPECT_EQ(t1, "echo.a");
  EXPECT_EQ(e1.payload, R"({"n":1})");
  EXPECT_EQ(e1.via, "br/in");
  auto [t2, e2] = next_delivery();
  EXPECT_EQ(t2, "echo.b");
  EXPECT_EQ(e2.meta, R"({"seq":1})");
  EXPECT_EQ(decode<nlohmann::json>(e2)->at("n"), 2);
  auto s = wait_stats("in", [](auto& s) { return s["received"] == 2; });
  EXPECT_EQ(s["received"], 2);
  EXPECT_EQ(s["malformed"]["missing_payload"], 1);
  EXPECT_EQ(s["malformed"]["too_many_frames"], 1);
  EXPECT_EQ(s["malformed"]["topic_not_utf8"], 1);
  EXPECT_EQ(s["malformed"]["invalid_json"], 1);
  EXPECT_EQ(s["malformed"]["invalid_meta"], 1);
  EXPECT_EQ(s["malformed"]["empty_topic"], 1);
  EXPECT_EQ(s["malformed_total"], 6);
}

TEST_F(bridge_test, an_oversize_frame_costs_the_peer_its_connection) {
  start_bridge(config::table{{"in", endpoint({{"socket", "pull"},
                                              {"bind", "tcp://127.0.0.1:*"},
                                              {"max_message_bytes", 64}})}});
  subscribe_self("");
  {
    zmq::socket_t big{zctx, zmq::socket_type::push};
    big.set(zmq::sockopt::linger, 0);
    big.connect(address("in"));
    send_frames(big, {"t", std::string(65, '1')});
    // ZMQ_MAXMSGSIZE: libzmq drops the connection at the frame's header.
    auto s = wait_stats("in", [](auto& s) {
      return s["peer_disconnects"].template get<uint64_t>() >= 1;
    });
    EXPECT_GE(s["peer_disconnects"], 1);
  }
  zmq::socket_t push{zctx, zmq::socket_type::push};
  push.connect(address("in"));
  send_frames(push, {"echo.a", std::string(60, ' ') + "{}"}); // 62 B: fits
  auto [topic, e] = next_delivery();
  EXPECT_EQ(topic, "echo.a");
  auto s = wait_stats("in", [](auto& s) { return s["received"] == 1; });
  EXPECT_EQ(s["received"], 1);
  EXPECT_EQ(s["malformed"]["too_large"], 0); // never reached the bridge
}

TEST_F(bridge_test, pull_endpoint_with_topics_counts_unknown_topics) {
  start_bridge(
    config::table{{"in", endpoint({{"socket", "pull"},
                                   {"bind", "tcp://127.0.0.1:*"},
                                   {"codec", "raw"},
                                   {"topics", config::list{"ok."}}})}});
  subscribe_self("");
  zmq::socket_t push{zctx, zmq::socket_type::push};
  push.connect(address("in"));
  send_frames(push, {"nope.x", "bytes"});
  send_frames(push, {"ok.x", "\x01\x02 not json"});
  auto [topic, e] = next_delivery();
  EXPECT_EQ(topic, "ok.x");
  EXPECT_EQ(e.payload, "\x01\x02 not json"); // raw: bytes as they are
  auto s = wait_stats("in", [](auto& s) { return s["received"] == 1; });
  EXPECT_EQ(s["malformed"]["unknown_topic"], 1);
}

TEST_F(bridge_test, local_messages_go_out_encoded_by_type) {
  start_bridge(config::table{
    {"out", endpoint({{"socket", "push"},
                      {"bind", "tcp://127.0.0.1:*"},
                      {"topics", config::list{"out.", "out.deep."}}})}});
  zmq::socket_t pull{zctx, zmq::socket_type::pull};
  pull.connect(address("out"));
  auto pub = [&](std::string topic, caf::message msg) {
    self->send(bus, publish_atom::value, std::move(topic), std::move(msg));
  };
  pub("out.env", caf::make_message(envelope{"ignored", "[1,2]", "", ""}));
  pub("out.json", caf::make_message(nlohmann::json{{"k", "v"}}));
  pub("out.str", caf::make_message(std::string{"hi \"you\""}));
  pub("out.int", caf::make_message(int64_t{42}));
  pub("out.deep.x", caf::make_message(true)); // two prefixes match: sent once
  pub("elsewhere", caf::make_message(int64_t{1})); // not routed
  pub("out.echo", caf::make_message(envelope{"", "1", "", "br/in"})); // loop
  pub("out.bad", caf::make_message(std::vector<int>{1})); // unencodable
  pub("out.last", caf::make_message(1.5));
  EXPECT_EQ(recv_frames(pull), (std::vector<std::string>{"out.env", "[1,2]"}));
  EXPECT_EQ(recv_frames(pull),
            (std::vector<std::string>{"out.json", R"({"k":"v"})"}));
  EXPECT_EQ(recv_frames(pull),
            (std::vector<std::string>{"out.str", R"("hi \"you\"")"}));
  EXPECT_EQ(recv_frames(pull), (std::vector<std::string>{"out.int", "42"}));
  EXPECT_EQ(recv_frames(pull),
            (std::vector<std::string>{"out.deep.x", "true"}));
  EXPECT_EQ(recv_frames(pull), (std::vector<std::string>{"out.last", "1.5"}));
  auto s = wait_stats("out", [](auto& s) { return s["sent"] == 6; });
  EXPECT_EQ(s["sent"], 6);
  EXPECT_EQ(s["unencodable"], 1);
  EXPECT_EQ(s["dropped"], 0);
}

TEST_F(bridge_test, meta_frames_carry_sequence_numbers_per_topic) {
  start_bridge(config::table{{"out", endpoint({{"socket", "pub"},
                                               {"bind", "tcp://127.0.0.1:*"},
                                               {"meta", true}})}});
  zmq::socket_t sub{zctx, zmq::socket_type::sub};
  sub.set(zmq::sockopt::subscribe, "");
  sub.connect(address("out"));
  // PUB/SUB slow joiner: publish until the subscriber sees something.
  std::vector<std::string> first;
  sub.set(zmq::sockopt::rcvtimeo, 20);
  for (int i = 0; i < 500 && first.empty(); ++i) {
    self->send(bus, publish_atom::value, std::string{"warm"},
               caf::make_message(int64_t{i}));
    zmq::message_t m;
    if (sub.recv(m)) {
      first.emplace_back(static_cast<const char*>(m.data()), m.size());
      while (m.more() && sub.recv(m))
        ;
    }
  }
  ASSERT_FALSE(first.empty()) << "subscriber never connected";
  for (int i = 0; i < 3; ++i)
    self->send(bus, publish_atom::value, std::string{"t.a"},
               caf::make_message(int64_t{i}));
  std::vector<uint64_t> seqs;
  while (seqs.size() < 3) {
    auto f = recv_frames(sub);
    if (f[0] != "t.a")
      continue; // leftover warm-up messages
    ASSERT_EQ(f.size(), 3u);
    auto meta = nlohmann::json::parse(f[2]);
    EXPECT_TRUE(meta["src"].is_string());
    EXPECT_TRUE(meta["ts"].is_number());
    seqs.push_back(meta["seq"]);
  }
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 3}));
}

TEST_F(bridge_test, inbound_sequence_gaps_are_counted) {
  start_bridge(config::table{{"in", endpoint({{"socket", "pull"},
                                              {"bind", "tcp://127.0.0.1:*"},
                                              {"meta", true}})}});
  zmq::socket_t push{zctx, zmq::socket_type::push};
  push.connect(address("in"));
  for (auto seq : {1, 2, 5, 6, 9})
    send_frames(push,
                {"g", "0", R"({"src":"p","seq":)" + std::to_string(seq) + "}"});
  auto s = wait_stats("in", [](auto& s) { return s["received"] == 5; });
  EXPECT_EQ(s["received"], 5);
  EXPECT_EQ(s["gaps"], 4); // 3, 4, 7, 8
}

TEST_F(bridge_test, block_policy_keeps_everything_until_a_peer_takes_it) {
  start_bridge(config::table{{"out", endpoint({{"socket", "push"},
                                               {"bind", "tcp://127.0.0.1:*"},
                                               {"hwm", 10},
                                               {"max_queued", 100}})}});
  // No peer yet: PUSH will not take anything; block keeps it all (these
  // publishes wait for no acknowledgement, so only max_queued bounds them).
  for (int i = 0; i < 100; ++i)
    self->send(bus, publish_atom::value, std::string{"n"},
               caf::make_message(int64_t{i}));
  auto s = wait_stats("out", [](auto& s) { return s["queued"] == 100; });
  EXPECT_EQ(s["queued"], 100);
  zmq::socket_t pull{zctx, zmq::socket_type::pull};
  pull.connect(address("out"));
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(recv_frames(pull)[1], std::to_string(i));
  s = wait_stats("out", [](auto& s) { return s["sent"] == 100; });
  EXPECT_EQ(s["sent"], 100);
  EXPECT_EQ(s["dropped"], 0);
  EXPECT_EQ(s["queued"], 0);
}

TEST_F(bridge_test, drop_policies_count_every_drop) {
  start_bridge(
    config::table{{"newest", endpoint({{"socket", "push"},
                                       {"bind", "tcp://127.0.0.1:*"},
                                       {"topics", config::list{"a"}},
                                       {"on_full", "drop_newest"}})},
                  {"oldest", endpoint({{"socket", "push"},
                                       {"bind", "tcp://127.0.0.1:*"},
                                       {"topics", config::list{"b"}},
                                       {"hwm", 5},
                                       {"on_full", "drop_oldest"}})}});
  for (int i = 0; i < 20; ++i) {
    self->send(bus, publish_atom::value, std::string{"a"},
               caf::make_message(int64_t{i}));
    self->send(bus, publish_atom::value, std::string{"b"},
               caf::make_message(int64_t{i}));
  }
  auto n = wait_stats("newest", [](auto& s) { return s["dropped"] == 20; });
  EXPECT_EQ(n["dropped"], 20);
  auto o = wait_stats("oldest", [](auto& s) { return s["dropped"] == 15; });
  EXPECT_EQ(o["dropped"], 15);
  EXPECT_EQ(o["queued"], 5);
  // The newest five survive and go out once a peer connects.
  zmq::socket_t pull{zctx, zmq::socket_type::pull};
  pull.connect(address("oldest"));
  for (int i = 15; i < 20; ++i)
    EXPECT_EQ(recv_frames(pull)[1], std::to_string(i));
}

TEST_F(bridge_test, a_bind_conflict_fails_start_with_the_address) {
  zmq::socket_t taken{zctx, zmq::socket_type::pull};
  taken.bind("tcp://127.0.0.1:*");
  std::string addr = taken.get(zmq::sockopt::last_endpoint);
  start_bridge(
    config::table{{"in", endpoint({{"socket", "pull"}, {"bind", addr}})}},
    false);
  EXPECT_NE(start_error.find("endpoint 'in': bind " + addr), std::string::npos)
    << start_error;
  EXPECT_NE(start_error.find("Address already in use"), std::string::npos)
    << start_error;
}

TEST_F(bridge_test, endpoint_settings_are_checked_by_the_schema) {
  br = spawn_service<bridge_service>(sys, {"br", "bridge", bus});
  std::string err;
  self
    ->request(br, 5s, configure_atom::value,
              settings{config::table{
                {"endpoints",
                 config::table{{"x", endpoint({{"socket", "pusj"},
                                               {"bind", "tcp://*:1"}})}}}}})
    .receive([](service_state) {},
             [&](const caf::error& e) { err = describe(e); });
  EXPECT_NE(err.find("endpoints.x.socket: expected one of pub, sub, push, "
                     "pull, req, rep, router, dealer, got \"pusj\" (did you "
                     "mean 'push'?)"),
            std::string::npos)
    << err;
}

namespace {

// A service stand-in on the bus: answers "calc." requests by doubling an
// integer, reports an error for anything else. Runs until the test ends.
caf::behavior calculator(caf::event_based_actor* self) {
  return {
    [](deliver_atom, const std::string&, const caf::message& msg) {
      if (!msg.match_element<request>(0))
        return;
      auto& r = msg.get_as<request>(0);
      if (auto x = decode<int>(r.message))
        reply(r, std::to_string(*x * 2));
      else
        reply_error(r, "expected an integer, got " + r.message.payload);
    },
  };
}

} // namespace

TEST_F(bridge_test, requests_reach_a_service_and_every_peer_gets_an_answer) {
  start_bridge(config::table{{"rpc", endpoint({{"socket", "rep"},
                                               {"bind", "tcp://127.0.0.1:*"},
                                               {"timeout", "200ms"}})}});
  auto calc = sys.spawn(calculator);
  self->send(bus, subscribe_atom::value, std::string{"calc."}, calc);
  self->request(bus, 5s, status_atom::value)
    .receive([](uint64_t, uint64_t, uint64_t) {}, [](caf::error&) {});
  zmq::socket_t req{zctx, zmq::socket_type::req};
  req.connect(address("rpc"));
  auto call = [&](const std::vector<std::string>& frames) {
    send_frames(req, frames);
    return recv_frames(req);
  };
  // An answer, a service error, a timeout (nobody serves "nobody."), a
  // malformed request: each gets a reply, and the socket keeps working.
  EXPECT_EQ(call({"calc.double", "21"}),
            (std::vector<std::string>{"calc.double", "42"}));
  auto err = call({"calc.double", "\"x\""});
  ASSERT_EQ(err.size(), 2u);
  EXPECT_EQ(err[0], "troupe.error");
  EXPECT_EQ(nlohmann::json::parse(err[1])["code"], "service_error");
  auto timeout = call({"nobody.home", "1"});
  EXPECT_EQ(timeout[0], "troupe.error");
  EXPECT_EQ(nlohmann::json::parse(timeout[1])["code"], "timeout");
  auto bad = call({"calc.double", "{broken"});
  EXPECT_EQ(bad[0], "troupe.error");
  EXPECT_EQ(
    nlohmann::json::parse(bad[1]),
    (nlohmann::json{{"code", "malformed"}, {"message", "invalid_json"}}));
  EXPECT_EQ(call({"calc.double", "5"}),
            (std::vector<std::string>{"calc.double", "10"}));
  // A DEALER peer (no empty delimiter) is served too, out of order safe.
  zmq::socket_t dealer{zctx, zmq::socket_type::dealer};
  dealer.connect(address("rpc"));
  send_frames(dealer, {"calc.double", "1"});
  send_frames(dealer, {"calc.double", "2"});
  EXPECT_EQ(recv_frames(dealer)[1], "2");
  EXPECT_EQ(recv_frames(dealer)[1], "4");
  auto s = wait_stats("rpc", [](auto& s) { return s["sent"] == 6; });
  EXPECT_EQ(s["direction"], "request");
  EXPECT_EQ(s["received"], 6); // the malformed one is counted apart
  EXPECT_EQ(s["sent"], 6);     // replies relayed from the actor
  EXPECT_EQ(s["timeouts"], 1);
  EXPECT_EQ(s["error_replies"], 1);
  EXPECT_EQ(s["malformed"]["invalid_json"], 1);
  self->send_exit(calc, caf::exit_reason::user_shutdown);
}

TEST_F(bridge_test, heartbeats_track_peers_and_a_silent_peer_degrades_health) {
  // Bridge "a" publishes heartbeats; the fixture's bridge listens to it.
  auto a = spawn_service<bridge_service>(sys, {"a", "bridge", bus});
  auto ask_a = [&](auto... xs) {
    std::optional<service_state> st;
    self->request(a, 5s, xs...)
      .receive([&](service_state s) { st = s; }, [](caf::error&) {});
    return st;
  };
  ASSERT_TRUE(ask_a(
    configure_atom::value,
    settings{config::table{
      {"source_id", "proc-a"},
      {"heartbeat_interval", "50ms"},
      {"endpoints",
       config::table{{"out", endpoint({{"socket", "pub"},
                                       {"bind", "tcp://127.0.0.1:*"},
                                       {"topics", config::list{"x."}}})}}}}}));
  ASSERT_TRUE(ask_a(start_atom::value));
  std::string a_addr;
  self->request(a, 5s, stats_atom::value)
    .receive(
      [&](const std::string& s) {
        a_addr = nlohmann::json::parse(s)["endpoints"][0]["address"];
      },
      [](caf::error&) {});
  br = spawn_service<bridge_service>(sys, {"br", "bridge", bus});
  ask<service_state>(
    configure_atom::value,
    settings{config::table{
      {"source_id", "proc-b"},
      {"peer_timeout", "300ms"},
      {"endpoints",
       config::table{{"in", endpoint({{"socket", "sub"},
                                      {"connect", config::list{a_addr}},
                                      {"topics", config::list{"y."}}})}}}}});
  ask<service_state>(start_atom::value);
  // The SUB endpoint only asked for "y." yet hears heartbeats.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  nlohmann::json peers;
  while (peers.empty() && std::chrono::steady_clock::now() < deadline) {
    peers = stats()["peers"];
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0]["src"], "proc-a");
  EXPECT_EQ(peers[0]["alive"], true);
  EXPECT_EQ(ask<health_report>(health_atom::value).overall,
            health_status::healthy);
  // Silence "a" as a crash would (no stop, so no goodbye): after
  // peer_timeout the listener's health degrades.
  self->send_exit(a, caf::exit_reason::kill);
  health_report h;
  deadline = std::chrono::steady_clock::now() + 5s;
  do {
    std::this_thread::sleep_for(50ms);
    h = ask<health_report>(health_atom::value);
  } while (h.overall == health_status::healthy &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(h.overall, health_status::degraded);
  EXPECT_EQ(stats()["peers"][0]["alive"], false);
}

TEST_F(bridge_test, workers_heartbeat_on_push_and_request_links) {
  // The controller side: a pull endpoint (results) and a rep endpoint.
  br = spawn_service<bridge_service>(sys, {"br", "bridge", bus});
  ask<service_state>(
    configure_atom::value,
    settings{config::table{
      {"source_id", "controller"},
      {"peer_timeout", "300ms"},
      {"endpoints",
       config::table{{"results", endpoint({{"socket", "pull"},
                                           {"bind", "tcp://127.0.0.1:*"}})},
                     {"rpc", endpoint({{"socket", "rep"},
                                       {"bind", "tcp://127.0.0.1:*"}})}}}}});
  ask<service_state>(start_atom::value);
  subscribe_self("troupe.peer.");
  // A worker bridge whose push endpoint heartbeats (heartbeat = true).
  auto w = spawn_service<bridge_service>(sys, {"w", "bridge", bus});
  auto ask_w = [&](auto... xs) {
    std::optional<service_state> st;
    self->request(w, 5s, xs...)
      .receive([&](service_state s) { st = s; }, [](caf::error&) {});
    return st;
  };
  ASSERT_TRUE(
    ask_w(configure_atom::value,
          settings{config::table{
            {"source_id", "worker-1"},
            {"heartbeat_interval", "50ms"},
            {"endpoints",
             config::table{
               {"out", endpoint({{"socket", "push"},
                                 {"connect", config::list{address("results")}},
                                 {"topics", config::list{"r."}},
                                 {"heartbeat", true}})}}}}}));
  ASSERT_TRUE(ask_w(start_atom::value));
  // next_peer_event: the next troupe.peer.* event on the bus (heartbeats
  // themselves are not events).
  auto next_peer_event = [&] {
    for (;;) {
      std::pair<std::string, nlohmann::json> out;
      bool got = false;
      self->receive(
        [&](deliver_atom, const std::string& topic, const caf::message& m) {
          out.first = topic;
          if (m.match_element<nlohmann::json>(0))
            out.second = m.get_as<nlohmann::json>(0);
          got = true;
        },
        caf::after(5s) >> [] {});
      if (!got)
        throw std::runtime_error("no peer event within 5 s");
      if (out.first.rfind("troupe.peer.", 0) == 0)
        return out;
    }
  };
  auto up = next_peer_event();
  EXPECT_EQ(up.first, "troupe.peer.up");
  EXPECT_EQ(up.second["src"], "worker-1");
  EXPECT_EQ(up.second["link"], "results");
  // The worker stops on purpose: it says goodbye on its push link, and is
  // gone (not lost), health untouched.
  ASSERT_TRUE(ask_w(stop_atom::value, std::string{"test"}, caf::timespan{1s}));
  auto gone = next_peer_event();
  EXPECT_EQ(gone.first, "troupe.peer.gone");
  EXPECT_EQ(gone.second["src"], "worker-1");
  EXPECT_EQ(gone.second["link"], "results");
  EXPECT_EQ(ask<health_report>(health_atom::value).overall,
            health_status::healthy);
  EXPECT_TRUE(stats()["peers"].empty());
  // A foreign worker speaks the same wire: two frames on the pull link.
  zmq::socket_t push{zctx, zmq::socket_type::push};
  push.connect(address("results"));
  send_frames(push, {"troupe.heartbeat", R"({"src":"worker-1"})"});
  auto back = next_peer_event();
  EXPECT_EQ(back.first, "troupe.peer.up");
  // Silent without a goodbye: lost on its link, health degraded.
  auto lost = next_peer_event();
  EXPECT_EQ(lost.first, "troupe.peer.lost");
  EXPECT_EQ(lost.second["src"], "worker-1");
  EXPECT_EQ(lost.second["link"], "results");
  auto h = ask<health_report>(health_atom::value);
  EXPECT_EQ(h.overall, health_status::degraded);
  auto peers = stats()["peers"];
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0]["alive"], false);
  EXPECT_EQ(peers[0]["losses"], 1);
  send_frames(push, {"troupe.heartbeat", R"({"src":"worker-1"})"});
  back = next_peer_event();
  EXPECT_EQ(back.first, "troupe.peer.up");
  EXPECT_EQ(ask<health_report>(health_atom::value).overall,
            health_status::healthy);
  // On a request link, a DEALER's heartbeat is answered with ours.
  zmq::socket_t dealer{zctx, zmq::socket_type::dealer};
  dealer.connect(address("rpc"));
  send_frames(dealer, {"troupe.heartbeat", R"({"src":"client-7"})"});
  auto answer = recv_frames(dealer);
  ASSERT_EQ(answer.size(), 2u);
  EXPECT_EQ(answer[0], "troupe.heartbeat");
  EXPECT_EQ(nlohmann::json::parse(answer[1])["src"], "controller");
  auto client = next_peer_event();
  EXPECT_EQ(client.second["src"], "client-7");
  EXPECT_EQ(client.second["link"], "rpc");
  EXPECT_EQ(endpoint_stats("rpc")["in_flight"], 0); // its credit came back
  self->send_exit(w, caf::exit_reason::user_shutdown);
}

TEST_F(bridge_test, local_prefix_retitles_inbound_topics_but_not_heartbeats) {
  start_bridge(config::table{{"in", endpoint({{"socket", "pull"},
                                              {"bind", "tcp://127.0.0.1:*"},
                                              {"local_prefix", "worker."}})}});
  subscribe_self("");
  zmq::socket_t push{zctx, zmq::socket_type::push};
  push.connect(address("in"));
  send_frames(push, {"jobs.3", R"({"n":3})"});
  send_frames(push, {"troupe.heartbeat", R"({"src":"peer"})"});
  auto [t1, e1] = next_delivery();
  EXPECT_EQ(t1, "worker.jobs.3");
  EXPECT_EQ(e1.topic, "worker.jobs.3");
  EXPECT_EQ(e1.payload, R"({"n":3})");
  auto [t2, e2] = next_delivery();
  EXPECT_EQ(t2, "troupe.heartbeat");
}

TEST_F(bridge_test, curve_endpoint_lets_allowed_keys_in_and_counts_refusals) {
  auto server = make_curve_keypair();
  auto allowed = make_curve_keypair();
  auto stranger = make_curve_keypair();
  start_bridge(config::table{
    {"in",
     endpoint({{"socket", "pull"},
               {"bind", "tcp://127.0.0.1:*"},
               {"curve_secret_key", server.secret_key},
               {"curve_allowed_clients", config::list{allowed.public_key}}})}});
  subscribe_self("");
  auto client = [&](const curve_keypair& keys) {
    zmq::socket_t s{zctx, zmq::socket_type::push};
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::curve_serverkey, server.public_key);
    s.set(zmq::sockopt::curve_publickey, keys.public_key);
    s.set(zmq::sockopt::curve_secretkey, keys.secret_key);
    s.connect(address("in"));
    return s;
  };
  auto bad = client(stranger);
  send_frames(bad, {"from.stranger", "{}"});
  auto s = wait_stats("in", [](auto& s) { return s["auth_denied"] >= 1; });
  EXPECT_GE(s["auth_denied"], 1);
  auto good = client(allowed);
  send_frames(good, {"from.friend", "{}"});
  auto [topic, e] = next_delivery();
  EXPECT_EQ(topic, "from.friend"); // the stranger's message never arrives
  EXPECT_EQ(endpoint_stats("in")["received"], 1);
}
