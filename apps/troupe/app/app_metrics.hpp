#pragma once

// The framework's own metrics for /metrics: one family per service counter
// (labelled by service), and the bridge's per-endpoint counters. No CAF.

#include <string>
#include <vector>

#include "troupe/actors/service_status.hpp"

namespace troupe {
class exposition_writer;
} // namespace troupe

namespace troupe::app {

/// Writes `troupe_service_*` families for `sts`: state (one gauge per state
/// name, 1 for the current one), up, messages in / out / dropped, errors,
/// restarts, in-flight work and uptime.
void write_service_metrics(exposition_writer& w,
                           const std::vector<service_status>& sts);

/// Writes `troupe_bridge_*` families from a bridge's stats JSON (see
/// bridge_service::stats_json): per endpoint received, sent, dropped,
/// queued, gaps, timeouts, error replies, in flight and window, calls
/// (replies, failures, drops by reason), malformed input by reason; per
/// peer whether it is alive. Ignores text that is not such JSON.
void write_bridge_metrics(exposition_writer& w, const std::string& service,
                          const std::string& stats_json);

} // namespace troupe::app
