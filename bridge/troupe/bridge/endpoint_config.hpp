#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/bridge/curve_config.hpp"
#include "troupe/config/schema.hpp"
#include "troupe/config/settings.hpp"

namespace troupe::bridge {

/// ZMQ socket kinds an endpoint may use.
enum class socket_kind : uint8_t {
  pub,
  sub,
  push,
  pull,
  req,
  rep,
  router,
  dealer
};

/// Returns "pub", "sub", ...
std::string_view to_string(socket_kind k) noexcept;

/// Whether messages flow in (sub, pull) or out (pub, push) of the process.
bool is_inbound(socket_kind k) noexcept;

/// Whether local messages go out to peers (pub, push).
bool is_outbound(socket_kind k) noexcept;

/// Whether peers send requests that a service answers (rep, router).
bool is_request(socket_kind k) noexcept;

/// Whether local services send requests that a peer answers (req, dealer).
bool is_call(socket_kind k) noexcept;

/// How payloads are written on the wire.
enum class codec_kind : uint8_t {
  /// UTF-8 JSON; inbound payloads that are not JSON are rejected.
  json,
  /// Bytes as they are.
  raw,
};

/// What an outbound endpoint does when ZMQ will not take a message now.
enum class full_policy : uint8_t {
  /// Keep it (and everything after it) until the socket takes it: no loss
  /// within `max_queued` / `max_queued_bytes` (beyond: `queue_full`).
  block,
  /// Keep at most `max_queued` waiting; drop the oldest waiting one,
  /// counted.
  drop_oldest,
  /// Drop the message that did not fit, counted.
  drop_newest,
};

/// Returns "block", "drop_oldest" or "drop_newest".
std::string_view to_string(full_policy p) noexcept;

/// One `[services.NAME.endpoints.EP]` table, parsed.
struct endpoint_config {
  std::string name;
  socket_kind socket = socket_kind::pub;
  std::string bind;
  std::vector<std::string> connect;
  /// Subscribe prefixes (sub) or local topic prefixes sent out (pub, push).
  std::vector<std::string> topics;
  codec_kind codec = codec_kind::json;
  int hwm = 10000;
  full_policy on_full = full_policy::block;
  /// pub, push: at most this many messages wait in the bridge for ZMQ
  /// (0 in the settings: `hwm`); beyond, they are dropped as on_full says
  /// (`queue_full` under block), counted.
  size_t max_queued = 0;
  /// pub, push: at most this many bytes (topic + payload + meta) wait.
  size_t max_queued_bytes = size_t{64} << 20;
  /// pub: how long a full subscriber may hold every message back before
  /// messages go out past it (it misses them, counted `slow_subscriber`);
  /// zero: at once, as a plain ZMQ PUB does.
  std::chrono::nanoseconds stall_timeout = std::chrono::seconds{1};
  /// Whether to send (and expect) the optional third frame `[meta]`.
  bool meta = false;
  /// push, dealer: also send `troupe.heartbeat` every `heartbeat_interval`
  /// (and a goodbye at stop), so that the peer sees this process come and
  /// go. Refused on other kinds (req: see bridge.md).
  bool heartbeat = false;
  size_t max_message_bytes = 1 << 20;
  /// sub, pull, rep, router: most bytes (topic, payload, meta) of received
  /// messages between the socket and the services that took them; beyond,
  /// the receiver stops reading (ZMQ's rcvhwm then holds the peer back).
  size_t max_in_flight_bytes = size_t{64} << 20;
  /// rep/router: how long a service may take to answer a request;
  /// req/dealer: how long a peer may take to answer a call.
  std::chrono::nanoseconds timeout = std::chrono::seconds{5};
  /// sub/pull: prepended to every inbound topic before it is published on
  /// the local bus (not to `troupe.heartbeat`).
  std::string local_prefix;
  /// sub/pull: publish what one socket had ready as `envelope_batch`es
  /// (runs of one topic) instead of one `envelope` per message; handlers
  /// that take envelopes still get one at a time (the host unrolls).
  bool batch = true;
  /// sub/pull: a bag file that every received message is also stored in
  /// (bag.hpp); empty: none.
  std::string record;
  /// record: bounds of one file before FILE.1, FILE.2 ...; zero: none.
  uint64_t record_max_bytes = 0;
  std::chrono::nanoseconds record_max_duration{0};
  /// CURVE keys (see curve_config.hpp); none by default.
  curve_config curve;
  /// connect: time between attempts to reach a peer (ZMQ_RECONNECT_IVL).
  std::chrono::nanoseconds reconnect_ivl = std::chrono::milliseconds{100};
  /// connect: upper bound of the doubling wait (ZMQ_RECONNECT_IVL_MAX);
  /// zero: always `reconnect_ivl`.
  std::chrono::nanoseconds reconnect_ivl_max{0};
  /// Either side: how often ZMTP PINGs go to each peer connection
  /// (ZMQ_HEARTBEAT_IVL); zero: none (libzmq's default). A connection with
  /// no traffic for `zmtp_heartbeat_timeout` is closed, and a connecting
  /// side reconnects: a half-open connection (a peer host gone or cut off)
  /// is noticed instead of kept for as long as TCP keeps it.
  std::chrono::nanoseconds zmtp_heartbeat_ivl{0};
  /// ZMQ_HEARTBEAT_TIMEOUT; zero: `zmtp_heartbeat_ivl` (libzmq's default).
  std::chrono::nanoseconds zmtp_heartbeat_timeout{0};
};

/// The bridge's settings, parsed.
struct bridge_config {
  std::vector<endpoint_config> endpoints;
  /// Identifies this process in meta frames (`src`); default "<host>:<pid>".
  std::string source_id;
  /// How often `troupe.heartbeat` goes out on pub endpoints (and push and
  /// dealer endpoints with `heartbeat`); zero: never (no goodbye either).
  std::chrono::nanoseconds heartbeat_interval = std::chrono::seconds{1};
  /// A peer not heard from for this long degrades the bridge's health.
  std::chrono::nanoseconds peer_timeout = std::chrono::seconds{3};
};

/// The schema of the `bridge` service type's settings.
const config::schema& bridge_schema();

/// Reads validated settings (see bridge_schema) into a bridge_config.
/// Returns an error message when an endpoint is inconsistent (e.g. neither
/// `bind` nor `connect`, or an inbound socket with `on_full`), else "".
std::string parse_bridge_config(const config::settings& cfg,
                                bridge_config& out);

} // namespace troupe::bridge
