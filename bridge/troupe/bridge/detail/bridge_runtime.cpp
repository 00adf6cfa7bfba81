#include "troupe/bridge/detail/bridge_runtime.hpp"

#include <nlohmann/json.hpp>

namespace troupe::bridge::detail {

uint64_t envelope_bytes(const envelope& e) {
  return e.topic.size() + e.payload.size() + e.meta.size();
}

uint64_t credit_bytes(const caf::message& msg) {
  if (msg.size() != 1)
    return 0;
  if (msg.match_element<envelope>(0))
    return envelope_bytes(msg.get_as<envelope>(0));
  if (msg.match_element<envelope_batch>(0)) {
    auto& b = msg.get_as<envelope_batch>(0);
    return b.topic.size() + b.data.size();
  }
  return 0;
}

std::string_view reason_name(size_t i) {
  if (i == unknown_topic)
    return "unknown_topic";
  return to_string(static_cast<frame_error>(i));
}

std::string_view call_drop_name(size_t i) {
  static constexpr std::array<std::string_view, call_drop_count> names{
    "late_reply", "queue_full", "expired", "stopped"};
  return names.at(i);
}

std::string_view out_drop_name(out_drop r) {
  static constexpr std::array<std::string_view, out_drop_count> names{
    "drop_oldest", "drop_newest", "queue_full", "slow_subscriber", "stopped"};
  return names.at(static_cast<size_t>(r));
}

std::string error_payload(std::string_view code, std::string_view message) {
  return nlohmann::json{{"code", code}, {"message", message}}.dump();
}

int64_t log_limiter::admit(size_t reason) {
  auto sec = std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::steady_clock::now().time_since_epoch())
               .count();
  auto& w = windows_[reason];
  if (w.second != sec) {
    w.second = sec;
    w.logged = 0;
  }
  if (w.logged >= per_second) {
    ++w.suppressed;
    return -1;
  }
  ++w.logged;
  auto s = w.suppressed;
  w.suppressed = 0;
  return s;
}

bool try_send(endpoint_socket& s, std::string_view topic,
              std::string_view payload, std::string_view meta) {
  std::array<std::string_view, 3> parts{topic, payload, meta};
  return s.try_send(parts.data(), meta.empty() ? 2 : 3);
}

} // namespace troupe::bridge::detail
