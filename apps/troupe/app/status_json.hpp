#pragma once

// JSON shapes of the control plane (GET /services, /services/NAME, /health).
// No CAF: included by the HTTP server and by `troupe ctl`.
//
// Timestamps are ISO-8601 UTC strings with milliseconds
// ("2026-11-23T14:10:55.123Z"), or null for "never"; durations are seconds as
// numbers (`uptime_seconds`). States and health use their stable names
// ("running", "healthy").

#include <cstddef>
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

/// Whether GET /health lists `x` by default: its health is not `healthy`,
/// or it is expected to run and does not.
bool needs_attention(const service_health& x) noexcept;

/// Builds the body of `GET /health`, the one definition of readiness:
///
/// ```
/// {"ok": true, "ready": true, "status": "degraded",
///  "summary": {"services": 3, "expected": 2,
///              "states": {"running": 2, "stopped": 1},
///              "health": {"healthy": 2, "degraded": 1}},
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
/// count for nothing. `summary` counts every service by state and by health;
/// `services` lists only those that need attention (needs_attention()), or
/// every one when `all`.
nlohmann::json app_health_body(const std::vector<service_health>& xs,
                               bool all = false);

/// app_health_body() for services that are all expected and running, each
/// with its report (`all`: as in app_health_body()).
nlohmann::json
app_health_json(const std::vector<std::pair<std::string, health_report>>& xs,
                bool all = false);

/// What `GET /services` asks for: filters (empty: any) and a page.
struct service_query {
  /// Only services in this state (a state name, e.g. "running").
  std::string state;
  /// Only services of this type.
  std::string type;
  /// At most this many (0: all).
  size_t limit = 0;
  /// Only services after the one of this name, in start order (the last
  /// name of the previous page).
  std::string after;
};

/// One page of `GET /services`.
struct service_page {
  /// The selected statuses (service_status objects), in start order.
  nlohmann::json items = nlohmann::json::array();
  /// How many services match the filters, over all pages.
  size_t total = 0;
  /// The name to pass as `after` for the next page; empty on the last page.
  std::string next_after;
  /// Why the query cannot be answered (`after` names no service); empty
  /// when it is answered.
  std::string error;
};

/// Selects the page `q` asks for from `all` (every status, in start
/// order). `q.state` is not checked here: an unknown state matches nothing.
service_page select_services(const std::vector<service_status>& all,
                             const service_query& q);

} // namespace app

} // namespace troupe
