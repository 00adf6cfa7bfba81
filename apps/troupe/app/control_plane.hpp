#pragma once

// The HTTP control plane: routes, auth and JSON errors over an abstract model
// of the running app. No CAF here; the app runtime implements control_model.
//
// ```
// my_runtime_model model{...};            // : troupe::app::control_model
// troupe::app::control_server server;
// if (auto err = server.start(model, cfg.control_http, cfg.control_token))
//   log->error("control plane: {}", *err);
// else
//   log->info("control plane on http://{}", server.address());
// ...
// server.stop();                          // before `model` goes away
// ```

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "troupe/app/status_json.hpp"

namespace troupe::app {

class log_ring;

/// What an action or change request answers: an HTTP status and a JSON body.
struct control_result {
  /// HTTP status code (200, 404, 409, ...).
  int status = 200;
  /// Response body; errors use `{"error": "..."}`, see control_error().
  nlohmann::json body = nlohmann::json::object();
};

/// One problem with a request, at a key path ("settings.period").
struct control_field_error {
  /// Key path into the request body, dotted; empty for the whole body.
  std::string path;
  /// What is wrong, e.g. "expected duration, got 7".
  std::string message;
};

/// Returns `{"error": message}` with `status`.
control_result control_error(int status, std::string message);

/// Returns 400 `{"error": message, "errors": [{"path": ..., "message": ...}]}`
/// for a request that failed validation.
control_result control_invalid(std::string message,
                               const std::vector<control_field_error>& errors);

/// The body of GET /health and whether the app is ready (200) or not (503).
struct control_health {
  /// Ready: true answers 200, false 503 (GET /health and GET /readyz).
  bool ok = true;
  /// Response body, e.g. from app_health_body() (status_json.hpp); its
  /// `not_ready` array, when present, is also the body of GET /readyz.
  nlohmann::json body = nlohmann::json::object();
};

/// The lifecycle requests of `POST /services/NAME/ACTION`.
enum class control_action : uint8_t { start, stop, restart };

/// Returns the stable name of `x` ("start", "stop", "restart").
std::string to_string(control_action x);

/// Parses an action name; nothing for unknown names.
std::optional<control_action> parse_control_action(std::string_view) noexcept;

/// The running app as the control plane sees it. Implemented by the app
/// runtime. Called from the server's worker threads, several at once:
/// implementations must be thread-safe. Exceptions are caught by the server
/// and answered with 500, but a model should answer errors as results.
class control_model {
public:
  virtual ~control_model();

  /// The services `q` selects (status_json.hpp, select_services()), in
  /// start order; the server answers them as a JSON array of
  /// service_status objects. Serves `GET /services[?state=&type=&limit=&
  /// after=]`.
  virtual service_page services(const service_query& q) = 0;

  /// One service's status, or nothing when no service has that name.
  /// Serves `GET /services/NAME` (404 when nothing).
  virtual std::optional<nlohmann::json> service(const std::string& name) = 0;

  /// The app's health and readiness; the body lists the services that need
  /// attention, or every service when `all`. Serves `GET /health`
  /// (`?services=all`) and `GET /readyz`.
  virtual control_health health(bool all) = 0;

  /// Whether the process works: its actors answer and its supervisor has
  /// not given up. Serves `GET /livez` (200 or 503).
  virtual bool live() = 0;

  /// Metrics in the Prometheus text exposition format 0.0.4. Serves
  /// `GET /metrics`.
  virtual std::string metrics_text() = 0;

  /// Starts, stops or restarts one service; answers when it has settled.
  /// Recommended answers: 200 with the service's status, 404 for an unknown
  /// service, 409 when the lifecycle refuses the request or a dependency
  /// does not allow it (a start whose dependencies do not run, a stop while
  /// dependents run) unless `cascade` asks to start or stop those too.
  /// Serves `POST /services/NAME/ACTION[?cascade=true]`.
  virtual control_result action(const std::string& name, control_action what,
                                bool cascade) = 0;

  /// Adds (and, per its autostart, starts) a service from
  /// `{"name": ..., "type": ..., "settings": {...}}` (always a JSON object,
  /// otherwise unchecked). Recommended answers: 201 with its status, 400 via
  /// control_invalid() with one entry per bad key, 409 when the name is
  /// taken. Serves `POST /services`.
  virtual control_result add(const nlohmann::json& spec) = 0;

  /// Stops and removes one service. Recommended answers: 200, 404 when
  /// unknown, 409 when another service depends on it, unless `cascade` asks
  /// to remove those too. Serves `DELETE /services/NAME[?cascade=true]`.
  virtual control_result remove(const std::string& name, bool cascade) = 0;
};

/// Who may use which route (`[control]` token, read_token, public,
/// allow_insecure_bind; docs/operations.md, "Access").
struct control_access {
  /// The admin credential: every route. Empty with an empty read_token:
  /// no authentication at all.
  std::string token;
  /// The read-only credential: the GET routes; a change answers 403.
  /// Needs a token.
  std::string read_token;
  /// GET paths answered without any credential (exact paths, e.g.
  /// "/livez").
  std::vector<std::string> public_paths;
  /// Serve without a token on an address that is not loopback.
  bool allow_insecure_bind = false;
  /// HTTPS: the PEM certificate (chain) and private key files; both empty
  /// for plain HTTP.
  std::string tls_cert;
  std::string tls_key;
};

/// The HTTP server of the control plane: a background thread accepting
/// requests, a small pool answering them from a control_model.
///
/// Routes: `GET /` (the dashboard page, dashboard.hpp; always public: it
/// holds no data), `GET /logs?tail=N` (the log tail, when serve_logs() gave
/// one), `GET /services`, `GET /services/NAME`, `GET /health`,
/// `GET /livez`, `GET /readyz`, `GET /metrics`, `POST
/// /services/NAME/{start|stop|restart}`, `POST /services`, `DELETE
/// /services/NAME`. With a token, every route but the public ones requires
/// `Authorization: Bearer TOKEN` (scheme in any case; 401 otherwise), the read
/// token only the GET routes (403 for others). Every error body is JSON:
/// `{"error": "..."}`. Requests are logged at debug level by a logger named
/// "control" on the sinks of spdlog's default logger as it is at start(). Call
/// start() and stop() from one thread.
class control_server {
public:
  control_server();
  /// Stops the server (see stop()).
  ~control_server();

  control_server(const control_server&) = delete;
  control_server& operator=(const control_server&) = delete;

  /// Binds `address` and starts serving `model`, which must outlive stop().
  /// `address` is `HOST:PORT`, `[IPv6]:PORT`, `:PORT` or `PORT` (the last two
  /// bind 127.0.0.1); port 0 picks a free port (see port()). Returns an error
  /// text when the address is invalid, cannot be bound (e.g. the port is
  /// taken), is not loopback while `access` has no token (unless
  /// allow_insecure_bind), when `access` is inconsistent (a read_token
  /// without a token, or both the same, or only one of tls_cert and
  /// tls_key), when the TLS files cannot be read or do not match, or the
  /// server already runs.
  [[nodiscard]] std::optional<std::string> start(control_model& model,
                                                 const std::string& address,
                                                 control_access access);

  /// start() with only an admin `token` (empty: no authentication).
  [[nodiscard]] std::optional<std::string> start(control_model& model,
                                                 const std::string& address,
                                                 std::string token = {}) {
    control_access access;
    access.token = std::move(token);
    return start(model, address, std::move(access));
  }

  /// Serves the records `logs` holds at `GET /logs?tail=N` (the newest N,
  /// 100 by default; log_ring::tail()). Call before start(); without it
  /// /logs answers 404.
  void serve_logs(std::shared_ptr<const log_ring> logs) {
    logs_ = std::move(logs);
  }

  /// The bound port (0 when not running).
  uint16_t port() const noexcept;

  /// The bound address as `HOST:PORT` (empty when not running).
  std::string address() const;

  /// Whether start() succeeded and stop() was not called since.
  bool running() const noexcept;

  /// Stops accepting, waits for requests in progress and joins the server
  /// thread. Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::shared_ptr<const log_ring> logs_;
};

/// A parsed control-plane address.
struct control_address {
  /// Host name or IP, without brackets.
  std::string host;
  /// Port; 0 asks for a free one.
  uint16_t port = 0;
};

/// Parses `HOST:PORT`, `[IPv6]:PORT`, `:PORT` or `PORT` (host 127.0.0.1);
/// nothing when malformed.
std::optional<control_address>
parse_control_address(std::string_view str) noexcept;

/// Whether `host` (as in control_address) is a loopback address:
/// 127.0.0.0/8, ::1 or "localhost".
bool is_loopback_host(std::string_view host) noexcept;

/// Compares `x` and `y` in time that depends only on their lengths, so a
/// client cannot guess a token byte by byte from response times.
bool constant_time_equal(std::string_view x, std::string_view y) noexcept;

} // namespace troupe::app
