#pragma once

// Between the topic bus (topic_bus.cpp) and the service host
// (host_core_bus.cpp): how a subscriber's acknowledgement of a bus batch
// (`bus_batch::ack`) reaches its publisher, and how a batch that a failed
// or dead subscriber never handled goes back to the bus to be delivered
// again (docs/services.md, "Redelivery").

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/message_id.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include "troupe/actors/bus_batch.hpp"

namespace troupe::detail {

/// A `publish_batch` request: answered, with `(unrouted, lost)`, when the
/// last reference goes, i.e. once every subscriber it reached handled the
/// batches that share it, gave them back for redelivery and the copies
/// were handled in turn, or lost them (counted in `lost`). The answer goes
/// from whichever thread drops the last reference straight to the
/// publisher: a subscriber does not answer the bus, and the bus does not
/// wake up to pass the answer on.
struct publish_ack {
  /// Where the answer goes, and the request it answers.
  caf::strong_actor_ptr publisher;
  caf::message_id id;
  /// The sender of the answer.
  caf::strong_actor_ptr bus;
  /// Items of the batch that matched no subscriber: nothing took them.
  /// Written by the bus only.
  uint64_t unrouted = 0;
  /// Items that a subscriber lost without handling them and that could not
  /// be delivered again (see `bus_delivery`). Written from any thread.
  std::atomic<uint64_t> lost{0};
  /// The worker of the thread that drops the last reference, when known
  /// (see ack_from_here); else the scheduler's shared way in.
  caf::execution_unit* unit = nullptr;

  publish_ack() = default;
  publish_ack(const publish_ack&) = delete;
  publish_ack& operator=(const publish_ack&) = delete;
  ~publish_ack();
};

/// What `bus_batch::ack` points to: one subscriber's share of a publish's
/// acknowledgement, and what the bus needs to deliver the batch again when
/// that subscriber does not handle it.
///
/// A service host marks it `taken` when it accepts the batch (handles it,
/// or counts it lost by its own rules). A batch destroyed untaken (in the
/// mailbox of an actor that died, or kept back when the actor went) and a
/// batch that a failed host gives back (`give_back`) return to the bus as
/// `(bus_redeliver_atom, bus_batch)`, which hands it to the subscriber's
/// next instance (same name) or keeps it until that one subscribes.
struct bus_delivery {
  std::shared_ptr<publish_ack> ack;
  /// The bus, to give the batch back to.
  caf::actor_addr bus;
  /// The subscriber's service name; empty: not redelivered.
  std::string name;
  /// The actor the batch was delivered to.
  caf::actor_id to = 0;
  /// Deliveries so far: the batch is lost after `max_attempts`.
  uint8_t attempts = 1;
  /// The actor it went to had failed (not a candidate for the next try).
  bool from_failed = false;
  /// The subscriber accepted it: nothing to give back.
  bool taken = false;

  static constexpr uint8_t max_attempts = 4;
};

/// Sends `items` of `d`'s batch back to the bus for delivery to the next
/// instance of its subscriber; `failed`: the subscriber that gives them back
/// failed. Marks `d` taken. Counts them lost in the publisher's answer when
/// there is nothing to give back to (no bus, no name, or too many
/// attempts).
void give_back(bus_delivery& d, std::vector<bus_item> items, bool failed);

/// Counts `n` items of `d`'s batch lost (in the publisher's answer) and
/// marks it taken.
void count_lost(bus_delivery& d, uint64_t n) noexcept;

/// Called by the one who is about to drop `ack` on this thread (a host at
/// the end of a delivery, the bus at the end of a publish): when nobody
/// else holds it, the answer to the publisher will be sent from here, so
/// it goes through `unit` (this worker's queue, as a response would)
/// instead of the scheduler's shared way in, which may wake another
/// worker. Does nothing when others still hold `ack` or it is empty.
void ack_from_here(const std::shared_ptr<bus_delivery>& ack,
                   caf::execution_unit* unit);

} // namespace troupe::detail
