#pragma once

#include <memory>

namespace troupe {

/// Holds back the acknowledgement of one bus batch that a publisher sent
/// with `service::publish_batch(batch, on_taken)`: the publisher's
/// `on_taken` runs only once every hold of every subscriber is gone. A
/// subscriber whose own output is full (the bridge with ZeroMQ at its
/// high-water mark) takes a hold and releases it once it caught up, which
/// holds the publisher back instead of letting queues grow. Copies share
/// one hold; it ends when the last copy is released or destroyed. Holds
/// belong to their service's actor: create, copy and drop them only inside
/// its handlers.
class delivery_hold {
public:
  delivery_hold() = default;

  /// Wraps `ack`, which sends the acknowledgement when destroyed.
  explicit delivery_hold(std::shared_ptr<void> ack) : ack_(std::move(ack)) {}

  /// Ends this copy's share of the hold.
  void release() noexcept { ack_.reset(); }

  /// Whether this copy still holds an acknowledgement back.
  explicit operator bool() const noexcept { return ack_ != nullptr; }

  /// Whether both copies hold the same acknowledgement.
  friend bool operator==(const delivery_hold& x,
                         const delivery_hold& y) noexcept {
    return x.ack_ == y.ack_;
  }

  /// Whether the copies hold different acknowledgements.
  friend bool operator!=(const delivery_hold& x,
                         const delivery_hold& y) noexcept {
    return !(x == y);
  }

private:
  std::shared_ptr<void> ack_;
};

} // namespace troupe
