#pragma once

// The pieces behind init_logging(const log_options&): a JSON-lines
// formatter and a log file sink that rotates by size and reopens on demand.
// Included by logging.cpp and its tests only.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/details/file_helper.h>
#include <spdlog/formatter.h>
#include <spdlog/sinks/base_sink.h>

namespace troupe::detail {

/// Formats one record as one JSON object on one line:
/// `{"time":"2026-12-06T15:50:01.123+01:00","level":"info","service":"tick",
/// "message":"...","fields":{"pid":42,"thread":43}}`. Strings are escaped
/// (quotes, backslashes, control characters; invalid UTF-8 becomes U+FFFD).
class json_log_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

/// Appends `text` to `out` as the inside of a JSON string.
void append_json_escaped(std::string_view text, spdlog::memory_buf_t& out);

/// Writes to a file, flushed after every record. When `max_size` > 0 and a
/// record would grow the file past it, the file is renamed to `NAME.1.EXT`
/// (older ones to `.2`, ... up to `max_files`, the oldest dropped) and a
/// new one is started. `reopen()` closes and reopens the file by name, for
/// an external logrotate that moved it away.
class log_file_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  /// Opens (appends to) `file`; throws spdlog::spdlog_ex when it cannot.
  log_file_sink(std::string file, size_t max_size, size_t max_files);

  /// Reopens the file by its name (a new file if it was moved away).
  /// Throws spdlog::spdlog_ex when it cannot.
  void reopen();

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

private:
  void rotate();

  std::string file_;
  size_t max_size_;
  size_t max_files_;
  size_t size_ = 0;
  spdlog::details::file_helper helper_;
};

} // namespace troupe::detail
