#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <nlohmann/json_fwd.hpp>

#include "troupe/actors/bus_batch.hpp"
#include "troupe/actors/service.hpp"
#include "troupe/bridge/call.hpp"
#include "troupe/bridge/envelope.hpp"
#include "troupe/bridge/request.hpp"
#include "troupe/bridge/transport.hpp"

namespace troupe::bridge {

struct bridge_config;
class manual_receiver;

namespace detail {
struct endpoint_runtime;
struct call_state;
struct peer_table;
struct peer;
enum class out_drop : size_t;
} // namespace detail

/// Local topic on which a bridge announces a peer it hears from for the
/// first time, or again after it went silent: JSON `{"src", "link",
/// "bridge"}`, where `link` names the endpoint that heard it.
inline constexpr std::string_view peer_up_topic = "troupe.peer.up";

/// Local topic on which a bridge announces a peer silent for longer than
/// `peer_timeout`: JSON `{"src", "link", "bridge", "silent_ms"}`. A
/// service that handed work to that peer may hand it out again.
inline constexpr std::string_view peer_lost_topic = "troupe.peer.lost";

/// Local topic on which a bridge announces a peer that said goodbye (it
/// stopped on purpose): JSON `{"src", "link", "bridge"}`. The peer is
/// forgotten (no `troupe_bridge_peer_alive` series, health untouched); a
/// service that handed work to it may hand that out again.
inline constexpr std::string_view peer_gone_topic = "troupe.peer.gone";

/// Hands inbound messages from the receiver thread to the bridge actor: the
/// endpoint's index and a `bus_batch` of envelopes, what one socket had
/// ready (up to the endpoint's free credit).
using inbound_atom = caf::atom_constant<caf::atom("br_in")>;

/// Hands one request from a rep/router endpoint to the bridge actor.
using request_in_atom = caf::atom_constant<caf::atom("br_req")>;

/// Hands a peer's reply to a call (req, dealer endpoint) to the bridge
/// actor: endpoint index, call id, reply.
using call_reply_atom = caf::atom_constant<caf::atom("br_creply")>;

/// Asks a bridge for its counters; the answer is a JSON object.
using stats_atom = caf::atom_constant<caf::atom("br_stats")>;

/// The `bridge` service type: carries local topics to and from ZMQ peers.
///
/// Inbound endpoints (sub, pull) are polled by one receiver thread; each
/// message is checked against the wire format (see wire.hpp), counted, and
/// published on the local bus as an `envelope` under its topic. At most
/// `hwm` messages per endpoint are between the receiver and the bus (or,
/// for requests, unanswered): beyond that the receiver stops reading the
/// socket, and ZMQ's high-water mark holds the peer back. Malformed
/// input is counted per reason and endpoint and logged at most a few lines
/// per second per reason; it never stops other traffic.
///
/// Outbound endpoints (pub, push) subscribe to their `topics` on the local
/// bus; every matching message is encoded (see codec.hpp) and sent as
/// `[topic][payload]` (plus `[meta]` with `meta = true`). When ZMQ will not
/// take a message, `on_full` decides: `block` keeps it (no loss within
/// the bound), `drop_oldest` drops the oldest waiting one, `drop_newest`
/// drops it. What waits is bounded by `max_queued` messages and
/// `max_queued_bytes` bytes (beyond: `queue_full`) — every drop is counted
/// by reason. PUB sockets use ZMQ_XPUB_NODROP so that ZMQ never drops
/// silently; a subscriber that takes nothing for `stall_timeout` is sent
/// past (it misses those messages, counted as `slow_subscriber`), so that
/// it cannot stop the other subscribers or the heartbeats.
///
/// Request endpoints (rep, router; both accept REQ and DEALER peers) publish
/// each request on the local bus as a `request`; the subscriber answers it
/// with `reply` or `reply_error` (see request.hpp). The peer receives
/// `[topic][payload]`, or `[troupe.error][{"code", "message"}]` when the
/// service reports an error, nobody answers within `timeout`, or the request
/// was malformed — never silence, so a REQ socket never gets stuck.
///
/// Call endpoints (req, dealer) carry requests of local services to a peer
/// and its replies back (see call.hpp): a service publishes a `call` under
/// `call_topic(BRIDGE, ENDPOINT)` and gets the reply, or an error, as a
/// CAF response. A req endpoint has one call in flight, a dealer up to
/// `hwm`; further calls wait (at most `hwm`, `on_full` decides), and every
/// call ends by its deadline.
class bridge_service : public service {
public:
  using interface = service_actor::extend<
    caf::reacts_to<inbound_atom, uint64_t, bus_batch>,
    caf::reacts_to<request_in_atom, uint64_t, uint64_t, envelope>,
    caf::reacts_to<reply_atom, uint64_t, bool, std::string>,
    caf::reacts_to<call_reply_atom, uint64_t, uint64_t, envelope>,
    caf::replies_to<stats_atom>::with<std::string>>;

  /// Talks ZeroMQ (`make_zmq_transport`).
  bridge_service();

  /// Talks through `net`, e.g. a `fake_transport` in tests.
  explicit bridge_service(std::shared_ptr<transport> net);

  /// Talks through `net`; its receiver runs only when a test calls
  /// `receiver->step()`, on the test's thread (manual_receiver.hpp).
  bridge_service(std::shared_ptr<transport> net,
                 std::shared_ptr<manual_receiver> receiver);
  ~bridge_service() override;

  auto handlers() {
    return std::make_tuple(
      [this](inbound_atom, uint64_t endpoint, bus_batch& b) {
        on_inbound(endpoint, b);
      },
      [this](request_in_atom, uint64_t id, uint64_t endpoint,
             const envelope& e) { on_request(id, endpoint, e); },
      [this](reply_atom, uint64_t id, bool ok, const std::string& payload) {
        on_reply(id, ok, payload);
      },
      [this](call_reply_atom, uint64_t endpoint, uint64_t id, envelope& e) {
        on_call_reply(endpoint, id, e);
      },
      [this](stats_atom) { return stats_json(); });
  }

  const config::schema* settings_schema() const override;
  hook_result on_configure(const settings& cfg) override;
  hook_result on_start() override;
  hook_result on_stop() override;

private:
  struct state;

  void on_inbound(uint64_t endpoint, bus_batch& batch);
  void return_credit(detail::endpoint_runtime& ep, uint64_t n, uint64_t bytes);
  // Peer liveness (bridge_peers.cpp).
  void start_liveness(
    const std::vector<std::shared_ptr<detail::endpoint_runtime>>& eps,
    const bridge_config& cfg);
  void stop_liveness();
  std::string heartbeat_payload() const;
  static std::vector<envelope> heartbeats_in(const bus_batch& batch);
  void on_heartbeat(const envelope& e, size_t endpoint);
  void on_goodbye(const std::string& src, const std::string& link, int64_t ts);
  void on_restart(const std::string& src, detail::peer& p,
                  const std::string& link);
  void on_src_conflict(const std::string& src, detail::peer& p,
                       const std::string& run);
  void check_peers();
  // Sends the goodbye on every endpoint that sends heartbeats; the
  // receiver thread must be gone (dealer sockets are its own otherwise).
  void say_goodbye();
  bool answer_heartbeat(uint64_t id, size_t endpoint, const envelope& e);
  void add_peer_stats(nlohmann::json& out) const;
  void on_request(uint64_t id, uint64_t endpoint, const envelope& e);
  void on_reply(uint64_t id, bool ok, const std::string& payload);
  void send_reply(uint64_t id, const std::string& topic,
                  const std::string& payload);
  std::string stats_json() const;
  // Calls (bridge_calls.cpp).
  bool on_call(const std::string& topic, const caf::message& msg);
  void on_call_reply(uint64_t endpoint, uint64_t id, envelope& e);
  void answer_call(const call_request& c, caf::message m);
  void send_call(uint64_t id);
  void pump_calls(detail::endpoint_runtime& ep);
  void drop_call(uint64_t id, size_t reason);
  void expire_call(uint64_t id);
  void end_calls();
  void add_call_stats(const detail::endpoint_runtime& ep,
                      nlohmann::json& out) const;
  bool send_out(size_t endpoint, const std::string& topic,
                const caf::message& msg);
  // One [topic][payload] out, or queued / dropped per `on_full`;
  // `envelope_msg` (when set) holds the payload, so a queued message keeps
  // a reference instead of a copy.
  void send_payload(detail::endpoint_runtime& ep, const std::string& topic,
                    std::string_view payload, const caf::message* envelope_msg);
  // Hands one message to ZMQ if it takes it now; on pub, past a subscriber
  // stalled longer than stall_timeout.
  bool send_now(detail::endpoint_runtime& ep, std::string_view topic,
                std::string_view payload, std::string_view meta);
  void count_drop(detail::endpoint_runtime& ep, detail::out_drop reason,
                  uint64_t n);
  void pop_pending(detail::endpoint_runtime& ep);
  void drain(detail::endpoint_runtime& ep);
  void flush();
  void heartbeat();
  void stop_receiver();
  void shut_down();

  std::unique_ptr<state> st_;
  std::unique_ptr<detail::call_state> calls_;
  std::unique_ptr<detail::peer_table> peers_;
};

} // namespace troupe::bridge
