#pragma once

// Peer liveness (bridge_peers.cpp): who heartbeats to this bridge, on which
// link, and whether they are still heard. Not part of the public API.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace troupe {
class gauge;
} // namespace troupe

namespace troupe::bridge {
struct bridge_config;
} // namespace troupe::bridge

namespace troupe::bridge::detail {

struct endpoint_runtime;

/// One process (or foreign peer) that heartbeats to this bridge.
struct peer {
  /// When its last heartbeat arrived.
  std::chrono::steady_clock::time_point last;
  /// The endpoint that heard it last: the link that turns degraded.
  std::string link;
  /// Whether it was heard within `peer_timeout` at the last check.
  bool alive = true;
  /// Its `troupe_bridge_peer_alive{peer}` series.
  gauge* alive_gauge = nullptr;
  /// How often it went silent past `peer_timeout`.
  uint64_t losses = 0;
};

/// Every peer by `src`, and what heartbeats could not go out.
struct peer_table {
  std::map<std::string, peer> peers;
  /// This run's endpoints and settings (set by `start_liveness`).
  const std::vector<std::shared_ptr<endpoint_runtime>>* eps = nullptr;
  const bridge_config* cfg = nullptr;
  /// push endpoints: heartbeats ZMQ would not take at once (a full or
  /// absent peer); skipped, not queued, since a late one says nothing.
  uint64_t beats_skipped = 0;
};

} // namespace troupe::bridge::detail
