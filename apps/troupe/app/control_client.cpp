#include "troupe/app/control_client.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <ostream>

#include <httplib.h>

#include "troupe/app/status_json.hpp"
#include "troupe/app/status_table.hpp"
#include "troupe/config/app_config.hpp"

namespace troupe::app {

namespace {

using nlohmann::json;

// Only the connection attempt: an app that does not answer within this is
// not there.
constexpr time_t connect_timeout_s = 3;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void print_service(std::ostream& out, const service_status& st) {
  out << render_status_table({st});
  if (!st.last_error.empty())
    out << "last error: " << st.last_error << '\n';
  if (st.stopped_hard)
    out << "last stop hit its deadline with work in flight\n";
  if (st.in_flight > 0)
    out << "in flight: " << st.in_flight << '\n';
  if (!st.history.empty()) {
    out << "history:\n";
    for (auto& h : st.history) {
      out << "  " << format_iso8601(h.at) << "  " << to_string(h.from) << " -> "
          << to_string(h.to);
      if (!h.reason.empty())
        out << "  (" << h.reason << ')';
      out << '\n';
    }
  }
}

void print_health(std::ostream& out, const json& body) {
  auto ready = body.value("ready", body.value("ok", false));
  out << "app: " << body.value("status", std::string{"?"})
      << (ready ? ", ready" : ", not ready");
  if (auto nr = body.find("not_ready"); nr != body.end() && nr->is_array())
    for (size_t i = 0; i < nr->size(); ++i)
      out << (i == 0 ? ": " : ", ") << (*nr)[i].value("name", std::string{})
          << ' ' << (*nr)[i].value("reason", std::string{});
  out << '\n';
  // "3 services: running 2, stopped 1; healthy 2, degraded 1"
  if (auto sum = body.find("summary"); sum != body.end() && sum->is_object()) {
    auto counts = [&](const char* key) {
      std::string text;
      auto m = sum->find(key);
      if (m == sum->end() || !m->is_object())
        return text;
      for (auto& [k, v] : m->items())
        if (v.is_number())
          text += (text.empty() ? "" : ", ") + k + " " +
                  std::to_string(v.get<uint64_t>());
      return text;
    };
    out << sum->value("services", uint64_t{0})
        << " services: " << counts("states") << "; " << counts("health")
        << '\n';
  }
  auto services = body.find("services");
  if (services == body.end() || !services->is_array() || services->empty())
    return;
  std::vector<std::array<std::string, 5>> rows;
  rows.push_back({"SERVICE", "STATE", "CHECK", "STATUS", "MESSAGE"});
  for (auto& s : *services) {
    auto name = s.value("name", std::string{});
    auto state = s.value("state", std::string{});
    if (!s.value("expected", true)) {
      rows.push_back({name, state, "", "-", "not expected to run"});
      continue;
    }
    rows.push_back({name, state, "", s.value("overall", std::string{}), ""});
    auto checks = s.find("checks");
    if (checks == s.end() || !checks->is_array())
      continue;
    for (auto& c : *checks)
      rows.push_back({"", "", c.value("name", std::string{}),
                      c.value("status", std::string{}),
                      c.value("message", std::string{})});
  }
  out << render_columns(rows);
}

// What a successful action, add or remove answered, as the server said it:
// a service's status line when it sent a status, its message when it sent
// one, else the JSON itself.
void print_outcome(std::ostream& out, const std::string& verb,
                   const json& body) {
  if (body.is_object() && body.contains("message") &&
      body["message"].is_string()) {
    out << body["message"].get<std::string>() << '\n';
    return;
  }
  if (body.is_object() && body.contains("state") &&
      body.contains("messages_in")) {
    out << render_status_line(body.get<service_status>()) << '\n';
    if (body.value("enabled", true) == false)
      out << "disabled (enabled = false)\n";
    if (auto now = body.find("state_now"); now != body.end())
      out << "now " << (now->is_string() ? now->get<std::string>() : dump(*now))
          << " (it moved on after the " << verb << ")\n";
    if (auto c = body.find("cascade"); c != body.end() && c->is_array()) {
      std::vector<std::string> names;
      for (auto& n : *c)
        names.push_back(n.is_string() ? n.get<std::string>() : dump(n));
      out << "cascade: " << (verb == "stop" ? "stopped " : "started ");
      for (size_t i = 0; i < names.size(); ++i)
        out << (i > 0 ? ", " : "") << names[i];
      out << " first\n";
    }
    return;
  }
  if (body.is_null() || (body.is_object() && body.empty()))
    out << "ok\n";
  else
    out << dump(body) << '\n';
}

void print_error(std::ostream& err, const std::string& what, int status,
                 const json& body, const std::string& raw) {
  err << "troupe ctl: " << what << ": HTTP " << status;
  if (body.is_object() && body.contains("error") && body["error"].is_string())
    err << ": " << body["error"].get<std::string>();
  else if (!raw.empty())
    err << ": " << raw;
  err << '\n';
  if (body.is_object() && body.contains("errors") && body["errors"].is_array())
    for (auto& e : body["errors"])
      err << "  " << e.value("path", std::string{}) << ": "
          << e.value("message", std::string{}) << '\n';
  if (status == 401)
    err << "  (pass --token or set TROUPE_CONTROL_TOKEN)\n";
}

// http://host:port, with the scheme optional and no path.
std::optional<std::string> normalize_url(std::string url) {
  if (url.find("://") == std::string::npos)
    url = "http://" + url;
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  auto rest = url.substr(url.find("://") + 3);
  if (rest.empty() || rest.find('/') != std::string::npos)
    return std::nullopt;
  return url;
}

// Sets `out[path...] = value`, creating objects along a dotted path.
bool set_path(json& out, const std::string& key, json value) {
  json* at = &out;
  size_t pos = 0;
  for (;;) {
    auto dot = key.find('.', pos);
    auto part = key.substr(pos, dot == std::string::npos ? dot : dot - pos);
    if (part.empty() || !at->is_object())
      return false;
    if (dot == std::string::npos) {
      (*at)[part] = std::move(value);
      return true;
    }
    at = &(*at)[part];
    if (at->is_null())
      *at = json::object();
    pos = dot + 1;
  }
}

std::string describe(httplib::Error e) {
  switch (e) {
  case httplib::Error::Connection:
    return "connection refused or host unreachable";
  case httplib::Error::ConnectionTimeout:
    return "connection timed out";
  case httplib::Error::Read:
    return "no answer (timed out or connection closed; see --timeout)";
  case httplib::Error::Write:
    return "could not send the request";
  case httplib::Error::SSLConnection:
    return "TLS handshake failed (is the app serving https?)";
  case httplib::Error::SSLServerVerification:
    return "the server's certificate is not trusted (pass --cacert FILE)";
  default:
    return httplib::to_string(e);
  }
}

// Percent-encodes one path segment (service names are usually plain).
std::string encode_segment(const std::string& x) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : x) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

struct request_line {
  std::string method;
  std::string path;
  std::string body;
  std::string what; // for messages: "start tick"
};

std::optional<request_line> make_request(const ctl_request& req,
                                         std::ostream& err) {
  auto needs_name = [&](const char* cmd) {
    if (req.name.empty()) {
      err << "troupe ctl " << cmd << ": a service name is required\n";
      return false;
    }
    if (auto why = config::check_service_name(req.name)) {
      err << "troupe ctl " << cmd << ": " << *why << '\n';
      return false;
    }
    return true;
  };
  auto encoded = encode_segment(req.name);
  switch (req.command) {
  case ctl_command::status:
    if (req.name.empty()) {
      std::string q;
      auto add = [&q](const char* key, const std::string& value) {
        if (!value.empty())
          q += (q.empty() ? "?" : "&") + std::string{key} + "=" +
               encode_segment(value);
      };
      add("state", req.state);
      add("type", req.type_filter);
      add("limit", req.limit > 0 ? std::to_string(req.limit) : "");
      add("after", req.after);
      return request_line{"GET", "/services" + q, {}, "status"};
    }
    return request_line{
      "GET", "/services/" + encoded, {}, "status " + req.name};
  case ctl_command::health:
    return request_line{"GET", "/health", {}, "health"};
  case ctl_command::metrics:
    return request_line{"GET", "/metrics", {}, "metrics"};
  case ctl_command::start:
  case ctl_command::stop:
  case ctl_command::restart: {
    std::string verb = req.command == ctl_command::start  ? "start"
                       : req.command == ctl_command::stop ? "stop"
                                                          : "restart";
    if (!needs_name(verb.c_str()))
      return std::nullopt;
    return request_line{"POST",
                        "/services/" + encoded + "/" + verb +
                          (req.cascade ? "?cascade=true" : ""),
                        {},
                        verb + " " + req.name};
  }
  case ctl_command::add: {
    if (!needs_name("add"))
      return std::nullopt;
    if (req.type.empty()) {
      err << "troupe ctl add: a service type is required\n";
      return std::nullopt;
    }
    json settings;
    if (auto e = build_ctl_settings(req.settings_json, req.sets, settings)) {
      err << "troupe ctl add: " << *e << '\n';
      return std::nullopt;
    }
    json spec{{"name", req.name},
              {"type", req.type},
              {"settings", std::move(settings)}};
    return request_line{"POST", "/services", dump(spec), "add " + req.name};
  }
  case ctl_command::remove:
    if (!needs_name("remove"))
      return std::nullopt;
    return request_line{"DELETE",
                        "/services/" + encoded +
                          (req.cascade ? "?cascade=true" : ""),
                        {},
                        "remove " + req.name};
  }
  return std::nullopt;
}

ctl_exit run(const ctl_options& opts, const ctl_request& req, std::ostream& out,
             std::ostream& err) {
  if (opts.url.empty()) {
    err << "troupe ctl: no control plane URL: pass --url "
           "http://127.0.0.1:PORT (the app's [control] http address) or set "
           "TROUPE_CONTROL_URL\n";
    return ctl_exit::usage;
  }
  auto url = normalize_url(opts.url);
  if (!url) {
    err << "troupe ctl: invalid URL '" << opts.url
        << "': expected http://HOST:PORT or https://HOST:PORT\n";
    return ctl_exit::usage;
  }
  auto line = make_request(req, err);
  if (!line)
    return ctl_exit::usage;
  httplib::Client cli{*url};
  if (!cli.is_valid()) {
    err << "troupe ctl: invalid URL '" << opts.url
        << "': expected http://HOST:PORT\n";
    return ctl_exit::usage;
  }
  cli.set_connection_timeout(connect_timeout_s);
  cli.set_read_timeout(opts.timeout);
  cli.set_write_timeout(opts.timeout);
  if (!opts.token.empty())
    cli.set_bearer_token_auth(opts.token);
  if (!opts.cacert.empty())
    cli.set_ca_cert_path(opts.cacert.c_str());
  cli.enable_server_certificate_verification(true);
  auto res = [&] {
    if (line->method == "GET")
      return cli.Get(line->path);
    if (line->method == "DELETE")
      return cli.Delete(line->path);
    return cli.Post(line->path, line->body, "application/json");
  }();
  if (!res) {
    err << "troupe ctl: cannot reach the control plane at " << *url << ": "
        << describe(res.error())
        << " (is the app running with [control] http set?)\n";
    return ctl_exit::unreachable;
  }
  auto status = res->status;
  bool success = status >= 200 && status < 300;
  // /health answers 503 with a normal body when the app is unhealthy.
  bool health_body = req.command == ctl_command::health && status == 503;
  if (opts.json || req.command == ctl_command::metrics) {
    out << res->body;
    if (!res->body.empty() && res->body.back() != '\n')
      out << '\n';
    if (!success && !health_body && !opts.json)
      print_error(err, line->what, status, json{}, {});
    return success ? ctl_exit::ok : ctl_exit::refused;
  }
  auto body = json::parse(res->body, nullptr, false);
  if (!success && !health_body) {
    print_error(err, line->what, status, body, res->body);
    return ctl_exit::refused;
  }
  if (body.is_discarded()) {
    err << "troupe ctl: " << line->what << ": the server answered " << status
        << " with a body that is not JSON\n";
    return ctl_exit::refused;
  }
  try {
    switch (req.command) {
    case ctl_command::status:
      if (req.name.empty()) {
        auto sts = body.get<std::vector<service_status>>();
        out << render_status_table(sts);
        // A filtered or paged answer says how much more there is.
        auto total = res->get_header_value("X-Total-Count");
        auto next = res->get_header_value("X-Next-After");
        if (!next.empty() ||
            (!total.empty() && total != std::to_string(sts.size())))
          out << sts.size() << " of " << (total.empty() ? "?" : total)
              << " matching service(s) shown"
              << (next.empty() ? std::string{} : "; next page: --after " + next)
              << '\n';
      } else
        print_service(out, body.get<service_status>());
      break;
    case ctl_command::health:
      print_health(out, body);
      break;
    default:
      print_outcome(out, line->what.substr(0, line->what.find(' ')), body);
    }
  } catch (const json::exception& e) {
    err << "troupe ctl: " << line->what << ": unexpected answer (" << e.what()
        << "): " << res->body << '\n';
    return ctl_exit::refused;
  }
  return success ? ctl_exit::ok : ctl_exit::refused;
}

} // namespace

std::optional<std::string>
build_ctl_settings(const std::string& settings_json,
                   const std::vector<std::string>& sets, json& out) {
  out = json::object();
  if (!settings_json.empty()) {
    auto parsed = json::parse(settings_json, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
      return "--settings: expected a JSON object, got '" + settings_json + "'";
    out = std::move(parsed);
  }
  for (auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      return "--set " + s + ": expected key=value";
    auto raw = s.substr(eq + 1);
    auto value = json::parse(raw, nullptr, false);
    // "1s", "demo.tick" and other bare words are strings; objects are for
    // --settings.
    if (value.is_discarded() || value.is_object())
      value = raw;
    if (!set_path(out, s.substr(0, eq), std::move(value)))
      return "--set " + s + ": '" + s.substr(0, eq) +
             "' is not a key path (or crosses a non-table value)";
  }
  return std::nullopt;
}

ctl_exit run_ctl(const ctl_options& opts, const ctl_request& req,
                 std::ostream& out, std::ostream& err) noexcept {
  try {
    return run(opts, req, out, err);
  } catch (const std::exception& e) {
    try {
      err << "troupe ctl: " << e.what() << '\n';
    } catch (...) { // NOLINT(bugprone-empty-catch): nowhere left to report
    }
    return ctl_exit::refused;
  }
}

} // namespace troupe::app
