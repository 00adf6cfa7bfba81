#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "troupe/bridge/endpoint_config.hpp"

namespace troupe::bridge {

class zap_handler;

/// CURVE for the sockets of one ZMQ context.
///
/// `apply` sets an endpoint's CURVE options on its socket (before bind or
/// connect). A CURVE server gets the ZAP domain of its endpoint name; the
/// first server socket starts the context's ZAP handler, a thread answering
/// on `inproc://zeromq.zap.01`: a client whose public key is not in the
/// endpoint's `allowed_clients` is refused and counted (`denied`). A plain
/// (non-CURVE) peer never reaches ZAP: libzmq refuses the handshake itself.
///
/// ```
/// zmq::context_t ctx;
/// socket_security security{ctx};
/// zmq::socket_t s{ctx, zmq::socket_type::pull};
/// security.apply(s, endpoint); // then s.bind(...)
/// ...
/// security.stop(); // before the context closes
/// ```
class socket_security {
public:
  /// Uses `ctx` for the ZAP handler; `ctx` must outlive `stop()`.
  explicit socket_security(zmq::context_t& ctx);
  ~socket_security();

  socket_security(const socket_security&) = delete;
  socket_security& operator=(const socket_security&) = delete;

  /// Sets the CURVE options of `ep` on `s`; nothing when `ep` has no CURVE
  /// keys. Throws zmq::error_t like any socket option.
  void apply(zmq::socket_t& s, const endpoint_config& ep);

  /// Connections refused by ZAP on endpoint `endpoint` so far (kept after
  /// stop).
  uint64_t denied(std::string_view endpoint) const;

  /// Stops the ZAP handler thread, if any. Call before closing the context.
  void stop();

private:
  zmq::context_t* ctx_;
  std::unique_ptr<zap_handler> zap_;
};

/// A Z85 key pair from zmq_curve_keypair.
struct curve_keypair {
  /// 40 Z85 characters.
  std::string public_key;
  /// 40 Z85 characters.
  std::string secret_key;
};

/// Makes a new key pair. Throws zmq::error_t when libzmq lacks CURVE.
curve_keypair make_curve_keypair();

/// Returns the Z85 public key of a Z85 secret key ("" if invalid).
std::string curve_public_key(const std::string& secret_key);

} // namespace troupe::bridge
