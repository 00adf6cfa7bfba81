#include "troupe/bridge/proxy_runner.hpp"

#include <array>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include <zmq.hpp>

#include "troupe/bridge/zmq/curve_security.hpp"
#include "troupe/bridge/zmq/socket_options.hpp"

namespace troupe::bridge {

namespace {

zmq::socket_type frontend_type(proxy_mode m) {
  switch (m) {
  case proxy_mode::pubsub:
    return zmq::socket_type::xsub;
  case proxy_mode::pipeline:
    return zmq::socket_type::pull;
  case proxy_mode::requests:
    return zmq::socket_type::router;
  }
  return zmq::socket_type::xsub;
}

zmq::socket_type backend_type(proxy_mode m) {
  switch (m) {
  case proxy_mode::pubsub:
    return zmq::socket_type::xpub;
  case proxy_mode::pipeline:
    return zmq::socket_type::push;
  case proxy_mode::requests:
    return zmq::socket_type::dealer;
  }
  return zmq::socket_type::xpub;
}

int millis(std::chrono::nanoseconds d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
}

} // namespace

struct proxy_runner::impl {
  std::optional<zmq::context_t> ctx;
  // CURVE and ZAP of the context; kept after stop for its counts.
  std::optional<socket_security> security;
  std::optional<zmq::socket_t> frontend;
  std::optional<zmq::socket_t> backend;
  // The proxy's end of the control pair, and ours.
  std::optional<zmq::socket_t> control_theirs;
  std::optional<zmq::socket_t> control;
  std::thread thread;
  std::string frontend_address;
  std::string backend_address;
  bool stats_pending = false;

  mutable std::mutex mtx;
  std::condition_variable done_cv;
  bool done = false;
  std::string failure;

  std::string open_side(zmq::socket_t& s, const endpoint_config& ep,
                        std::chrono::nanoseconds linger, std::string& address) {
    try {
      s.set(zmq::sockopt::sndhwm, ep.hwm);
      s.set(zmq::sockopt::rcvhwm, ep.hwm);
      s.set(zmq::sockopt::linger, millis(linger));
      s.set(zmq::sockopt::maxmsgsize,
            static_cast<int64_t>(ep.max_message_bytes));
      apply_connection(s, ep);
      security->apply(s, ep);
    } catch (const zmq::error_t& e) {
      return ep.name + ": " + e.what();
    }
    if (!ep.bind.empty()) {
      if (auto err = bind_socket(s, ep.bind); !err.empty())
        return ep.name + ": " + err;
      address = s.get(zmq::sockopt::last_endpoint);
    } else {
      if (auto err = connect_socket(s, ep.connect); !err.empty())
        return ep.name + ": " + err;
      address = ep.connect.front();
    }
    return {};
  }

  void run() {
    auto rc = zmq_proxy_steerable(frontend->handle(), backend->handle(),
                                  nullptr, control_theirs->handle());
    auto err = zmq_errno();
    std::lock_guard<std::mutex> guard{mtx};
    done = true;
    if (rc != 0 && err != ETERM)
      failure = std::string{"zmq_proxy_steerable: "} + zmq_strerror(err);
    done_cv.notify_all();
  }

  void close_all() {
    frontend.reset();
    backend.reset();
    control_theirs.reset();
    control.reset();
    if (security)
      security->stop(); // before the context closes
    if (ctx)
      ctx->close();
    ctx.reset();
  }
};

proxy_runner::proxy_runner() : impl_(std::make_unique<impl>()) {}

proxy_runner::~proxy_runner() {
  try {
    stop(std::chrono::seconds{1});
  } catch (...) {
    // std::thread::join or a mutex failing: nothing left to do here
  }
}

std::string proxy_runner::start(const proxy_config& cfg) {
  stop(std::chrono::seconds{1});
  auto& d = *impl_;
  d.security.reset();
  d.ctx.emplace(1);
  d.security.emplace(*d.ctx);
  d.done = false;
  d.failure.clear();
  d.stats_pending = false;
  std::string err;
  try {
    d.frontend.emplace(*d.ctx, frontend_type(cfg.mode));
    d.backend.emplace(*d.ctx, backend_type(cfg.mode));
    err =
      d.open_side(*d.frontend, cfg.frontend, cfg.linger, d.frontend_address);
    if (err.empty())
      err = d.open_side(*d.backend, cfg.backend, cfg.linger, d.backend_address);
    if (err.empty()) {
      // One inproc address per context: every proxy has its own context.
      d.control_theirs.emplace(*d.ctx, zmq::socket_type::pair);
      d.control_theirs->bind("inproc://troupe.proxy.control");
      d.control.emplace(*d.ctx, zmq::socket_type::pair);
      d.control->set(zmq::sockopt::linger, 0);
      d.control->connect("inproc://troupe.proxy.control");
    }
  } catch (const zmq::error_t& e) {
    err = std::string{"control socket: "} + e.what();
  }
  if (!err.empty()) {
    d.close_all();
    return err;
  }
  if (cfg.paused)
    pause(); // read by the proxy before any traffic
  // Thread creation hands the sockets over with a full barrier.
  d.thread = std::thread{[&d] { d.run(); }};
  return {};
}

void proxy_runner::pause() {
  auto& d = *impl_;
  if (d.control)
    static_cast<void>(
      d.control->send(zmq::str_buffer("PAUSE"), zmq::send_flags::dontwait));
}

void proxy_runner::resume() {
  auto& d = *impl_;
  if (d.control)
    static_cast<void>(
      d.control->send(zmq::str_buffer("RESUME"), zmq::send_flags::dontwait));
}

std::optional<proxy_stats>
proxy_runner::statistics(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  if (!d.control || !running())
    return std::nullopt;
  try {
    if (!d.stats_pending) {
      if (!d.control->send(zmq::str_buffer("STATISTICS"),
                           zmq::send_flags::dontwait))
        return std::nullopt;
      d.stats_pending = true;
    }
    std::array<zmq::pollitem_t, 1> items{
      {{d.control->handle(), 0, ZMQ_POLLIN, 0}}};
    zmq::poll(items.data(), items.size(), timeout);
    if ((items[0].revents & ZMQ_POLLIN) == 0)
      return std::nullopt;
    // [fe msgs in][fe bytes in][fe msgs out][fe bytes out], then the
    // backend's: eight uint64 frames, sent at once.
    std::array<uint64_t, 8> v{};
    size_t n = 0;
    bool more = true;
    while (more) {
      zmq::message_t m;
      if (!d.control->recv(m, zmq::recv_flags::dontwait))
        break;
      more = m.more();
      if (n < v.size() && m.size() == sizeof(uint64_t))
        std::memcpy(&v[n], m.data(), sizeof(uint64_t));
      ++n;
    }
    d.stats_pending = false;
    if (n != v.size())
      return std::nullopt;
    return proxy_stats{{v[0], v[1], v[2], v[3]}, {v[4], v[5], v[6], v[7]}};
  } catch (const zmq::error_t&) {
    return std::nullopt;
  }
}

bool proxy_runner::stop(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  bool clean = true;
  if (d.thread.joinable()) {
    if (d.control)
      static_cast<void>(d.control->send(zmq::str_buffer("TERMINATE"),
                                        zmq::send_flags::dontwait));
    std::unique_lock<std::mutex> guard{d.mtx};
    if (!d.done_cv.wait_for(guard, timeout, [&d] { return d.done; })) {
      clean = false;
      guard.unlock();
      d.ctx->shutdown(); // blocking calls in the proxy return ETERM
    }
    if (guard.owns_lock())
      guard.unlock();
    d.thread.join();
    std::lock_guard<std::mutex> relock{d.mtx};
    d.failure.clear(); // we ended it
  }
  d.close_all();
  return clean;
}

bool proxy_runner::running() const {
  auto& d = *impl_;
  std::lock_guard<std::mutex> guard{d.mtx};
  return d.thread.joinable() && !d.done;
}

std::string proxy_runner::failure() const {
  auto& d = *impl_;
  std::lock_guard<std::mutex> guard{d.mtx};
  return d.failure;
}

std::string proxy_runner::frontend_address() const {
  return impl_->frontend_address;
}

std::string proxy_runner::backend_address() const {
  return impl_->backend_address;
}

uint64_t proxy_runner::auth_denied(const std::string& side) const {
  return impl_->security ? impl_->security->denied(side) : 0;
}

} // namespace troupe::bridge
