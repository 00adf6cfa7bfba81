#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/bridge/endpoint_config.hpp"

namespace troupe::bridge {

/// One multipart message: its frames in order.
using multipart = std::vector<std::string>;

/// One open endpoint. Used by one thread at a time: outbound endpoints by
/// the bridge actor, inbound and request endpoints by the receiver thread.
class endpoint_socket {
public:
  virtual ~endpoint_socket() = default;

  /// Queues the multipart message `parts[0..n)` without blocking. Returns
  /// false when the endpoint will not take it now ("would block"); then
  /// nothing was queued. Never throws.
  virtual bool try_send(const std::string_view* parts, size_t n) = 0;

  /// PUB: like `try_send`, but a subscriber whose queue is full misses this
  /// message instead of holding it back for all (ZMQ_XPUB_NODROP off for
  /// this one message); returns false only when the socket takes nothing
  /// at all. Other kinds: `try_send`. Never throws.
  virtual bool send_past_full(const std::string_view* parts, size_t n) {
    return try_send(parts, n);
  }

  /// Receives up to `max` complete messages that are ready, without
  /// blocking, into `out[0..k)` and returns k. Reuses the storage of `out`
  /// (grown as needed, never shrunk), so that a receive loop does not
  /// allocate per message.
  virtual size_t receive(std::vector<multipart>& out, size_t max) = 0;

  /// Where it is bound (the resolved address) or what it connected to.
  virtual std::string address() const = 0;

  /// Closes the endpoint; outbound ones may still deliver what they took.
  virtual void close() = 0;

  /// Receiving kinds (sub, pull, rep, router, req, dealer): connections to
  /// peers that ZeroMQ closed so far, whatever the cause — a peer that
  /// left, or one that sent a frame over `max_message_bytes`
  /// (ZMQ_MAXMSGSIZE), which libzmq 4.3 reports the same way. Counted
  /// while `transport::wait` runs; any thread may read it.
  virtual uint64_t peer_disconnects() const { return 0; }

  /// Receiving kinds: connections whose ZMTP handshake failed so far, by
  /// the reason libzmq gives (ZMQ_EVENT_HANDSHAKE_FAILED_*): `protocol`
  /// (e.g. a plaintext client on a CURVE endpoint, a wrong server key),
  /// `auth` (refused by authentication), `other` (no detail). Counted while
  /// `transport::wait` runs; any thread may read it.
  struct handshake_failures {
    uint64_t protocol = 0;
    uint64_t auth = 0;
    uint64_t other = 0;
    uint64_t total() const noexcept { return protocol + auth + other; }
  };
  virtual handshake_failures failed_handshakes() const { return {}; }
};

/// Opens endpoints and waits for input on them: what the bridge needs from
/// ZeroMQ, so that its logic runs against an in-memory fake in tests
/// (fake_transport.hpp) and against ZeroMQ otherwise (`make_zmq_transport`).
class transport {
public:
  virtual ~transport() = default;

  /// Opens `cfg` (socket kind, bind or connect, high-water mark). On
  /// failure returns null and sets `error`.
  virtual std::unique_ptr<endpoint_socket> open(const endpoint_config& cfg,
                                                std::string& error) = 0;

  /// Waits up to `timeout` until one of `socks` has input or `wake` was
  /// called; sets `ready[i]` for each socket with input. Called by one
  /// thread (the receiver).
  virtual void wait(const std::vector<endpoint_socket*>& socks,
                    std::chrono::milliseconds timeout,
                    std::vector<char>& ready) = 0;

  /// Ends the current or next `wait` early. Any thread.
  virtual void wake() = 0;

  /// Releases what the transport holds; call after every socket closed.
  /// `open` may be called again afterwards.
  virtual void close() = 0;

  /// Connections refused by authentication (CURVE) on the endpoint named
  /// `endpoint` so far; kept after `close`.
  virtual uint64_t auth_denied(const std::string& endpoint) const {
    (void)endpoint;
    return 0;
  }
};

/// The ZeroMQ transport: one context per open run; PUB sockets set
/// ZMQ_XPUB_NODROP; rep endpoints are ROUTER sockets; req sockets set
/// ZMQ_REQ_RELAXED and ZMQ_REQ_CORRELATE; every receiving socket sets
/// ZMQ_MAXMSGSIZE to `max_message_bytes` and is watched by a socket monitor
/// (ZMQ_EVENT_DISCONNECTED and ZMQ_EVENT_HANDSHAKE_FAILED_*, read in
/// `wait`); CURVE keys of an endpoint apply
/// to its socket (curve_security.hpp).
std::unique_ptr<transport> make_zmq_transport();

} // namespace troupe::bridge
