#pragma once

// What the bridge scenarios share (bridge_*.cpp): the wire conventions, the
// receiving side's bookkeeping and the measuring loops, and the four
// measurements the scenario table alternates. No CAF and no ZMQ in here:
// the raw side and the scenario table compile without them.
//
// Messages are two frames, [topic][payload], on both sides. The payload is
// `size` bytes whose first 8 carry a sequence number; troupe publishes it as
// a `bridge::envelope` over endpoints with `codec = "raw"`, so the bridge
// passes the bytes through and no JSON is encoded or parsed. Receivers check
// the order and count what never arrived.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "report.hpp"

namespace troupe::bench {

class line_channel;
class temp_dir;

/// The sequence number of warm-up messages (never counted).
constexpr uint64_t warm_seq = UINT64_MAX;

/// Same high-water mark on both sides: the bridge's endpoint default.
constexpr int hwm = 10000;

/// Topic of the throughput messages.
inline const std::string data_topic = "bench.t";
/// Topic of the latency pings.
inline const std::string ping_topic = "ping.t";
/// Topic of the latency pongs.
inline const std::string pong_topic = "pong.t";

/// How long a peer may take to say "ready".
constexpr std::chrono::milliseconds ready_timeout{30'000};
/// How long a warm-up message may take to come through end to end.
constexpr std::chrono::seconds warm_timeout{20};
/// How long one measured flow may take.
constexpr std::chrono::seconds flow_timeout{120};
/// After the sender said it is done, how long the receiver waits without
/// progress before counting the rest as lost.
constexpr std::chrono::milliseconds settle_time{1000};

/// Returns steady_clock now in nanoseconds.
inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

/// Returns the microseconds elapsed since `t0`.
inline double elapsed_us(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(
           std::chrono::steady_clock::now() - t0)
    .count();
}

/// Returns `size` bytes whose first 8 carry `seq`.
inline std::string make_payload(size_t size, uint64_t seq) {
  std::string out(size, 'x');
  std::memcpy(out.data(), &seq, sizeof(seq));
  return out;
}

/// Writes `seq` into the first 8 bytes of `payload`.
inline void set_seq(std::string& payload, uint64_t seq) {
  std::memcpy(payload.data(), &seq, sizeof(seq));
}

/// Reads the sequence number from the first 8 bytes at `data`.
inline uint64_t get_seq(const void* data) {
  uint64_t seq = 0;
  std::memcpy(&seq, data, sizeof(seq));
  return seq;
}

// -- what is measured ---------------------------------------------------------

/// The ZMQ socket pair of a throughput flow.
enum class pattern { push_pull, pub_sub };

/// Returns "push_pull" or "pub_sub".
inline std::string to_string(pattern p) {
  return p == pattern::push_pull ? "push_pull" : "pub_sub";
}

/// The inverse of `to_string`; throws on anything else.
pattern parse_pattern(const std::string& s);

/// One throughput measurement: `n` messages of `size` bytes.
struct flow {
  pattern pat = pattern::push_pull;
  std::string transport; // "tcp" or "ipc"
  size_t size = 16;
  uint64_t n = 0;
  /// troupe side: the bulk path (the sender publishes envelope_batch and
  /// the receiver subscribes to envelope_batch) instead of one envelope per
  /// message at both ends. The wire traffic is the same.
  bool bulk = false;
  /// troupe side: whether the receiving endpoint has batch = true (the
  /// receiver's `subscribe<envelope>` handler then takes the batches one
  /// envelope at a time); false is the endpoint default, one envelope and
  /// one actor message per ZMQ message.
  bool batched_in = true;
};

/// Where the measuring side binds: a free port chosen by the kernel (read
/// back after bind), or a socket file under `dir`.
std::string bind_address(const std::string& transport, const temp_dir& dir,
                         const std::string& name);

// -- the receiving side's bookkeeping -----------------------------------------

/// The first failure seen on an actor thread, for the measuring thread.
class failure_note {
public:
  /// Records `why` unless a failure is already recorded.
  void fail(std::string why) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (error_.empty())
      error_ = std::move(why);
  }

  /// Returns the recorded failure, or an empty string.
  std::string failure() {
    std::lock_guard<std::mutex> guard{mtx_};
    return error_;
  }

private:
  std::mutex mtx_;
  std::string error_;
};

/// Written by whoever receives (an actor thread, or the measuring thread for
/// raw), read by the measuring thread.
struct rx_progress : failure_note {
  rx_progress(uint64_t n, size_t size) : n(n), size(size) {}

  const uint64_t n;
  const size_t size;
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> warm{0};
  /// steady_clock ns when the last message (sequence n - 1) arrived.
  std::atomic<int64_t> complete_ns{0};
  /// Receiver only: the sequence number expected next.
  uint64_t next = 0;

  /// Takes one payload. Gaps are losses (counted by the caller as n -
  /// received); anything out of order or malformed fails the run.
  void on(const void* data, size_t len);
};

/// Waits (up to a time-out) for input and handles it.
using step_fn = std::function<void(std::chrono::milliseconds)>;

/// Steps until a warm-up message came through the whole path (the PUB/SUB
/// subscription, or the PUSH/PULL connection, is established end to end).
void await_warm(rx_progress& p, line_channel& ch, const step_fn& step);

/// What one throughput measurement found.
struct flow_outcome {
  double rate = 0;
  uint64_t lost = 0;
};

/// Sends "go", then steps until the last message arrived, or the sender is
/// done and nothing came for `settle_time` (the rest is lost). Returns the
/// rate over the time from "go" to the last arrival. Throws when the sender
/// reports drops, unless `sender_may_drop` (a PUB sending past a stalled
/// subscriber).
flow_outcome receive_flow(rx_progress& p, line_channel& ch, const step_fn& step,
                          pattern pat, const std::string& side,
                          bool sender_may_drop = false);

/// One latency measurement: `warm` unrecorded round trips, then `n`
/// recorded ones.
struct ping_plan {
  uint64_t warm = 0; // unrecorded round trips first
  uint64_t n = 0;    // recorded round trips
  size_t size = 16;
};

/// Round trips in microseconds, in order.
using rtts = std::vector<double>;

// -- the measurements (the measuring side; the peer is bridge_peer.cpp) -------

/// Raw cppzmq receives `f` from a raw peer (bridge_raw.cpp).
flow_outcome raw_throughput(const flow& f);

/// A troupe node receives `f` from a troupe peer (bridge_troupe.cpp).
flow_outcome troupe_throughput(const run_options& opts, const flow& f);

/// Raw cppzmq ping-pong with a raw echo peer (bridge_raw.cpp).
rtts raw_ping(const std::string& transport, const ping_plan& plan);

/// A pinger service's ping-pong with a troupe echo peer (bridge_troupe.cpp).
rtts troupe_ping(const run_options& opts, const std::string& transport,
                 const ping_plan& plan);

} // namespace troupe::bench
