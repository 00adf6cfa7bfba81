// app_runtime: the control_model the HTTP control plane calls: listing,
// health, metrics, start/stop/restart, and adding and removing services.

#include <utility>

#include <spdlog/spdlog.h>

#include "troupe/actors/metrics.hpp"
#include "troupe/app/app_metrics.hpp"
#include "troupe/app/app_runtime.hpp"
#include "troupe/app/app_runtime_impl.hpp"
#include "troupe/app/status_json.hpp"
#include "troupe/bridge/bridge_service.hpp"
#include "troupe/config/app_config.hpp"
#include "troupe/config/layered_config.hpp"
#include "troupe/config/schema.hpp"

namespace troupe::app {

using nlohmann::json;

namespace {

config::table to_table(const json& j);

config::value to_value(const json& j) {
  switch (j.type()) {
  case json::value_t::boolean:
    return j.get<bool>();
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return j.get<int64_t>();
  case json::value_t::number_float:
    return j.get<double>();
  case json::value_t::string:
    return j.get<std::string>();
  case json::value_t::array: {
    config::list xs;
    for (auto& x : j)
      xs.push_back(to_value(x));
    return xs;
  }
  case json::value_t::object:
    return to_table(j);
  default:
    return {};
  }
}

config::table to_table(const json& j) {
  config::table out;
  for (auto& [key, x] : j.items())
    out.emplace(key, to_value(x));
  return out;
}

} // namespace

json app_runtime::services() {
  json out = json::array();
  for (auto& st : statuses())
    out.push_back(st);
  return out;
}

std::optional<json> app_runtime::service(const std::string& name) {
  for (auto& st : statuses())
    if (st.name == name)
      return json(st);
  return std::nullopt;
}

control_health app_runtime::health() {
  auto& d = *impl_;
  std::vector<std::pair<std::string, health_report>> reports;
  bool all_running = true;
  for (auto& ci : d.children()) {
    health_report h;
    if (auto r =
          ask<health_report>(d.sys, ci.handle, d.timeout, health_atom::value)) {
      h = std::move(*r);
    } else {
      h.overall = health_status::unhealthy;
      h.checks.push_back(
        {"state", health_status::unhealthy,
         "not running (" + std::string{to_string(ci.state)} + ")",
         timestamp{}});
    }
    if (ci.state != service_state::running)
      all_running = false;
    reports.emplace_back(ci.name, std::move(h));
  }
  auto body = app_health_json(reports);
  bool ok = all_running && body.value("status", "") == "healthy";
  body["ok"] = ok;
  return {ok, std::move(body)};
}

std::string app_runtime::metrics_text() {
  auto& d = *impl_;
  exposition_writer w;
  auto xs = d.children();
  std::vector<service_status> sts;
  std::vector<std::pair<std::string, std::string>> bridges;
  for (auto& ci : xs) {
    sts.push_back(d.status_of(ci));
    if (ci.type == "bridge" && ci.handle)
      if (auto js = ask<std::string>(d.sys, ci.handle, d.timeout,
                                     bridge::stats_atom::value))
        bridges.emplace_back(ci.name, std::move(*js));
  }
  write_service_metrics(w, sts);
  for (auto& [name, text] : bridges)
    write_bridge_metrics(w, name, text);
  std::lock_guard<std::mutex> guard{d.mtx};
  for (auto& [name, reg] : d.registries) {
    w.extra_labels({{"service", name}});
    reg->write(w);
  }
  w.extra_labels({});
  return w.str();
}

control_result app_runtime::action(const std::string& name,
                                   control_action act) {
  auto& d = *impl_;
  auto xs = d.children();
  caf::expected<service_state> st{service_state::initialized};
  if (d.find(xs, name) == nullptr) {
    // Listed in the file but not started (autostart/enabled = false):
    // start it now as a child of the root supervisor.
    std::unique_lock<std::mutex> guard{d.mtx};
    auto i = d.cfg.services.find(name);
    if (i == d.cfg.services.end())
      return control_error(404, "no service named '" + name + "'");
    if (act == control_action::stop)
      return {200, json{{"name", name}, {"state", "initialized"}}};
    auto spec = d.make_spec(i->second);
    guard.unlock();
    if (!spec)
      return control_error(409, describe(spec.error()));
    st = ask<service_state>(d.sys, d.root, forever, add_child_atom::value,
                            std::move(*spec));
  } else {
    switch (act) {
    case control_action::start:
      st = ask<service_state>(d.sys, d.root, forever, start_child_atom::value,
                              name);
      break;
    case control_action::stop:
      st = ask<service_state>(d.sys, d.root, forever, stop_child_atom::value,
                              name);
      break;
    case control_action::restart:
      st = ask<service_state>(d.sys, d.root, forever, restart_child_atom::value,
                              name);
      break;
    }
  }
  if (!st)
    return control_error(409, describe(st.error()));
  d.log->info("control: {} '{}' -> {}", to_string(act), name, to_string(*st));
  return {200, json{{"name", name}, {"state", std::string{to_string(*st)}}}};
}

control_result app_runtime::add(const json& body) {
  auto& d = *impl_;
  std::vector<control_field_error> errors;
  auto name = body.value("name", json{}).is_string()
                ? body["name"].get<std::string>()
                : std::string{};
  auto type_name = body.value("type", json{}).is_string()
                     ? body["type"].get<std::string>()
                     : std::string{};
  if (name.empty())
    errors.push_back({"name", "required: a non-empty string"});
  else if (auto why = config::check_service_name(name))
    errors.push_back({"name", *why});
  if (type_name.empty())
    errors.push_back({"type", "required: a registered service type"});
  auto settings_json = body.value("settings", json::object());
  if (!settings_json.is_object())
    errors.push_back({"settings", "expected an object"});
  if (!errors.empty())
    return control_invalid("invalid service", errors);
  auto type = d.types.lookup(type_name);
  if (!type)
    return control_invalid("unknown service type",
                           {{"type", describe(type.error())}});
  // The settings as the app file would give them: common keys plus the
  // type's own, checked against both schemas, defaults filled in.
  config::schema full;
  full.merge(config::service_common_schema());
  full.merge(type->schema);
  auto values = to_table(settings_json);
  values["type"] = type_name;
  auto problems = config::layered_config::check_values(
    full, values, "settings of '" + name + "'");
  if (!problems.empty()) {
    for (auto& p : problems)
      errors.push_back({"settings." + p.path, p.message});
    return control_invalid("invalid settings", errors);
  }
  auto spec = config::make_service_spec(name, values);
  std::unique_lock<std::mutex> guard{d.mtx};
  if (d.cfg.services.count(name) > 0)
    return control_error(409, "a service named '" + name + "' exists");
  auto c = d.make_spec(spec);
  guard.unlock();
  if (!c)
    return control_error(409, describe(c.error()));
  auto st = ask<service_state>(d.sys, d.root, forever, add_child_atom::value,
                               std::move(*c));
  if (!st)
    return control_error(409, describe(st.error()));
  guard.lock();
  d.cfg.services.emplace(name, spec);
  guard.unlock();
  d.log->info("control: added '{}' ({})", name, type_name);
  return {201, json{{"name", name},
                    {"type", type_name},
                    {"state", std::string{to_string(*st)}}}};
}

control_result app_runtime::remove(const std::string& name) {
  auto& d = *impl_;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    if (d.cfg.services.count(name) == 0)
      return control_error(404, "no service named '" + name + "'");
  }
  auto xs = d.children();
  if (d.find(xs, name) != nullptr) {
    auto st = ask<service_state>(d.sys, d.root, forever,
                                 remove_child_atom::value, name);
    if (!st)
      return control_error(409, describe(st.error()));
  }
  std::lock_guard<std::mutex> guard{d.mtx};
  d.cfg.services.erase(name);
  d.registries.erase(name);
  d.log->info("control: removed '{}'", name);
  return {200, json{{"name", name}, {"state", "removed"}}};
}
} // namespace troupe::app
