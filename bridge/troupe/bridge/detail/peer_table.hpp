#pragma once

// Peer liveness (bridge_peers.cpp): who heartbeats to this bridge, on which
// link, and whether they are still heard. Not part of the public API.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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
  /// How often it went silent past `peer_timeout`, or restarted.
  uint64_t losses = 0;
  /// The `run` of its heartbeats: which process sends under this `src`
  /// (empty for a peer that sends none).
  std::string run;
  /// The `ts` of the first beat heard from `run` (0: none given).
  int64_t run_since = 0;
  /// Runs it had before (a restart replaced them), the latest last; at
  /// most `max_replaced_runs`. A beat from one of them means two live
  /// processes share the `src`.
  std::vector<std::string> replaced;
  /// When a beat from a replaced run last came, while that goes on.
  std::optional<std::chrono::steady_clock::time_point> conflict;
};

/// How many replaced runs a peer remembers.
constexpr size_t max_replaced_runs = 8;

/// A peer that said goodbye (stopped on purpose): heartbeats it sent
/// before that (`ts` up to the goodbye's), still on their way on another
/// link, must not bring it back.
struct goodbye {
  /// The goodbye's `ts` (the peer's clock), 0 when it had none.
  int64_t ts = 0;
  /// When it arrived (such entries are forgotten after a while).
  std::chrono::steady_clock::time_point at;
};

/// `troupe_bridge_peer_alive{peer,endpoint}`: written by the actor, read by
/// the metrics collector on the control plane's thread. A series goes away
/// with a peer that said goodbye. `endpoint` is the link that heard the
/// peer last.
struct peer_series {
  struct sample {
    std::string link;
    double value = 0;
  };
  std::mutex mtx;
  std::map<std::string, sample> alive;

  void set(const std::string& src, const std::string& link, double x) {
    std::lock_guard<std::mutex> guard{mtx};
    alive[src] = sample{link, x};
  }

  void erase(const std::string& src) {
    std::lock_guard<std::mutex> guard{mtx};
    alive.erase(src);
  }
};

/// Every peer by `src`, and what heartbeats could not go out.
struct peer_table {
  std::map<std::string, peer> peers;
  /// Peers that said goodbye, by `src`.
  std::map<std::string, goodbye> gone;
  /// Goodbyes heard (each peer's first copy).
  uint64_t goodbyes = 0;
  /// Heartbeats from a replaced run of a peer (two processes, one `src`).
  uint64_t src_conflicts = 0;
  std::shared_ptr<peer_series> series = std::make_shared<peer_series>();
  /// This run's endpoints and settings (set by `start_liveness`).
  const std::vector<std::shared_ptr<endpoint_runtime>>* eps = nullptr;
  const bridge_config* cfg = nullptr;
  /// push endpoints: heartbeats ZMQ would not take at once (a full or
  /// absent peer); skipped, not queued, since a late one says nothing.
  uint64_t beats_skipped = 0;
};

} // namespace troupe::bridge::detail
