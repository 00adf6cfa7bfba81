// The proxy's settings and proxy_runner against real sockets on 127.0.0.1:
// forwarding, STATISTICS, PAUSE/RESUME and TERMINATE through the control
// socket, and the errors a user meets. Waits are bounded receives.

#include "troupe/bridge/proxy_runner.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include <zmq.hpp>

#include "troupe/bridge/proxy_config.hpp"

using namespace troupe;
using namespace troupe::bridge;
using namespace std::chrono_literals;

namespace {

proxy_config pipeline_on_any_port() {
  proxy_config cfg;
  cfg.mode = proxy_mode::pipeline;
  cfg.frontend.name = "frontend";
  cfg.frontend.bind = "tcp://127.0.0.1:*";
  cfg.backend.name = "backend";
  cfg.backend.bind = "tcp://127.0.0.1:*";
  cfg.linger = 0s;
  return cfg;
}

std::optional<proxy_stats> stats_of(proxy_runner& p) {
  for (int i = 0; i < 50; ++i)
    if (auto st = p.statistics(100ms))
      return st;
  return std::nullopt;
}

} // namespace

TEST(proxy_config, reads_mode_and_sides) {
  config::table t{
    {"mode", config::value{std::string{"requests"}}},
    {"frontend", config::value{config::table{
                   {"bind", config::value{std::string{"tcp://*:5621"}}}}}},
    {"backend",
     config::value{config::table{
       {"connect", config::value{config::list{
                     config::value{std::string{"tcp://worker-1:5622"}}}}},
       {"reconnect_ivl", config::value{config::duration{250ms}}},
       {"reconnect_ivl_max", config::value{config::duration{5s}}}}}}};
  proxy_config cfg;
  ASSERT_EQ(parse_proxy_config(config::settings{t}, cfg), "");
  EXPECT_EQ(cfg.mode, proxy_mode::requests);
  EXPECT_EQ(cfg.frontend.bind, "tcp://*:5621");
  EXPECT_EQ(cfg.backend.connect.at(0), "tcp://worker-1:5622");
  EXPECT_EQ(cfg.backend.reconnect_ivl, 250ms);
  EXPECT_EQ(cfg.backend.reconnect_ivl_max, 5s);
  EXPECT_EQ(frontend_socket_name(cfg.mode), "ROUTER");
  EXPECT_EQ(backend_socket_name(cfg.mode), "DEALER");
}

TEST(proxy_config, errors_name_the_side_and_key) {
  proxy_config cfg;
  config::table no_backend{
    {"mode", config::value{std::string{"pipeline"}}},
    {"frontend", config::value{config::table{
                   {"bind", config::value{std::string{"tcp://*:1"}}}}}}};
  EXPECT_EQ(parse_proxy_config(config::settings{no_backend}, cfg),
            "backend: set exactly one of bind or connect");
  config::table bad_ivl{
    {"mode", config::value{std::string{"pipeline"}}},
    {"frontend", config::value{config::table{
                   {"bind", config::value{std::string{"tcp://*:1"}}},
                   {"reconnect_ivl", config::value{config::duration{2s}}},
                   {"reconnect_ivl_max", config::value{config::duration{1s}}},
                 }}},
    {"backend", config::value{config::table{
                  {"bind", config::value{std::string{"tcp://*:2"}}}}}}};
  EXPECT_EQ(parse_proxy_config(config::settings{bad_ivl}, cfg),
            "frontend: reconnect_ivl_max must be 0s or at least "
            "reconnect_ivl");
  EXPECT_NE(proxy_schema().lookup("frontend.curve_allowed_clients"), nullptr);
  EXPECT_NE(proxy_schema().lookup("backend.reconnect_ivl_max"), nullptr);
}

TEST(proxy_runner, forwards_counts_pauses_and_terminates) {
  proxy_runner p;
  ASSERT_EQ(p.start(pipeline_on_any_port()), "");
  ASSERT_TRUE(p.running());
  zmq::context_t ctx;
  zmq::socket_t producer{ctx, zmq::socket_type::push};
  zmq::socket_t worker{ctx, zmq::socket_type::pull};
  producer.set(zmq::sockopt::linger, 0);
  worker.set(zmq::sockopt::linger, 0);
  worker.set(zmq::sockopt::rcvtimeo, 5000);
  producer.connect(p.frontend_address());
  worker.connect(p.backend_address());
  for (int i = 0; i < 10; ++i)
    producer.send(zmq::str_buffer("job"), zmq::send_flags::none);
  for (int i = 0; i < 10; ++i) {
    zmq::message_t m;
    ASSERT_TRUE(worker.recv(m)) << "message " << i;
    EXPECT_EQ(m.to_string(), "job");
  }
  auto st = stats_of(p);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->frontend.messages_in, 10u);
  EXPECT_EQ(st->frontend.bytes_in, 30u);
  EXPECT_EQ(st->backend.messages_out, 10u);
  EXPECT_EQ(st->backend.bytes_out, 30u);
  EXPECT_EQ(st->frontend.messages_out, 0u);

  p.pause();
  producer.send(zmq::str_buffer("held"), zmq::send_flags::none);
  worker.set(zmq::sockopt::rcvtimeo, 300);
  zmq::message_t m;
  EXPECT_FALSE(worker.recv(m)) << "a paused proxy forwarded";
  p.resume();
  worker.set(zmq::sockopt::rcvtimeo, 5000);
  ASSERT_TRUE(worker.recv(m));
  EXPECT_EQ(m.to_string(), "held");

  EXPECT_TRUE(p.stop(5s)) << "TERMINATE was not enough";
  EXPECT_FALSE(p.running());
  EXPECT_EQ(p.failure(), "");
  EXPECT_FALSE(p.statistics(10ms));
}

TEST(proxy_runner, starts_paused_and_restarts) {
  auto cfg = pipeline_on_any_port();
  cfg.paused = true;
  proxy_runner p;
  ASSERT_EQ(p.start(cfg), "");
  zmq::context_t ctx;
  zmq::socket_t producer{ctx, zmq::socket_type::push};
  zmq::socket_t worker{ctx, zmq::socket_type::pull};
  producer.set(zmq::sockopt::linger, 0);
  worker.set(zmq::sockopt::linger, 0);
  worker.set(zmq::sockopt::rcvtimeo, 300);
  producer.connect(p.frontend_address());
  worker.connect(p.backend_address());
  producer.send(zmq::str_buffer("x"), zmq::send_flags::none);
  zmq::message_t m;
  EXPECT_FALSE(worker.recv(m));
  p.resume();
  worker.set(zmq::sockopt::rcvtimeo, 5000);
  EXPECT_TRUE(worker.recv(m));
  EXPECT_TRUE(p.stop(5s));
  // Started again: new sockets, counts from zero.
  cfg.paused = false;
  ASSERT_EQ(p.start(cfg), "");
  auto st = stats_of(p);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->frontend.messages_in, 0u);
  EXPECT_TRUE(p.stop(5s));
}

TEST(proxy_runner, bind_with_a_host_name_says_why) {
  auto cfg = pipeline_on_any_port();
  cfg.backend.bind = "tcp://localhost:0";
  proxy_runner p;
  auto err = p.start(cfg);
  EXPECT_NE(err.find("backend: bind tcp://localhost:0"), std::string::npos)
    << err;
  EXPECT_NE(err.find("not a host name"), std::string::npos) << err;
  EXPECT_FALSE(p.running());
  // The frontend it had bound is closed again: the runner starts anew.
  EXPECT_EQ(p.start(pipeline_on_any_port()), "");
  EXPECT_TRUE(p.stop(5s));
}

TEST(proxy_runner, requests_mode_routes_replies_back) {
  auto cfg = pipeline_on_any_port();
  cfg.mode = proxy_mode::requests;
  proxy_runner p;
  ASSERT_EQ(p.start(cfg), "");
  zmq::context_t ctx;
  zmq::socket_t client{ctx, zmq::socket_type::req};
  zmq::socket_t server{ctx, zmq::socket_type::rep};
  for (auto* s : {&client, &server}) {
    s->set(zmq::sockopt::linger, 0);
    s->set(zmq::sockopt::rcvtimeo, 5000);
  }
  client.connect(p.frontend_address());
  server.connect(p.backend_address());
  client.send(zmq::str_buffer("ping"), zmq::send_flags::none);
  zmq::message_t m;
  ASSERT_TRUE(server.recv(m));
  EXPECT_EQ(m.to_string(), "ping");
  server.send(zmq::str_buffer("pong"), zmq::send_flags::none);
  ASSERT_TRUE(client.recv(m));
  EXPECT_EQ(m.to_string(), "pong");
  EXPECT_TRUE(p.stop(5s));
}

TEST(proxy_runner, stop_ends_a_proxy_held_back_by_a_full_worker) {
  auto cfg = pipeline_on_any_port();
  cfg.frontend.hwm = 1;
  cfg.backend.hwm = 1;
  proxy_runner p;
  ASSERT_EQ(p.start(cfg), "");
  zmq::context_t ctx;
  zmq::socket_t producer{ctx, zmq::socket_type::push};
  zmq::socket_t worker{ctx, zmq::socket_type::pull};
  producer.set(zmq::sockopt::linger, 0);
  producer.set(zmq::sockopt::sndtimeo, 50);
  worker.set(zmq::sockopt::linger, 0);
  worker.set(zmq::sockopt::rcvhwm, 1);
  worker.set(zmq::sockopt::rcvtimeo, 5000);
  producer.connect(p.frontend_address());
  worker.connect(p.backend_address());
  zmq::message_t m;
  producer.send(zmq::str_buffer("first"), zmq::send_flags::none);
  ASSERT_TRUE(worker.recv(m)); // connected end to end
  // The worker stops reading: every queue on the way fills up.
  std::string big(size_t{64} * 1024, 'x');
  for (int i = 0; i < 200; ++i)
    if (!producer.send(zmq::buffer(big), zmq::send_flags::none))
      break;
  // Whether the proxy still reads TERMINATE or waits in a send, stop ends
  // it: by TERMINATE, or else by shutting its context down.
  static_cast<void>(p.stop(500ms));
  EXPECT_FALSE(p.running());
  EXPECT_EQ(p.failure(), "");
}
