#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "troupe/actors/service_status.hpp"

namespace troupe::app {

/// Renders `rows` as left-aligned columns two spaces apart, without trailing
/// blanks, one line per row (the first row is usually the header).
template <size_t N>
std::string
render_columns(const std::vector<std::array<std::string, N>>& rows) {
  std::array<size_t, N> width{};
  for (auto& r : rows)
    for (size_t i = 0; i < N; ++i)
      width[i] = std::max(width[i], r[i].size());
  std::string out;
  for (auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < N; ++i) {
      line += r[i];
      if (i + 1 < N)
        line.append(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

/// Renders services as a fixed-width table, one line per service:
///
/// ```
/// SERVICE  TYPE     STATE    HEALTH   UPTIME  IN   OUT  DROP  ERR  RESTART
/// ticker   ticker   running  healthy  3.0s    0    12   0     0    0
/// ```
std::string render_status_table(const std::vector<service_status>& services);

/// Whether the summaries list `st` by name: it failed, its health is
/// unhealthy or fatal, or its last stop was forced.
bool status_needs_attention(const service_status& st) noexcept;

/// Renders `services` summed by type, one line per type, for apps with more
/// services than a screen has lines; then, as in render_status_table(), the
/// first `max_listed` services that need attention
/// (status_needs_attention()):
///
/// ```
/// 20000 services (summed by type; troupe ctl status or GET /services lists
/// each) TYPE     SERVICES  RUNNING  STOPPED  FAILED  OTHER  UNHEALTHY  IN  OUT
/// DROP  ERR  RESTART counter  20000     20000    0        0       0      0 0
/// 0    0     0    0
/// ```
std::string render_type_summary(const std::vector<service_status>& services,
                                size_t max_listed);

/// One log line per type, as render_type_summary() sums them:
/// `type counter: services=20000 running=20000 stopped=0 failed=0 other=0
/// unhealthy=0 in=0 out=0 dropped=0 errors=0 restarts=0`.
std::vector<std::string>
render_type_lines(const std::vector<service_status>& services);

/// Renders one service on one line for logs:
/// `ticker: running healthy in=0 out=12 dropped=0 errors=0 restarts=0`.
std::string render_status_line(const service_status& st);

} // namespace troupe::app
