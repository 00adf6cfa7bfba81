#pragma once

// Internals shared by the bridge actor (bridge_service.cpp) and its
// receiver thread (receiver.cpp). Not part of the public API.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <spdlog/fwd.h>

#include "troupe/bridge/bag_recorder.hpp"
#include "troupe/bridge/call.hpp"
#include "troupe/bridge/endpoint_config.hpp"
#include "troupe/bridge/envelope.hpp"
#include "troupe/bridge/transport.hpp"
#include "troupe/bridge/wire.hpp"

namespace troupe {
class exposition_writer;
} // namespace troupe

namespace troupe::bridge::detail {

/// The call id of a dealer's heartbeat (calls count from 1): its answer,
/// and a server's goodbye, come back with it and are told apart by it.
inline constexpr std::string_view beat_call_id = "0";

/// Malformed-input reasons: every frame_error plus unknown_topic.
constexpr size_t reason_count =
  static_cast<size_t>(frame_error::invalid_meta) + 2;

/// A pull endpoint with `topics` received a topic outside them.
constexpr size_t unknown_topic = reason_count - 1;

/// Why a call endpoint (req, dealer) dropped something; every drop is
/// counted by reason.
enum call_drop : size_t {
  /// A reply from the peer that no waiting call expects (it timed out, or
  /// the id is unknown): never delivered.
  late_reply,
  /// A call not sent because `hwm` calls already waited (on_full).
  queue_full,
  /// A call that waited for its turn past its deadline, never sent.
  expired,
  /// A call still waiting, never sent, when the bridge stopped.
  stopped,
  call_drop_count
};

/// Why an outbound endpoint (pub, push) dropped a message; every drop is
/// counted by reason.
enum class out_drop : size_t {
  /// on_full = drop_oldest: pushed out of the full queue by a newer one.
  drop_oldest,
  /// on_full = drop_newest: ZMQ would not take it.
  drop_newest,
  /// The queue was at max_queued or max_queued_bytes.
  queue_full,
  /// pub: sent past a subscriber stalled longer than stall_timeout, which
  /// missed it (also in `sent`: the other subscribers got it).
  slow_subscriber,
  /// Still queued when the bridge stopped.
  stopped,
};

/// How many `out_drop` reasons there are.
constexpr size_t out_drop_count = 5;

/// The `reason` label of outbound drop counter `r`.
std::string_view out_drop_name(out_drop r);

/// The `reason` label of call drop counter `i`.
std::string_view call_drop_name(size_t i);

/// The `reason` label of malformed-input counter `i`.
std::string_view reason_name(size_t i);

/// `{"code", "message"}`: the payload of a `troupe.error` reply.
std::string error_payload(std::string_view code, std::string_view message);

/// At most `per_second` log lines per reason; then one line saying how many
/// were suppressed.
class log_limiter {
public:
  static constexpr int per_second = 3;

  /// Returns how many lines were suppressed before this one (>= 0), or -1
  /// when this one must be suppressed too.
  int64_t admit(size_t reason);

private:
  struct window {
    int64_t second = -1;
    int logged = 0;
    int64_t suppressed = 0;
  };
  std::array<window, reason_count> windows_{};
};

/// A message the endpoint would not take yet. An envelope's payload stays
/// in its (shared) caf::message instead of being copied.
struct outbound_frames {
  std::string topic;
  caf::message msg;
  std::string encoded;
  std::string meta;
  bool envelope_payload = false;

  std::string_view payload() const {
    return envelope_payload ? std::string_view{msg.get_as<envelope>(0).payload}
                            : std::string_view{encoded};
  }

  /// What it counts against max_queued_bytes.
  size_t bytes() const { return topic.size() + payload().size() + meta.size(); }
};

/// What a received message counts against an endpoint's byte window: the
/// sizes of its topic, payload(s) and meta. The receiver and the actor both
/// count with this, so that what comes back is what was taken.
uint64_t credit_bytes(const caf::message& msg);

/// `credit_bytes` of one envelope.
uint64_t envelope_bytes(const envelope& e);

/// Sends `[topic][payload]` (+ `[meta]`) unless the endpoint will not take
/// it now.
bool try_send(endpoint_socket& s, std::string_view topic,
              std::string_view payload, std::string_view meta);

/// The counters of one endpoint: atomics, each written by one thread (named
/// per field) and read by any (stats, the metrics collector on the control
/// plane's thread).
struct shared_counters {
  /// Receiver: messages that passed the wire check.
  std::atomic<uint64_t> received{0};
  /// Actor (outbound), receiver (replies on rep/router).
  std::atomic<uint64_t> sent{0};
  /// Actor: outbound drops, by any reason (their sum).
  std::atomic<uint64_t> dropped{0};
  /// Actor: local messages no codec could encode.
  std::atomic<uint64_t> unencodable{0};
  /// Receiver: messages missing by the meta sequence.
  std::atomic<uint64_t> gaps{0};
  /// Actor: requests nobody answered within `timeout`.
  std::atomic<uint64_t> timeouts{0};
  /// Actor: requests answered with an error.
  std::atomic<uint64_t> error_replies{0};
  // Inbound credit (sub, pull, rep, router): messages handed to the actor
  // and not yet passed on (to the bus, or answered for requests). The
  // receiver thread adds, the actor subtracts; at `window` the receiver
  // stops reading this socket, so that ZMQ's own rcvhwm fills up.
  std::atomic<uint64_t> in_flight{0};
  /// The same in bytes (`credit_bytes`): at `window_bytes` the receiver
  /// stops reading too.
  std::atomic<uint64_t> in_flight_bytes{0};
  /// Receiver: the most `in_flight` ever was.
  std::atomic<uint64_t> in_flight_max{0};
  /// Receiver: rejected input by reason.
  std::array<std::atomic<uint64_t>, reason_count> malformed{};
  // req/dealer (the actor writes): calls taken, and how each ended:
  // calls = sent + waiting + dropped unsent; sent = replies + timeouts +
  // failures + in flight.
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> replies{0};
  std::atomic<uint64_t> failures{0};
  std::array<std::atomic<uint64_t>, call_drop_count> call_dropped{};
  std::atomic<uint64_t> calls_in_flight{0};
  /// `actor_owned::calls_waiting.size()`, for other threads.
  std::atomic<uint64_t> calls_waiting_n{0};
  /// Outbound (pub, push; the actor writes): `actor_owned::pending.size()`
  /// and the sum of `bytes()` over it, and drops by reason (their sum is in
  /// `dropped`).
  std::atomic<uint64_t> queued{0};
  std::atomic<uint64_t> pending_bytes{0};
  std::array<std::atomic<uint64_t>, out_drop_count> out_dropped{};
};

/// What only the bridge actor touches (outbound queues, calls waiting).
struct actor_owned {
  std::deque<uint64_t> calls_waiting;
  std::deque<outbound_frames> pending;
  /// pub: since when no message got past a full subscriber, if one is.
  std::optional<std::chrono::steady_clock::time_point> stalled_since;
  std::map<std::string, uint64_t, std::less<>> seq_out;
};

/// What only the receiver touches while it runs (its thread, or a test's
/// `manual_receiver::step`); the actor reads `beat_clients` once the
/// receiver is gone.
struct receiver_owned {
  log_limiter limiter;
  /// `sock->peer_disconnects()` when last logged.
  uint64_t disconnects_logged = 0;
  log_limiter disconnect_limiter;
  /// `net->auth_denied(name)` when last logged (CURVE servers only).
  uint64_t auth_denied_logged = 0;
  log_limiter auth_limiter;
  /// `sock->failed_handshakes().total()` when last logged.
  uint64_t handshakes_logged = 0;
  log_limiter handshake_limiter;
  std::map<std::pair<std::string, std::string>, uint64_t> seq_in;
  /// rep/router: the routing identities of DEALER clients that heartbeat
  /// (the `[beat_call_id][""]` envelope) and when each last did. Read by
  /// the actor's say_goodbye once the receiver is gone: a stopping server
  /// says goodbye to the clients heard within peer_timeout.
  std::map<std::string, std::chrono::steady_clock::time_point> beat_clients;
};

/// One endpoint at run time: what is set at start and fixed until stop
/// (any thread reads it), and three parts by owner: `counters` (atomics,
/// any thread), `actor` (the bridge actor only), `rx` (the receiver only).
struct endpoint_runtime {
  endpoint_config cfg;
  std::unique_ptr<endpoint_socket> sock;
  std::string address;
  /// "BRIDGE/ENDPOINT": the `via` of everything received here.
  std::string via;
  /// sub/pull with `record`: the bag being written (the receiver pushes,
  /// the metrics collector reads its counters); stopped by
  /// bridge_service::shut_down once the receiver is gone.
  std::shared_ptr<bag_recorder> recorder;
  /// The credit windows (`hwm`, `max_in_flight_bytes`).
  uint64_t window = 0;
  uint64_t window_bytes = 0;
  size_t index = 0;
  shared_counters counters;
  actor_owned actor;
  receiver_owned rx;
};

/// Writes the figures of `eps` (and of `net`'s CURVE refusals) as the
/// troupe_bridge_* families: the collector a bridge registers in its
/// metric_registry. Reads only atomics and what does not change while the
/// endpoints are open, so it may run on any thread.
void write_endpoint_metrics(
  exposition_writer& w,
  const std::vector<std::shared_ptr<endpoint_runtime>>& eps,
  const transport& net);

/// Replies travel from the actor to the receiver thread, which owns the
/// request endpoints: the actor queues them and wakes the transport.
struct reply_queue {
  struct item {
    uint64_t id;
    std::string topic;
    std::string payload;
  };
  std::mutex mtx;
  std::vector<item> items;
};

/// Calls travel from the actor to the receiver thread, which owns the req
/// and dealer sockets: the actor queues the frames and wakes the transport.
struct call_queue {
  struct item {
    endpoint_runtime* ep;
    uint64_t id;
    multipart frames;
    /// Not sent by then (no peer took it): the actor gave up on it.
    std::chrono::steady_clock::time_point deadline;
  };
  std::mutex mtx;
  std::vector<item> items;
};

/// A call the bridge took and has not answered yet.
struct pending_call {
  call_request req;
  endpoint_runtime* ep = nullptr;
  /// Handed to the socket (else waiting for its turn).
  bool sent = false;
  uint64_t timer = 0;
  std::chrono::steady_clock::time_point deadline;
};

/// The bridge's calls (req, dealer endpoints); actor thread only, except
/// `out`.
struct call_state {
  std::vector<std::shared_ptr<endpoint_runtime>>* eps = nullptr;
  transport* net = nullptr;
  call_queue out;
  std::map<uint64_t, pending_call> pending;
  uint64_t next_id = 0;
  log_limiter limiter;
};

/// What the receiver thread works with.
struct receiver_context {
  std::vector<endpoint_runtime*> eps;
  transport* net = nullptr;
  reply_queue* replies = nullptr;
  call_queue* calls = nullptr;
  std::atomic<bool>* stop = nullptr;
  /// How long a heartbeating client stays among `beat_clients` unheard.
  std::chrono::nanoseconds peer_timeout{};
  // Shared: the actor's host (which owns the logger) is destroyed before
  // the bridge object that joins this thread.
  std::shared_ptr<spdlog::logger> log;
};

/// The receiver's work, one wake-up at a time. The receiver thread loops
/// over `step` (receive_loop); a test on the fake transport calls it
/// directly through a `manual_receiver`, so that it decides when input is
/// read. One thread at a time.
class receiver_loop {
public:
  receiver_loop(receiver_context ctx, caf::weak_actor_ptr target);
  ~receiver_loop();
  receiver_loop(const receiver_loop&) = delete;
  receiver_loop& operator=(const receiver_loop&) = delete;

  /// One wake-up: waits up to `max_wait` (at most 1 ms while a call waits
  /// for its socket) for input on the endpoints with credit or a
  /// `transport::wake`; then sends the queued replies and calls, hands what
  /// each ready endpoint has to the target (`inbound_atom`,
  /// `request_in_atom`, `call_reply_atom`) and logs new peer disconnects,
  /// failed handshakes and refused CURVE clients. Returns false, having
  /// done nothing but wait, when the target is gone.
  bool step(std::chrono::milliseconds max_wait);

  /// Sends the replies still queued (e.g. on_stop's "stopping" answers):
  /// after the last `step`.
  void finish();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The receiver thread: waits for input on `ctx.eps`, checks and counts it,
/// hands each socket's ready messages to `target` as one `inbound_atom`
/// batch (requests one by one as `request_in_atom`, replies to calls as
/// `call_reply_atom`), and sends queued replies and calls. Returns when
/// `*ctx.stop` is set or the target is gone: `receiver_loop::step` until
/// then.
void receive_loop(const receiver_context& ctx,
                  const caf::weak_actor_ptr& target);

} // namespace troupe::bridge::detail
