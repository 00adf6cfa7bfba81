#include "troupe/bridge/zmq/curve_security.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace troupe::bridge {

namespace {

using namespace std::chrono_literals;

std::string z85_decode(const std::string& key) {
  std::array<uint8_t, 32> bin{};
  if (zmq_z85_decode(bin.data(), key.c_str()) == nullptr)
    return {};
  return {reinterpret_cast<const char*>(bin.data()), bin.size()};
}

} // namespace

/// Answers ZAP requests (RFC 27) for one context on its own thread.
class zap_handler {
public:
  explicit zap_handler(zmq::context_t& ctx)
    : sock_(ctx, zmq::socket_type::rep) {
    sock_.set(zmq::sockopt::linger, 0);
    // Bound here, before any server socket binds: no handshake can happen
    // without the handler. Thread creation hands the socket over safely.
    sock_.bind("inproc://zeromq.zap.01");
    thread_ = std::thread{[this] { run(); }};
  }

  ~zap_handler() { stop(); }

  zap_handler(const zap_handler&) = delete;
  zap_handler& operator=(const zap_handler&) = delete;

  void allow(const std::string& domain,
             const std::vector<std::string>& z85_keys) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& d = domains_[domain];
    if (!d)
      d = std::make_unique<domain_state>();
    for (auto& k : z85_keys)
      d->keys.insert(z85_decode(k));
  }

  uint64_t denied(std::string_view domain) const {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = domains_.find(domain);
    return i == domains_.end() ? 0 : i->second->denied.load();
  }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
      sock_.close();
    }
  }

private:
  struct domain_state {
    std::set<std::string> keys;
    std::atomic<uint64_t> denied{0};
  };

  void run() {
    std::array<zmq::pollitem_t, 1> items{{{sock_.handle(), 0, ZMQ_POLLIN, 0}}};
    while (!stop_) {
      try {
        zmq::poll(items.data(), items.size(), 100ms);
        if ((items[0].revents & ZMQ_POLLIN) != 0)
          answer();
      } catch (const zmq::error_t& e) {
        if (e.num() == ETERM)
          return;
      }
    }
  }

  // Request: [version][id][domain][address][identity][mechanism][creds...]
  // Reply: [version][id][status code][status text][user id][metadata].
  void answer() {
    std::vector<zmq::message_t> req;
    bool more = true;
    while (more) {
      zmq::message_t m;
      if (!sock_.recv(m, zmq::recv_flags::dontwait))
        break;
      more = m.more();
      req.push_back(std::move(m));
    }
    std::string id = req.size() > 1 ? req[1].to_string() : std::string{};
    bool ok = decide(req);
    std::array<std::string, 6> reply{
      "1.0", id, ok ? "200" : "400", ok ? "OK" : "client key not allowed",
      "",    ""};
    for (size_t i = 0; i < reply.size(); ++i)
      sock_.send(zmq::buffer(reply[i]), i + 1 < reply.size()
                                          ? zmq::send_flags::sndmore
                                          : zmq::send_flags::none);
  }

  bool decide(const std::vector<zmq::message_t>& req) {
    if (req.size() < 6 || req[0].to_string_view() != "1.0")
      return false;
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = domains_.find(req[2].to_string_view());
    if (i == domains_.end())
      return false; // a socket we did not set up: refuse
    auto& d = *i->second;
    if (d.keys.empty())
      return true; // any CURVE client
    if (req[5].to_string_view() == "CURVE" && req.size() == 7 &&
        d.keys.count(req[6].to_string()) > 0)
      return true;
    d.denied.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  zmq::socket_t sock_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mtx_;
  std::map<std::string, std::unique_ptr<domain_state>, std::less<>> domains_;
};

socket_security::socket_security(zmq::context_t& ctx) : ctx_(&ctx) {}

socket_security::~socket_security() {
  stop();
}

void socket_security::apply(zmq::socket_t& s, const endpoint_config& ep) {
  auto& c = ep.curve;
  if (!c.enabled())
    return;
  if (c.server()) {
    if (!zap_)
      zap_ = std::make_unique<zap_handler>(*ctx_);
    zap_->allow(ep.name, c.allowed_clients);
    s.set(zmq::sockopt::zap_domain, ep.name);
    s.set(zmq::sockopt::curve_server, true);
    s.set(zmq::sockopt::curve_secretkey, c.secret_key);
    return;
  }
  auto secret = c.secret_key;
  auto pub = secret.empty() ? std::string{} : curve_public_key(secret);
  if (secret.empty()) {
    auto pair = make_curve_keypair();
    secret = pair.secret_key;
    pub = pair.public_key;
  }
  s.set(zmq::sockopt::curve_serverkey, c.server_key);
  s.set(zmq::sockopt::curve_publickey, pub);
  s.set(zmq::sockopt::curve_secretkey, secret);
}

uint64_t socket_security::denied(std::string_view endpoint) const {
  return zap_ ? zap_->denied(endpoint) : 0;
}

void socket_security::stop() {
  if (zap_)
    zap_->stop();
}

curve_keypair make_curve_keypair() {
  std::array<char, 41> pub{};
  std::array<char, 41> sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0)
    throw zmq::error_t{};
  return {pub.data(), sec.data()};
}

std::string curve_public_key(const std::string& secret_key) {
  std::array<char, 41> pub{};
  if (secret_key.size() != 40 ||
      zmq_curve_public(pub.data(), secret_key.c_str()) != 0)
    return {};
  return pub.data();
}

} // namespace troupe::bridge
