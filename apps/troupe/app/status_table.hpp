#pragma once

#include <string>
#include <vector>

#include "troupe/actors/service_status.hpp"

namespace troupe::app {

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
