#include "troupe/bridge/bridge_service.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>

#include <caf/actor_cast.hpp>
#include <caf/message.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>
#include <caf/weak_intrusive_ptr.hpp>
#include <fmt/format.h>
#include <spdlog/logger.h>
#include <zmq.hpp>

#include "troupe/bridge/codec.hpp"
#include "troupe/bridge/curve_security.hpp"
#include "troupe/bridge/endpoint_config.hpp"
#include "troupe/bridge/wire.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::bridge {

namespace {

using namespace std::chrono_literals;

constexpr size_t reason_count =
  static_cast<size_t>(frame_error::invalid_meta) + 2; // + unknown_topic
constexpr size_t unknown_topic = reason_count - 1;

std::string_view reason_name(size_t i) {
  if (i == unknown_topic)
    return "unknown_topic";
  return to_string(static_cast<frame_error>(i));
}

zmq::socket_type zmq_type(socket_kind k) {
  switch (k) {
  case socket_kind::pub:
    return zmq::socket_type::pub;
  case socket_kind::sub:
    return zmq::socket_type::sub;
  case socket_kind::push:
    return zmq::socket_type::push;
  case socket_kind::pull:
    return zmq::socket_type::pull;
  case socket_kind::req:
    return zmq::socket_type::req;
  case socket_kind::rep:
    return zmq::socket_type::rep;
  case socket_kind::router:
    return zmq::socket_type::router;
  case socket_kind::dealer:
    return zmq::socket_type::dealer;
  }
  return zmq::socket_type::pub;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// At most `per_second` log lines per reason; then one line saying how many
// were suppressed.
class log_limiter {
public:
  static constexpr int per_second = 3;

  /// Returns how many lines were suppressed before this one (>= 0), or -1
  /// when this one must be suppressed too.
  int64_t admit(size_t reason) {
    auto sec = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
                 .count();
    auto& w = windows_[reason];
    if (w.second != sec) {
      w.second = sec;
      w.logged = 0;
    }
    if (w.logged >= per_second) {
      ++w.suppressed;
      return -1;
    }
    ++w.logged;
    auto s = w.suppressed;
    w.suppressed = 0;
    return s;
  }

private:
  struct window {
    int64_t second = -1;
    int logged = 0;
    int64_t suppressed = 0;
  };
  std::array<window, reason_count> windows_{};
};

// A message ZMQ would not take yet. An envelope's payload stays in its
// (shared) caf::message instead of being copied.
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
};

// Sends `[topic][payload]` (+ `[meta]`) unless ZMQ will not take it now.
bool try_send(zmq::socket_t& s, std::string_view topic,
              std::string_view payload, std::string_view meta) {
  auto r = s.send(zmq::buffer(topic),
                  zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  if (!r)
    return false;
  // Once the first frame is queued, ZMQ takes the whole message.
  if (meta.empty()) {
    s.send(zmq::buffer(payload), zmq::send_flags::none);
  } else {
    s.send(zmq::buffer(payload), zmq::send_flags::sndmore);
    s.send(zmq::buffer(meta), zmq::send_flags::none);
  }
  return true;
}

bool try_send(zmq::socket_t& s, const outbound_frames& f) {
  return try_send(s, f.topic, f.payload(), f.meta);
}

} // namespace

// One endpoint at run time. Inbound counters are written by the receiver
// thread and read by the actor, hence atomics.
struct endpoint_runtime {
  endpoint_config cfg;
  std::optional<zmq::socket_t> sock;
  std::string address;
  /// "BRIDGE/ENDPOINT": the `via` of everything received here.
  std::string via;
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> unencodable{0};
  std::atomic<uint64_t> gaps{0};
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> error_replies{0};
  size_t index = 0;
  std::array<std::atomic<uint64_t>, reason_count> malformed{};
  // Actor thread only.
  std::deque<outbound_frames> pending;
  std::map<std::string, uint64_t, std::less<>> seq_out;
  // Receiver thread only.
  log_limiter limiter;
  std::map<std::pair<std::string, std::string>, uint64_t> seq_in;
};

struct bridge_service::state {
  bridge_config cfg;
  std::optional<zmq::context_t> ctx;
  std::optional<socket_security> security; // CURVE keys and ZAP, per ctx
  std::vector<std::unique_ptr<endpoint_runtime>> eps;
  std::thread receiver;
  std::atomic<bool> stop{false};
  bool flush_scheduled = false;
  log_limiter out_limiter;
  /// "NAME/": the start of `via` on everything this bridge received.
  std::string via_prefix;
  /// Reused for encoded payloads (no allocation per message).
  std::string scratch;
  // Replies travel from the actor to the receiver thread, which owns the
  // request sockets, over an inproc pair.
  std::optional<zmq::socket_t> reply_push;
  std::optional<zmq::socket_t> reply_pull;
  struct pending_request {
    size_t endpoint;
    std::string topic;
  };
  std::map<uint64_t, pending_request> pending_requests;
  // Other troupe processes by source id: when we last heard from them.
  std::map<std::string, std::chrono::steady_clock::time_point> peers;
};

bridge_service::bridge_service() : st_(std::make_unique<state>()) {}

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

namespace {

// A request in flight: which endpoint it came from and the routing frames
// (identity, and the empty delimiter of a REQ peer) its reply needs.
struct route {
  endpoint_runtime* ep;
  std::vector<zmq::message_t> prefix;
};

void send_routed(zmq::socket_t& s, std::vector<zmq::message_t>& prefix,
                 std::string_view topic, std::string_view payload) {
  // ROUTER never blocks; a reply to a peer that left is dropped by ZMQ.
  for (auto& p : prefix)
    s.send(p, zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  s.send(zmq::buffer(topic),
         zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  s.send(zmq::buffer(payload), zmq::send_flags::dontwait);
}

std::string error_payload(std::string_view code, std::string_view message) {
  return nlohmann::json{{"code", code}, {"message", message}}.dump();
}

// Sends every reply the actor queued: [id][topic][payload].
void drain_replies(zmq::socket_t& replies,
                   std::unordered_map<uint64_t, route>& routes) {
  for (;;) {
    std::vector<zmq::message_t> parts;
    bool more = true;
    while (more) {
      zmq::message_t m;
      if (!replies.recv(m, zmq::recv_flags::dontwait))
        return;
      more = m.more();
      parts.push_back(std::move(m));
    }
    if (parts.size() != 3 || parts[0].size() != sizeof(uint64_t))
      continue;
    uint64_t id = 0;
    std::memcpy(&id, parts[0].data(), sizeof(id));
    auto i = routes.find(id);
    if (i == routes.end())
      continue;
    send_routed(*i->second.ep->sock, i->second.prefix,
                parts[1].to_string_view(), parts[2].to_string_view());
    i->second.ep->sent.fetch_add(1, std::memory_order_relaxed);
    routes.erase(i);
  }
}

void receive_loop(const std::vector<endpoint_runtime*>& eps,
                  zmq::socket_t* replies, const caf::weak_actor_ptr& target,
                  std::atomic<bool>& stop, spdlog::logger* log) {
  std::vector<zmq::pollitem_t> items;
  items.reserve(eps.size() + 1);
  for (auto* ep : eps)
    items.push_back({ep->sock->handle(), 0, ZMQ_POLLIN, 0});
  if (replies != nullptr)
    items.push_back({replies->handle(), 0, ZMQ_POLLIN, 0});
  std::unordered_map<uint64_t, route> routes;
  uint64_t next_id = 0;
  std::vector<zmq::message_t> frames;
  std::vector<std::string_view> views;
  while (!stop.load(std::memory_order_relaxed)) {
    try {
      zmq::poll(items, 100ms);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM)
        return;
      continue; // EINTR
    }
    auto strong = target.lock();
    if (!strong)
      return;
    auto dest = caf::actor_cast<caf::actor>(strong);
    if (replies != nullptr && (items.back().revents & ZMQ_POLLIN) != 0)
      drain_replies(*replies, routes);
    for (size_t i = 0; i < eps.size(); ++i) {
      if ((items[i].revents & ZMQ_POLLIN) == 0)
        continue;
      auto& ep = *eps[i];
      bool requests = is_request(ep.cfg.socket);
      // Everything ready (up to a limit, so that one busy socket cannot
      // starve the others) goes to the actor as one message.
      bus_batch batch;
      for (int n = 0; n < 1024; ++n) {
        frames.clear();
        bool more = true;
        while (more) {
          zmq::message_t m;
          auto r = ep.sock->recv(m, zmq::recv_flags::dontwait);
          if (!r)
            break;
          more = m.more();
          frames.push_back(std::move(m));
        }
        if (frames.empty())
          break;
        views.clear();
        for (auto& f : frames)
          views.emplace_back(static_cast<const char*>(f.data()), f.size());
        // ROUTER: [identity][""]?[topic][payload][meta]?; the routing part
        // goes back on the reply.
        size_t routing = 0;
        if (requests)
          routing = frames.size() > 1 && frames[1].size() == 0 ? 2 : 1;
        routing = std::min(routing, views.size());
        views.erase(views.begin(),
                    views.begin() + static_cast<std::ptrdiff_t>(routing));
        wire_message w;
        auto err = check_frames(views, ep.cfg.max_message_bytes,
                                ep.cfg.codec == codec_kind::json, w);
        size_t reason = static_cast<size_t>(err);
        if (err == frame_error::none && ep.cfg.socket == socket_kind::pull &&
            !ep.cfg.topics.empty()) {
          bool known = false;
          for (auto& t : ep.cfg.topics)
            known = known || w.topic.compare(0, t.size(), t) == 0;
          if (!known)
            reason = unknown_topic;
        }
        if (err != frame_error::none || reason == unknown_topic) {
          ep.malformed[reason].fetch_add(1, std::memory_order_relaxed);
          if (requests) {
            // Never leave a REQ peer waiting: a malformed request is
            // answered at once.
            std::vector<zmq::message_t> prefix;
            for (size_t r = 0; r < routing; ++r)
              prefix.push_back(std::move(frames[r]));
            send_routed(*ep.sock, prefix, "troupe.error",
                        error_payload("malformed", reason_name(reason)));
          }
          if (auto suppressed = ep.limiter.admit(reason); suppressed >= 0)
            log->warn("endpoint '{}': rejected inbound message ({}, {} "
                      "frame(s)){}",
                      ep.cfg.name, reason_name(reason), frames.size(),
                      suppressed > 0
                        ? fmt::format("; {} more suppressed", suppressed)
                        : std::string{});
          continue;
        }
        ep.received.fetch_add(1, std::memory_order_relaxed);
        if (w.has_meta) {
          auto meta = nlohmann::json::parse(w.meta, nullptr, false);
          if (meta.is_object() && meta.contains("seq") &&
              meta["seq"].is_number_unsigned()) {
            auto seq = meta["seq"].get<uint64_t>();
            auto src = meta.contains("src") && meta["src"].is_string()
                         ? meta["src"].get<std::string>()
                         : std::string{};
            auto& last = ep.seq_in[{src, std::string{w.topic}}];
            if (last != 0 && seq > last + 1)
              ep.gaps.fetch_add(seq - last - 1, std::memory_order_relaxed);
            last = seq;
          }
        }
        // local_prefix (sub/pull): heartbeats keep their topic.
        envelope e{w.topic == heartbeat_topic
                     ? std::string{w.topic}
                     : ep.cfg.local_prefix + std::string{w.topic},
                   std::string{w.payload}, std::string{w.meta}, ep.via};
        if (requests) {
          auto id = ++next_id;
          auto& r = routes[id];
          r.ep = &ep;
          for (size_t k = 0; k < routing; ++k)
            r.prefix.push_back(std::move(frames[k]));
          caf::anon_send(dest, request_in_atom::value, id,
                         static_cast<uint64_t>(ep.index), std::move(e));
        } else {
          auto topic = e.topic;
          batch.items.push_back(
            bus_item{std::move(topic), caf::make_message(std::move(e))});
        }
      }
      if (!batch.items.empty())
        caf::anon_send(dest, inbound_atom::value, std::move(batch));
    }
  }
  // Answers queued by on_stop (e.g. "stopping") still go out.
  if (replies != nullptr)
    drain_replies(*replies, routes);
}

} // namespace

hook_result bridge_service::on_start() {
  auto& st = *st_;
  st.stop = false;
  st.ctx.emplace(1);
  st.security.emplace(*st.ctx);
  st.eps.clear();
  st.via_prefix = name() + "/";
  std::vector<endpoint_runtime*> inbound;
  for (auto& cfg : st.cfg.endpoints) {
    auto ep = std::make_unique<endpoint_runtime>();
    ep->cfg = cfg;
    try {
      // rep is a ROUTER underneath: it serves many REQ peers at once and
      // answers them in any order.
      ep->sock.emplace(*st.ctx, is_request(cfg.socket)
                                  ? zmq::socket_type::router
                                  : zmq_type(cfg.socket));
      auto& s = *ep->sock;
      if (is_request(cfg.socket)) {
        s.set(zmq::sockopt::rcvhwm, cfg.hwm);
        s.set(zmq::sockopt::sndhwm, cfg.hwm);
        s.set(zmq::sockopt::linger, 0);
      } else if (is_inbound(cfg.socket)) {
        s.set(zmq::sockopt::rcvhwm, cfg.hwm);
        s.set(zmq::sockopt::linger, 0);
        if (cfg.socket == socket_kind::sub) {
          if (cfg.topics.empty())
            s.set(zmq::sockopt::subscribe, "");
          for (auto& t : cfg.topics)
            s.set(zmq::sockopt::subscribe, t);
          // Heartbeats always get through, whatever the topics.
          if (!cfg.topics.empty())
            s.set(zmq::sockopt::subscribe, heartbeat_topic);
        }
      } else {
        s.set(zmq::sockopt::sndhwm, cfg.hwm);
        s.set(zmq::sockopt::linger, 1000);
        if (cfg.socket == socket_kind::pub)
          s.set(zmq::sockopt::xpub_nodrop, 1); // EAGAIN instead of silent loss
      }
      st.security->apply(s, cfg);
      if (!cfg.bind.empty()) {
        s.bind(cfg.bind);
        ep->address = s.get(zmq::sockopt::last_endpoint);
      } else {
        for (auto& c : cfg.connect)
          s.connect(c);
        ep->address = cfg.connect.front();
      }
    } catch (const zmq::error_t& e) {
      auto where = cfg.bind.empty() ? "connect" : "bind " + cfg.bind;
      st.eps.push_back(std::move(ep));
      shut_down();
      return hook_result::fail("endpoint '" + cfg.name + "': " + where + ": " +
                               e.what());
    }
    log().info("endpoint '{}': {} {} {}", cfg.name, to_string(cfg.socket),
               cfg.bind.empty() ? "connected to" : "bound at", ep->address);
    ep->index = st.eps.size();
    ep->via = st.via_prefix + cfg.name;
    if (is_inbound(cfg.socket) || is_request(cfg.socket))
      inbound.push_back(ep.get());
    st.eps.push_back(std::move(ep));
  }
  // Outbound: one subscription per distinct prefix and endpoint.
  for (size_t i = 0; i < st.eps.size(); ++i) {
    auto& cfg = st.eps[i]->cfg;
    if (is_inbound(cfg.socket) || is_request(cfg.socket))
      continue;
    auto prefixes =
      cfg.topics.empty() ? std::vector<std::string>{""} : cfg.topics;
    for (auto& p : prefixes)
      subscribe_message(
        p, [this, i, p](const std::string& topic, const caf::message& msg) {
          // Send once even when several prefixes of this endpoint match.
          for (auto& q : st_->eps[i]->cfg.topics)
            if (topic.compare(0, q.size(), q) == 0)
              return q == p ? send_out(i, topic, msg) : true;
          return send_out(i, topic, msg);
        });
  }
  bool any_requests = false;
  for (auto* ep : inbound)
    any_requests = any_requests || is_request(ep->cfg.socket);
  if (any_requests) {
    auto addr =
      fmt::format("inproc://troupe-bridge-{}", static_cast<const void*>(this));
    st.reply_pull.emplace(*st.ctx, zmq::socket_type::pull);
    st.reply_pull->set(zmq::sockopt::rcvhwm, 0); // the actor never blocks
    st.reply_pull->bind(addr);
    st.reply_push.emplace(*st.ctx, zmq::socket_type::push);
    st.reply_push->set(zmq::sockopt::sndhwm, 0);
    st.reply_push->set(zmq::sockopt::linger, 0);
    st.reply_push->connect(addr);
  }
  if (!inbound.empty()) {
    caf::weak_actor_ptr weak{self()->ctrl()};
    st.receiver = std::thread{receive_loop,
                              std::move(inbound),
                              st.reply_pull ? &*st.reply_pull : nullptr,
                              weak,
                              std::ref(st.stop),
                              &log()};
  }
  if (st.cfg.heartbeat_interval > std::chrono::nanoseconds::zero())
    every(st.cfg.heartbeat_interval, [this] { heartbeat(); });
  return hook_result::success();
}

void bridge_service::on_inbound(bus_batch& batch) {
  for (auto& x : batch.items)
    if (x.topic == heartbeat_topic)
      on_heartbeat(x.msg.get_as<envelope>(0));
  publish_batch(std::move(batch));
}

void bridge_service::on_heartbeat(const envelope& e) {
  auto j = nlohmann::json::parse(e.payload, nullptr, false);
  if (j.is_object() && j.contains("src") && j["src"].is_string()) {
    auto src = j["src"].get<std::string>();
    if (src != st_->cfg.source_id) {
      auto [i, added] = st_->peers.insert_or_assign(src, now());
      if (added)
        log().info("peer '{}' seen (via {})", src, e.via);
    }
  }
}

void bridge_service::heartbeat() {
  auto& st = *st_;
  auto beat = nlohmann::json{
    {"src", st.cfg.source_id},
    {"ts", now_ns()},
    {"bridge",
     name()}}.dump();
  for (size_t i = 0; i < st.eps.size(); ++i)
    if (st.eps[i]->cfg.socket == socket_kind::pub)
      send_out(i, std::string{heartbeat_topic},
               caf::make_message(
                 envelope{std::string{heartbeat_topic}, beat, "", ""}));
  // Peers: healthy while heard from within peer_timeout.
  auto t = now();
  for (auto& [src, last] : st.peers) {
    auto check = "peer " + src;
    if (t - last > st.cfg.peer_timeout)
      set_health(
        check, health_status::degraded,
        "no heartbeat for " +
          config::format_duration(
            std::chrono::duration_cast<std::chrono::milliseconds>(t - last)));
    else
      clear_health(check);
  }
}

void bridge_service::on_request(uint64_t id, uint64_t endpoint,
                                const envelope& e) {
  auto& st = *st_;
  if (endpoint >= st.eps.size())
    return;
  st.pending_requests[id] = state::pending_request{endpoint, e.topic};
  publish(e.topic, request{e, caf::actor_cast<caf::actor>(self()), id});
  after(st.eps[endpoint]->cfg.timeout, [this, id] {
    auto i = st_->pending_requests.find(id);
    if (i == st_->pending_requests.end())
      return;
    auto& ep = *st_->eps[i->second.endpoint];
    ep.timeouts.fetch_add(1, std::memory_order_relaxed);
    if (auto s = st_->out_limiter.admit(1); s >= 0)
      log().warn("endpoint '{}': no answer to a request on '{}' within {}",
                 ep.cfg.name, i->second.topic,
                 config::format_duration(ep.cfg.timeout));
    st_->pending_requests.erase(i);
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
  st_->pending_requests.erase(i);
  if (ok) {
    send_reply(id, topic, payload);
  } else {
    ep.error_replies.fetch_add(1, std::memory_order_relaxed);
    send_reply(id, "troupe.error", error_payload("service_error", payload));
  }
}

void bridge_service::send_reply(uint64_t id, const std::string& topic,
                                const std::string& payload) {
  auto& push = *st_->reply_push;
  push.send(zmq::buffer(&id, sizeof(id)), zmq::send_flags::sndmore);
  push.send(zmq::buffer(topic), zmq::send_flags::sndmore);
  push.send(zmq::buffer(payload), zmq::send_flags::none);
}

bool bridge_service::send_out(size_t index, const std::string& topic,
                              const caf::message& msg) {
  auto& ep = *st_->eps[index];
  std::string_view payload;
  bool is_envelope = false;
  if (msg.size() == 1 && msg.match_element<envelope>(0)) {
    is_envelope = true;
    auto& e = msg.get_as<envelope>(0);
    if (e.via.compare(0, st_->via_prefix.size(), st_->via_prefix) == 0)
      return true;       // received by this bridge: never echo it back out
    payload = e.payload; // bytes as they are: nothing to encode or copy
  } else if (encode_payload(msg, ep.cfg.codec, st_->scratch)) {
    payload = st_->scratch;
  } else {
    ep.unencodable.fetch_add(1, std::memory_order_relaxed);
    if (auto s = st_->out_limiter.admit(0); s >= 0)
      log().warn("endpoint '{}': cannot encode the message on '{}' as {} "
                 "(publish an envelope, nlohmann::json, string, number or "
                 "bool)",
                 ep.cfg.name, topic,
                 ep.cfg.codec == codec_kind::json ? "json" : "raw");
    return false;
  }
  std::string meta;
  if (ep.cfg.meta) {
    auto seq = ++ep.seq_out[topic];
    meta = nlohmann::json{{"seq", seq},
                          {"src", st_->cfg.source_id},
                          {"ts", now_ns()}}
             .dump();
  }
  // Whatever waits goes first (in one go, as far as ZMQ takes it); only
  // then may this message skip the queue.
  if (!ep.pending.empty())
    drain(ep);
  if (ep.pending.empty() && try_send(*ep.sock, topic, payload, meta)) {
    ep.sent.fetch_add(1, std::memory_order_relaxed);
    count_out();
    return true;
  }
  switch (ep.cfg.on_full) {
  case full_policy::drop_newest:
    ep.dropped.fetch_add(1, std::memory_order_relaxed);
    return true;
  case full_policy::drop_oldest:
    if (ep.pending.size() >= static_cast<size_t>(ep.cfg.hwm)) {
      ep.pending.pop_front();
      ep.dropped.fetch_add(1, std::memory_order_relaxed);
    }
    break;
  case full_policy::block:
    break;
  }
  if (is_envelope)
    ep.pending.push_back(
      outbound_frames{topic, msg, std::string{}, std::move(meta), true});
  else
    ep.pending.push_back(outbound_frames{
      topic, caf::message{}, std::string{payload}, std::move(meta), false});
  if (!st_->flush_scheduled) {
    st_->flush_scheduled = true;
    after(1ms, [this] { flush(); });
  }
  return true;
}

void bridge_service::drain(endpoint_runtime& ep) {
  uint64_t n = 0;
  while (!ep.pending.empty() && try_send(*ep.sock, ep.pending.front())) {
    ep.pending.pop_front();
    ++n;
  }
  if (n > 0) {
    ep.sent.fetch_add(n, std::memory_order_relaxed);
    count_out(n);
  }
}

void bridge_service::flush() {
  st_->flush_scheduled = false;
  bool left = false;
  for (auto& ep : st_->eps) {
    drain(*ep);
    left = left || !ep->pending.empty();
  }
  if (left) {
    st_->flush_scheduled = true;
    after(1ms, [this] { flush(); });
  }
}

hook_result bridge_service::on_stop() {
  // Whatever ZMQ still would not take is lost now: say so, and count it.
  for (auto& ep : st_->eps)
    if (!ep->pending.empty()) {
      log().warn("endpoint '{}': {} message(s) still queued at stop, "
                 "dropped",
                 ep->cfg.name, ep->pending.size());
      ep->dropped.fetch_add(ep->pending.size(), std::memory_order_relaxed);
      ep->pending.clear();
    }
  st_->flush_scheduled = false;
  for (auto& [id, _] : st_->pending_requests)
    send_reply(id, "troupe.error",
               error_payload("stopping", "the bridge is stopping"));
  st_->pending_requests.clear();
  shut_down();
  log().info("final stats {}", stats_json());
  return hook_result::success();
}

void bridge_service::shut_down() {
  auto& st = *st_;
  st.stop = true;
  if (st.receiver.joinable())
    st.receiver.join();
  // Sockets close before the context; outbound ones linger up to 1 s so
  // that what ZMQ accepted is still delivered.
  for (auto& ep : st.eps)
    if (ep->sock)
      ep->sock->close();
  if (st.reply_push)
    st.reply_push->close();
  if (st.reply_pull)
    st.reply_pull->close();
  if (st.security)
    st.security->stop();
  st.reply_push.reset();
  st.reply_pull.reset();
  if (st.ctx)
    st.ctx->close();
  st.ctx.reset();
}

std::string bridge_service::stats_json() const {
  nlohmann::json out;
  out["source_id"] = st_->cfg.source_id;
  auto& peers = out["peers"] = nlohmann::json::array();
  auto t = now();
  for (auto& [src, last] : st_->peers) {
    auto ago =
      std::chrono::duration_cast<std::chrono::milliseconds>(t - last).count();
    peers.push_back({{"src", src},
                     {"last_seen_ms_ago", ago},
                     {"alive", t - last <= st_->cfg.peer_timeout}});
  }
  auto& eps = out["endpoints"] = nlohmann::json::array();
  for (auto& ep : st_->eps) {
    nlohmann::json malformed = nlohmann::json::object();
    uint64_t malformed_total = 0;
    for (size_t r = 1; r < reason_count; ++r) {
      auto n = ep->malformed[r].load(std::memory_order_relaxed);
      malformed[std::string{reason_name(r)}] = n;
      malformed_total += n;
    }
    eps.push_back({
      {"name", ep->cfg.name},
      {"socket", std::string{to_string(ep->cfg.socket)}},
      {"direction", is_request(ep->cfg.socket)   ? "request"
                    : is_inbound(ep->cfg.socket) ? "in"
                                                 : "out"},
      {"address", ep->address},
      {"received", ep->received.load()},
      {"sent", ep->sent.load()},
      {"dropped", ep->dropped.load()},
      {"queued", ep->pending.size()},
      {"unencodable", ep->unencodable.load()},
      {"gaps", ep->gaps.load()},
      {"timeouts", ep->timeouts.load()},
      {"error_replies", ep->error_replies.load()},
      {"malformed_total", malformed_total},
      {"auth_denied", st_->security ? st_->security->denied(ep->cfg.name) : 0},
      {"malformed", malformed},
    });
  }
  return out.dump();
}

} // namespace troupe::bridge
