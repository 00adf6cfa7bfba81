#include "troupe/app/status_table.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

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
