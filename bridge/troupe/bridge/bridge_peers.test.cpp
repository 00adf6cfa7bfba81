// Peer liveness beyond heartbeats: the goodbye of a bridge that stops on
// purpose (troupe.peer.gone, not lost), heartbeats from call clients
// (dealer endpoints), and what the configuration refuses. Real ZMQ sockets
// on 127.0.0.1, a real actor system and the real local bus.

#include "troupe/bridge/bridge_service.hpp"
#include "troupe/bridge/test_support.hpp"

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <zmq.hpp>

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/metrics.hpp"
#include "troupe/actors/service_host.hpp"
#include "troupe/actors/topic_bus.hpp"
#include "troupe/bridge/endpoint_config.hpp"
#include "troupe/config/layered_config.hpp"

using namespace troupe;
using namespace troupe::bridge;
using namespace std::chrono_literals;

namespace {

struct system_config : caf::actor_system_config {
  system_config() { init_actor_system_config(*this); }
};

using peer_event = std::pair<std::string, nlohmann::json>;

class bridge_peers : public testing::Test {
protected:
  bridge_peers() : sys(cfg), self(sys), bus(spawn_topic_bus(sys)) {
    self->send(bus, subscribe_atom::value, std::string{"troupe.peer."},
               caf::actor_cast<caf::actor>(self));
    self->request(bus, 5s, status_atom::value)
      .receive([](uint64_t, uint64_t, uint64_t) {}, [](caf::error&) {});
  }

  ~bridge_peers() override {
    for (auto& b : bridges)
      self->send_exit(b, caf::exit_reason::user_shutdown);
    self->send_exit(bus, caf::exit_reason::user_shutdown);
  }

  // Spawns, configures and starts bridge `name` with settings `values`.
  bridge_service::interface spawn_bridge(
    const std::string& name, config::table values,
    std::shared_ptr<metric_registry> reg = nullptr) {
    service_options opts{name, "bridge", bus};
    opts.metrics = std::move(reg);
    auto b = spawn_service<bridge_service>(sys, opts);
    bridges.push_back(b);
    if (!ask_state(b, configure_atom::value, settings{std::move(values)}))
      throw std::runtime_error("configure failed");
    if (!ask_state(b, start_atom::value))
      throw std::runtime_error("start failed");
    return b;
  }

  template <class... Ts>
  bool ask_state(const bridge_service::interface& b, Ts&&... xs) {
    bool ok = false;
    self->request(b, 5s, std::forward<Ts>(xs)...)
      .receive([&](service_state) { ok = true; }, [](caf::error&) {});
    return ok;
  }

  bool stop(const bridge_service::interface& b) {
    return ask_state(b, stop_atom::value, std::string{"test"},
                     caf::timespan{1s});
  }

  nlohmann::json stats(const bridge_service::interface& b) {
    std::string out = "{}";
    self->request(b, 5s, stats_atom::value)
      .receive([&](const std::string& s) { out = s; }, [](caf::error&) {});
    return nlohmann::json::parse(out);
  }

  health_status health(const bridge_service::interface& b) {
    health_status out = health_status::unhealthy;
    self->request(b, 5s, health_atom::value)
      .receive([&](const health_report& h) { out = h.overall; },
               [](caf::error&) {});
    return out;
  }

  std::string address(const bridge_service::interface& b,
                      const std::string& endpoint) {
    return test_support::endpoint_stats(self, b, endpoint)["address"];
  }

  // The next troupe.peer.* event announced by bridge `bridge` (any bridge
  // when empty) within `wait`, if any (events of other bridges on the bus
  // are skipped).
  std::optional<peer_event> next_event(const std::string& bridge,
                                       caf::timespan wait = 5s) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= caf::timespan::zero())
        return std::nullopt;
      std::optional<peer_event> out;
      self->receive(
        [&](deliver_atom, const std::string& topic, const caf::message& m) {
          if (m.match_element<nlohmann::json>(0))
            out = peer_event{topic, m.get_as<nlohmann::json>(0)};
        },
        caf::after(left) >> [] {});
      if (out && (bridge.empty() || out->second.value("bridge", "") == bridge))
        return out;
    }
  }

  system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  bus_actor bus;
  std::vector<bridge_service::interface> bridges;
  zmq::context_t zctx{1};
};

void send_frames(zmq::socket_t& s, const std::vector<std::string>& frames) {
  for (size_t i = 0; i < frames.size(); ++i)
    s.send(zmq::buffer(frames[i]), i + 1 < frames.size()
                                     ? zmq::send_flags::sndmore
                                     : zmq::send_flags::none);
}

config::table table(std::initializer_list<config::table::value_type> kv) {
  return config::table{kv};
}

bool has_series(metric_registry& reg, const std::string& peer) {
  auto text = reg.render();
  return text.find("troupe_bridge_peer_alive{peer=\"" + peer + "\",") !=
         std::string::npos;
}

} // namespace

TEST_F(bridge_peers, a_bridge_that_stops_says_goodbye_and_is_gone_not_lost) {
  auto a = spawn_bridge(
    "a", table({{"source_id", "proc-a"},
                {"heartbeat_interval", "50ms"},
                {"endpoints",
                 table({{"out", table({{"socket", "pub"},
                                       {"bind", "tcp://127.0.0.1:*"},
                                       {"topics", config::list{"x."}}})}})}}));
  auto reg = std::make_shared<metric_registry>();
  auto b = spawn_bridge(
    "b",
    table({{"source_id", "proc-b"},
           {"peer_timeout", "300ms"},
           {"endpoints",
            table({{"in", table({{"socket", "sub"},
                                 {"connect", config::list{address(a, "out")}},
                                 {"topics", config::list{"y."}}})}})}}),
    reg);
  auto up = next_event("b");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->first, "troupe.peer.up");
  EXPECT_EQ(up->second["src"], "proc-a");
  EXPECT_TRUE(has_series(*reg, "proc-a"));
  // Labelled with the endpoint that hears it (the dashboard's per-endpoint
  // peers).
  EXPECT_NE(reg->render().find(
              "troupe_bridge_peer_alive{peer=\"proc-a\",endpoint=\"in\"} 1"),
            std::string::npos)
    << reg->render();
  // "a" stops on purpose: its goodbye goes out on the pub endpoint.
  ASSERT_TRUE(stop(a));
  auto gone = next_event("b");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->first, "troupe.peer.gone");
  EXPECT_EQ(gone->second["src"], "proc-a");
  EXPECT_EQ(gone->second["link"], "in");
  // Forgotten: no peer, no series, and no loss after peer_timeout either.
  EXPECT_TRUE(stats(b)["peers"].empty());
  EXPECT_EQ(stats(b)["goodbyes"], 1);
  EXPECT_FALSE(has_series(*reg, "proc-a"));
  auto later = next_event("b", 600ms); // twice peer_timeout
  EXPECT_FALSE(later) << later->first;
  EXPECT_EQ(health(b), health_status::healthy);
}

TEST_F(bridge_peers, goodbye_on_the_wire_from_a_foreign_peer) {
  // A pull endpoint with topics still hears heartbeats and goodbyes.
  auto b = spawn_bridge(
    "b",
    table({{"source_id", "ctl"},
           {"peer_timeout", "300ms"},
           {"endpoints",
            table({{"results", table({{"socket", "pull"},
                                      {"bind", "tcp://127.0.0.1:*"},
                                      {"topics", config::list{"r."}}})}})}}));
  zmq::socket_t push{zctx, zmq::socket_type::push};
  push.connect(address(b, "results"));
  send_frames(push, {"troupe.heartbeat", R"({"src":"w7","ts":100})"});
  auto up = next_event("b");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->first, "troupe.peer.up");
  send_frames(push,
              {"troupe.heartbeat", R"({"src":"w7","ts":200,"bye":true})"});
  auto gone = next_event("b");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->first, "troupe.peer.gone");
  EXPECT_EQ(gone->second["link"], "results");
  // A second copy of the goodbye, and a beat sent before it (late, as on
  // another link): neither says anything new.
  send_frames(push,
              {"troupe.heartbeat", R"({"src":"w7","ts":200,"bye":true})"});
  send_frames(push, {"troupe.heartbeat", R"({"src":"w7","ts":150})"});
  // A beat of the peer's next run brings it back: the first event after
  // the goodbye is this "up".
  send_frames(push, {"troupe.heartbeat", R"({"src":"w7","ts":300})"});
  auto next = next_event("b");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->first, "troupe.peer.up");
  EXPECT_EQ(stats(b)["goodbyes"], 1);
  EXPECT_EQ(test_support::endpoint_stats(self, b, "results")["malformed_total"],
            0);
  // Going silent without a goodbye is still a loss.
  auto lost = next_event("b");
  ASSERT_TRUE(lost);
  EXPECT_EQ(lost->first, "troupe.peer.lost");
  EXPECT_EQ(health(b), health_status::degraded);
  // A goodbye after the loss: gone, and the health check goes with it.
  send_frames(push,
              {"troupe.heartbeat", R"({"src":"w7","ts":400,"bye":true})"});
  gone = next_event("b");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->first, "troupe.peer.gone");
  EXPECT_EQ(health(b), health_status::healthy);
}

TEST_F(bridge_peers, a_restart_under_the_same_src_is_a_loss_and_two_are_told) {
  // peer_timeout is long: a worker killed and restarted at once under a
  // stable source_id never goes silent that long, yet the process that
  // held its jobs is gone.
  auto b = spawn_bridge(
    "b",
    table({{"source_id", "ctl"},
           {"peer_timeout", "5s"},
           {"endpoints",
            table({{"results", table({{"socket", "pull"},
                                      {"bind", "tcp://127.0.0.1:*"}})}})}}));
  zmq::socket_t push{zctx, zmq::socket_type::push};
  push.connect(address(b, "results"));
  int64_t ts = 0;
  auto beat = [&](const char* run, int64_t at = 0) {
    ts = at != 0 ? at : ts + 10;
    send_frames(
      push, {"troupe.heartbeat",
             nlohmann::json{{"src", "w1"}, {"run", run}, {"ts", ts}}.dump()});
  };
  beat("aaaa");
  auto up = next_event("b");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->first, "troupe.peer.up");
  beat("aaaa");
  beat("bbbb");     // the restarted process
  beat("aaaa", 15); // the old one's, sent before: late, not a conflict
  auto lost = next_event("b", 2s);
  ASSERT_TRUE(lost) << "a restart under the same src went unnoticed";
  EXPECT_EQ(lost->first, "troupe.peer.lost");
  EXPECT_EQ(lost->second["src"], "w1");
  EXPECT_EQ(lost->second["restarted"], true);
  up = next_event("b");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->first, "troupe.peer.up");
  EXPECT_EQ(health(b), health_status::healthy);
  EXPECT_EQ(stats(b)["src_conflicts"], 0);
  // The old run again: not a restart back but two live processes under one
  // src. No more lost/up (no flapping); the health says what to fix.
  beat("aaaa", 40);
  beat("bbbb", 50);
  beat("aaaa", 60);
  auto more = next_event("b", 300ms);
  EXPECT_FALSE(more) << more->first;
  EXPECT_EQ(health(b), health_status::degraded);
  auto st = stats(b);
  EXPECT_EQ(st["src_conflicts"], 2);
  ASSERT_EQ(st["peers"].size(), 1u);
  EXPECT_EQ(st["peers"][0]["run"], "bbbb");
  EXPECT_EQ(st["peers"][0]["losses"], 1);
  EXPECT_EQ(st["peers"][0]["alive"], true);
}

TEST_F(bridge_peers, heartbeats_name_the_process_by_run) {
  // Two bridges of one process share the run (no conflict between them);
  // the run is in every beat and goodbye.
  auto b = spawn_bridge(
    "b", table({{"source_id", "ctl"},
                {"peer_timeout", "5s"},
                {"endpoints",
                 table({{"in", table({{"socket", "sub"},
                                      {"bind", "tcp://127.0.0.1:*"}})}})}}));
  zmq::socket_t sub{zctx, zmq::socket_type::sub};
  sub.set(zmq::sockopt::subscribe, "troupe.heartbeat");
  sub.set(zmq::sockopt::rcvtimeo, 5000);
  std::vector<std::string> runs;
  for (auto name : {"p1", "p2"}) {
    auto a = spawn_bridge(
      name,
      table(
        {{"source_id", "same"},
         {"heartbeat_interval", "50ms"},
         {"endpoints",
          table({{"out", table({{"socket", "pub"},
                                {"connect", config::list{address(b, "in")}}})},
                 {"tap", table({{"socket", "pub"},
                                {"bind", "tcp://127.0.0.1:*"}})}})}}));
    sub.connect(address(a, "tap"));
    zmq::message_t topic, body;
    ASSERT_TRUE(sub.recv(topic));
    ASSERT_TRUE(sub.recv(body));
    auto j = nlohmann::json::parse(body.to_string());
    ASSERT_TRUE(j.contains("run")) << j.dump();
    runs.push_back(j["run"]);
    sub.disconnect(address(a, "tap"));
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0].size(), 16u);
  auto more = next_event("b", 300ms); // the first "up" only
  ASSERT_TRUE(more);
  EXPECT_EQ(more->first, "troupe.peer.up");
  more = next_event("b", 300ms);
  EXPECT_FALSE(more) << more->first;
  EXPECT_EQ(stats(b)["src_conflicts"], 0);
  EXPECT_EQ(health(b), health_status::healthy);
}

TEST_F(bridge_peers, dealer_clients_heartbeat_and_say_goodbye) {
  auto srv = spawn_bridge(
    "srv", table({{"source_id", "server"},
                  {"peer_timeout", "300ms"},
                  {"endpoints",
                   table({{"rpc", table({{"socket", "router"},
                                         {"bind", "tcp://127.0.0.1:*"}})}})}}));
  auto cli = spawn_bridge(
    "cli",
    table(
      {{"source_id", "client"},
       {"heartbeat_interval", "50ms"},
       {"peer_timeout", "300ms"},
       {"endpoints",
        table({{"calls", table({{"socket", "dealer"},
                                {"connect", config::list{address(srv, "rpc")}},
                                {"heartbeat", true}})}})}}));
  // Each side sees the other: the server its client on the request link,
  // the client the server through the answers to its beats.
  std::optional<peer_event> at_srv, at_cli;
  while (!(at_srv && at_cli)) {
    auto e = next_event("");
    if (!e)
      break;
    (e->second["bridge"] == "srv" ? at_srv : at_cli) = e;
  }
  ASSERT_TRUE(at_srv);
  EXPECT_EQ(at_srv->first, "troupe.peer.up");
  EXPECT_EQ(at_srv->second["src"], "client");
  EXPECT_EQ(at_srv->second["link"], "rpc");
  ASSERT_TRUE(at_cli);
  EXPECT_EQ(at_cli->first, "troupe.peer.up");
  EXPECT_EQ(at_cli->second["src"], "server");
  EXPECT_EQ(at_cli->second["link"], "calls");
  // The answers to beats are not replies to calls.
  auto calls = test_support::endpoint_stats(self, cli, "calls");
  EXPECT_EQ(calls["dropped_by_reason"]["late_reply"], 0);
  EXPECT_EQ(calls["calls"], 0);
  EXPECT_EQ(test_support::endpoint_stats(self, srv, "rpc")["in_flight"], 0);
  // The client stops on purpose: gone at the server, which stays healthy.
  ASSERT_TRUE(stop(cli));
  auto gone = next_event("srv");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->first, "troupe.peer.gone");
  EXPECT_EQ(gone->second["src"], "client");
  EXPECT_EQ(gone->second["link"], "rpc");
  EXPECT_EQ(health(srv), health_status::healthy);
}

TEST_F(bridge_peers, a_server_that_stops_says_goodbye_to_heartbeating_clients) {
  // peer_timeout is long: what the clients hear at once is the goodbye,
  // not a loss.
  auto srv = spawn_bridge(
    "srv", table({{"source_id", "server"},
                  {"peer_timeout", "5s"},
                  {"endpoints",
                   table({{"rpc", table({{"socket", "router"},
                                         {"bind", "tcp://127.0.0.1:*"}})},
                          {"rep", table({{"socket", "rep"},
                                         {"bind", "tcp://127.0.0.1:*"}})}})}}));
  auto cli = spawn_bridge(
    "cli",
    table(
      {{"source_id", "client"},
       {"heartbeat_interval", "50ms"},
       {"peer_timeout", "5s"},
       {"endpoints",
        table({{"calls", table({{"socket", "dealer"},
                                {"connect", config::list{address(srv, "rpc")}},
                                {"heartbeat", true}})}})}}));
  std::optional<peer_event> up;
  while (!up) {
    auto e = next_event("");
    ASSERT_TRUE(e);
    if (e->second["bridge"] == "cli")
      up = e;
  }
  EXPECT_EQ(up->first, "troupe.peer.up");
  EXPECT_EQ(up->second["src"], "server");
  // A foreign DEALER client on the rep endpoint, heartbeating by hand in
  // the envelope of bridge.md: call id "0", empty delimiter.
  zmq::socket_t dealer{zctx, zmq::socket_type::dealer};
  dealer.set(zmq::sockopt::rcvtimeo, 5000);
  dealer.connect(address(srv, "rep"));
  send_frames(dealer,
              {"0", "", "troupe.heartbeat", R"({"src":"foreign","ts":1})"});
  auto recv_all = [&] {
    std::vector<std::string> frames;
    zmq::message_t m;
    do {
      if (!dealer.recv(m))
        break;
      frames.push_back(m.to_string());
    } while (m.more());
    return frames;
  };
  auto answer = recv_all();
  ASSERT_EQ(answer.size(), 4u);
  EXPECT_EQ(answer[2], "troupe.heartbeat");
  EXPECT_FALSE(nlohmann::json::parse(answer[3]).contains("bye"));
  // The server stops on purpose: both clients hear its goodbye at once.
  ASSERT_TRUE(stop(srv));
  auto gone = next_event("cli", 2s);
  ASSERT_TRUE(gone) << "no goodbye from the stopped server";
  EXPECT_EQ(gone->first, "troupe.peer.gone");
  EXPECT_EQ(gone->second["src"], "server");
  EXPECT_EQ(gone->second["link"], "calls");
  EXPECT_EQ(stats(cli)["goodbyes"], 1);
  EXPECT_TRUE(stats(cli)["peers"].empty());
  EXPECT_EQ(health(cli), health_status::healthy);
  auto bye = recv_all();
  ASSERT_EQ(bye.size(), 4u);
  EXPECT_EQ(bye[0], "0");
  EXPECT_EQ(bye[1], "");
  EXPECT_EQ(bye[2], "troupe.heartbeat");
  auto j = nlohmann::json::parse(bye[3]);
  EXPECT_EQ(j["src"], "server");
  EXPECT_EQ(j["bye"], true);
  // The client's calls after it: not answered by a stale goodbye.
  auto calls = test_support::endpoint_stats(self, cli, "calls");
  EXPECT_EQ(calls["dropped_by_reason"]["late_reply"], 0);
}

TEST(bridge_peers_config, heartbeat_applies_to_push_and_dealer_only) {
  auto check = [](const std::string& socket) {
    config::table values{
      {"endpoints",
       config::table{{"c", config::table{{"socket", socket},
                                         {"connect", config::list{"tcp://h:1"}},
                                         {"heartbeat", true}}}}}};
    auto diags =
      config::layered_config::check_values(bridge_schema(), values, "test");
    bridge_config parsed;
    auto err = parse_bridge_config(config::settings{values}, parsed);
    return std::make_pair(diags, err);
  };
  for (auto ok : {"push", "dealer"}) {
    auto [diags, err] = check(ok);
    EXPECT_TRUE(diags.empty()) << ok << ": " << diags[0].to_string();
    EXPECT_EQ(err, "") << ok;
  }
  // req: refused where the key is, with the reason and what to use.
  auto [diags, err] = check("req");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].path, "endpoints.c.heartbeat");
  EXPECT_NE(diags[0].message.find("not req"), std::string::npos);
  EXPECT_NE(diags[0].message.find("dealer"), std::string::npos);
  EXPECT_NE(err.find("endpoint 'c': heartbeat applies to push and dealer"),
            std::string::npos)
    << err;
  for (auto no : {"pub", "sub", "pull", "rep", "router"}) {
    auto [d, e] = check(no);
    EXPECT_EQ(d.size(), 1u) << no;
    EXPECT_FALSE(e.empty()) << no;
  }
}
