#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "troupe/bridge/endpoint_config.hpp"
#include "troupe/config/schema.hpp"
#include "troupe/config/settings.hpp"

namespace troupe::bridge {

/// What a `proxy` service forwards, and over which ZMQ sockets.
enum class proxy_mode : uint8_t {
  /// frontend XSUB (publishers connect), backend XPUB (subscribers
  /// connect); subscriptions travel upstream, messages downstream.
  pubsub,
  /// frontend PULL (producers push), backend PUSH (workers pull), fair
  /// queued in and load balanced out.
  pipeline,
  /// frontend ROUTER (REQ or DEALER clients), backend DEALER (REP or ROUTER
  /// workers); replies find their way back through the routing frames.
  requests,
};

/// Returns "pubsub", "pipeline" or "requests".
std::string_view to_string(proxy_mode m) noexcept;

/// Returns the ZMQ socket type names of the frontend and backend of `m`,
/// e.g. "XSUB" and "XPUB".
std::string_view frontend_socket_name(proxy_mode m) noexcept;

/// See frontend_socket_name.
std::string_view backend_socket_name(proxy_mode m) noexcept;

/// The settings of one `proxy` service, parsed. Each side is an
/// endpoint_config of which `name` ("frontend" or "backend", also the ZAP
/// domain), `bind`, `connect`, `hwm`, `max_message_bytes`, the reconnect
/// interval and `curve` apply.
struct proxy_config {
  proxy_mode mode = proxy_mode::pubsub;
  endpoint_config frontend;
  endpoint_config backend;
  /// How often the proxy's STATISTICS are read into metrics and status.
  std::chrono::nanoseconds stats_interval = std::chrono::seconds{1};
  /// Whether the proxy holds its traffic (PAUSE) while running.
  bool paused = false;
  /// How long messages queued at stop may still go out (ZMQ_LINGER).
  std::chrono::nanoseconds linger = std::chrono::seconds{1};
};

/// The schema of the `proxy` service type's settings.
const config::schema& proxy_schema();

/// Reads validated settings (see proxy_schema) into `out`. Returns an error
/// message naming the side and key when they are inconsistent (e.g. neither
/// `bind` nor `connect`), else "".
std::string parse_proxy_config(const config::settings& cfg, proxy_config& out);

} // namespace troupe::bridge
