#include "troupe/app/status_table.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>

namespace troupe::app {

namespace {

std::string format_uptime(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  auto secs = duration_cast<duration<double>>(d).count();
  char buf[32];
  if (secs < 60)
    std::snprintf(buf, sizeof(buf), "%.1fs", secs);
  else if (secs < 3600)
    std::snprintf(buf, sizeof(buf), "%dm%02ds", static_cast<int>(secs) / 60,
                  static_cast<int>(secs) % 60);
  else
    std::snprintf(buf, sizeof(buf), "%dh%02dm", static_cast<int>(secs) / 3600,
                  (static_cast<int>(secs) % 3600) / 60);
  return buf;
}

} // namespace

std::string render_status_table(const std::vector<service_status>& services) {
  constexpr size_t cols = 10;
  using row = std::array<std::string, cols>;
  std::vector<row> rows;
  rows.push_back({"SERVICE", "TYPE", "STATE", "HEALTH", "UPTIME", "IN", "OUT",
                  "DROP", "ERR", "RESTART"});
  for (auto& st : services)
    rows.push_back({st.name, st.type, to_string(st.state), to_string(st.health),
                    format_uptime(st.uptime), std::to_string(st.messages_in),
                    std::to_string(st.messages_out),
                    std::to_string(st.messages_dropped),
                    std::to_string(st.errors), std::to_string(st.restarts)});
  return render_columns(rows);
}

namespace {

struct type_sums {
  uint64_t services = 0;
  uint64_t running = 0;
  uint64_t stopped = 0;
  uint64_t failed = 0;
  uint64_t other = 0;
  uint64_t unhealthy = 0;
  uint64_t in = 0;
  uint64_t out = 0;
  uint64_t dropped = 0;
  uint64_t errors = 0;
  uint64_t restarts = 0;
};

std::map<std::string, type_sums>
sum_by_type(const std::vector<service_status>& services) {
  std::map<std::string, type_sums> out;
  for (auto& st : services) {
    auto& t = out[st.type];
    ++t.services;
    switch (st.state) {
    case service_state::running:
      ++t.running;
      break;
    case service_state::stopped:
      ++t.stopped;
      break;
    case service_state::failed:
      ++t.failed;
      break;
    default:
      ++t.other;
    }
    if (st.health >= health_status::unhealthy)
      ++t.unhealthy;
    t.in += st.messages_in;
    t.out += st.messages_out;
    t.dropped += st.messages_dropped;
    t.errors += st.errors;
    t.restarts += st.restarts;
  }
  return out;
}

} // namespace

bool status_needs_attention(const service_status& st) noexcept {
  return st.state == service_state::failed ||
         st.health >= health_status::unhealthy || st.stopped_hard;
}

std::string render_type_summary(const std::vector<service_status>& services,
                                size_t max_listed) {
  constexpr size_t cols = 12;
  using row = std::array<std::string, cols>;
  std::vector<row> rows;
  rows.push_back({"TYPE", "SERVICES", "RUNNING", "STOPPED", "FAILED", "OTHER",
                  "UNHEALTHY", "IN", "OUT", "DROP", "ERR", "RESTART"});
  auto str = [](uint64_t x) { return std::to_string(x); };
  for (auto& [type, t] : sum_by_type(services))
    rows.push_back({type.empty() ? "-" : type, str(t.services), str(t.running),
                    str(t.stopped), str(t.failed), str(t.other),
                    str(t.unhealthy), str(t.in), str(t.out), str(t.dropped),
                    str(t.errors), str(t.restarts)});
  std::string out = std::to_string(services.size()) +
                    " services (summed by type; troupe ctl status or GET "
                    "/services lists each)\n";
  out += render_columns(rows);
  std::vector<service_status> listed;
  size_t attention = 0;
  for (auto& st : services)
    if (status_needs_attention(st) && ++attention <= max_listed)
      listed.push_back(st);
  if (attention == 0)
    return out;
  out += std::to_string(attention) + " need attention";
  if (listed.size() < attention)
    out += " (the first " + std::to_string(listed.size()) + " below)";
  out += ":\n";
  if (!listed.empty())
    out += render_status_table(listed);
  return out;
}

std::vector<std::string>
render_type_lines(const std::vector<service_status>& services) {
  std::vector<std::string> out;
  for (auto& [type, t] : sum_by_type(services))
    out.push_back(
      "type " + (type.empty() ? std::string{"-"} : type) + ": services=" +
      std::to_string(t.services) + " running=" + std::to_string(t.running) +
      " stopped=" + std::to_string(t.stopped) + " failed=" +
      std::to_string(t.failed) + " other=" + std::to_string(t.other) +
      " unhealthy=" + std::to_string(t.unhealthy) +
      " in=" + std::to_string(t.in) + " out=" + std::to_string(t.out) +
      " dropped=" + std::to_string(t.dropped) + " errors=" +
      std::to_string(t.errors) + " restarts=" + std::to_string(t.restarts));
  return out;
}

std::string render_status_line(const service_status& st) {
  std::string out =
    st.name + ": " + to_string(st.state) + " " + to_string(st.health);
  out += " in=" + std::to_string(st.messages_in);
  out += " out=" + std::to_string(st.messages_out);
  out += " dropped=" + std::to_string(st.messages_dropped);
  out += " errors=" + std::to_string(st.errors);
  out += " restarts=" + std::to_string(st.restarts);
  if (!st.last_error.empty())
    out += " last_error=\"" + st.last_error + "\"";
  for (auto& [key, value] : st.metadata) {
    out += ' ';
    out += key;
    out += "=\"";
    out += value;
    out += '"';
  }
  return out;
}

} // namespace troupe::app
