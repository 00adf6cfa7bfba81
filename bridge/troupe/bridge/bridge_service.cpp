#include "troupe/bridge/bridge_service.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <thread>

#include <caf/actor_cast.hpp>
#include <caf/message.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>
#include <caf/weak_intrusive_ptr.hpp>
#include <fmt/format.h>
#include <spdlog/logger.h>
#include <zmq.hpp>

#include "troupe/bridge/codec.hpp"
#include "troupe/bridge/endpoint_config.hpp"
#include "troupe/bridge/wire.hpp"

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

struct outbound_frames {
  std::string topic;
  std::string payload;
  std::string meta;
};

} // namespace

// One endpoint at run time. Inbound counters are written by the receiver
// thread and read by the actor, hence atomics.
struct endpoint_runtime {
  endpoint_config cfg;
  std::optional<zmq::socket_t> sock;
  std::string address;
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> unencodable{0};
  std::atomic<uint64_t> gaps{0};
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
  std::vector<std::unique_ptr<endpoint_runtime>> eps;
  std::thread receiver;
  std::atomic<bool> stop{false};
  bool flush_scheduled = false;
  log_limiter out_limiter;
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

void receive_loop(std::vector<endpoint_runtime*> eps,
                  caf::weak_actor_ptr target, std::atomic<bool>& stop,
                  std::string via_prefix, spdlog::logger* log) {
  std::vector<zmq::pollitem_t> items;
  for (auto* ep : eps)
    items.push_back({ep->sock->handle(), 0, ZMQ_POLLIN, 0});
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
    for (size_t i = 0; i < items.size(); ++i) {
      if ((items[i].revents & ZMQ_POLLIN) == 0)
        continue;
      auto& ep = *eps[i];
      // A batch per wake-up keeps one busy socket from starving the others.
      for (int batch = 0; batch < 1024; ++batch) {
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
        caf::anon_send(dest, inbound_atom::value,
                       envelope{std::string{w.topic}, std::string{w.payload},
                                std::string{w.meta}, via_prefix + ep.cfg.name});
      }
    }
  }
}

} // namespace

hook_result bridge_service::on_start() {
  auto& st = *st_;
  st.stop = false;
  st.ctx.emplace(1);
  st.eps.clear();
  std::vector<endpoint_runtime*> inbound;
  for (auto& cfg : st.cfg.endpoints) {
    auto ep = std::make_unique<endpoint_runtime>();
    ep->cfg = cfg;
    try {
      ep->sock.emplace(*st.ctx, zmq_type(cfg.socket));
      auto& s = *ep->sock;
      if (is_inbound(cfg.socket)) {
        s.set(zmq::sockopt::rcvhwm, cfg.hwm);
        s.set(zmq::sockopt::linger, 0);
        if (cfg.socket == socket_kind::sub) {
          if (cfg.topics.empty())
            s.set(zmq::sockopt::subscribe, "");
          for (auto& t : cfg.topics)
            s.set(zmq::sockopt::subscribe, t);
        }
      } else {
        s.set(zmq::sockopt::sndhwm, cfg.hwm);
        s.set(zmq::sockopt::linger, 1000);
        if (cfg.socket == socket_kind::pub)
          s.set(zmq::sockopt::xpub_nodrop, 1); // EAGAIN instead of silent loss
      }
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
    if (is_inbound(cfg.socket))
      inbound.push_back(ep.get());
    st.eps.push_back(std::move(ep));
  }
  // Outbound: one subscription per distinct prefix and endpoint.
  for (size_t i = 0; i < st.eps.size(); ++i) {
    auto& cfg = st.eps[i]->cfg;
    if (is_inbound(cfg.socket))
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
  if (!inbound.empty()) {
    caf::weak_actor_ptr weak{self()->ctrl()};
    st.receiver = std::thread{receive_loop,      std::move(inbound), weak,
                              std::ref(st.stop), name() + "/",       &log()};
  }
  return hook_result::success();
}

void bridge_service::on_inbound(const envelope& e) {
  publish(e.topic, e);
}

bool bridge_service::send_out(size_t index, const std::string& topic,
                              const caf::message& msg) {
  auto& ep = *st_->eps[index];
  if (msg.size() == 1 && msg.match_element<envelope>(0)) {
    auto& via = msg.get_as<envelope>(0).via;
    if (via.compare(0, name().size() + 1, name() + "/") == 0)
      return true; // received by this bridge: never echo it back out
  }
  outbound_frames out;
  out.topic = topic;
  if (!encode_payload(msg, ep.cfg.codec, out.payload)) {
    ep.unencodable.fetch_add(1, std::memory_order_relaxed);
    if (auto s = st_->out_limiter.admit(0); s >= 0)
      log().warn("endpoint '{}': cannot encode the message on '{}' as {} "
                 "(publish an envelope, nlohmann::json, string, number or "
                 "bool)",
                 ep.cfg.name, topic,
                 ep.cfg.codec == codec_kind::json ? "json" : "raw");
    return false;
  }
  if (ep.cfg.meta) {
    auto seq = ++ep.seq_out[topic];
    out.meta = nlohmann::json{
      {"seq", seq},
      {"src", st_->cfg.source_id},
      {"ts",
       now_ns()}}.dump();
  }
  auto try_send = [&ep](outbound_frames& f) {
    auto& s = *ep.sock;
    auto r = s.send(zmq::buffer(f.topic),
                    zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    if (!r)
      return false;
    // Once the first frame is queued, ZMQ takes the whole message.
    if (f.meta.empty()) {
      s.send(zmq::buffer(f.payload), zmq::send_flags::none);
    } else {
      s.send(zmq::buffer(f.payload), zmq::send_flags::sndmore);
      s.send(zmq::buffer(f.meta), zmq::send_flags::none);
    }
    return true;
  };
  if (ep.pending.empty() && try_send(out)) {
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
  ep.pending.push_back(std::move(out));
  if (!st_->flush_scheduled) {
    st_->flush_scheduled = true;
    after(1ms, [this] { flush(); });
  }
  return true;
}

void bridge_service::flush() {
  st_->flush_scheduled = false;
  bool left = false;
  for (auto& ep : st_->eps) {
    while (!ep->pending.empty()) {
      auto& f = ep->pending.front();
      auto r =
        ep->sock->send(zmq::buffer(f.topic),
                       zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      if (!r)
        break;
      if (f.meta.empty()) {
        ep->sock->send(zmq::buffer(f.payload), zmq::send_flags::none);
      } else {
        ep->sock->send(zmq::buffer(f.payload), zmq::send_flags::sndmore);
        ep->sock->send(zmq::buffer(f.meta), zmq::send_flags::none);
      }
      ep->pending.pop_front();
      ep->sent.fetch_add(1, std::memory_order_relaxed);
      count_out();
    }
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
  shut_down();
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
  if (st.ctx)
    st.ctx->close();
  st.ctx.reset();
}

std::string bridge_service::stats_json() const {
  nlohmann::json out;
  out["source_id"] = st_->cfg.source_id;
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
      {"direction", is_inbound(ep->cfg.socket) ? "in" : "out"},
      {"address", ep->address},
      {"received", ep->received.load()},
      {"sent", ep->sent.load()},
      {"dropped", ep->dropped.load()},
      {"queued", ep->pending.size()},
      {"unencodable", ep->unencodable.load()},
      {"gaps", ep->gaps.load()},
      {"malformed_total", malformed_total},
      {"malformed", malformed},
    });
  }
  return out.dump();
}

} // namespace troupe::bridge
