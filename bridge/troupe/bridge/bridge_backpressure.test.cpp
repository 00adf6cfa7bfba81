// Inbound backpressure against real sockets: a PUSH peer sends as fast as
// ZMQ lets it into a pull endpoint with a small window, a subscriber on the
// bus takes the messages one by one. Nothing is lost, and the bridge never
// has more than its window between the socket and the bus. Every wait is
// for an event, bounded.

#include <thread>

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/service_host.hpp"
#include "troupe/actors/topic_bus.hpp"
#include "troupe/bridge/bridge_service.hpp"
#include "troupe/bridge/test_support.hpp"

using namespace troupe;
using namespace troupe::bridge;
using troupe::bridge::test_support::endpoint_stats;
using namespace std::chrono_literals;

namespace {

struct bp_system_config : caf::actor_system_config {
  bp_system_config() { init_actor_system_config(*this); }
};

} // namespace

TEST(bridge_backpressure, a_fast_push_peer_loses_nothing_and_the_window_holds) {
  constexpr int n = 20000;
  constexpr int window = 16;
  bp_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto bus = spawn_topic_bus(sys);
  auto br = spawn_service<bridge_service>(sys, {"br", "bridge", bus});
  auto ok = [](service_state) {};
  auto fail = [](const caf::error& e) { FAIL() << describe(e); };
  self
    ->request(br, 5s, configure_atom::value,
              settings{config::table{
                {"heartbeat_interval", config::duration{0s}},
                {"endpoints",
                 config::table{{"in", config::table{{"socket", "pull"},
                                                    {"bind", "tcp://"
                                                             "127.0.0.1:*"},
                                                    {"hwm", window}}}}}}})
    .receive(ok, fail);
  self->request(br, 5s, start_atom::value).receive(ok, fail);
  self->send(bus, subscribe_atom::value, std::string{"bp."},
             caf::actor_cast<caf::actor>(self));
  self->request(bus, 5s, status_atom::value)
    .receive([](uint64_t, uint64_t, uint64_t) {}, [](caf::error&) {});
  auto address = endpoint_stats(self, br, "in")["address"].get<std::string>();

  // The peer: blocking sends, so it goes exactly as fast as we take.
  zmq::context_t z{1};
  std::thread peer{[&] {
    zmq::socket_t push{z, zmq::socket_type::push};
    push.set(zmq::sockopt::sndhwm, window);
    push.set(zmq::sockopt::linger, 5000);
    push.connect(address);
    for (int i = 0; i < n; ++i) {
      auto payload = std::to_string(i);
      push.send(zmq::buffer(std::string{"bp.x"}), zmq::send_flags::sndmore);
      push.send(zmq::buffer(payload), zmq::send_flags::none);
    }
  }};

  // The subscriber: one message at a time, checking the window on the way.
  int got = 0;
  bool in_order = true;
  uint64_t max_seen = 0;
  int next_sample = 1000;
  for (bool more = true; more && got < n;) {
    self->receive(
      [&](deliver_atom, const std::string&, const caf::message& msg) {
        // One envelope, or a batch of them (batch = true, the default).
        if (msg.match_element<envelope_batch>(0)) {
          auto& b = msg.get_as<envelope_batch>(0);
          for (size_t i = 0; i < b.size(); ++i, ++got)
            in_order = in_order && b[i] == std::to_string(got);
        } else {
          in_order =
            in_order && msg.get_as<envelope>(0).payload == std::to_string(got);
          ++got;
        }
      },
      caf::after(10s) >> [&] { more = false; });
    if (got >= next_sample) {
      next_sample += 1000;
      auto s = endpoint_stats(self, br, "in");
      max_seen = std::max(max_seen, s["in_flight"].get<uint64_t>());
    }
  }
  peer.join();
  auto s = endpoint_stats(self, br, "in");
  EXPECT_EQ(got, n);
  EXPECT_TRUE(in_order);
  EXPECT_EQ(s["received"], n);
  EXPECT_EQ(s["malformed_total"], 0);
  EXPECT_EQ(s["window"], window);
  EXPECT_LE(max_seen, static_cast<uint64_t>(window));
  EXPECT_LE(s["in_flight_max"].get<uint64_t>(), static_cast<uint64_t>(window));
  EXPECT_GT(s["in_flight_max"].get<uint64_t>(), 0u);
  self->send_exit(br, caf::exit_reason::user_shutdown);
  self->send_exit(bus, caf::exit_reason::user_shutdown);
}
