#pragma once

// `troupe ctl`: the control plane's command-line client, as a library
// function so tests run it against a real server in-process.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe::app {

/// Exit codes of `troupe ctl`.
enum class ctl_exit : int {
  /// The request succeeded (and the app is healthy, for `health`).
  ok = 0,
  /// The server refused the request, or the app is unhealthy.
  refused = 1,
  /// Bad command line: missing URL, bad --set or --settings.
  usage = 2,
  /// No answer: connection refused, timeout, not an HTTP server.
  unreachable = 3,
};

/// What `troupe ctl` can ask.
enum class ctl_command : uint8_t {
  status,
  health,
  start,
  stop,
  restart,
  add,
  remove,
  metrics,
};

/// Where and how to ask.
struct ctl_options {
  /// `http://HOST:PORT` or `https://HOST:PORT` (the scheme defaults to
  /// http).
  std::string url;
  /// https: the PEM file of the CA (or the self-signed certificate) that
  /// signed the server's certificate; empty: the system's CAs.
  std::string cacert;
  /// Bearer token; empty sends none.
  std::string token;
  /// Print the server's response body as is (for scripts).
  bool json = false;
  /// How long to wait for an answer (a stop waits for the service to drain).
  std::chrono::seconds timeout{60};
};

/// One request of `troupe ctl`.
struct ctl_request {
  ctl_command command = ctl_command::status;
  /// Service name: optional for status, required for the service commands.
  std::string name;
  /// Service type, for add.
  std::string type;
  /// `key=value` settings for add; a value that parses as JSON (number,
  /// bool, array, quoted string) is sent as that, anything else as a string.
  /// Dotted keys make nested objects.
  std::vector<std::string> sets;
  /// Settings for add as one JSON object; --set entries are applied on top.
  std::string settings_json;
  /// start, restart: start the services it depends on that do not run;
  /// stop: stop the running services that depend on it first; remove:
  /// remove those first (`?cascade=true`).
  bool cascade = false;
  /// status without a name: only services in this state / of this type,
  /// at most `limit` of them (0: all), from the one after `after` (paging
  /// as GET /services does it).
  std::string state;
  std::string type_filter;
  int64_t limit = 0;
  std::string after;
};

/// Builds the settings object of an add request from `settings_json` and
/// `sets`; an error text when either is malformed.
std::optional<std::string>
build_ctl_settings(const std::string& settings_json,
                   const std::vector<std::string>& sets, nlohmann::json& out);

/// Runs one request against the control plane at `opts.url`: readable output
/// on `out` (raw JSON with `opts.json`), problems on `err`. Never throws.
ctl_exit run_ctl(const ctl_options& opts, const ctl_request& req,
                 std::ostream& out, std::ostream& err) noexcept;

} // namespace troupe::app
