#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <spdlog/common.h>
#include <spdlog/logger.h>

namespace troupe {

/// Parses a log level name: trace, debug, info, warn (or warning), error,
/// critical, off; case-insensitive. Nothing for anything else (spdlog's own
/// parser silently answers `off`).
std::optional<spdlog::level::level_enum>
parse_log_level(std::string_view name) noexcept;

/// Makes a colored stderr logger named "troupe" spdlog's default, at `level`,
/// with the pattern `YYYY-MM-DD HH:MM:SS.mmm level [logger] message`.
/// Service loggers created afterwards write to the same sink. Returns the
/// default logger.
std::shared_ptr<spdlog::logger>
init_logging(spdlog::level::level_enum level = spdlog::level::info);

/// How log records are written (`app.log_format`).
enum class log_format {
  /// `2026-12-06 15:50:01.123 info  [tick] message`
  text,
  /// One JSON object per line: time (ISO 8601, local time with its
  /// offset), level, service, message, fields (pid, thread and those of
  /// `log_fields`).
  json,
};

/// Parses "text" or "json"; nothing for anything else.
std::optional<log_format> parse_log_format(std::string_view name) noexcept;

/// Where and how the app logs (`app.log_*`).
struct log_options {
  spdlog::level::level_enum level = spdlog::level::info;
  log_format format = log_format::text;
  /// Also write to this file (appended to); empty: stderr only.
  std::string file;
  /// Rotate the file once it would grow past this many bytes; 0: never
  /// (leave it to logrotate and `reopen_log_file`).
  size_t max_size = 0;
  /// Rotated files kept (`app.1.log` ... `app.N.log`).
  size_t max_files = 5;
};

/// Like `init_logging(level)`, with a format and an optional log file.
/// Returns the default logger, or null with `error` set when the file cannot
/// be opened (the stderr logger is installed anyway).
std::shared_ptr<spdlog::logger> init_logging(const log_options& opts,
                                             std::string& error);

/// Closes and reopens the log file of `init_logging(opts, error)` by name,
/// e.g. after logrotate moved it away (SIGHUP). Returns an error message, or
/// an empty string on success or when there is no log file.
std::string reopen_log_file();

/// One structured field of a log record: a key and a string or integer.
struct log_field {
  log_field(std::string_view key, std::string_view value)
    : key(key), value(value) {}
  log_field(std::string_view key, const char* value) : key(key), value(value) {}
  log_field(std::string_view key, const std::string& value)
    : key(key), value(value) {}
  template <class T, class = std::enable_if_t<std::is_integral_v<T>>>
  log_field(std::string_view key, T value)
    : key(key), value(std::to_string(value)), number(true) {}
  std::string key;
  std::string value;
  bool number = false;
};

/// Structured fields for the records this thread logs while the object
/// lives (scopes nest; the innermost key wins). `log_format = "json"`
/// writes them into each record's `fields` object; text lines leave them
/// out (the message says it in words):
///
/// ```
/// troupe::log_fields f{{"endpoint", "in"}, {"reason", "protocol"}};
/// log->warn("endpoint '{}': handshake failed", "in");
/// ```
class log_fields {
public:
  log_fields(std::initializer_list<log_field> xs);
  ~log_fields();
  log_fields(const log_fields&) = delete;
  log_fields& operator=(const log_fields&) = delete;

  /// The fields in effect on this thread, outermost first.
  static const std::vector<log_field>& current() noexcept;

private:
  size_t size_before_;
};

/// Creates the logger of one service: named after it, writing to the sinks
/// of spdlog's default logger, at the default logger's level. Not registered
/// in spdlog's registry, so restarted services never collide on names.
std::shared_ptr<spdlog::logger> make_service_logger(const std::string& name);

} // namespace troupe
