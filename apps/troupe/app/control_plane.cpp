#include "troupe/app/control_plane.hpp"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include <sys/socket.h>

#include <httplib.h>
#include <spdlog/logger.h>

#include "troupe/actors/logging.hpp"

namespace troupe::app {

namespace {

using nlohmann::json;

// Worker threads answering requests. A model call may wait for a service to
// stop, so more than one; a control plane sees few clients, so not many.
constexpr size_t worker_threads = 4;

// Bodies of POST /services are small specs.
constexpr size_t max_body_bytes = size_t{1024} * 1024;

const char* const json_type = "application/json";
const char* const metrics_type = "text/plain; version=0.0.4; charset=utf-8";

// dump() throws on invalid UTF-8, and a service's last_error may hold any
// bytes: replace them instead.
void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace) +
                    '\n',
                  json_type);
}

void send_error(httplib::Response& res, int status, const std::string& msg) {
  send_json(res, status, json{{"error", msg}});
}

void send_result(httplib::Response& res, const control_result& r) {
  send_json(res, r.status, r.body);
}

} // namespace

control_result control_error(int status, std::string message) {
  return {status, json{{"error", std::move(message)}}};
}

control_result control_invalid(std::string message,
                               const std::vector<control_field_error>& errors) {
  auto list = json::array();
  for (auto& e : errors)
    list.push_back(json{{"path", e.path}, {"message", e.message}});
  return {400,
          json{{"error", std::move(message)}, {"errors", std::move(list)}}};
}

std::string to_string(control_action x) {
  switch (x) {
  case control_action::start:
    return "start";
  case control_action::stop:
    return "stop";
  case control_action::restart:
    return "restart";
  }
  return "?";
}

std::optional<control_action>
parse_control_action(std::string_view x) noexcept {
  if (x == "start")
    return control_action::start;
  if (x == "stop")
    return control_action::stop;
  if (x == "restart")
    return control_action::restart;
  return std::nullopt;
}

control_model::~control_model() = default;

std::optional<control_address>
parse_control_address(std::string_view str) noexcept {
  control_address out;
  std::string_view port = str;
  if (auto colon = str.rfind(':'); colon != std::string_view::npos) {
    auto host = str.substr(0, colon);
    port = str.substr(colon + 1);
    if (!host.empty() && host.front() == '[') {
      if (host.size() < 3 || host.back() != ']')
        return std::nullopt;
      host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
      return std::nullopt; // a bare IPv6 address needs brackets
    }
    out.host = std::string{host};
  }
  if (out.host.empty())
    out.host = "127.0.0.1";
  if (port.empty() || port.size() > 5)
    return std::nullopt;
  unsigned value = 0;
  auto [end, ec] =
    std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535)
    return std::nullopt;
  out.port = static_cast<uint16_t>(value);
  return out;
}

bool constant_time_equal(std::string_view x, std::string_view y) noexcept {
  // Walk the longer string in full and fold every difference into one value:
  // no early exit, no data-dependent branch.
  auto n = std::max(x.size(), y.size());
  unsigned diff = x.size() == y.size() ? 0U : 1U;
  for (size_t i = 0; i < n; ++i) {
    auto a = i < x.size() ? static_cast<unsigned char>(x[i]) : 0U;
    auto b = i < y.size() ? static_cast<unsigned char>(y[i]) : 0U;
    diff |= a ^ b;
  }
  return diff == 0;
}

struct control_server::impl {
  httplib::Server http;
  std::thread thread;
  std::atomic<bool> listening_done{false};
  control_model* model = nullptr;
  std::string token;
  std::string host;
  uint16_t port = 0;
  std::shared_ptr<spdlog::logger> log;

  // Every handler runs behind this: a throwing model answers 500, never
  // unwinds into the HTTP library.
  template <class F>
  httplib::Server::Handler guarded(F f) {
    return [this, f](const httplib::Request& req, httplib::Response& res) {
      try {
        f(req, res);
      } catch (const std::exception& e) {
        log->error("{} {}: {}", req.method, req.path, e.what());
        send_error(res, 500, std::string{"internal error: "} + e.what());
      } catch (...) {
        log->error("{} {}: unknown exception", req.method, req.path);
        send_error(res, 500, "internal error");
      }
    };
  }

  bool authorized(const httplib::Request& req) const {
    if (token.empty())
      return true;
    static constexpr std::string_view scheme = "Bearer ";
    auto header = req.get_header_value("Authorization");
    if (header.size() < scheme.size() ||
        header.compare(0, scheme.size(), scheme) != 0)
      return false;
    return constant_time_equal(std::string_view{header}.substr(scheme.size()),
                               token);
  }

  void routes() {
    http.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (authorized(req))
          return httplib::Server::HandlerResponse::Unhandled;
        res.set_header("WWW-Authenticate", "Bearer realm=\"troupe\"");
        send_error(res, 401,
                   "unauthorized: send 'Authorization: Bearer TOKEN' "
                   "([control] token)");
        return httplib::Server::HandlerResponse::Handled;
      });
    http.Get("/services", guarded([this](auto&, auto& res) {
               send_json(res, 200, model->services());
             }));
    http.Get(R"(/services/([^/]+))", guarded([this](auto& req, auto& res) {
               auto name = req.matches[1].str();
               if (auto st = model->service(name))
                 send_json(res, 200, *st);
               else
                 send_error(res, 404, "unknown service '" + name + "'");
             }));
    http.Get("/health", guarded([this](auto&, auto& res) {
               auto h = model->health();
               send_json(res, h.ok ? 200 : 503, h.body);
             }));
    http.Get("/metrics", guarded([this](auto&, auto& res) {
               res.status = 200;
               res.set_content(model->metrics_text(), metrics_type);
             }));
    http.Post(R"(/services/([^/]+)/([^/]+))",
              guarded([this](auto& req, auto& res) {
                auto name = req.matches[1].str();
                auto what = parse_control_action(req.matches[2].str());
                if (!what) {
                  send_error(res, 404,
                             "unknown action '" + req.matches[2].str() +
                               "' (expected start, stop or restart)");
                  return;
                }
                send_result(res, model->action(name, *what));
              }));
    http.Post("/services", guarded([this](auto& req, auto& res) {
                json body;
                try {
                  body = json::parse(req.body);
                } catch (const json::parse_error& e) {
                  send_error(res, 400,
                             std::string{"malformed JSON body: "} + e.what());
                  return;
                }
                if (!body.is_object()) {
                  send_error(res, 400,
                             "expected a JSON object {\"name\": ..., "
                             "\"type\": ..., \"settings\": {...}}");
                  return;
                }
                send_result(res, model->add(body));
              }));
    http.Delete(R"(/services/([^/]+))", guarded([this](auto& req, auto& res) {
                  send_result(res, model->remove(req.matches[1].str()));
                }));
    // Anything else: a JSON 404 rather than the library's empty one.
    auto no_route = guarded([](auto& req, auto& res) {
      send_error(res, 404, "no route " + req.method + " " + req.path);
    });
    http.Get(".*", no_route);
    http.Post(".*", no_route);
    http.Put(".*", no_route);
    http.Patch(".*", no_route);
    http.Delete(".*", no_route);
    http.Options(".*", no_route);
    // Errors the library answers itself (400 for a bad request line, 413 for
    // a large body, ...) get a JSON body too; ours already have one.
    http.set_error_handler(httplib::Server::HandlerWithResponse{
      [](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        send_error(res, res.status, "HTTP " + std::to_string(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }});
    http.set_logger(
      [this](const httplib::Request& req, const httplib::Response& res) {
        log->debug("{} {} {} -> {}", req.remote_addr, req.method, req.path,
                   res.status);
      });
  }
};

control_server::control_server() = default;

control_server::~control_server() {
  stop();
}

std::optional<std::string> control_server::start(control_model& model,
                                                 const std::string& address,
                                                 std::string token) {
  if (running())
    return "control plane already running on " + this->address();
  auto addr = parse_control_address(address);
  if (!addr)
    return "invalid address '" + address +
           "': expected HOST:PORT, e.g. 127.0.0.1:8080";
  auto self = std::make_unique<impl>();
  self->model = &model;
  self->token = std::move(token);
  self->host = addr->host;
  self->log = make_service_logger("control");
  self->http.new_task_queue = [] {
    return new httplib::ThreadPool(worker_threads);
  };
  self->http.set_payload_max_length(max_body_bytes);
  // httplib's default also sets SO_REUSEPORT, which lets a second app bind
  // the same port and silently share its requests: keep only SO_REUSEADDR
  // (a restart may rebind while old connections linger in TIME_WAIT).
  self->http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Bounds how long stop() waits for an idle keep-alive connection.
  self->http.set_keep_alive_timeout(1);
  self->routes();
  errno = 0;
  int port =
    addr->port == 0
      ? self->http.bind_to_any_port(addr->host)
      : (self->http.bind_to_port(addr->host, addr->port) ? addr->port : -1);
  if (port <= 0) {
    std::string why =
      errno != 0 ? std::strerror(errno) : "port in use or address not local";
    return "cannot listen on " + address + ": " + why;
  }
  self->port = static_cast<uint16_t>(port);
  auto* raw = self.get();
  self->thread = std::thread{[raw] {
    raw->http.listen_after_bind();
    raw->listening_done = true;
  }};
  // httplib's stop() does nothing before its loop has started: wait for it,
  // so a stop() right after start() cannot leave the thread running.
  while (!raw->http.is_running() && !raw->listening_done)
    std::this_thread::yield();
  impl_ = std::move(self);
  return std::nullopt;
}

uint16_t control_server::port() const noexcept {
  return impl_ ? impl_->port : 0;
}

std::string control_server::address() const {
  if (!impl_)
    return {};
  auto& h = impl_->host;
  auto host = h.find(':') != std::string::npos ? "[" + h + "]" : h;
  return host + ":" + std::to_string(impl_->port);
}

bool control_server::running() const noexcept {
  return impl_ != nullptr;
}

void control_server::stop() {
  if (!impl_)
    return;
  impl_->http.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
  impl_.reset();
}

} // namespace troupe::app
