#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "troupe/bridge/bag.hpp"

namespace troupe::bridge {

/// Records messages into a bag on a thread of its own, behind a bounded
/// queue: push() never waits for the disk. What does not fit in the queue,
/// and what arrives after a write error, is dropped and counted.
///
/// ```cpp
/// std::string err;
/// auto rec = bag_recorder::start({"run.bag"}, err);
/// rec->push("orders.new", R"({"id": 1})", "", false, now_ns);
/// auto s = rec->stats(); // written, dropped, ...
/// err = rec->stop();     // writes what is queued, closes the file
/// ```
class bag_recorder {
public:
  struct options {
    std::string path;
    bag_limits limits;
    bool overwrite = false;
    /// Written into the header (`source`), e.g. the endpoint address.
    std::string source;
    /// Most messages and bytes waiting for the writer thread.
    size_t max_queued = 100000;
    size_t max_queued_bytes = size_t{64} << 20;
  };

  /// Counters; every one only grows.
  struct counters {
    uint64_t written = 0;
    uint64_t written_bytes = 0;
    /// Dropped because the queue was full.
    uint64_t dropped_full = 0;
    /// Dropped because writing failed (see error).
    uint64_t dropped_error = 0;
    uint64_t queued = 0;
    uint64_t files = 0;
    std::string file;
    /// The first write error, or "".
    std::string error;
  };

  /// Creates the bag and starts the writer thread; nullptr and `err` when
  /// the file cannot be created.
  static std::unique_ptr<bag_recorder> start(options opts, std::string& err);

  ~bag_recorder();
  bag_recorder(const bag_recorder&) = delete;
  bag_recorder& operator=(const bag_recorder&) = delete;

  /// Queues one message; false (and counted) when it was dropped. Takes a
  /// mutex only to append to the queue.
  bool push(std::string_view topic, std::string_view payload,
            std::string_view meta, bool has_meta, int64_t recv_ns);

  /// A snapshot of the counters.
  counters stats() const;

  /// Messages dropped so far, without a lock.
  uint64_t dropped() const noexcept {
    return dropped_full_.load(std::memory_order_relaxed) +
           dropped_error_.load(std::memory_order_relaxed);
  }

  /// Writes what is queued, closes the file and joins the thread. Returns
  /// the first error, or "". Idempotent.
  std::string stop();

private:
  explicit bag_recorder(options opts, std::unique_ptr<bag_writer> w);
  void run();

  options opts_;
  std::unique_ptr<bag_writer> writer_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<bag_message> queue_;
  size_t queued_bytes_ = 0;
  bool stopping_ = false;
  bool failed_ = false;
  std::string error_;
  std::string file_;
  uint64_t files_ = 1;
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> written_bytes_{0};
  std::atomic<uint64_t> dropped_full_{0};
  std::atomic<uint64_t> dropped_error_{0};
  std::thread thread_;
};

} // namespace troupe::bridge
