// Endpoint addresses and reconnects: the settings reach the socket, host
// names work in connect, and bind with a host name says why it fails.

#include "troupe/bridge/socket_options.hpp"

#include <gtest/gtest.h>

#include <chrono>

using namespace troupe;
using namespace troupe::bridge;
using namespace std::chrono_literals;

namespace {

config::table push_endpoint(const config::table& extra) {
  config::table ep{
    {"socket", config::value{"push"}},
    {"connect", config::value{config::list{config::value{"tcp://a:1"},
                                           config::value{"tcp://b:2"}}}}};
  for (auto& [k, v] : extra)
    ep[k] = v;
  return config::table{
    {"endpoints", config::value{config::table{{"out", config::value{ep}}}}}};
}

} // namespace

TEST(socket_options, bridge_endpoints_read_reconnect_keys) {
  bridge_config cfg;
  ASSERT_EQ(parse_bridge_config(config::settings{push_endpoint(
                                  {{"reconnect_ivl", config::value{250ms}},
                                   {"reconnect_ivl_max", config::value{4s}}})},
                                cfg),
            "");
  ASSERT_EQ(cfg.endpoints.size(), 1u);
  auto& ep = cfg.endpoints[0];
  EXPECT_EQ(ep.connect.size(), 2u);
  EXPECT_EQ(ep.reconnect_ivl, 250ms);
  EXPECT_EQ(ep.reconnect_ivl_max, 4s);
  // Defaults: ZMQ's own.
  ASSERT_EQ(parse_bridge_config(config::settings{push_endpoint({})}, cfg), "");
  EXPECT_EQ(cfg.endpoints[0].reconnect_ivl, 100ms);
  EXPECT_EQ(cfg.endpoints[0].reconnect_ivl_max, 0s);
  EXPECT_EQ(parse_bridge_config(config::settings{push_endpoint(
                                  {{"reconnect_ivl", config::value{2s}},
                                   {"reconnect_ivl_max", config::value{1s}}})},
                                cfg),
            "endpoint 'out': reconnect_ivl_max must be 0s or at least "
            "reconnect_ivl");
  EXPECT_NE(bridge_schema().lookup("endpoints.out.reconnect_ivl_max"), nullptr);
}

TEST(socket_options, reconnect_settings_reach_the_socket) {
  zmq::context_t ctx;
  zmq::socket_t s{ctx, zmq::socket_type::push};
  endpoint_config ep;
  ep.reconnect_ivl = 250ms;
  ep.reconnect_ivl_max = 4s;
  apply_reconnect(s, ep);
  EXPECT_EQ(s.get(zmq::sockopt::reconnect_ivl), 250);
  EXPECT_EQ(s.get(zmq::sockopt::reconnect_ivl_max), 4000);
  s.set(zmq::sockopt::linger, 0);
}

TEST(socket_options, connect_takes_host_names_and_bind_says_why_not) {
  zmq::context_t ctx;
  zmq::socket_t in{ctx, zmq::socket_type::pull};
  zmq::socket_t out{ctx, zmq::socket_type::push};
  in.set(zmq::sockopt::linger, 0);
  out.set(zmq::sockopt::linger, 0);
  in.set(zmq::sockopt::rcvtimeo, 5000);
  ASSERT_EQ(bind_socket(in, "tcp://127.0.0.1:*"), "");
  auto port = in.get(zmq::sockopt::last_endpoint);
  port = port.substr(port.rfind(':'));
  ASSERT_EQ(connect_socket(out, {"tcp://localhost" + port}), "");
  // A name that does not resolve (yet) is retried, not refused.
  zmq::socket_t later{ctx, zmq::socket_type::push};
  later.set(zmq::sockopt::linger, 0);
  EXPECT_EQ(connect_socket(later, {"tcp://no-such-host.invalid" + port}), "");
  out.send(zmq::str_buffer("hi"), zmq::send_flags::none);
  zmq::message_t m;
  ASSERT_TRUE(in.recv(m));
  EXPECT_EQ(m.to_string(), "hi");
  auto err = bind_socket(in, "tcp://localhost:0");
  EXPECT_NE(err.find("bind tcp://localhost:0: "), std::string::npos) << err;
  EXPECT_NE(err.find("not a host name"), std::string::npos) << err;
  EXPECT_NE(connect_socket(out, {"nonsense"}).find("connect nonsense: "),
            std::string::npos);
}
