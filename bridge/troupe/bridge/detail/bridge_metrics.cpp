// What /metrics shows of a bridge's endpoints: read from the endpoints'
// atomics by the collector the bridge registers in its metric_registry, on
// whichever thread writes the exposition.

#include <string>

#include "troupe/actors/metrics.hpp"
#include "troupe/bridge/detail/bridge_runtime.hpp"

namespace troupe::bridge::detail {

namespace {

using endpoints = std::vector<std::shared_ptr<endpoint_runtime>>;

bool takes_in(const endpoint_runtime& ep) {
  return is_inbound(ep.cfg.socket) || is_request(ep.cfg.socket);
}

metric_labels labels_of(const endpoint_runtime& ep) {
  return {{"endpoint", ep.cfg.name},
          {"socket", std::string{to_string(ep.cfg.socket)}}};
}

// One family with a sample per endpoint that `has` it: `get(ep)`.
template <class Has, class Get>
void per_endpoint(exposition_writer& w, const endpoints& eps, const char* name,
                  const char* help, metric_type type, Has has, Get get) {
  w.family(name, help, type);
  for (auto& ep : eps)
    if (has(*ep))
      w.sample(labels_of(*ep), static_cast<double>(get(*ep)));
}

// One counter family with a sample per endpoint and reason.
template <class Has, class Each>
void per_reason(exposition_writer& w, const endpoints& eps, const char* name,
                const char* help, Has has, Each each) {
  w.family(name, help, metric_type::counter);
  for (auto& ep : eps) {
    if (!has(*ep))
      continue;
    each(*ep, [&](std::string_view reason, uint64_t n) {
      auto l = labels_of(*ep);
      l.emplace_back("reason", std::string{reason});
      w.sample(l, static_cast<double>(n));
    });
  }
}

template <class Emit>
void out_drops(const endpoint_runtime& ep, Emit emit) {
  for (size_t r = 0; r < out_drop_count; ++r)
    emit(out_drop_name(static_cast<out_drop>(r)),
         ep.counters.out_dropped[r].load());
}

template <class Emit>
void call_drops(const endpoint_runtime& ep, Emit emit) {
  for (size_t r = 0; r < call_drop_count; ++r)
    emit(call_drop_name(r), ep.counters.call_dropped[r].load());
}

} // namespace

void write_endpoint_metrics(exposition_writer& w, const endpoints& eps,
                            const transport& net) {
  auto all = [](const endpoint_runtime&) { return true; };
  auto out = [](const endpoint_runtime& ep) {
    return is_outbound(ep.cfg.socket);
  };
  auto in = [](const endpoint_runtime& ep) { return takes_in(ep); };
  auto calls = [](const endpoint_runtime& ep) {
    return is_call(ep.cfg.socket);
  };
  auto counter = metric_type::counter;
  auto gauge = metric_type::gauge;
  per_endpoint(w, eps, "troupe_bridge_received_total",
               "Messages received from ZMQ on an endpoint", counter, all,
               [](auto& ep) { return ep.counters.received.load(); });
  per_endpoint(w, eps, "troupe_bridge_sent_total",
               "Messages sent to ZMQ on an endpoint", counter, all,
               [](auto& ep) { return ep.counters.sent.load(); });
  per_endpoint(w, eps, "troupe_bridge_queued",
               "Messages waiting in the bridge for ZMQ to take them (pub, "
               "push)",
               gauge, out, [](auto& ep) { return ep.counters.queued.load(); });
  per_endpoint(w, eps, "troupe_bridge_queued_bytes",
               "Bytes (topic + payload + meta) waiting in the bridge for ZMQ",
               gauge, out,
               [](auto& ep) { return ep.counters.pending_bytes.load(); });
  per_endpoint(w, eps, "troupe_bridge_max_queued",
               "The bound of troupe_bridge_queued (max_queued)", gauge, out,
               [](auto& ep) { return ep.cfg.max_queued; });
  per_endpoint(w, eps, "troupe_bridge_max_queued_bytes",
               "The bound of troupe_bridge_queued_bytes (max_queued_bytes)",
               gauge, out, [](auto& ep) { return ep.cfg.max_queued_bytes; });
  per_endpoint(w, eps, "troupe_bridge_unencodable_total",
               "Local messages that could not be encoded for the wire", counter,
               all, [](auto& ep) { return ep.counters.unencodable.load(); });
  per_endpoint(w, eps, "troupe_bridge_sequence_gaps_total",
               "Messages missing by sequence number (meta frames)", counter,
               all, [](auto& ep) { return ep.counters.gaps.load(); });
  per_endpoint(w, eps, "troupe_bridge_request_timeouts_total",
               "Requests that timed out in a service", counter, all,
               [](auto& ep) { return ep.counters.timeouts.load(); });
  per_endpoint(w, eps, "troupe_bridge_error_replies_total",
               "Requests answered with an error", counter, all,
               [](auto& ep) { return ep.counters.error_replies.load(); });
  per_endpoint(
    w, eps, "troupe_bridge_in_flight",
    "Inbound messages not yet handed to the bus (sub, pull, rep, "
    "router) or calls awaiting a reply (req, dealer)",
    gauge, [](auto& ep) { return takes_in(ep) || is_call(ep.cfg.socket); },
    [](auto& ep) {
      return is_call(ep.cfg.socket) ? ep.counters.calls_in_flight.load()
                                    : ep.counters.in_flight.load();
    });
  per_endpoint(w, eps, "troupe_bridge_in_flight_max",
               "The most inbound messages ever in flight at once", gauge, in,
               [](auto& ep) { return ep.counters.in_flight_max.load(); });
  per_endpoint(w, eps, "troupe_bridge_in_flight_bytes",
               "Bytes of the inbound messages in flight", gauge, in,
               [](auto& ep) { return ep.counters.in_flight_bytes.load(); });
  per_endpoint(w, eps, "troupe_bridge_window",
               "Inbound credit window: at most this many messages in flight",
               gauge, in, [](auto& ep) { return ep.window; });
  per_endpoint(w, eps, "troupe_bridge_window_bytes",
               "Inbound credit window in bytes (max_in_flight_bytes)", gauge,
               in, [](auto& ep) { return ep.window_bytes; });
  per_endpoint(w, eps, "troupe_bridge_calls_total",
               "Calls from local services to a req or dealer endpoint", counter,
               calls, [](auto& ep) { return ep.counters.calls.load(); });
  per_endpoint(w, eps, "troupe_bridge_call_replies_total",
               "Calls answered by the peer", counter, calls,
               [](auto& ep) { return ep.counters.replies.load(); });
  per_endpoint(w, eps, "troupe_bridge_call_failures_total",
               "Calls that could not be sent", counter, calls,
               [](auto& ep) { return ep.counters.failures.load(); });
  per_endpoint(w, eps, "troupe_bridge_calls_waiting",
               "Calls waiting for their turn (req: one in flight; dealer: "
               "hwm)",
               gauge, calls,
               [](auto& ep) { return ep.counters.calls_waiting_n.load(); });
  per_endpoint(
    w, eps, "troupe_bridge_peer_disconnects_total",
    "Peer connections ZeroMQ closed on a receiving endpoint: a "
    "peer that left, or one that sent a frame over "
    "max_message_bytes",
    counter, [](auto& ep) { return !is_outbound(ep.cfg.socket); },
    [](auto& ep) { return ep.sock ? ep.sock->peer_disconnects() : 0; });
  per_reason(
    w, eps, "troupe_bridge_handshake_failures_total",
    "Peer connections whose ZMTP handshake failed on a receiving "
    "endpoint, by reason: protocol (e.g. a plaintext client on a "
    "CURVE endpoint), auth (refused by authentication), other",
    [](auto& ep) { return !is_outbound(ep.cfg.socket); },
    [](auto& ep, auto emit) {
      auto hs = ep.sock ? ep.sock->failed_handshakes()
                        : endpoint_socket::handshake_failures{};
      emit("protocol", hs.protocol);
      emit("auth", hs.auth);
      emit("other", hs.other);
    });
  per_endpoint(w, eps, "troupe_bridge_auth_denied_total",
               "Connections refused by CURVE authentication (an unknown "
               "client key)",
               counter, all,
               [&net](auto& ep) { return net.auth_denied(ep.cfg.name); });
  auto records = [](const endpoint_runtime& ep) { return !!ep.recorder; };
  per_endpoint(w, eps, "troupe_bridge_record_written_total",
               "Messages an endpoint with `record` stored in its bag", counter,
               records, [](auto& ep) { return ep.recorder->stats().written; });
  per_endpoint(w, eps, "troupe_bridge_record_dropped_total",
               "Messages received but left out of the endpoint's bag (its "
               "writer fell behind, or failed)",
               counter, records,
               [](auto& ep) { return ep.recorder->dropped(); });
  per_reason(w, eps, "troupe_bridge_malformed_total",
             "Malformed input received, by reason", all,
             [](const endpoint_runtime& ep, auto emit) {
               for (size_t r = 1; r < reason_count; ++r)
                 emit(reason_name(r), ep.counters.malformed[r].load());
             });
  per_reason(
    w, eps, "troupe_bridge_dropped_total",
    "Messages an endpoint dropped, by reason; outbound: "
    "drop_oldest, drop_newest, queue_full, slow_subscriber (pub: a "
    "stalled subscriber missed it, the others got it), stopped; "
    "calls: late_reply, queue_full, expired, stopped",
    [](auto& ep) {
      return is_outbound(ep.cfg.socket) || is_call(ep.cfg.socket);
    },
    [](const endpoint_runtime& ep, auto emit) {
      if (is_outbound(ep.cfg.socket))
        out_drops(ep, emit);
      else
        call_drops(ep, emit);
    });
  per_reason(
    w, eps, "troupe_bridge_call_dropped_total",
    "Calls or replies dropped, by reason (late_reply, queue_full, "
    "expired, stopped)",
    calls, [](const endpoint_runtime& ep, auto emit) { call_drops(ep, emit); });
}

} // namespace troupe::bridge::detail
