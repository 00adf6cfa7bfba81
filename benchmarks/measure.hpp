#pragma once

// Measurement helpers shared by the scenarios. No CAF in here: this header is
// cheap to include.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace troupe::bench {

/// Wall time since construction.
class stopwatch {
public:
  stopwatch() : start_(std::chrono::steady_clock::now()) {}

  /// Returns the seconds elapsed since construction.
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start_)
      .count();
  }

private:
  std::chrono::steady_clock::time_point start_;
};

/// Counts arrivals from actor threads; the measuring thread waits for the
/// last one. An actor that sees something wrong calls `abort(why)`, which
/// wakes the waiter at once so that a broken scenario fails instead of
/// hanging.
class countdown {
public:
  explicit countdown(uint64_t n) : remaining_(n) {}

  countdown(const countdown&) = delete;
  countdown& operator=(const countdown&) = delete;

  /// Counts one arrival.
  void arrive();

  /// Records a failure (the first one wins) and wakes the waiter.
  void abort(std::string why);

  /// Waits until every arrival came, a failure was recorded, or `timeout`
  /// passed. Throws `std::runtime_error` naming `what` on failure or timeout.
  void wait(const std::string& what,
            std::chrono::seconds timeout = std::chrono::seconds{120});

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  uint64_t remaining_;
  std::string failure_;
};

/// Returns the heap bytes in use by this process, over all arenas (glibc
/// `mallinfo2`: allocated chunks plus mmapped blocks; in an ASan build, the
/// live bytes ASan's allocator counts). Unlike VmRSS it counts an allocation
/// whether or not it reuses memory that was already resident, so a delta
/// over live actors is their heap cost.
uint64_t live_heap_bytes();

/// Returns the `p`-th percentile (0 < p <= 100, nearest rank) of `xs`.
/// Sorts `xs`. Throws on an empty input.
double percentile(std::vector<double>& xs, double p);

/// Throws `std::runtime_error("<what>: expected <want>, got <got>")` unless
/// `got == want`.
void expect_count(const std::string& what, uint64_t want, uint64_t got);

} // namespace troupe::bench
