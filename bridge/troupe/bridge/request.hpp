#pragma once

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/send.hpp>

#include "troupe/bridge/envelope.hpp"

namespace troupe::bridge {

/// Carries a service's answer to a request back to the bridge.
using reply_atom = caf::atom_constant<caf::atom("br_reply")>;

/// A request from a ZMQ peer, received on a `rep` or `router` endpoint and
/// published on the local bus under its topic. The subscriber answers it
/// exactly once, with `reply` or `reply_error`; without an answer within
/// the endpoint's `timeout`, the peer gets a timeout error reply.
///
/// ```
/// subscribe<bridge::request>("calc.", [](auto&, const bridge::request& r) {
///   if (auto x = bridge::decode<int>(r.message))
///     bridge::reply(r, std::to_string(*x * 2));
///   else
///     bridge::reply_error(r, "expected an integer");
/// });
/// ```
struct request {
  envelope message;
  /// The bridge that waits for the answer.
  caf::actor reply_to;
  uint64_t id = 0;
};

/// Answers `r` with `payload` (JSON text on a json endpoint).
inline void reply(const request& r, std::string payload) {
  caf::anon_send(r.reply_to, reply_atom::value, r.id, true, std::move(payload));
}

/// Answers `r` with an error; the peer receives
/// `[troupe.error][{"code": "service_error", "message": ...}]`.
inline void reply_error(const request& r, std::string message) {
  caf::anon_send(r.reply_to, reply_atom::value, r.id, false,
                 std::move(message));
}

} // namespace troupe::bridge

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::bridge::request)
