// Endpoint addresses and reconnects: the settings reach the socket, host
// names work in connect, and bind with a host name says why it fails.

#include "troupe/bridge/zmq/socket_options.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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
  apply_connection(s, ep);
  EXPECT_EQ(s.get(zmq::sockopt::reconnect_ivl), 250);
  EXPECT_EQ(s.get(zmq::sockopt::reconnect_ivl_max), 4000);
  // No ZMTP heartbeat unless asked for: libzmq's defaults stay.
  EXPECT_EQ(s.get(zmq::sockopt::heartbeat_ivl), 0);
  ep.zmtp_heartbeat_ivl = 500ms;
  ep.zmtp_heartbeat_timeout = 2s;
  apply_connection(s, ep);
  EXPECT_EQ(s.get(zmq::sockopt::heartbeat_ivl), 500);
  EXPECT_EQ(s.get(zmq::sockopt::heartbeat_timeout), 2000);
  s.set(zmq::sockopt::linger, 0);
}

TEST(socket_options, bridge_endpoints_read_zmtp_heartbeat_keys) {
  bridge_config cfg;
  ASSERT_EQ(
    parse_bridge_config(config::settings{push_endpoint(
                          {{"zmtp_heartbeat_ivl", config::value{1s}},
                           {"zmtp_heartbeat_timeout", config::value{3s}}})},
                        cfg),
    "");
  EXPECT_EQ(cfg.endpoints[0].zmtp_heartbeat_ivl, 1s);
  EXPECT_EQ(cfg.endpoints[0].zmtp_heartbeat_timeout, 3s);
  ASSERT_EQ(parse_bridge_config(config::settings{push_endpoint({})}, cfg), "");
  EXPECT_EQ(cfg.endpoints[0].zmtp_heartbeat_ivl, 0s);
  EXPECT_EQ(cfg.endpoints[0].zmtp_heartbeat_timeout, 0s);
  EXPECT_EQ(
    parse_bridge_config(config::settings{push_endpoint(
                          {{"zmtp_heartbeat_timeout", config::value{3s}}})},
                        cfg),
    "endpoint 'out': zmtp_heartbeat_timeout needs zmtp_heartbeat_ivl "
    "above 0s");
  EXPECT_NE(bridge_schema().lookup("endpoints.out.zmtp_heartbeat_ivl"),
            nullptr);
}

namespace {

// A TCP relay in front of a real peer that can go silent without closing
// anything, as a host does when its link is cut: while `frozen`, nothing
// is forwarded either way. Counts the connections it accepted.
class silent_relay {
public:
  explicit silent_relay(uint16_t target) : target_(target) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      ADD_FAILURE() << "relay: bind failed";
    ::listen(listener_, 8);
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread{[this] { run(); }};
  }
  ~silent_relay() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_)
      if (fd >= 0)
        ::close(fd);
    ::close(listener_);
  }
  uint16_t port() const { return port_; }
  std::atomic<bool> frozen{false};
  std::atomic<int> accepted{0};

private:
  void run() {
    while (!stop_) {
      std::vector<pollfd> ps{{listener_, POLLIN, 0}};
      if (!frozen)
        for (int fd : fds_)
          ps.push_back({fd, POLLIN, 0});
      if (::poll(ps.data(), ps.size(), 20) <= 0)
        continue;
      if (ps[0].revents & POLLIN) {
        int in = ::accept(listener_, nullptr, nullptr);
        int out = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(target_);
        // A failed connect shows as a relay that forwards nothing.
        (void)!::connect(out, reinterpret_cast<sockaddr*>(&a), sizeof a);
        fds_.push_back(in);
        fds_.push_back(out);
        ++accepted;
      }
      for (size_t k = 1; k < ps.size(); ++k) {
        if (!(ps[k].revents & (POLLIN | POLLHUP)))
          continue;
        // fds_ holds pairs: [in, out], [in, out], ...; -1 once closed.
        size_t i = k - 1;
        if (fds_[i] < 0)
          continue;
        int other = fds_[i ^ 1];
        char buf[4096];
        auto n = ::read(fds_[i], buf, sizeof buf);
        if (n > 0) {
          (void)!::write(other, buf, static_cast<size_t>(n));
        } else {
          ::close(fds_[i]);
          ::close(other);
          fds_[i] = fds_[i ^ 1] = -1;
        }
      }
    }
  }

  uint16_t target_;
  uint16_t port_ = 0;
  int listener_ = -1;
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace

// A peer that stops answering without closing its connection (a host cut
// off): with ZMTP heartbeats the connecting side notices within the
// timeout, drops the connection and makes a new one; without them it keeps
// the dead connection for as long as TCP does.
TEST(socket_options, a_zmtp_heartbeat_replaces_a_silent_connection) {
  zmq::context_t ctx;
  zmq::socket_t peer{ctx, zmq::socket_type::pull};
  peer.set(zmq::sockopt::linger, 0);
  peer.set(zmq::sockopt::rcvtimeo, 5000);
  ASSERT_EQ(bind_socket(peer, "tcp://127.0.0.1:*"), "");
  auto bound = peer.get(zmq::sockopt::last_endpoint);
  auto target =
    static_cast<uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1)));
  silent_relay relay{target};
  auto via = "tcp://127.0.0.1:" + std::to_string(relay.port());
  auto run = [&](std::chrono::milliseconds ivl) {
    zmq::socket_t out{ctx, zmq::socket_type::push};
    out.set(zmq::sockopt::linger, 0);
    endpoint_config ep;
    ep.reconnect_ivl = 100ms;
    ep.zmtp_heartbeat_ivl = ivl;
    ep.zmtp_heartbeat_timeout = ivl * 3;
    apply_connection(out, ep);
    relay.frozen = false;
    relay.accepted = 0;
    EXPECT_EQ(connect_socket(out, {via}), "");
    out.send(zmq::str_buffer("before"), zmq::send_flags::none);
    zmq::message_t m;
    EXPECT_TRUE(peer.recv(m));
    relay.frozen = true;
    std::this_thread::sleep_for(1500ms); // 5 timeouts of 300 ms
    relay.frozen = false;
    return relay.accepted.load();
  };
  // Without heartbeats the frozen connection is kept: one connection.
  EXPECT_EQ(run(0ms), 1);
  // With them it is dropped and made again, at least once.
  EXPECT_GE(run(100ms), 2);
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
