#include "troupe/actors/logging.hpp"

#include <algorithm>
#include <cctype>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "troupe/actors/detail/log_sinks.hpp"
#include "troupe/config/enum_names.hpp"

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

namespace {

constexpr const char* text_pattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v";

void set_format(spdlog::sinks::sink& sink, log_format format) {
  if (format == log_format::json)
    sink.set_formatter(std::make_unique<detail::json_log_formatter>());
  else
    sink.set_pattern(text_pattern);
}

} // namespace

std::optional<log_format> parse_log_format(std::string_view name) noexcept {
  constexpr enum_names<log_format, 2> names{{{
    {log_format::text, "text"},
    {log_format::json, "json"},
  }}};
  return names.parse(name);
}

std::shared_ptr<spdlog::logger> init_logging(spdlog::level::level_enum level) {
  log_options opts;
  opts.level = level;
  std::string ignored;
  return init_logging(opts, ignored);
}

std::shared_ptr<spdlog::logger> init_logging(const log_options& opts,
                                             std::string& error) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  std::shared_ptr<detail::log_file_sink> file;
  if (!opts.file.empty()) {
    try {
      file = std::make_shared<detail::log_file_sink>(opts.file, opts.max_size,
                                                     opts.max_files);
      sinks.push_back(file);
    } catch (const spdlog::spdlog_ex& e) {
      error = e.what();
    }
  }
  for (auto& sink : sinks)
    set_format(*sink, opts.format);
  auto log =
    std::make_shared<spdlog::logger>("troupe", sinks.begin(), sinks.end());
  log->set_level(opts.level);
  spdlog::set_default_logger(log);
  if (!opts.file.empty() && !file)
    return nullptr;
  return log;
}

std::string reopen_log_file() {
  // The file sink is one of the default logger's (service loggers share
  // the very same sink objects).
  for (auto& sink : spdlog::default_logger()->sinks()) {
    auto* file = dynamic_cast<detail::log_file_sink*>(sink.get());
    if (file == nullptr)
      continue;
    try {
      file->reopen();
    } catch (const spdlog::spdlog_ex& e) {
      return e.what();
    }
  }
  return {};
}

namespace {

std::vector<log_field>& thread_fields() {
  thread_local std::vector<log_field> fields;
  return fields;
}

} // namespace

log_fields::log_fields(std::initializer_list<log_field> xs)
  : size_before_(thread_fields().size()) {
  auto& fields = thread_fields();
  fields.insert(fields.end(), xs.begin(), xs.end());
}

log_fields::~log_fields() {
  thread_fields().resize(size_before_, log_field{"", ""});
}

const std::vector<log_field>& log_fields::current() noexcept {
  return thread_fields();
}

std::shared_ptr<spdlog::logger> make_service_logger(const std::string& name) {
  auto def = spdlog::default_logger();
  auto& sinks = def->sinks();
  auto log = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
  log->set_level(def->level());
  return log;
}

} // namespace troupe
