#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include <caf/actor_control_block.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/message_id.hpp>

#include "troupe/bridge/envelope.hpp"

namespace troupe::bridge {

/// Receives the answer to a `call`: the peer's reply, or an error.
using call_handler = std::function<void(caf::expected<envelope>)>;

/// A request from a local service to a ZMQ peer, through a `req` or
/// `dealer` endpoint of a bridge. Made by `call`, published on the local
/// bus under `call_topic(BRIDGE, ENDPOINT)`; the bridge answers it exactly
/// once, as a CAF response to the caller.
struct call_request {
  /// What goes to the peer: `[topic][payload]` (meta is not sent).
  envelope message;
  /// The caller.
  caf::strong_actor_ptr reply_to;
  /// The caller's response id: the bridge answers to it.
  caf::message_id id;
  /// How long the caller waits at most; the bridge uses the shorter of this
  /// and the endpoint's `timeout`.
  std::chrono::nanoseconds timeout{};
};

/// The bus topic on which the bridge named `bridge` takes calls for its
/// endpoint `endpoint`: "troupe.call.BRIDGE/ENDPOINT".
std::string call_topic(std::string_view bridge, std::string_view endpoint);

/// The prefix of every call topic of the bridge named `bridge`.
std::string call_prefix(std::string_view bridge);

/// Starts a call from the actor `self` (a service's `self()`): returns the
/// request to publish under `call_topic(...)` and calls `on_result` inside
/// `self` once, with the peer's reply (`[topic][payload]`, `via` naming the
/// endpoint) or an error:
/// - `errc::timeout`: no reply within `timeout` (the peer never answered,
///   the request waited too long in the endpoint's queue, or no bridge took
///   the call at all);
/// - `errc::unknown_child`: the bridge has no endpoint of that name;
/// - `errc::type_mismatch`: the endpoint is not a req or dealer endpoint;
/// - `errc::not_running`: the bridge stopped before the reply came.
///
/// A peer that answers with `[troupe.error][...]` (e.g. another troupe
/// bridge's rep endpoint) is a reply: its topic says so.
///
/// ```
/// publish(bridge::call_topic("br", "prices"),
///         bridge::call(self(), {"price.get", R"({"item": "tea"})"}, 2s,
///                      [this](caf::expected<bridge::envelope> r) {
///                        if (r) use(r->payload);
///                        else record_error(describe(r.error()));
///                      }));
/// ```
call_request call(caf::scheduled_actor* self, envelope message,
                  std::chrono::nanoseconds timeout, call_handler on_result);

} // namespace troupe::bridge

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::bridge::call_request)
