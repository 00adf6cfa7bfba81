#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "troupe/bridge/transport.hpp"

namespace troupe::bridge {

/// An in-memory transport for tests: no sockets, no ZeroMQ. Each endpoint
/// the bridge opens gets a `fake_endpoint` under its name, through which a
/// test feeds input and takes output.
///
/// ```
/// auto net = std::make_shared<fake_transport>();
/// spawn_service<bridge_service>(sys, opts, net);   // configure, start ...
/// net->endpoint("in")->inject({"t.a", "{}"});
/// net->endpoint("out")->set_capacity(0);          // "would block" from now
/// ```
class fake_transport final : public transport {
public:
  /// One endpoint's two queues. Thread-safe.
  class fake_endpoint {
  public:
    /// Queues `m` as received from a peer; wakes the bridge's receiver.
    void inject(multipart m);

    /// Lets `n` more messages be sent before sends report "would block";
    /// unlimited when never called.
    void set_capacity(size_t n);

    /// Takes the oldest message the bridge sent (frees capacity).
    std::optional<multipart> take();

    /// Waits up to `timeout` for a message the bridge sent, then takes it.
    std::optional<multipart> take_within(std::chrono::milliseconds timeout);

    /// How many messages the bridge sent and nobody took yet.
    size_t sent_count();

    /// How many messages the bridge sent past this endpoint while it was
    /// full (`send_past_full`): the fake's one peer missed them.
    size_t missed_count();

  private:
    friend class fake_transport;
    std::mutex mtx_;
    std::condition_variable cv_;
    std::deque<multipart> in_;
    std::deque<multipart> out_;
    std::optional<size_t> capacity_;
    size_t missed_ = 0;
    fake_transport* net_ = nullptr;
  };

  /// The endpoint named `name`, created on first use (before or after the
  /// bridge opens it).
  std::shared_ptr<fake_endpoint> endpoint(const std::string& name);

  /// Makes `open` fail for the endpoint named `name` with `error`.
  void fail_open(const std::string& name, std::string error);

  std::unique_ptr<endpoint_socket> open(const endpoint_config& cfg,
                                        std::string& error) override;
  void wait(const std::vector<endpoint_socket*>& socks,
            std::chrono::milliseconds timeout,
            std::vector<char>& ready) override;
  void wake() override;
  void close() override;

private:
  void notify();

  std::mutex mtx_;
  std::condition_variable cv_;
  uint64_t events_ = 0;
  /// `events_` when the last `wait` began or ended.
  uint64_t seen_ = 0;
  std::map<std::string, std::shared_ptr<fake_endpoint>> eps_;
  std::map<std::string, std::string> failures_;
};

} // namespace troupe::bridge
