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

/// Renders one service on one line for logs:
/// `ticker: running healthy in=0 out=12 dropped=0 errors=0 restarts=0`.
std::string render_status_line(const service_status& st);

} // namespace troupe::app
