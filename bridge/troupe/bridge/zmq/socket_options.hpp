#pragma once

#include <string>

#include <zmq.hpp>

#include "troupe/bridge/endpoint_config.hpp"
#include "troupe/config/schema.hpp"
#include "troupe/config/settings.hpp"

namespace troupe::bridge {

/// Declares the connection options in the endpoint schema `ep`:
/// `reconnect_ivl` and `reconnect_ivl_max` (ZMQ_RECONNECT_IVL,
/// ZMQ_RECONNECT_IVL_MAX), `zmtp_heartbeat_ivl` and `zmtp_heartbeat_timeout`
/// (ZMQ_HEARTBEAT_IVL, ZMQ_HEARTBEAT_TIMEOUT).
void add_connection_schema(config::schema& ep);

/// Reads the connection options of one endpoint into `out`. Returns an
/// error message naming the key, else "".
std::string parse_connection(const config::settings& ep, endpoint_config& out);

/// Sets the connection options of `ep` on `s` (before bind or connect).
/// Throws zmq::error_t like any socket option.
void apply_connection(zmq::socket_t& s, const endpoint_config& ep);

/// Binds `s` to `address`; returns "" or an error message that says what
/// went wrong, e.g. that bind takes an address or interface, not a host
/// name ("tcp://localhost:5581" gives ENODEV in libzmq).
std::string bind_socket(zmq::socket_t& s, const std::string& address);

/// Connects `s` to every address of `addresses` (host names are resolved by
/// libzmq at each attempt: a name that does not resolve yet is retried like
/// a peer that is down). Returns "" or an error message naming the address.
std::string connect_socket(zmq::socket_t& s,
                           const std::vector<std::string>& addresses);

} // namespace troupe::bridge
