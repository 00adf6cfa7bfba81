// CURVE keys and the ZAP handler against real sockets on 127.0.0.1. Refusals
// are awaited as socket monitor events, not as silence.

#include "troupe/bridge/zmq/curve_security.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include <unistd.h>

#include "troupe/bridge/curve_config.hpp"

using namespace troupe;
using namespace troupe::bridge;
using namespace std::chrono_literals;

namespace {

endpoint_config server_endpoint(const curve_keypair& server,
                                std::vector<std::string> allowed) {
  endpoint_config ep;
  ep.name = "in";
  ep.socket = socket_kind::pull;
  ep.curve.secret_key = server.secret_key;
  ep.curve.allowed_clients = std::move(allowed);
  return ep;
}

endpoint_config client_endpoint(const curve_keypair& server,
                                const std::string& secret) {
  endpoint_config ep;
  ep.name = "out";
  ep.socket = socket_kind::push;
  ep.curve.server_key = server.public_key;
  ep.curve.secret_key = secret;
  return ep;
}

// Monitors `s` for `events`, connects it to `address` (after the monitor is
// in place, so that no event is missed) and waits up to 5 s for the first
// event; returns it, or 0.
uint16_t connect_and_wait(zmq::context_t& ctx, zmq::socket_t& s,
                          const std::string& address, int events,
                          const std::string& name) {
  auto addr = "inproc://monitor-" + name;
  if (zmq_socket_monitor(s.handle(), addr.c_str(), events) != 0)
    throw zmq::error_t{};
  zmq::socket_t mon{ctx, zmq::socket_type::pair};
  mon.set(zmq::sockopt::rcvtimeo, 5000);
  mon.connect(addr);
  s.connect(address);
  return [&]() -> uint16_t {
    zmq::message_t ev;
    if (!mon.recv(ev))
      return 0;
    uint16_t id = 0;
    std::memcpy(&id, ev.data(), sizeof(id));
    zmq::message_t address;
    (void)mon.recv(address);
    return id;
  }();
}

class curve_test : public testing::Test {
protected:
  curve_test() : security(ctx), in(ctx, zmq::socket_type::pull) {}

  ~curve_test() override {
    in.close();
    security.stop();
  }

  void bind_server(std::vector<std::string> allowed) {
    in.set(zmq::sockopt::linger, 0);
    in.set(zmq::sockopt::rcvtimeo, 5000);
    security.apply(in, server_endpoint(server, std::move(allowed)));
    in.bind("tcp://127.0.0.1:*");
    address = in.get(zmq::sockopt::last_endpoint);
  }

  zmq::socket_t client(const std::string& secret) {
    zmq::socket_t out{ctx, zmq::socket_type::push};
    out.set(zmq::sockopt::linger, 0);
    security.apply(out, client_endpoint(server, secret));
    return out;
  }

  zmq::context_t ctx;
  socket_security security;
  zmq::socket_t in;
  std::string address;
  curve_keypair server = make_curve_keypair();
  curve_keypair allowed = make_curve_keypair();
};

} // namespace

TEST(curve_keys, keypair_is_z85_and_public_key_derives_from_secret) {
  auto pair = make_curve_keypair();
  EXPECT_TRUE(is_z85_key(pair.public_key));
  EXPECT_TRUE(is_z85_key(pair.secret_key));
  EXPECT_NE(pair.public_key, pair.secret_key);
  EXPECT_EQ(curve_public_key(pair.secret_key), pair.public_key);
  EXPECT_EQ(curve_public_key("short"), "");
  EXPECT_FALSE(is_z85_key(pair.public_key.substr(1)));
  EXPECT_FALSE(is_z85_key(std::string(40, '"'))); // not in the alphabet
}

TEST(curve_keys, config_reads_keys_and_key_files) {
  auto pair = make_curve_keypair();
  auto file = testing::TempDir() + "curve_test.key";
  {
    std::ofstream out{file};
    out << "# a comment\n\n  " << pair.secret_key << "  \n";
  }
  curve_config c;
  EXPECT_EQ(parse_curve_config(
              config::settings{config::table{
                {"curve_secret_key_file", file},
                {"curve_allowed_clients", config::list{pair.public_key}}}},
              c),
            "");
  EXPECT_EQ(c.secret_key, pair.secret_key);
  EXPECT_TRUE(c.server());
  EXPECT_EQ(c.allowed_clients, std::vector<std::string>{pair.public_key});

  EXPECT_EQ(parse_curve_config(config::settings{config::table{
                                 {"curve_server_key", pair.public_key}}},
                               c),
            "");
  EXPECT_TRUE(c.enabled());
  EXPECT_FALSE(c.server());

  EXPECT_EQ(parse_curve_config(config::settings{config::table{}}, c), "");
  EXPECT_FALSE(c.enabled());
  std::remove(file.c_str());
}

TEST(curve_keys, config_errors_name_the_key) {
  auto pair = make_curve_keypair();
  curve_config c;
  auto parse = [&](config::table t) {
    return parse_curve_config(config::settings{std::move(t)}, c);
  };
  EXPECT_NE(parse({{"curve_secret_key", "tooshort"}}).find("curve_secret_key:"),
            std::string::npos);
  EXPECT_NE(parse({{"curve_secret_key", pair.secret_key},
                   {"curve_secret_key_file", "x.key"}})
              .find("not both"),
            std::string::npos);
  EXPECT_NE(parse({{"curve_server_key_file", "/nonexistent/s.pub"}})
              .find("cannot read '/nonexistent/s.pub'"),
            std::string::npos);
  EXPECT_NE(parse({{"curve_server_key", pair.public_key},
                   {"curve_allowed_clients", config::list{pair.public_key}}})
              .find("needs a CURVE server"),
            std::string::npos);
  EXPECT_NE(parse({{"curve_secret_key", pair.secret_key},
                   {"curve_allowed_clients", config::list{"nope"}}})
              .find("'nope'"),
            std::string::npos);
}

TEST_F(curve_test, allowed_client_gets_through) {
  bind_server({allowed.public_key});
  auto out = client(allowed.secret_key);
  out.connect(address);
  out.send(zmq::str_buffer("hello"), zmq::send_flags::none);
  zmq::message_t m;
  ASSERT_TRUE(in.recv(m));
  EXPECT_EQ(m.to_string(), "hello");
  EXPECT_EQ(security.denied("in"), 0u);
}

TEST_F(curve_test, unknown_client_key_is_refused_and_counted) {
  bind_server({allowed.public_key});
  auto stranger = make_curve_keypair();
  auto out = client(stranger.secret_key);
  EXPECT_EQ(connect_and_wait(ctx, out, address,
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED,
                             "stranger"),
            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  EXPECT_GE(security.denied("in"), 1u);
  EXPECT_EQ(security.denied("other"), 0u);
}

TEST_F(curve_test, ephemeral_client_key_passes_an_open_server) {
  bind_server({});       // encryption only: any CURVE client
  auto out = client(""); // ephemeral key pair
  out.connect(address);
  out.send(zmq::str_buffer("hi"), zmq::send_flags::none);
  zmq::message_t m;
  ASSERT_TRUE(in.recv(m));
  EXPECT_EQ(m.to_string(), "hi");
}

TEST_F(curve_test, plaintext_client_is_refused_by_libzmq) {
  bind_server({allowed.public_key});
  zmq::socket_t out{ctx, zmq::socket_type::push};
  out.set(zmq::sockopt::linger, 0);
  EXPECT_EQ(connect_and_wait(ctx, out, address,
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED,
                             "plain"),
            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
  EXPECT_EQ(security.denied("in"), 0u); // refused before ZAP
}
