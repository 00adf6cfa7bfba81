#pragma once

// The framework's own metrics for /metrics: one family per service counter
// (labelled by service). What a service counts itself, the bridge's
// endpoints included, is in its metric_registry. No CAF.

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

/// Writes `troupe_type_*` families, one series per service type summed over
/// its services in `sts`: services per state, up, healthy, messages in /
/// out / dropped, errors, restarts, in-flight work, unacknowledged
/// publishes, held back, mailbox size.
void write_type_metrics(exposition_writer& w,
                        const std::vector<service_status>& sts);

/// Writes the process's memory: `process_resident_memory_bytes` (the
/// Prometheus name) and `troupe_process_heap_bytes` (malloc's bytes in use,
/// `troupe::process_heap_bytes`), both gauges.
void write_process_metrics(exposition_writer& w);

} // namespace troupe::app
