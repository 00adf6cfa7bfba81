#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>

#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.hpp>

#include "troupe/bridge/transport.hpp"
#include "troupe/bridge/wire.hpp"
#include "troupe/bridge/zmq/curve_security.hpp"
#include "troupe/bridge/zmq/socket_options.hpp"

namespace troupe::bridge {

namespace {

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
  case socket_kind::rep: // a ROUTER underneath: it serves many REQ peers
                         // at once and answers them in any order
  case socket_kind::router:
    return zmq::socket_type::router;
  case socket_kind::dealer:
    return zmq::socket_type::dealer;
  }
  return zmq::socket_type::pub;
}

class zmq_transport;

class zmq_endpoint final : public endpoint_socket {
public:
  zmq_endpoint(zmq::context_t& ctx, socket_kind kind)
    : sock_(ctx, zmq_type(kind)), pub_(kind == socket_kind::pub) {}

  ~zmq_endpoint() override { close(); }

  zmq::socket_t& sock() { return sock_; }

  /// Watches the socket's disconnects through an inproc PAIR that `owner`'s
  /// `wait` polls (on the receiver thread, like the socket itself).
  void monitor(zmq::context_t& ctx, zmq_transport* owner);

  /// The monitor's PAIR socket, if any.
  zmq::socket_t* monitor_socket() { return mon_ ? &*mon_ : nullptr; }

  /// Reads the monitor's pending events; counts disconnects.
  void read_monitor() {
    zmq::message_t event;
    zmq::message_t address;
    try {
      while (mon_->recv(event, zmq::recv_flags::dontwait)) {
        if (event.more())
          (void)mon_->recv(address); // the second frame follows at once
        uint16_t id = 0;
        if (event.size() >= sizeof(id))
          std::memcpy(&id, event.data(), sizeof(id));
        if (id == ZMQ_EVENT_DISCONNECTED)
          disconnects_.fetch_add(1, std::memory_order_relaxed);
        else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
          hs_protocol_.fetch_add(1, std::memory_order_relaxed);
        else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
          hs_auth_.fetch_add(1, std::memory_order_relaxed);
        else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
          hs_other_.fetch_add(1, std::memory_order_relaxed);
      }
    } catch (const zmq::error_t&) {
      // ETERM while closing: nothing more to count
    }
  }

  uint64_t peer_disconnects() const override {
    return disconnects_.load(std::memory_order_relaxed);
  }

  handshake_failures failed_handshakes() const override {
    return {hs_protocol_.load(std::memory_order_relaxed),
            hs_auth_.load(std::memory_order_relaxed),
            hs_other_.load(std::memory_order_relaxed)};
  }

  void set_address(std::string x) { address_ = std::move(x); }

  bool try_send(const std::string_view* parts, size_t n) override {
    if (n == 0)
      return true;
    auto more = [&](size_t i) {
      return i + 1 < n ? zmq::send_flags::sndmore : zmq::send_flags::none;
    };
    try {
      if (!sock_.send(zmq::buffer(parts[0]),
                      more(0) | zmq::send_flags::dontwait))
        return false;
      // Once the first frame is queued, ZMQ takes the whole message.
      for (size_t i = 1; i < n; ++i)
        sock_.send(zmq::buffer(parts[i]), more(i) | zmq::send_flags::dontwait);
      return true;
    } catch (const zmq::error_t&) {
      // e.g. ROUTER to a peer that left with ROUTER_MANDATORY: gone.
      return true;
    }
  }

  bool send_past_full(const std::string_view* parts, size_t n) override {
    if (!pub_)
      return try_send(parts, n);
    // The owning thread may change XPUB_NODROP between any two messages:
    // off, a full subscriber's pipe drops the message instead of making
    // the whole send fail.
    try {
      sock_.set(zmq::sockopt::xpub_nodrop, 0);
      auto ok = try_send(parts, n);
      sock_.set(zmq::sockopt::xpub_nodrop, 1);
      return ok;
    } catch (const zmq::error_t&) {
      return false;
    }
  }

  size_t receive(std::vector<multipart>& out, size_t max) override {
    size_t k = 0;
    while (k < max) {
      if (out.size() <= k)
        out.emplace_back();
      auto& frames = out[k];
      size_t nf = 0;
      bool more = true;
      while (more) {
        if (!recv_ready())
          break;
        more = msg_.more();
        if (frames.size() <= nf)
          frames.emplace_back();
        frames[nf++].assign(static_cast<const char*>(msg_.data()), msg_.size());
      }
      if (nf == 0)
        break;
      frames.resize(nf);
      ++k;
    }
    return k;
  }

  std::string address() const override { return address_; }

  void close() override;

private:
  bool recv_ready() {
    try {
      return sock_.recv(msg_, zmq::recv_flags::dontwait).has_value();
    } catch (const zmq::error_t&) {
      // EFSM: a REQ socket that has its reply reads nothing more until it
      // sends again.
      return false;
    }
  }

  zmq::socket_t sock_;
  zmq::message_t msg_;
  std::string address_;
  bool pub_;
  std::optional<zmq::socket_t> mon_;
  zmq_transport* owner_ = nullptr;
  std::atomic<uint64_t> disconnects_{0};
  std::atomic<uint64_t> hs_protocol_{0};
  std::atomic<uint64_t> hs_auth_{0};
  std::atomic<uint64_t> hs_other_{0};
};

class zmq_transport final : public transport {
public:
  ~zmq_transport() override {
    close();
    if (wake_fd_ >= 0)
      ::close(wake_fd_);
  }

  std::unique_ptr<endpoint_socket> open(const endpoint_config& cfg,
                                        std::string& error) override {
    if (!ctx_) {
      ctx_.emplace(1);
      security_.emplace(*ctx_);
    }
    wake_fd(); // before any receiver thread waits on it
    try {
      auto ep = std::make_unique<zmq_endpoint>(*ctx_, cfg.socket);
      auto& s = ep->sock();
      if (!is_outbound(cfg.socket)) {
        // libzmq checks each frame's size header before it allocates the
        // frame, and drops the connection of a peer that sends a larger
        // one: an oversize frame never reaches memory.
        s.set(zmq::sockopt::maxmsgsize,
              static_cast<int64_t>(cfg.max_message_bytes));
        ep->monitor(*ctx_, this);
      }
      if (is_request(cfg.socket) || is_call(cfg.socket)) {
        s.set(zmq::sockopt::rcvhwm, cfg.hwm);
        s.set(zmq::sockopt::sndhwm, cfg.hwm);
        // A goodbye, sent just before close, gets the same second as
        // outbound messages: a heartbeating dealer's to its server, a
        // server's (rep, router) to its heartbeating clients, together
        // with its last answers.
        s.set(zmq::sockopt::linger,
              cfg.heartbeat || is_request(cfg.socket) ? 1000 : 0);
        if (cfg.socket == socket_kind::req) {
          // A timed-out call must not leave the socket waiting for its
          // reply: the next request may go out, and a late reply to the
          // old one is discarded by ZMQ (it carries the old request id).
          s.set(zmq::sockopt::req_relaxed, 1);
          s.set(zmq::sockopt::req_correlate, 1);
        }
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
          s.set(zmq::sockopt::xpub_nodrop, 1); // EAGAIN, not silent loss
      }
      security_->apply(s, cfg);
      apply_connection(s, cfg);
      if (!cfg.bind.empty()) {
        error = bind_socket(s, cfg.bind);
        if (!error.empty())
          return nullptr;
        ep->set_address(s.get(zmq::sockopt::last_endpoint));
      } else {
        error = connect_socket(s, cfg.connect);
        if (!error.empty())
          return nullptr;
        ep->set_address(cfg.connect.front());
      }
      return ep;
    } catch (const zmq::error_t& e) {
      auto where = cfg.bind.empty() ? "connect" : "bind " + cfg.bind;
      error = where + ": " + e.what();
      return nullptr;
    }
  }

  void wait(const std::vector<endpoint_socket*>& socks,
            std::chrono::milliseconds timeout,
            std::vector<char>& ready) override {
    items_.clear();
    for (auto* s : socks)
      items_.push_back(
        {static_cast<zmq_endpoint*>(s)->sock().handle(), 0, ZMQ_POLLIN, 0});
    // Monitors of every receiving endpoint, with credit or not.
    for (auto* m : monitored_)
      items_.push_back({m->monitor_socket()->handle(), 0, ZMQ_POLLIN, 0});
    items_.push_back({nullptr, wake_fd(), ZMQ_POLLIN, 0});
    ready.assign(socks.size(), 0);
    try {
      zmq::poll(items_, timeout);
    } catch (const zmq::error_t&) {
      return; // EINTR, or ETERM while closing: the caller checks its flag
    }
    for (size_t i = 0; i < socks.size(); ++i)
      ready[i] = (items_[i].revents & ZMQ_POLLIN) != 0 ? 1 : 0;
    for (size_t i = 0; i < monitored_.size(); ++i)
      if ((items_[socks.size() + i].revents & ZMQ_POLLIN) != 0)
        monitored_[i]->read_monitor();
    if ((items_.back().revents & ZMQ_POLLIN) != 0) {
      uint64_t n = 0;
      [[maybe_unused]] auto r = ::read(wake_fd_, &n, sizeof(n));
    }
  }

  void wake() override {
    uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(wake_fd(), &one, sizeof(one));
  }

  void close() override {
    if (security_)
      security_->stop(); // before the context closes
    if (ctx_)
      ctx_->close();
    ctx_.reset();
  }

  uint64_t auth_denied(const std::string& endpoint) const override {
    return security_ ? security_->denied(endpoint) : 0;
  }

  // Open and close run on the actor thread while no receiver thread waits
  // (the bridge opens before it starts one and joins it before closing).
  void watch(zmq_endpoint* ep) { monitored_.push_back(ep); }

  void forget(zmq_endpoint* ep) {
    monitored_.erase(std::remove(monitored_.begin(), monitored_.end(), ep),
                     monitored_.end());
  }

private:
  int wake_fd() {
    // Created by the first open, before the receiver thread starts.
    if (wake_fd_ < 0)
      wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return wake_fd_;
  }

  std::optional<zmq::context_t> ctx_;
  // CURVE keys and ZAP, per context; kept after close for its counts.
  std::optional<socket_security> security_;
  std::vector<zmq::pollitem_t> items_;
  std::vector<zmq_endpoint*> monitored_;
  int wake_fd_ = -1;
};

void zmq_endpoint::monitor(zmq::context_t& ctx, zmq_transport* owner) {
  // One inproc address per socket and context.
  auto addr = "inproc://troupe.monitor." +
              std::to_string(reinterpret_cast<uintptr_t>(sock_.handle()));
  // Only events that end a connection: one per connection at most (the
  // per-connection ACCEPTED/CONNECTED events once made drains flaky).
  if (zmq_socket_monitor(sock_.handle(), addr.c_str(),
                         ZMQ_EVENT_DISCONNECTED |
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0)
    return; // not counted, but the endpoint works
  mon_.emplace(ctx, zmq::socket_type::pair);
  mon_->set(zmq::sockopt::linger, 0);
  mon_->connect(addr);
  owner_ = owner;
  owner_->watch(this);
}

void zmq_endpoint::close() {
  if (owner_ != nullptr) {
    owner_->forget(this);
    owner_ = nullptr;
  }
  if (mon_) {
    if (sock_.handle() != nullptr)
      zmq_socket_monitor(sock_.handle(), nullptr, 0);
    mon_.reset();
  }
  sock_.close();
}

} // namespace

std::unique_ptr<transport> make_zmq_transport() {
  return std::make_unique<zmq_transport>();
}

} // namespace troupe::bridge
