#pragma once

// The last lines of the log, kept in memory for the dashboard (GET /logs).
// No CAF: an spdlog sink and a JSON view of what it holds.
//
// ```
// auto ring = std::make_shared<troupe::app::log_ring>(500);
// spdlog::default_logger()->sinks().push_back(ring); // before other threads
// ...
// nlohmann::json last = ring->tail(50);  // {"lines": [...], "total": N}
// ```

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

namespace troupe::app {

/// An spdlog sink that keeps the most recent `capacity` records (time,
/// level, logger name, message), dropping the oldest. Thread-safe; logging
/// through it never throws. Records of the logger "control" at debug level
/// or below (one per HTTP request) are not kept, so that a dashboard polling
/// the control plane does not fill the tail with its own requests.
class log_ring final
  : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
public:
  /// One kept record.
  struct line {
    /// Wall-clock time of the record, milliseconds since the epoch.
    int64_t at_ms = 0;
    spdlog::level::level_enum level = spdlog::level::info;
    std::string logger;
    std::string message;
  };

  /// Keeps at most `capacity` records (at least 1).
  explicit log_ring(size_t capacity = 500);

  /// The last `n` records, oldest first, as
  /// `{"lines": [{"at": "2026-11-23T14:10:55.123Z", "level": "info",
  /// "logger": "tick", "message": "..."}], "total": N, "capacity": C}`;
  /// `total` counts every record kept since the start, so a reader sees
  /// how many it missed between two calls.
  nlohmann::json tail(size_t n) const;

  /// How many records are held now.
  size_t size() const;

  /// A message longer than this is cut, with "..." appended.
  static constexpr size_t max_message_bytes = 2048;

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

private:
  // Guards the records (the base's mutex is a no-op: tail() reads too).
  mutable std::mutex mtx_;
  size_t capacity_;
  std::deque<line> lines_;
  uint64_t total_ = 0;
};

} // namespace troupe::app
