#pragma once

// JSON shapes of the control plane (GET /services, /services/NAME, /health).
// No CAF: included by the HTTP server and by `troupe ctl`.
//
// Timestamps are ISO-8601 UTC strings with milliseconds
// ("2026-11-23T14:10:55.123Z"), or null for "never"; durations are seconds as
// numbers (`uptime_seconds`). States and health use their stable names
// ("running", "healthy").

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "troupe/actors/health.hpp"
#include "troupe/actors/service_status.hpp"

namespace troupe {

/// Formats `x` as ISO-8601 UTC with milliseconds: "2026-11-23T14:10:55.123Z".
std::string format_iso8601(timestamp x);

/// Parses what `format_iso8601` writes (fraction optional, 0-9 digits; only
/// the "Z" zone); nothing when malformed.
std::optional<timestamp> parse_iso8601(std::string_view str) noexcept;

/// `{"from": "starting", "to": "running", "reason": "...", "at": "..."}`
/// (the service name is the enclosing status's).
void to_json(nlohmann::json& j, const state_change& x);

/// Reads a state change; throws nlohmann::json::exception when malformed.
void from_json(const nlohmann::json& j, state_change& x);

/// One service as served by `GET /services/NAME`:
///
/// ```
/// {"name": "tick", "type": "ticker", "state": "running",
///  "health": "healthy", "started_at": "2026-11-23T14:10:55.123Z",
///  "uptime_seconds": 3.0, "messages_in": 0, "messages_out": 12,
///  "messages_dropped": 0, "errors": 0, "restarts": 0, "in_flight": 0,
///  "last_error": "", "stopped_hard": false, "history": [...]}
/// ```
void to_json(nlohmann::json& j, const service_status& x);

/// Reads a service status; missing counters read as zero. Throws
/// nlohmann::json::exception when a field has the wrong type or an unknown
/// state name.
void from_json(const nlohmann::json& j, service_status& x);

/// `{"name": "...", "status": "degraded", "message": "...", "updated": ...}`
void to_json(nlohmann::json& j, const health_check& x);

/// Reads a health check; throws nlohmann::json::exception when malformed.
void from_json(const nlohmann::json& j, health_check& x);

/// `{"overall": "healthy", "checks": [...]}`
void to_json(nlohmann::json& j, const health_report& x);

/// Reads a health report; throws nlohmann::json::exception when malformed.
void from_json(const nlohmann::json& j, health_report& x);

/// Parses a health status name; nothing for unknown names.
std::optional<health_status> parse_health_status(std::string_view) noexcept;

namespace app {

/// One service as GET /health and /readyz judge it.
struct service_health {
  std::string name;
  service_state state = service_state::initialized;
  /// Whether the service should run: it is enabled, and was started by
  /// autostart or through the control plane and not stopped through it
  /// since. A service that is not expected never makes the app unready.
  bool expected = true;
  /// Its report; for a service without an actor, nothing to report.
  health_report report;
};

/// Builds the body of `GET /health`, the one definition of readiness:
///
/// ```
/// {"ok": true, "ready": true, "status": "degraded",
///  "services": [{"name": "tick", "state": "running", "expected": true,
///                "overall": "degraded", "checks": [...]}],
///  "not_ready": []}
/// ```
///
/// A service is ready when it is `running` and its health is `healthy` or
/// `degraded`. The app is ready (`ready`, and `ok`: the server answers 200)
/// when every expected service is ready; `not_ready` names each expected
/// service that is not, with a reason. `status` is the worst health of the
/// expected services (healthy when there are none); services not expected
/// are listed but count for nothing.
nlohmann::json app_health_body(const std::vector<service_health>& xs);

/// app_health_body() for services that are all expected and running, each
/// with its report.
nlohmann::json
app_health_json(const std::vector<std::pair<std::string, health_report>>& xs);

} // namespace app

} // namespace troupe
