#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/common.h>
#include <spdlog/logger.h>

namespace troupe {

/// Parses a log level name: trace, debug, info, warn (or warning), error,
/// critical, off; case-insensitive. Nothing for anything else (spdlog's own
/// parser silently answers `off`).
std::optional<spdlog::level::level_enum>
parse_log_level(std::string_view name) noexcept;

/// Makes a colored stderr logger named "troupe" spdlog's default, at `level`,
/// with the pattern `HH:MM:SS.mmm level [logger] message`. Service loggers
/// created afterwards write to the same sink. Returns the default logger.
std::shared_ptr<spdlog::logger>
init_logging(spdlog::level::level_enum level = spdlog::level::info);

/// Creates the logger of one service: named after it, writing to the sinks
/// of spdlog's default logger, at the default logger's level. Not registered
/// in spdlog's registry, so restarted services never collide on names.
std::shared_ptr<spdlog::logger> make_service_logger(const std::string& name);

} // namespace troupe
