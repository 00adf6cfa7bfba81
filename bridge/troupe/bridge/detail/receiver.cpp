#include <algorithm>
#include <charconv>
#include <deque>
#include <optional>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/weak_intrusive_ptr.hpp>
#include <fmt/format.h>
#include <spdlog/logger.h>

#include "troupe/actors/bus_batch.hpp"
#include "troupe/actors/logging.hpp"
#include "troupe/bridge/bridge_service.hpp"
#include "troupe/bridge/detail/bridge_runtime.hpp"

namespace troupe::bridge::detail {

namespace {

using namespace std::chrono_literals;

/// Messages taken from one socket per wake-up: enough to batch a burst,
/// few enough that one busy socket cannot starve the others.
constexpr size_t max_batch = 1024;

/// Messages read from a socket at once, between checks of the byte window.
constexpr size_t chunk = 64;

// The most routing frames a request may carry: identities added by up to
// five proxies (ROUTER-DEALER) in front of a server, a request id and the
// delimiter.
constexpr size_t max_routing = 8;

// A request in flight: which endpoint it came from and the routing frames
// (identities; the request id of a correlating REQ or of a troupe dealer;
// the empty delimiter) its reply needs.
struct route {
  endpoint_runtime* ep = nullptr;
  std::array<std::string, max_routing> prefix;
  size_t prefix_len = 0;
};

void send_routed(endpoint_socket& s, const route& r, std::string_view topic,
                 std::string_view payload) {
  // ROUTER never blocks; a reply to a peer that left is dropped.
  std::array<std::string_view, max_routing + 2> parts;
  size_t n = 0;
  for (size_t i = 0; i < r.prefix_len; ++i)
    parts[n++] = r.prefix[i];
  parts[n++] = topic;
  parts[n++] = payload;
  s.try_send(parts.data(), n);
}

void send_replies(reply_queue& q, std::vector<reply_queue::item>& scratch,
                  std::unordered_map<uint64_t, route>& routes) {
  {
    std::lock_guard<std::mutex> guard{q.mtx};
    scratch.swap(q.items);
  }
  for (auto& x : scratch) {
    auto i = routes.find(x.id);
    if (i == routes.end())
      continue;
    send_routed(*i->second.ep->sock, i->second, x.topic, x.payload);
    i->second.ep->counters.sent.fetch_add(1, std::memory_order_relaxed);
    routes.erase(i);
  }
  scratch.clear();
}

// Calls the actor handed over, sent as each socket takes them, in order.
class call_sender {
public:
  explicit call_sender(call_queue* q) : q_(q) {}

  /// The call that a reply on the req endpoint `ep` answers (REQ sockets
  /// carry no id: with ZMQ_REQ_CORRELATE, only the last one is answered).
  uint64_t last_sent(endpoint_runtime* ep) const {
    auto i = last_.find(ep);
    return i == last_.end() ? 0 : i->second;
  }

  /// Sends what the sockets take; returns whether some call still waits.
  bool send() {
    if (q_ == nullptr)
      return false;
    {
      std::lock_guard<std::mutex> guard{q_->mtx};
      for (auto& x : q_->items)
        unsent_[x.ep].push_back(std::move(x));
      q_->items.clear();
    }
    auto t = std::chrono::steady_clock::now();
    bool left = false;
    for (auto& [ep, items] : unsent_) {
      while (!items.empty()) {
        auto& x = items.front();
        // Past its deadline the caller already has its timeout error.
        if (x.deadline > t) {
          parts_.assign(x.frames.begin(), x.frames.end());
          if (!ep->sock->try_send(parts_.data(), parts_.size()))
            break;
          last_[ep] = x.id;
        }
        items.pop_front();
      }
      left = left || !items.empty();
    }
    return left;
  }

private:
  call_queue* q_;
  std::unordered_map<endpoint_runtime*, std::deque<call_queue::item>> unsent_;
  std::unordered_map<endpoint_runtime*, uint64_t> last_;
  std::vector<std::string_view> parts_;
};

// The receive time a bag stores: nanoseconds since the Unix epoch.
int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

void count_gap(endpoint_runtime& ep, const wire_message& w) {
  auto meta = decode_meta(w.meta);
  if (!meta)
    return;
  auto& last = ep.rx.seq_in[{std::move(meta->src), std::string{w.topic}}];
  if (last != 0 && meta->seq > last + 1)
    ep.counters.gaps.fetch_add(meta->seq - last - 1, std::memory_order_relaxed);
  last = meta->seq;
}

class receiver {
public:
  explicit receiver(const receiver_context& ctx)
    : calls(ctx.calls), ctx_(ctx) {}

  /// The bridge actor while it lives; held only for one wake-up, so that
  /// this thread never keeps the actor alive.
  caf::actor dest;

  // Takes what `ep` has ready, as far as its credit goes: one actor
  // message for the plain messages, one per request.
  void drain(endpoint_runtime& ep) {
    // Within the message credit, in reads of at most `chunk`, until the
    // byte window is used up: one read past it at most.
    auto budget = std::min<uint64_t>(max_batch, credit(ep));
    auto room = byte_room(ep);
    uint64_t bytes_read = 0;
    bus_batch batch;
    taken_ = 0;
    while (budget > 0 && bytes_read < room) {
      auto k = ep.sock->receive(rx_, std::min<uint64_t>(budget, chunk));
      if (k == 0)
        break;
      budget -= k;
      for (size_t m = 0; m < k; ++m) {
        for (auto& f : rx_[m])
          bytes_read += f.size();
        left_ = k - m;
        take(ep, rx_[m], batch);
      }
    }
    close_run(batch);
    if (!batch.items.empty()) {
      uint64_t bytes = 0;
      for (auto& x : batch.items)
        bytes += credit_bytes(x.msg);
      take_credit(ep, taken_, bytes);
      caf::anon_send(dest, inbound_atom::value, static_cast<uint64_t>(ep.index),
                     std::move(batch));
    }
  }

  /// How many more bytes `ep` may hand to the actor now (see credit).
  static uint64_t byte_room(const endpoint_runtime& ep) {
    if (is_call(ep.cfg.socket))
      return UINT64_MAX;
    auto used = ep.counters.in_flight_bytes.load(std::memory_order_acquire);
    return used >= ep.window_bytes ? 0 : ep.window_bytes - used;
  }

  /// How many more messages `ep` may hand to the actor now; call
  /// endpoints (replies to our own calls) are bounded by their calls.
  static uint64_t credit(const endpoint_runtime& ep) {
    if (is_call(ep.cfg.socket))
      return max_batch;
    auto used = ep.counters.in_flight.load(std::memory_order_acquire);
    return used >= ep.window ? 0 : ep.window - used;
  }

  std::unordered_map<uint64_t, route> routes;
  call_sender calls;

private:
  // Before the hand-off, so that the actor never returns more than taken.
  static void take_credit(endpoint_runtime& ep, uint64_t n, uint64_t bytes) {
    ep.counters.in_flight_bytes.fetch_add(bytes, std::memory_order_acq_rel);
    auto now =
      ep.counters.in_flight.fetch_add(n, std::memory_order_acq_rel) + n;
    if (now > ep.counters.in_flight_max.load(std::memory_order_relaxed))
      ep.counters.in_flight_max.store(now, std::memory_order_relaxed);
  }

  // One received message: its routing frames split off, checked, counted
  // and recorded, and handed on as a call reply, a request or a message.
  void take(endpoint_runtime& ep, multipart& frames, bus_batch& batch) {
    auto routing = routing_frames(ep, frames);
    wire_message w;
    auto reason = check(ep, frames, routing, w);
    route r;
    r.ep = &ep;
    r.prefix_len = routing;
    for (size_t i = 0; i < routing; ++i)
      r.prefix[i] = std::move(frames[i]);
    if (reason != 0) {
      reject(ep, r, reason, frames.size());
      return;
    }
    count_and_record(ep, w);
    if (ep.cfg.batch && !w.has_meta && w.topic != heartbeat_topic) {
      // Appended to the run of its topic; the frame buffers stay for reuse.
      add_to_run(ep, w.topic, frames[routing + 1], batch);
      return;
    }
    auto e = to_envelope(ep, frames, routing, w.has_meta);
    if (is_call(ep.cfg.socket))
      hand_call_reply(ep, r, std::move(e));
    else if (is_request(ep.cfg.socket))
      hand_request(ep, std::move(r), std::move(e));
    else
      hand_message(std::move(e), batch);
  }

  // How many routing frames lead `frames`. ROUTER: [identity][""]?[topic]
  // [payload][meta]? from REQ and DEALER peers, [identity][id][""][topic]
  // [payload][meta]? from a REQ with ZMQ_REQ_CORRELATE or a troupe dealer,
  // and one more identity in front for each ROUTER-DEALER proxy on the way
  // ([proxy][client][id][""]...). So: up to and with the first empty frame
  // that two more follow (an empty topic is malformed anyway, so such a
  // frame is a delimiter), else the identity alone (a DEALER peer that
  // sends no delimiter). The routing part goes back on the reply. DEALER:
  // [call id][""][topic][payload], as a REP peer returns the envelope of
  // the request.
  static size_t routing_frames(const endpoint_runtime& ep,
                               const multipart& frames) {
    bool requests = is_request(ep.cfg.socket);
    if (!requests && ep.cfg.socket != socket_kind::dealer)
      return 0;
    size_t n = frames.size();
    if (n > 1 && frames[1].empty())
      return 2;
    if (requests) {
      size_t last = std::min(n < 3 ? 0 : n - 3, max_routing - 1);
      for (size_t k = 2; k <= last; ++k)
        if (frames[k].empty())
          return k + 1;
    }
    return std::min<size_t>(1, n);
  }

  // The frames after the routing ones against the wire format and, on a
  // pull endpoint with `topics`, against those; fills `w`. Returns the
  // malformed-input reason, 0 (frame_error::none) for a good message.
  size_t check(const endpoint_runtime& ep, const multipart& frames,
               size_t routing, wire_message& w) {
    views_.clear();
    for (size_t i = routing; i < frames.size(); ++i)
      views_.emplace_back(frames[i]);
    auto err = check_frames(views_, ep.cfg.max_message_bytes,
                            ep.cfg.codec == codec_kind::json, w);
    if (err != frame_error::none)
      return static_cast<size_t>(err);
    // Heartbeats (and goodbyes) pass whatever the topics, as on sub.
    if (ep.cfg.socket == socket_kind::pull && !ep.cfg.topics.empty() &&
        w.topic != heartbeat_topic) {
      bool known = false;
      for (auto& t : ep.cfg.topics)
        known = known || w.topic.compare(0, t.size(), t) == 0;
      if (!known)
        return unknown_topic;
    }
    return 0;
  }

  // A malformed message: counted by reason, answered at once when it is a
  // request (never leave a REQ peer waiting), logged within the limit.
  void reject(endpoint_runtime& ep, const route& r, size_t reason,
              size_t frame_count) {
    ep.counters.malformed[reason].fetch_add(1, std::memory_order_relaxed);
    if (is_request(ep.cfg.socket))
      send_routed(*ep.sock, r, "troupe.error",
                  error_payload("malformed", reason_name(reason)));
    if (auto suppressed = ep.rx.limiter.admit(reason); suppressed >= 0)
      ctx_.log->warn("endpoint '{}': rejected inbound message ({}, {} "
                     "frame(s)){}",
                     ep.cfg.name, reason_name(reason), frame_count,
                     suppressed > 0
                       ? fmt::format("; {} more suppressed", suppressed)
                       : std::string{});
  }

  // A good message: counted, its sequence gap (if any) counted, recorded
  // (heartbeats are not).
  static void count_and_record(endpoint_runtime& ep, const wire_message& w) {
    ep.counters.received.fetch_add(1, std::memory_order_relaxed);
    if (w.has_meta)
      count_gap(ep, w);
    if (ep.recorder && w.topic != heartbeat_topic)
      ep.recorder->push(w.topic, w.payload, w.meta, w.has_meta, wall_ns());
  }

  // The frames become the envelope's strings: moved, not copied.
  // local_prefix (sub/pull): heartbeats keep their topic.
  static envelope to_envelope(const endpoint_runtime& ep, multipart& frames,
                              size_t routing, bool has_meta) {
    if (!ep.cfg.local_prefix.empty() && frames[routing] != heartbeat_topic)
      frames[routing].insert(0, ep.cfg.local_prefix);
    return envelope{std::move(frames[routing]), std::move(frames[routing + 1]),
                    has_meta ? std::move(frames[routing + 2]) : std::string{},
                    ep.via};
  }

  // A peer's reply to one of our calls (req, dealer), by call id:
  // unparsable or unknown ids are the actor's to count (late_reply).
  void hand_call_reply(endpoint_runtime& ep, const route& r, envelope e) {
    uint64_t id = 0;
    if (ep.cfg.socket == socket_kind::req)
      id = calls.last_sent(&ep);
    else
      std::from_chars(r.prefix[0].data(),
                      r.prefix[0].data() + r.prefix[0].size(), id);
    caf::anon_send(dest, call_reply_atom::value,
                   static_cast<uint64_t>(ep.index), id, std::move(e));
  }

  // A request (rep, router): its route kept for the reply, its credit
  // taken, handed on alone.
  void hand_request(endpoint_runtime& ep, route r, envelope e) {
    if (e.topic == heartbeat_topic && r.prefix_len == 3 &&
        r.prefix[1] == beat_call_id)
      note_beat_client(ep, r.prefix[0]);
    auto id = ++next_id_;
    routes.emplace(id, std::move(r));
    take_credit(ep, 1, envelope_bytes(e));
    caf::anon_send(dest, request_in_atom::value, id,
                   static_cast<uint64_t>(ep.index), std::move(e));
  }

  // A message (sub, pull) that goes alone: after the run before it, in
  // order (a heartbeat after a run goes after it).
  void hand_message(envelope e, bus_batch& batch) {
    close_run(batch);
    ++taken_;
    auto topic = e.topic;
    batch.items.push_back(
      bus_item{std::move(topic), caf::make_message(std::move(e))});
  }

  // A DEALER client that heartbeats, so that a stopping server can say
  // goodbye to it (REQ clients cannot take a message they did not ask
  // for). Clients unheard for peer_timeout are forgotten whenever a new
  // one comes, which bounds the map by the clients of one peer_timeout.
  void note_beat_client(endpoint_runtime& ep, const std::string& identity) {
    auto t = std::chrono::steady_clock::now();
    auto [i, added] = ep.rx.beat_clients.insert_or_assign(identity, t);
    if (!added)
      return;
    for (auto j = ep.rx.beat_clients.begin(); j != ep.rx.beat_clients.end();)
      j = t - j->second > ctx_.peer_timeout ? ep.rx.beat_clients.erase(j)
                                            : std::next(j);
  }

  // batch = true: consecutive messages on one topic share one
  // envelope_batch, published when the topic changes or the read ends.
  void add_to_run(const endpoint_runtime& ep, std::string_view topic,
                  std::string_view payload, bus_batch& batch) {
    auto& lp = ep.cfg.local_prefix;
    if (run_ && !(run_->topic.size() == lp.size() + topic.size() &&
                  std::string_view{run_->topic}.substr(lp.size()) == topic))
      close_run(batch);
    if (!run_) {
      run_.emplace(lp + std::string{topic});
      run_->via = ep.via;
      run_->data.reserve(payload.size() * left_);
      run_->ends.reserve(left_);
    }
    run_->add(payload);
    ++taken_;
  }

  void close_run(bus_batch& batch) {
    if (!run_)
      return;
    auto topic = run_->topic;
    batch.items.push_back(
      bus_item{std::move(topic), caf::make_message(std::move(*run_))});
    run_.reset();
  }

  const receiver_context& ctx_;
  std::optional<envelope_batch> run_;
  // Messages handed on in this read (the credit they take), and how many
  // the read has left including the current one.
  uint64_t taken_ = 0;
  size_t left_ = 0;
  uint64_t next_id_ = 0;
  std::vector<multipart> rx_;
  std::vector<std::string_view> views_;
};

// Connections ZeroMQ closed since the last look: a peer that left, or one
// that sent a frame over max_message_bytes (libzmq 4.3 reports both alike).
void log_disconnects(endpoint_runtime& ep, spdlog::logger& log) {
  auto n = ep.sock->peer_disconnects();
  if (n == ep.rx.disconnects_logged)
    return;
  auto fresh = n - ep.rx.disconnects_logged;
  ep.rx.disconnects_logged = n;
  if (auto suppressed = ep.rx.disconnect_limiter.admit(0); suppressed >= 0) {
    log_fields fields{{"event", "peer_disconnects"},
                      {"endpoint", ep.cfg.name},
                      {"count", fresh},
                      {"total", n}};
    log.info("endpoint '{}': {} peer connection(s) closed, {} in all (a peer "
             "left, or sent a frame over max_message_bytes = {}){}",
             ep.cfg.name, fresh, n, ep.cfg.max_message_bytes,
             suppressed > 0 ? fmt::format("; {} more suppressed", suppressed)
                            : std::string{});
  }
}

// Connections whose ZMTP handshake failed since the last look (a plaintext
// client on a CURVE endpoint, a wrong server key, a refused client key);
// the counts are troupe_bridge_handshake_failures_total.
void log_handshake_failures(endpoint_runtime& ep, spdlog::logger& log) {
  auto hs = ep.sock->failed_handshakes();
  auto n = hs.total();
  if (n == ep.rx.handshakes_logged)
    return;
  auto fresh = n - ep.rx.handshakes_logged;
  ep.rx.handshakes_logged = n;
  if (auto suppressed = ep.rx.handshake_limiter.admit(0); suppressed >= 0) {
    log_fields fields{{"event", "handshake_failures"},
                      {"endpoint", ep.cfg.name},
                      {"count", fresh},
                      {"total", n},
                      {"protocol", hs.protocol},
                      {"auth", hs.auth},
                      {"other", hs.other}};
    log.warn("endpoint '{}': {} peer handshake(s) failed, {} in all "
             "(protocol {}, auth {}, other {}){}",
             ep.cfg.name, fresh, n, hs.protocol, hs.auth, hs.other,
             suppressed > 0
               ? fmt::format("; {} more lines suppressed", suppressed)
               : std::string{});
  }
}

// CURVE clients the ZAP handler refused since the last look (a key not in
// curve_allowed_clients); the count is troupe_bridge_auth_denied_total.
void log_auth_denied(endpoint_runtime& ep, transport& net,
                     spdlog::logger& log) {
  if (!ep.cfg.curve.server())
    return;
  auto n = net.auth_denied(ep.cfg.name);
  if (n <= ep.rx.auth_denied_logged)
    return;
  auto fresh = n - ep.rx.auth_denied_logged;
  ep.rx.auth_denied_logged = n;
  if (auto suppressed = ep.rx.auth_limiter.admit(0); suppressed >= 0) {
    log_fields fields{{"event", "auth_denied"},
                      {"endpoint", ep.cfg.name},
                      {"count", fresh},
                      {"total", n}};
    log.warn("endpoint '{}': refused {} CURVE client(s) whose key is not in "
             "curve_allowed_clients, {} in all{}",
             ep.cfg.name, fresh, n,
             suppressed > 0
               ? fmt::format("; {} more lines suppressed", suppressed)
               : std::string{});
  }
}

} // namespace

struct receiver_loop::impl {
  impl(receiver_context c, caf::weak_actor_ptr t)
    : ctx(std::move(c)), target(std::move(t)), rx(ctx),
      next_auth_check(std::chrono::steady_clock::now()) {}

  receiver_context ctx;
  caf::weak_actor_ptr target;
  receiver rx;
  std::vector<endpoint_socket*> socks;
  std::vector<endpoint_runtime*> polled;
  std::vector<char> ready;
  std::vector<reply_queue::item> scratch;
  bool calls_waiting = false;
  std::chrono::steady_clock::time_point next_auth_check;
};

receiver_loop::receiver_loop(receiver_context ctx, caf::weak_actor_ptr target)
  : impl_(std::make_unique<impl>(std::move(ctx), std::move(target))) {}

receiver_loop::~receiver_loop() = default;

bool receiver_loop::step(std::chrono::milliseconds max_wait) {
  auto& s = *impl_;
  auto& ctx = s.ctx;
  // A call that a socket would not take yet is retried every millisecond.
  // Only sockets with credit: the others wait in ZMQ (whose rcvhwm then
  // holds the peer back) until the actor returns credit and wakes us.
  s.socks.clear();
  s.polled.clear();
  for (auto* ep : ctx.eps)
    if (receiver::credit(*ep) > 0) {
      s.socks.push_back(ep->sock.get());
      s.polled.push_back(ep);
    }
  ctx.net->wait(s.socks, s.calls_waiting ? std::min(max_wait, 1ms) : max_wait,
                s.ready);
  auto strong = s.target.lock();
  if (!strong)
    return false;
  s.rx.dest = caf::actor_cast<caf::actor>(strong);
  send_replies(*ctx.replies, s.scratch, s.rx.routes);
  s.calls_waiting = s.rx.calls.send();
  for (size_t i = 0; i < s.polled.size(); ++i)
    if (s.ready[i] != 0)
      s.rx.drain(*s.polled[i]);
  for (auto* ep : ctx.eps) {
    log_disconnects(*ep, *ctx.log);
    log_handshake_failures(*ep, *ctx.log);
  }
  // The refusal count sits behind the ZAP handler's lock: a look every
  // 100 ms is enough for a log line.
  if (auto now = std::chrono::steady_clock::now(); now >= s.next_auth_check) {
    s.next_auth_check = now + 100ms;
    for (auto* ep : ctx.eps)
      log_auth_denied(*ep, *ctx.net, *ctx.log);
  }
  s.rx.dest = caf::actor{};
  return true;
}

void receiver_loop::finish() {
  auto& s = *impl_;
  send_replies(*s.ctx.replies, s.scratch, s.rx.routes);
}

void receive_loop(const receiver_context& ctx,
                  const caf::weak_actor_ptr& target) {
  receiver_loop loop{ctx, target};
  while (!ctx.stop->load(std::memory_order_relaxed))
    if (!loop.step(100ms))
      return;
  // Answers queued by on_stop (e.g. "stopping") still go out.
  loop.finish();
}

} // namespace troupe::bridge::detail
