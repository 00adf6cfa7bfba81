#include "troupe/actors/logging.hpp"

#include <algorithm>
#include <cctype>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace troupe {

std::optional<spdlog::level::level_enum>
parse_log_level(std::string_view name) noexcept {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  using namespace spdlog::level;
  if (lower == "trace")
    return trace;
  if (lower == "debug")
    return debug;
  if (lower == "info")
    return info;
  if (lower == "warn" || lower == "warning")
    return warn;
  if (lower == "error" || lower == "err")
    return err;
  if (lower == "critical")
    return critical;
  if (lower == "off")
    return off;
  return std::nullopt;
}

std::shared_ptr<spdlog::logger> init_logging(spdlog::level::level_enum level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto log = std::make_shared<spdlog::logger>("troupe", sink);
  log->set_level(level);
  log->set_pattern("%H:%M:%S.%e %^%-5l%$ [%n] %v");
  spdlog::set_default_logger(log);
  return log;
}

std::shared_ptr<spdlog::logger> make_service_logger(const std::string& name) {
  auto def = spdlog::default_logger();
  auto& sinks = def->sinks();
  auto log = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
  log->set_level(def->level());
  return log;
}

} // namespace troupe
