#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "troupe/bridge/proxy_config.hpp"

namespace troupe::bridge {

/// Messages and bytes through one side of a proxy, as ZMQ counts them.
struct proxy_side_stats {
  /// Messages received on this side.
  uint64_t messages_in = 0;
  /// Bytes received on this side.
  uint64_t bytes_in = 0;
  /// Messages sent on this side.
  uint64_t messages_out = 0;
  /// Bytes sent on this side.
  uint64_t bytes_out = 0;
};

/// The reply of zmq_proxy_steerable to STATISTICS: both sides, since the
/// proxy started.
struct proxy_stats {
  proxy_side_stats frontend;
  proxy_side_stats backend;
};

/// libzmq's own proxy (zmq_proxy_steerable) on a thread of its own, steered
/// through an inproc PAIR control socket. No CAF: the `proxy` service type
/// drives it, and tests drive it directly. Every member function must be
/// called from one thread at a time (the owner); the proxy runs on its own.
///
/// ```
/// proxy_runner p;
/// if (auto err = p.start(cfg); !err.empty()) ... // bind failed etc.
/// auto st = p.statistics(std::chrono::milliseconds{100});
/// p.stop(std::chrono::seconds{2});
/// ```
class proxy_runner {
public:
  proxy_runner();
  ~proxy_runner();

  proxy_runner(const proxy_runner&) = delete;
  proxy_runner& operator=(const proxy_runner&) = delete;

  /// Makes a ZMQ context and both sockets, binds or connects them (CURVE as
  /// configured) and starts the proxy thread. Returns "" or what failed
  /// (nothing is left running then).
  std::string start(const proxy_config& cfg);

  /// Sends PAUSE: the proxy stops forwarding until `resume` (messages wait
  /// in ZMQ's queues up to their high-water marks).
  void pause();

  /// Sends RESUME.
  void resume();

  /// Asks the proxy for its STATISTICS and waits up to `timeout` for the
  /// reply. Without an answer in time, the request stays outstanding and
  /// the next call waits for its reply instead of asking again.
  std::optional<proxy_stats> statistics(std::chrono::milliseconds timeout);

  /// Sends TERMINATE and waits up to `timeout` for the proxy to return;
  /// when it does not (e.g. blocked in a send to a full peer), shuts the
  /// context down, which ends it. Closes everything. Returns whether
  /// TERMINATE alone was enough. Harmless when not running.
  bool stop(std::chrono::milliseconds timeout);

  /// Whether the proxy thread runs (false once it returned, even on its own).
  bool running() const;

  /// Why the proxy returned on its own, "" while it runs or after a stop.
  std::string failure() const;

  /// The address of the frontend (as bound, with the port chosen, or the
  /// first connect address).
  std::string frontend_address() const;

  /// See frontend_address.
  std::string backend_address() const;

  /// CURVE clients refused by ZAP on `side` ("frontend" or "backend").
  uint64_t auth_denied(const std::string& side) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::bridge
