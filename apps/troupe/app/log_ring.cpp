#include "troupe/app/log_ring.hpp"

#include <algorithm>
#include <chrono>

#include "troupe/app/status_json.hpp"

namespace troupe::app {

log_ring::log_ring(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {
  // Only the message is kept; the time, level and logger have their own
  // fields.
  set_pattern("%v");
}

void log_ring::sink_it_(const spdlog::details::log_msg& msg) {
  if (msg.level <= spdlog::level::debug && msg.logger_name == "control")
    return;
  line x;
  x.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              msg.time.time_since_epoch())
              .count();
  x.level = msg.level;
  x.logger.assign(msg.logger_name.data(), msg.logger_name.size());
  auto text = std::string_view{msg.payload.data(), msg.payload.size()};
  if (text.size() > max_message_bytes) {
    x.message.assign(text.substr(0, max_message_bytes));
    x.message += "...";
  } else {
    x.message.assign(text);
  }
  std::lock_guard<std::mutex> guard{mtx_};
  if (lines_.size() == capacity_)
    lines_.pop_front();
  lines_.push_back(std::move(x));
  ++total_;
}

nlohmann::json log_ring::tail(size_t n) const {
  auto out = nlohmann::json::array();
  uint64_t total = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    total = total_;
    auto first = lines_.size() - std::min(n, lines_.size());
    for (auto i = first; i < lines_.size(); ++i) {
      auto& x = lines_[i];
      auto lvl = spdlog::level::to_string_view(x.level);
      out.push_back(
        {{"at", format_iso8601(timestamp{std::chrono::milliseconds{x.at_ms}})},
         {"level", std::string{lvl.data(), lvl.size()}},
         {"logger", x.logger},
         {"message", x.message}});
    }
  }
  return nlohmann::json{
    {"lines", std::move(out)}, {"total", total}, {"capacity", capacity_}};
}

size_t log_ring::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return lines_.size();
}

} // namespace troupe::app
