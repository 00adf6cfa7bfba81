#pragma once

// The dashboard of the control plane: the page served at GET / and the log
// tail it shows (GET /logs?tail=N). No CAF and no httplib here: the server
// (control_plane.cpp) registers these handlers behind its own guard.
//
// The page is apps/troupe/app/dashboard/dashboard.html, built into the
// library (cmake/EmbedText.cmake); it polls /services, /health, /metrics and
// /logs once a second and posts start, stop and restart to
// /services/NAME/ACTION, sending the token the user entered as
// `Authorization: Bearer TOKEN` (docs/operations.md, "Dashboard").

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::app {

/// The page as built in, with its placeholder `@TROUPE_AUTH@` unfilled.
std::string_view dashboard_page_source();

/// The page to serve: `needs_token` tells the script to ask for a token
/// before it polls (the page itself holds no data and is served to anyone).
std::string dashboard_page(bool needs_token);

/// The most lines GET /logs answers, whatever `tail` asks.
constexpr size_t max_log_tail = 1000;

/// Parses the `tail` parameter of GET /logs: empty means 100; a number
/// from 0 up is capped at max_log_tail; nothing for anything else.
std::optional<size_t> parse_log_tail(std::string_view x) noexcept;

} // namespace troupe::app
