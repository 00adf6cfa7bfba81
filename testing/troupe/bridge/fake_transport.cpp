#include "troupe/bridge/fake_transport.hpp"

#include <functional>

namespace troupe::bridge {

namespace {

class fake_socket final : public endpoint_socket {
public:
  using fake_endpoint = fake_transport::fake_endpoint;

  fake_socket(
    std::shared_ptr<fake_endpoint> ep, std::string address,
    std::function<bool(fake_endpoint&, multipart, bool)> send,
    std::function<size_t(fake_endpoint&, std::vector<multipart>&, size_t)> recv)
    : ep_(std::move(ep)), address_(std::move(address)), send_(std::move(send)),
      recv_(std::move(recv)) {}

  bool try_send(const std::string_view* parts, size_t n) override {
    return send_(*ep_, multipart(parts, parts + n), false);
  }

  bool send_past_full(const std::string_view* parts, size_t n) override {
    return send_(*ep_, multipart(parts, parts + n), true);
  }

  size_t receive(std::vector<multipart>& out, size_t max) override {
    return recv_(*ep_, out, max);
  }

  std::string address() const override { return address_; }

  void close() override {}

  fake_endpoint* endpoint() const { return ep_.get(); }

private:
  std::shared_ptr<fake_endpoint> ep_;
  std::string address_;
  std::function<bool(fake_endpoint&, multipart, bool)> send_;
  std::function<size_t(fake_endpoint&, std::vector<multipart>&, size_t)> recv_;
};

} // namespace

void fake_transport::fake_endpoint::inject(multipart m) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    in_.push_back(std::move(m));
  }
  if (net_ != nullptr)
    net_->notify();
}

void fake_transport::fake_endpoint::set_capacity(size_t n) {
  std::lock_guard<std::mutex> guard{mtx_};
  capacity_ = n;
}

std::optional<multipart> fake_transport::fake_endpoint::take() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (out_.empty())
    return std::nullopt;
  auto m = std::move(out_.front());
  out_.pop_front();
  if (capacity_)
    ++*capacity_;
  return m;
}

std::optional<multipart>
fake_transport::fake_endpoint::take_within(std::chrono::milliseconds timeout) {
  {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, timeout, [this] { return !out_.empty(); }))
      return std::nullopt;
  }
  return take();
}

size_t fake_transport::fake_endpoint::sent_count() {
  std::lock_guard<std::mutex> guard{mtx_};
  return out_.size();
}

size_t fake_transport::fake_endpoint::missed_count() {
  std::lock_guard<std::mutex> guard{mtx_};
  return missed_;
}

std::shared_ptr<fake_transport::fake_endpoint>
fake_transport::endpoint(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& ep = eps_[name];
  if (!ep) {
    ep = std::make_shared<fake_endpoint>();
    ep->net_ = this;
  }
  return ep;
}

void fake_transport::fail_open(const std::string& name, std::string error) {
  std::lock_guard<std::mutex> guard{mtx_};
  failures_[name] = std::move(error);
}

std::unique_ptr<endpoint_socket>
fake_transport::open(const endpoint_config& cfg, std::string& error) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = failures_.find(cfg.name); i != failures_.end()) {
      error = i->second;
      return nullptr;
    }
  }
  // past_full: the fake's one peer misses what it has no room for.
  auto send = [](fake_endpoint& ep, multipart m, bool past_full) {
    {
      std::lock_guard<std::mutex> guard{ep.mtx_};
      if (ep.capacity_) {
        if (*ep.capacity_ == 0) {
          ep.missed_ += past_full ? 1 : 0;
          return past_full;
        }
        --*ep.capacity_;
      }
      ep.out_.push_back(std::move(m));
    }
    ep.cv_.notify_all();
    return true;
  };
  auto recv = [](fake_endpoint& ep, std::vector<multipart>& out, size_t max) {
    std::lock_guard<std::mutex> guard{ep.mtx_};
    size_t k = 0;
    for (; k < max && !ep.in_.empty(); ++k) {
      if (out.size() <= k)
        out.emplace_back();
      out[k] = std::move(ep.in_.front());
      ep.in_.pop_front();
    }
    return k;
  };
  auto address =
    "fake://" + (cfg.bind.empty() ? cfg.connect.front() : cfg.bind);
  return std::make_unique<fake_socket>(endpoint(cfg.name), std::move(address),
                                       send, recv);
}

void fake_transport::wait(const std::vector<endpoint_socket*>& socks,
                          std::chrono::milliseconds timeout,
                          std::vector<char>& ready) {
  auto scan = [&] {
    bool any = false;
    for (size_t i = 0; i < socks.size(); ++i) {
      auto* ep = static_cast<fake_socket*>(socks[i])->endpoint();
      std::lock_guard<std::mutex> guard{ep->mtx_};
      ready[i] = ep->in_.empty() ? 0 : 1;
      any = any || ready[i] != 0;
    }
    return any;
  };
  ready.assign(socks.size(), 0);
  // A wake-up (or input) since the last wait ends this one at once, as a
  // ZeroMQ wake-up does: none is lost between two waits.
  std::unique_lock<std::mutex> guard{mtx_};
  auto seen = seen_;
  seen_ = events_;
  guard.unlock();
  if (scan())
    return;
  guard.lock();
  cv_.wait_for(guard, timeout, [&] { return events_ != seen; });
  seen_ = events_;
  guard.unlock();
  scan();
}

void fake_transport::wake() {
  notify();
}

void fake_transport::close() {}

void fake_transport::notify() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    ++events_;
  }
  cv_.notify_all();
}

} // namespace troupe::bridge
