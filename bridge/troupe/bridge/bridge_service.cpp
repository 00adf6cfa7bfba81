#include "troupe/bridge/bridge_service.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <caf/actor_cast.hpp>
#include <caf/message.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/weak_intrusive_ptr.hpp>
#include <spdlog/logger.h>

#include "troupe/actors/metrics.hpp"
#include "troupe/bridge/bag.hpp"
#include "troupe/bridge/codec.hpp"
#include "troupe/bridge/detail/bridge_runtime.hpp"
#include "troupe/bridge/detail/peer_table.hpp"
#include "troupe/bridge/endpoint_config.hpp"
#include "troupe/bridge/manual_receiver.hpp"
#include "troupe/bridge/wire.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::bridge {

using detail::endpoint_runtime;
using detail::error_payload;
using detail::out_drop;
using detail::outbound_frames;

namespace {

// Where an endpoint's `record = "FILE"` goes at this start. The first
// start in this process replaces FILE (and the FILE.rN of an earlier run);
// a restart within the process (the supervisor restarting a crashed
// bridge) records into FILE.r1, FILE.r2, ... so that what was recorded
// before the crash, the case one debugs, is kept.
std::string record_path_for_this_start(const std::string& path) {
  static std::mutex mtx;
  static std::map<std::string, int> starts;
  int n = 0;
  {
    std::lock_guard<std::mutex> guard{mtx};
    n = starts[path]++;
  }
  if (n > 0)
    return path + ".r" + std::to_string(n);
  // Best effort: a FILE.rN that stays is replaced when a restart reaches N.
  std::error_code ec;
  for (int k = 1; std::filesystem::exists(path + ".r" + std::to_string(k), ec);
       ++k)
    (void)remove_bag(path + ".r" + std::to_string(k));
  return path;
}

// Untyped subscribers (`subscribe_message`) take the envelope batches of
// inbound endpoints (batch = true, the default) one envelope at a time.
const bool envelopes_unrolled = service::enable_untyped_unroll<envelope>();

using namespace std::chrono_literals;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace

struct bridge_service::state {
  bridge_config cfg;
  std::shared_ptr<transport> net;
  std::vector<std::shared_ptr<endpoint_runtime>> eps;
  std::thread receiver;
  /// Set: the receiver runs in its `step`s (tests), not on `receiver`.
  std::shared_ptr<manual_receiver> manual;
  std::atomic<bool> stop{false};
  bool flush_scheduled = false;
  /// Acknowledgements of bus batches held back while a `block` endpoint
  /// queues (see `delivery_hold`): their publishers wait until ZMQ took
  /// everything.
  std::vector<delivery_hold> holds;
  detail::log_limiter out_limiter;
  /// "NAME/": the start of `via` on everything this bridge received.
  std::string via_prefix;
  /// Reused for encoded payloads (no allocation per message).
  std::string scratch;
  detail::reply_queue replies;
  struct pending_request {
    size_t endpoint;
    std::string topic;
    /// Its share of the endpoint's byte window.
    uint64_t bytes;
  };
  std::map<uint64_t, pending_request> pending_requests;
};

bridge_service::bridge_service() : bridge_service(make_zmq_transport()) {}

bridge_service::bridge_service(std::shared_ptr<transport> net)
  : bridge_service(std::move(net), nullptr) {}

bridge_service::bridge_service(std::shared_ptr<transport> net,
                               std::shared_ptr<manual_receiver> receiver)
  : st_(std::make_unique<state>()),
    calls_(std::make_unique<detail::call_state>()),
    peers_(std::make_unique<detail::peer_table>()) {
  st_->net = std::move(net);
  st_->manual = std::move(receiver);
}

bridge_service::~bridge_service() {
  shut_down();
}

const config::schema* bridge_service::settings_schema() const {
  return &bridge_schema();
}

hook_result bridge_service::on_configure(const settings& cfg) {
  bridge_config parsed;
  if (auto err = parse_bridge_config(cfg, parsed); !err.empty())
    return hook_result::refuse(err);
  st_->cfg = std::move(parsed);
  return hook_result::success();
}

hook_result bridge_service::on_start() {
  auto& st = *st_;
  // The bridge keeps its own credit (the receiver's window, delivery
  // holds); held back by the host it could wait on itself.
  set_publish_window(0);
  st.stop = false;
  st.eps.clear();
  {
    std::lock_guard<std::mutex> guard{st.replies.mtx};
    st.replies.items.clear(); // for requests of an earlier run
  }
  {
    std::lock_guard<std::mutex> guard{calls_->out.mtx};
    calls_->out.items.clear();
  }
  calls_->eps = &st.eps;
  calls_->net = st.net.get();
  st.via_prefix = name() + "/";
  std::vector<endpoint_runtime*> inbound;
  for (auto& cfg : st.cfg.endpoints) {
    auto ep = std::make_shared<endpoint_runtime>();
    ep->cfg = cfg;
    std::string error;
    ep->sock = st.net->open(cfg, error);
    if (!ep->sock) {
      shut_down();
      return hook_result::fail("endpoint '" + cfg.name + "': " + error);
    }
    ep->address = ep->sock->address();
    log().info("endpoint '{}': {} {} {}", cfg.name, to_string(cfg.socket),
               cfg.bind.empty() ? "connected to" : "bound at", ep->address);
    ep->index = st.eps.size();
    ep->window = static_cast<uint64_t>(cfg.hwm);
    ep->window_bytes = static_cast<uint64_t>(cfg.max_in_flight_bytes);
    ep->via = st.via_prefix + cfg.name;
    if (!cfg.record.empty()) {
      bag_recorder::options ro;
      ro.path = record_path_for_this_start(cfg.record);
      ro.limits = {cfg.record_max_bytes, cfg.record_max_duration};
      ro.overwrite = true;
      ro.source = ep->via + " " + ep->address;
      auto ro_path = ro.path;
      ep->recorder = bag_recorder::start(std::move(ro), error);
      if (!ep->recorder) {
        st.eps.push_back(std::move(ep)); // closed by shut_down
        shut_down();
        return hook_result::fail("endpoint '" + cfg.name +
                                 "': record: " + error);
      }
      log().info("endpoint '{}': recording into {}", cfg.name, ro_path);
    }
    if (is_inbound(cfg.socket) || is_request(cfg.socket) || is_call(cfg.socket))
      inbound.push_back(ep.get());
    st.eps.push_back(std::move(ep));
  }
  // /metrics reads this run's endpoints (kept alive by the collector until
  // the next run replaces it) on the control plane's thread.
  metrics().add_collector("troupe_bridge_endpoints",
                          [eps = st.eps, net = st.net](auto& w) {
                            detail::write_endpoint_metrics(w, eps, *net);
                          });
  // Outbound: one subscription per distinct prefix and endpoint.
  for (size_t i = 0; i < st.eps.size(); ++i) {
    auto& cfg = st.eps[i]->cfg;
    if (is_inbound(cfg.socket) || is_request(cfg.socket) || is_call(cfg.socket))
      continue;
    auto prefixes =
      cfg.topics.empty() ? std::vector<std::string>{""} : cfg.topics;
    for (auto& p : prefixes)
      subscribe_message(
        p,
        [this, i, p](const std::string& topic, const caf::message& msg) {
          // Send once even when several prefixes of this endpoint match.
          for (auto& q : st_->eps[i]->cfg.topics)
            if (topic.compare(0, q.size(), q) == 0)
              return q == p ? send_out(i, topic, msg) : true;
          return send_out(i, topic, msg);
        },
        batches::whole); // envelope batches go out as they are
  }
  subscribe_message(
    call_prefix(name()),
    [this](const std::string& topic, const caf::message& msg) {
      return on_call(topic, msg);
    },
    batches::whole);
  if (!inbound.empty()) {
    caf::weak_actor_ptr weak{self()->ctrl()};
    detail::receiver_context ctx{
      std::move(inbound), st.net.get(),        &st.replies, &calls_->out,
      &st.stop,           st.cfg.peer_timeout, shared_log()};
    if (st.manual)
      st.manual->attach(
        std::make_unique<detail::receiver_loop>(std::move(ctx), weak));
    else
      st.receiver = std::thread{
        [ctx = std::move(ctx), weak] { detail::receive_loop(ctx, weak); }};
  }
  start_liveness(st.eps, st.cfg);
  return hook_result::success();
}

void bridge_service::on_inbound(uint64_t endpoint, bus_batch& batch) {
  // Heartbeats are handled after the batch is on the bus, so that a
  // troupe.peer.up event follows what the peer sent before it.
  auto beats = heartbeats_in(batch);
  if (endpoint >= st_->eps.size()) {
    publish_batch(std::move(batch));
    for (auto& e : beats)
      on_heartbeat(e, endpoint);
    return;
  }
  // The credit comes back once every subscriber has handled the batch, so
  // a slow subscriber holds the peer back through ZMQ's high-water marks
  // instead of letting the bus's and its own mailbox grow.
  uint64_t n = 0; // messages and bytes, as the receiver took credit
  uint64_t bytes = 0;
  for (auto& x : batch.items) {
    n += x.msg.match_element<envelope_batch>(0)
           ? x.msg.get_as<envelope_batch>(0).size()
           : 1;
    bytes += detail::credit_bytes(x.msg);
  }
  publish_batch(std::move(batch), [this, endpoint, n, bytes] {
    return_credit(*st_->eps[endpoint], n, bytes);
  });
  for (auto& e : beats)
    on_heartbeat(e, endpoint);
}

void bridge_service::return_credit(endpoint_runtime& ep, uint64_t n,
                                   uint64_t bytes) {
  // The receiver skips a socket without credit; it must hear of new credit.
  auto was_bytes =
    ep.counters.in_flight_bytes.fetch_sub(bytes, std::memory_order_acq_rel);
  if (ep.counters.in_flight.fetch_sub(n, std::memory_order_acq_rel) >=
        ep.window ||
      was_bytes >= ep.window_bytes)
    st_->net->wake();
}

void bridge_service::on_request(uint64_t id, uint64_t endpoint,
                                const envelope& e) {
  auto& st = *st_;
  if (endpoint >= st.eps.size() || answer_heartbeat(id, endpoint, e))
    return;
  st.pending_requests[id] =
    state::pending_request{endpoint, e.topic, detail::envelope_bytes(e)};
  // The credit of a request comes back when it is answered or timed out.
  publish(e.topic, request{e, caf::actor_cast<caf::actor>(self()), id});
  after(st.eps[endpoint]->cfg.timeout, [this, id] {
    auto i = st_->pending_requests.find(id);
    if (i == st_->pending_requests.end())
      return;
    auto& ep = *st_->eps[i->second.endpoint];
    ep.counters.timeouts.fetch_add(1, std::memory_order_relaxed);
    if (auto s = st_->out_limiter.admit(1); s >= 0)
      log().warn("endpoint '{}': no answer to a request on '{}' within {}",
                 ep.cfg.name, i->second.topic,
                 config::format_duration(ep.cfg.timeout));
    auto bytes = i->second.bytes;
    st_->pending_requests.erase(i);
    return_credit(ep, 1, bytes);
    send_reply(
      id, "troupe.error",
      error_payload("timeout", "no answer within " +
                                 config::format_duration(ep.cfg.timeout)));
  });
}

void bridge_service::on_reply(uint64_t id, bool ok,
                              const std::string& payload) {
  auto i = st_->pending_requests.find(id);
  if (i == st_->pending_requests.end())
    return; // answered too late: the peer already got a timeout
  auto topic = std::move(i->second.topic);
  auto& ep = *st_->eps[i->second.endpoint];
  auto bytes = i->second.bytes;
  st_->pending_requests.erase(i);
  return_credit(ep, 1, bytes);
  if (ok) {
    send_reply(id, topic, payload);
  } else {
    ep.counters.error_replies.fetch_add(1, std::memory_order_relaxed);
    send_reply(id, "troupe.error", error_payload("service_error", payload));
  }
}

void bridge_service::send_reply(uint64_t id, const std::string& topic,
                                const std::string& payload) {
  {
    std::lock_guard<std::mutex> guard{st_->replies.mtx};
    st_->replies.items.push_back({id, topic, payload});
  }
  st_->net->wake();
}

bool bridge_service::send_out(size_t index, const std::string& topic,
                              const caf::message& msg) {
  auto& ep = *st_->eps[index];
  auto from_here = [this](const std::string& via) {
    // received by this bridge: never echo it back out
    return via.compare(0, st_->via_prefix.size(), st_->via_prefix) == 0;
  };
  // The most frequent type first: each test compares type names.
  if (msg.size() == 1 && msg.match_element<envelope>(0)) {
    auto& e = msg.get_as<envelope>(0);
    if (!from_here(e.via))
      send_payload(ep, topic, e.payload, &msg); // bytes as they are
    return true;
  }
  if (msg.size() == 1 && msg.match_element<envelope_batch>(0)) {
    auto& b = msg.get_as<envelope_batch>(0);
    if (!from_here(b.via))
      for (size_t k = 0; k < b.size(); ++k)
        send_payload(ep, topic, b[k], nullptr);
    return true;
  }
  if (msg.size() == 1 && msg.match_element<call_request>(0))
    return true; // a call for a req/dealer endpoint, not a message to send
  if (encode_payload(msg, ep.cfg.codec, st_->scratch)) {
    send_payload(ep, topic, st_->scratch, nullptr);
    return true;
  }
  ep.counters.unencodable.fetch_add(1, std::memory_order_relaxed);
  if (auto s = st_->out_limiter.admit(0); s >= 0)
    log().warn("endpoint '{}': cannot encode the message on '{}' as {} "
               "(publish an envelope, an envelope_batch, nlohmann::json, "
               "string, number or bool)",
               ep.cfg.name, topic,
               ep.cfg.codec == codec_kind::json ? "json" : "raw");
  return false;
}

void bridge_service::send_payload(endpoint_runtime& ep,
                                  const std::string& topic,
                                  std::string_view payload,
                                  const caf::message* envelope_msg) {
  std::string meta;
  if (ep.cfg.meta) {
    auto seq = ++ep.actor.seq_out[topic];
    meta = encode_meta({seq, st_->cfg.source_id, now_ns()});
  }
  // Whatever waits goes first (in one go, as far as ZMQ takes it); only
  // then may this message skip the queue.
  if (!ep.actor.pending.empty())
    drain(ep);
  if (ep.actor.pending.empty() && send_now(ep, topic, payload, meta)) {
    ep.counters.sent.fetch_add(1, std::memory_order_relaxed);
    count_out();
    return;
  }
  auto bytes = topic.size() + payload.size() + meta.size();
  auto fits = [&ep, bytes] {
    return ep.actor.pending.size() < ep.cfg.max_queued &&
           ep.counters.pending_bytes + bytes <= ep.cfg.max_queued_bytes;
  };
  switch (ep.cfg.on_full) {
  case full_policy::drop_newest:
    count_drop(ep, out_drop::drop_newest, 1);
    return;
  case full_policy::drop_oldest:
    // Make room, unless it would not fit into an empty queue either.
    if (bytes <= ep.cfg.max_queued_bytes)
      while (!ep.actor.pending.empty() && !fits()) {
        pop_pending(ep);
        count_drop(ep, out_drop::drop_oldest, 1);
      }
    break;
  case full_policy::block:
    // Hold the publisher back (if it asked to be told) until ZMQ took all.
    if (auto h = hold_delivery();
        h && (st_->holds.empty() || st_->holds.back() != h))
      st_->holds.push_back(std::move(h));
    break;
  }
  if (!fits()) {
    // The bound holds even under block (a publisher that does not wait for
    // its acknowledgement, or one batch larger than the queue): never
    // silently.
    count_drop(ep, out_drop::queue_full, 1);
    if (auto s = st_->out_limiter.admit(3); s >= 0)
      log().warn(
        "endpoint '{}': {} message(s), {} bytes already wait for "
        "ZMQ (max_queued = {}, max_queued_bytes = {}): dropped one "
        "of {} bytes (queue_full){}",
        ep.cfg.name, ep.actor.pending.size(), ep.counters.pending_bytes.load(),
        ep.cfg.max_queued, ep.cfg.max_queued_bytes, bytes,
        s > 0 ? " (" + std::to_string(s) + " more suppressed)" : std::string{});
    return;
  }
  // An envelope's payload stays in its (shared) message; anything else is
  // copied, since its buffer is reused.
  if (envelope_msg != nullptr)
    ep.actor.pending.push_back(outbound_frames{
      topic, *envelope_msg, std::string{}, std::move(meta), true});
  else
    ep.actor.pending.push_back(outbound_frames{
      topic, caf::message{}, std::string{payload}, std::move(meta), false});
  ep.counters.pending_bytes += bytes;
  ep.counters.queued = ep.actor.pending.size();
  if (!st_->flush_scheduled) {
    st_->flush_scheduled = true;
    after(1ms, [this] { flush(); });
  }
}

bool bridge_service::send_now(endpoint_runtime& ep, std::string_view topic,
                              std::string_view payload, std::string_view meta) {
  if (detail::try_send(*ep.sock, topic, payload, meta)) {
    ep.actor.stalled_since.reset();
    return true;
  }
  if (ep.cfg.socket != socket_kind::pub)
    return false;
  // XPUB_NODROP: one full subscriber holds back every message, for all.
  // Past stall_timeout the message goes to those with room, and the full
  // one misses it (ZMQ's own PUB semantics), so that one stalled
  // subscriber cannot stop the others or the heartbeats.
  auto t = std::chrono::steady_clock::now();
  if (!ep.actor.stalled_since)
    ep.actor.stalled_since = t;
  if (t - *ep.actor.stalled_since < ep.cfg.stall_timeout)
    return false;
  std::array<std::string_view, 3> parts{topic, payload, meta};
  if (!ep.sock->send_past_full(parts.data(), meta.empty() ? 2 : 3))
    return false;
  count_drop(ep, out_drop::slow_subscriber, 1);
  if (auto s = st_->out_limiter.admit(2); s >= 0)
    log().warn("endpoint '{}': a subscriber has not taken messages for over "
               "{}; sending past it (it misses them, counted as dropped: "
               "slow_subscriber){}",
               ep.cfg.name, config::format_duration(ep.cfg.stall_timeout),
               s > 0 ? " (" + std::to_string(s) + " more suppressed)"
                     : std::string{});
  return true;
}

void bridge_service::count_drop(endpoint_runtime& ep, out_drop reason,
                                uint64_t n) {
  ep.counters.out_dropped[static_cast<size_t>(reason)] += n;
  ep.counters.dropped.fetch_add(n, std::memory_order_relaxed);
  // Also among the service's losses, which `troupe run` adds up.
  count_lost("endpoint_" + std::string{detail::out_drop_name(reason)}, n);
}

void bridge_service::pop_pending(endpoint_runtime& ep) {
  ep.counters.pending_bytes -= ep.actor.pending.front().bytes();
  ep.actor.pending.pop_front();
  ep.counters.queued = ep.actor.pending.size();
}

void bridge_service::drain(endpoint_runtime& ep) {
  uint64_t n = 0;
  while (!ep.actor.pending.empty()) {
    auto& f = ep.actor.pending.front();
    if (!send_now(ep, f.topic, f.payload(), f.meta))
      break;
    pop_pending(ep);
    ++n;
  }
  if (n > 0) {
    ep.counters.sent.fetch_add(n, std::memory_order_relaxed);
    count_out(n);
  }
}

void bridge_service::flush() {
  st_->flush_scheduled = false;
  bool left = false;
  for (auto& ep : st_->eps) {
    drain(*ep);
    left = left || !ep->actor.pending.empty();
  }
  if (left) {
    st_->flush_scheduled = true;
    after(1ms, [this] { flush(); });
  } else {
    st_->holds.clear(); // the waiting publishers may go on
  }
}

hook_result bridge_service::on_stop() {
  // Whatever ZMQ still would not take is lost now: say so, and count it.
  for (auto& ep : st_->eps)
    if (!ep->actor.pending.empty()) {
      log().warn("endpoint '{}': {} message(s) still queued at stop, "
                 "dropped",
                 ep->cfg.name, ep->actor.pending.size());
      count_drop(*ep, out_drop::stopped, ep->actor.pending.size());
      ep->actor.pending.clear();
      ep->counters.pending_bytes = 0;
      ep->counters.queued = 0;
    }
  st_->flush_scheduled = false;
  st_->holds.clear();
  stop_liveness();
  for (auto& [id, _] : st_->pending_requests)
    send_reply(id, "troupe.error",
               error_payload("stopping", "the bridge is stopping"));
  st_->pending_requests.clear();
  end_calls();
  // The goodbye goes last, after whatever ZMQ took: peers that heartbeat
  // with us see this bridge stop on purpose instead of going silent.
  stop_receiver();
  say_goodbye();
  shut_down();
  for (auto& ep : st_->eps)
    if (ep->recorder) {
      auto err = ep->recorder->stop(); // stopped already: the first error
      auto rs = ep->recorder->stats();
      if (!err.empty())
        log().warn("endpoint '{}': record: {}", ep->cfg.name, err);
      log().info("endpoint '{}': recorded {} message(s) in {} file(s) from "
                 "{}, {} dropped",
                 ep->cfg.name, rs.written, rs.files, ep->cfg.record,
                 rs.dropped_full + rs.dropped_error);
    }
  log().info("final stats {}", stats_json());
  return hook_result::success();
}

void bridge_service::stop_receiver() {
  auto& st = *st_;
  st.stop = true;
  if (st.receiver.joinable()) {
    st.net->wake();
    st.receiver.join();
  }
  if (st.manual) {
    st.net->wake(); // ends a step that waits
    st.manual->detach();
  }
}

void bridge_service::shut_down() {
  auto& st = *st_;
  stop_receiver();
  // Outbound endpoints linger up to 1 s so that what the transport
  // accepted is still delivered.
  for (auto& ep : st.eps)
    if (ep->sock)
      ep->sock->close();
  // The receiver is gone: nothing pushes any more; write what is queued.
  // (No logging here: the destructor calls this too, outside the host.)
  for (auto& ep : st.eps)
    if (ep->recorder)
      ep->recorder->stop();
  st.net->close();
}

std::string bridge_service::stats_json() const {
  nlohmann::json out;
  out["source_id"] = st_->cfg.source_id;
  add_peer_stats(out);
  auto& eps = out["endpoints"] = nlohmann::json::array();
  for (auto& ep : st_->eps) {
    nlohmann::json malformed = nlohmann::json::object();
    uint64_t malformed_total = 0;
    for (size_t r = 1; r < detail::reason_count; ++r) {
      auto n = ep->counters.malformed[r].load(std::memory_order_relaxed);
      malformed[std::string{detail::reason_name(r)}] = n;
      malformed_total += n;
    }
    eps.push_back({
      {"name", ep->cfg.name},
      {"socket", std::string{to_string(ep->cfg.socket)}},
      {"direction", is_request(ep->cfg.socket)   ? "request"
                    : is_call(ep->cfg.socket)    ? "call"
                    : is_inbound(ep->cfg.socket) ? "in"
                                                 : "out"},
      {"address", ep->address},
      {"received", ep->counters.received.load()},
      {"sent", ep->counters.sent.load()},
      {"dropped", ep->counters.dropped.load()},
      {"queued", ep->counters.queued.load()},
      {"unencodable", ep->counters.unencodable.load()},
      {"gaps", ep->counters.gaps.load()},
      {"timeouts", ep->counters.timeouts.load()},
      {"error_replies", ep->counters.error_replies.load()},
      {"malformed_total", malformed_total},
      {"auth_denied", st_->net->auth_denied(ep->cfg.name)},
      {"malformed", malformed},
    });
    add_call_stats(*ep, eps.back());
    if (is_outbound(ep->cfg.socket)) {
      eps.back()["queued_bytes"] = ep->counters.pending_bytes.load();
      eps.back()["max_queued"] = ep->cfg.max_queued;
      eps.back()["max_queued_bytes"] = ep->cfg.max_queued_bytes;
      auto& by = eps.back()["dropped_by_reason"] = nlohmann::json::object();
      for (size_t r = 0; r < detail::out_drop_count; ++r)
        by[std::string{detail::out_drop_name(static_cast<out_drop>(r))}] =
          ep->counters.out_dropped[r].load();
    }
    if (!is_outbound(ep->cfg.socket))
      eps.back()["peer_disconnects"] =
        ep->sock ? ep->sock->peer_disconnects() : 0;
    if (is_inbound(ep->cfg.socket) || is_request(ep->cfg.socket)) {
      eps.back()["in_flight"] = ep->counters.in_flight.load();
      eps.back()["in_flight_max"] = ep->counters.in_flight_max.load();
      eps.back()["in_flight_bytes"] = ep->counters.in_flight_bytes.load();
      eps.back()["window_bytes"] = ep->window_bytes;
      eps.back()["window"] = ep->window;
    }
  }
  return out.dump();
}

} // namespace troupe::bridge
