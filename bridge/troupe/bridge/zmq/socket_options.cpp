#include "troupe/bridge/zmq/socket_options.hpp"

#include <chrono>
#include <cstdint>

namespace troupe::bridge {

namespace {

int to_millis(std::chrono::nanoseconds d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
}

} // namespace

void add_connection_schema(config::schema& ep) {
  ep.duration("reconnect_ivl",
              "connect: time between attempts to reach a peer that is down "
              "or went away (ZMQ_RECONNECT_IVL); the peer is used again as "
              "soon as it is back, without a restart")
    .fallback(config::duration{std::chrono::milliseconds{100}})
    .at_least(0.001)
    .at_most(86400);
  ep.duration("reconnect_ivl_max",
              "connect: when longer than reconnect_ivl, each failed attempt "
              "doubles the wait up to this (ZMQ_RECONNECT_IVL_MAX); 0s: "
              "always reconnect_ivl")
    .fallback(config::duration{std::chrono::seconds{0}})
    .at_least(0)
    .at_most(86400);
  ep.duration("zmtp_heartbeat_ivl",
              "bind or connect: how often ZMTP PINGs go to each peer "
              "connection (ZMQ_HEARTBEAT_IVL); a connection silent for "
              "zmtp_heartbeat_timeout is closed and, on a connecting "
              "endpoint, made again, so a peer host that is cut off or gone "
              "is noticed; 0s: none")
    .fallback(config::duration{std::chrono::seconds{0}})
    .at_least(0)
    .at_most(3600);
  ep.duration("zmtp_heartbeat_timeout",
              "bind or connect: how long a connection may stay silent "
              "(no message, no PONG) before it is closed "
              "(ZMQ_HEARTBEAT_TIMEOUT); 0s: zmtp_heartbeat_ivl")
    .fallback(config::duration{std::chrono::seconds{0}})
    .at_least(0)
    .at_most(3600);
}

std::string parse_connection(const config::settings& ep, endpoint_config& out) {
  out.reconnect_ivl =
    ep.get_or<config::duration>("reconnect_ivl", out.reconnect_ivl);
  out.reconnect_ivl_max =
    ep.get_or<config::duration>("reconnect_ivl_max", out.reconnect_ivl_max);
  if (out.reconnect_ivl_max.count() != 0 &&
      out.reconnect_ivl_max < out.reconnect_ivl)
    return "reconnect_ivl_max must be 0s or at least reconnect_ivl";
  out.zmtp_heartbeat_ivl =
    ep.get_or<config::duration>("zmtp_heartbeat_ivl", out.zmtp_heartbeat_ivl);
  out.zmtp_heartbeat_timeout = ep.get_or<config::duration>(
    "zmtp_heartbeat_timeout", out.zmtp_heartbeat_timeout);
  if (out.zmtp_heartbeat_timeout.count() != 0 &&
      out.zmtp_heartbeat_ivl.count() == 0)
    return "zmtp_heartbeat_timeout needs zmtp_heartbeat_ivl above 0s";
  return {};
}

void apply_connection(zmq::socket_t& s, const endpoint_config& ep) {
  s.set(zmq::sockopt::reconnect_ivl, to_millis(ep.reconnect_ivl));
  s.set(zmq::sockopt::reconnect_ivl_max, to_millis(ep.reconnect_ivl_max));
  if (ep.zmtp_heartbeat_ivl.count() > 0) {
    s.set(zmq::sockopt::heartbeat_ivl, to_millis(ep.zmtp_heartbeat_ivl));
    if (ep.zmtp_heartbeat_timeout.count() > 0)
      s.set(zmq::sockopt::heartbeat_timeout,
            to_millis(ep.zmtp_heartbeat_timeout));
  }
}

std::string bind_socket(zmq::socket_t& s, const std::string& address) {
  try {
    s.bind(address);
    return {};
  } catch (const zmq::error_t& e) {
    std::string msg = "bind " + address + ": " + e.what();
    if (e.num() == ENODEV)
      msg += " (bind takes an IP address, a network interface name or *, "
             "not a host name; names work in connect)";
    return msg;
  }
}

std::string connect_socket(zmq::socket_t& s,
                           const std::vector<std::string>& addresses) {
  for (auto& a : addresses) {
    try {
      s.connect(a);
    } catch (const zmq::error_t& e) {
      return "connect " + a + ": " + e.what();
    }
  }
  return {};
}

} // namespace troupe::bridge
