#pragma once

// What the sending commands (`troupe pub`, `troupe replay`) share: their
// duration options, the sending socket, and waiting for a PUB subscriber.

#include <atomic>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "troupe/config/duration.hpp"

namespace troupe::cli {

/// Parses `text` as the duration option `name`; prints why not and returns
/// nothing when it is not one.
std::optional<config::duration> duration_option(const char* name,
                                                const std::string& text);

/// Opens a PUSH socket, or an XPUB (a PUB on the wire that sees
/// subscriptions, with XPUB_NODROP: it waits for a slow subscriber) when
/// `pub`, and binds or connects it to `address`. A send waits at most
/// `timeout` for room; what ZMQ took is delivered for up to `timeout` after
/// the last send; a PUSH queues nothing before a peer is there. On failure
/// prints "WHO: bind|connect ADDRESS: why" and returns nothing.
std::optional<zmq::socket_t> open_sender(zmq::context_t& ctx, bool pub,
                                         const std::string& address, bool bind,
                                         config::duration timeout,
                                         const char* who);

/// PUB has the slow-joiner effect: a message sent before a subscription
/// arrives is gone. Waits up to `wait` for a subscription that `topic`
/// matches (any subscription when `topic` is null) on the XPUB `s`; gives
/// up early once `stop` is set.
bool wait_for_subscriber(zmq::socket_t& s, const std::string* topic,
                         config::duration wait,
                         const std::atomic<bool>* stop = nullptr);

} // namespace troupe::cli
