#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/message.hpp>

namespace troupe {

namespace detail {
struct bus_delivery;
} // namespace detail

/// One message on the local topic bus: its topic and the message itself.
struct bus_item {
  /// The topic it was published under.
  std::string topic;
  /// The published message (e.g. one `bridge::envelope`).
  caf::message msg;
};

/// Several bus messages carried by one actor message: the bus delivers
/// them to a subscriber that asked for batches as
/// `(deliver_batch_atom, bus_batch)`, and a publisher may hand it many at
/// once as `(publish_batch_atom, bus_batch)`. Items keep their order.
struct bus_batch {
  /// The messages, in publishing order.
  std::vector<bus_item> items;
  /// When the bus sent it to a subscriber (steady clock, nanoseconds since
  /// its epoch; 0 when unknown): how long it waited in the subscriber's
  /// mailbox (`troupe_service_mailbox_wait_seconds`).
  int64_t sent_ns = 0;
  /// Set by the bus on a batch it delivers for a publisher that waits for
  /// its items to be taken (`service::publish_batch(batch, on_taken)`, and
  /// every plain `publish`): the publisher hears back once the last copy
  /// of this, in every batch and `delivery_hold` sharing it, is gone. So
  /// a subscriber acknowledges by dropping the batch (or the hold it took)
  /// and sends nothing back to the bus. Empty when nobody waits; ignored on
  /// a batch handed to the bus. A batch with one that its subscriber never
  /// accepted (its actor died with the batch in its mailbox) goes back to
  /// the bus when destroyed, to be delivered again (docs/services.md,
  /// "Redelivery").
  std::shared_ptr<detail::bus_delivery> ack = nullptr;

  bus_batch() = default;
  bus_batch(std::vector<bus_item> xs, int64_t sent = 0,
            std::shared_ptr<detail::bus_delivery> a = nullptr) noexcept
    : items(std::move(xs)), sent_ns(sent), ack(std::move(a)) {}
  bus_batch(const bus_batch&) = default;
  bus_batch(bus_batch&&) noexcept = default;
  bus_batch& operator=(const bus_batch&) = default;
  bus_batch& operator=(bus_batch&&) noexcept = default;
  ~bus_batch();
};

} // namespace troupe

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::bus_batch)
