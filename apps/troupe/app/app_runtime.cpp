#include "troupe/app/app_runtime.hpp"

#include <thread>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "troupe/actors/errc.hpp"
#include "troupe/actors/logging.hpp"
#include "troupe/actors/metrics.hpp"
#include "troupe/actors/supervisor.hpp"
#include "troupe/actors/topic_bus.hpp"
#include "troupe/app/app_metrics.hpp"
#include "troupe/app/status_json.hpp"
#include "troupe/bridge/bridge_service.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::app {

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Lifecycle requests through the supervisor carry their own deadlines (each
// child's start and stop timeouts); the outer wait only guards against a
// supervisor that is gone.
constexpr caf::timespan forever = std::chrono::hours{1};

// A blocking request from a non-actor thread. Each call has its own scoped
// actor: the HTTP server calls from several threads at once.
template <class T, class Handle, class... Ts>
caf::expected<T> ask(caf::actor_system& sys, const Handle& hdl,
                     caf::timespan timeout, Ts&&... xs) {
  if (!hdl)
    return make_error(errc::not_running, "no actor");
  caf::scoped_actor self{sys};
  caf::expected<T> result{caf::make_error(caf::sec::request_timeout)};
  self
    ->request(caf::actor_cast<caf::actor>(hdl), timeout,
              std::forward<Ts>(xs)...)
    .receive([&](T& x) { result = std::move(x); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

// The sum of everything that moves while messages flow, for the drain's
// "has the app gone quiet?" check.
struct activity {
  uint64_t moved = 0;
  uint64_t in_flight = 0;
  friend bool operator==(const activity& x, const activity& y) {
    return x.moved == y.moved && x.in_flight == y.in_flight;
  }
};

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

struct app_runtime::impl {
  caf::actor_system& sys;
  service_registry& types;
  std::shared_ptr<spdlog::logger> log;
  caf::actor bus;
  supervisor_actor root;
  caf::timespan timeout = 5s;

  // Guards cfg and registries (main thread and HTTP threads).
  std::mutex mtx;
  config::app_config cfg;
  std::map<std::string, std::shared_ptr<metric_registry>> registries;

  impl(caf::actor_system& sys, service_registry& types, config::app_config c,
       std::shared_ptr<spdlog::logger> log)
    : sys(sys), types(types), log(std::move(log)), cfg(std::move(c)) {
    bus = spawn_topic_bus(sys);
  }

  std::shared_ptr<metric_registry> registry_of(const std::string& name) {
    auto& reg = registries[name];
    if (!reg)
      reg = std::make_shared<metric_registry>();
    return reg;
  }

  // Caller holds mtx.
  caf::expected<child_spec> make_spec(const config::service_spec& spec) {
    auto type = types.lookup(spec.type);
    if (!type)
      return type.error();
    child_spec c;
    c.name = spec.name;
    c.type = spec.type;
    c.factory = type->spawn;
    c.config = spec.settings;
    c.restart =
      parse_restart_policy(spec.restart).value_or(restart_policy::permanent);
    c.stop_deadline = spec.stop_timeout;
    c.options = service_options{spec.name, spec.type, bus};
    if (!spec.log_level.empty())
      c.options.log_level = parse_log_level(spec.log_level);
    c.options.metrics = registry_of(spec.name);
    c.options.health_check_interval = spec.health_check_interval;
    return c;
  }

  supervisor_options root_options() {
    supervisor_options opts;
    opts.name = cfg.name.empty() ? "app" : cfg.name;
    opts.strategy = parse_restart_strategy(cfg.restart_strategy)
                      .value_or(restart_strategy::one_for_one);
    opts.max_restarts = static_cast<uint32_t>(cfg.max_restarts);
    opts.period = cfg.restart_period;
    opts.backoff_min = cfg.backoff_min;
    opts.backoff_max = std::max(cfg.backoff_max, cfg.backoff_min);
    return opts;
  }

  std::vector<child_info> children() {
    auto xs =
      ask<std::vector<child_info>>(sys, root, timeout, children_atom::value);
    return xs ? std::move(*xs) : std::vector<child_info>{};
  }

  const child_info* find(const std::vector<child_info>& xs,
                         const std::string& name) {
    for (auto& x : xs)
      if (x.name == name)
        return &x;
    return nullptr;
  }

  service_status status_of(const child_info& ci) {
    if (ci.handle) {
      auto st =
        ask<service_status>(sys, ci.handle, timeout, status_atom::value);
      if (st) {
        st->restarts = std::max(st->restarts, ci.restarts);
        if (st->last_error.empty())
          st->last_error = ci.last_error;
        return std::move(*st);
      }
    }
    service_status st;
    st.name = ci.name;
    st.type = ci.type;
    st.state = ci.state;
    st.restarts = ci.restarts;
    st.last_error = ci.last_error;
    if (ci.state == service_state::failed)
      st.health = health_status::unhealthy;
    return st;
  }

  std::vector<service_status> statuses() {
    auto xs = children();
    std::vector<service_status> out;
    std::vector<std::string> order;
    {
      std::lock_guard<std::mutex> guard{mtx};
      order = cfg.start_order();
    }
    for (auto& name : order) {
      if (auto* ci = find(xs, name)) {
        out.push_back(status_of(*ci));
      } else {
        service_status st;
        st.name = name;
        std::lock_guard<std::mutex> guard{mtx};
        st.type = cfg.services.at(name).type;
        out.push_back(std::move(st));
      }
    }
    // Services added at run time come last.
    for (auto& ci : xs)
      if (std::find(order.begin(), order.end(), ci.name) == order.end())
        out.push_back(status_of(ci));
    return out;
  }

  activity measure() {
    activity a;
    for (auto& st : statuses()) {
      if (st.state != service_state::running)
        continue;
      a.moved += st.messages_in + st.messages_out + st.messages_dropped;
      a.in_flight += st.in_flight;
    }
    return a;
  }

  // Waits until nothing moves for a few polls (or `until`, or at most
  // `cap`): what is inside the app when intake stops gets to finish.
  void wait_quiet(std::chrono::steady_clock::time_point until,
                  std::chrono::nanoseconds cap) {
    auto give_up = std::min(until, std::chrono::steady_clock::now() + cap);
    auto last = measure();
    int stable = 0;
    while (std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(25ms);
      auto now = measure();
      stable = (now == last && now.in_flight == 0) ? stable + 1 : 0;
      if (stable >= 4)
        return;
      last = now;
    }
  }
};

app_runtime::app_runtime(caf::actor_system& sys, service_registry& types,
                         config::app_config cfg,
                         std::shared_ptr<spdlog::logger> log)
  : impl_(std::make_unique<impl>(sys, types, std::move(cfg), std::move(log))) {}

app_runtime::~app_runtime() {
  caf::anon_send_exit(impl_->root, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(impl_->bus, caf::exit_reason::user_shutdown);
}

caf::error app_runtime::start() {
  auto& d = *impl_;
  std::vector<child_spec> specs;
  supervisor_options opts;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    for (auto& name : d.cfg.start_order()) {
      auto& spec = d.cfg.services.at(name);
      if (!spec.enabled || !spec.autostart) {
        d.log->info("service '{}' not started ({})", name,
                    spec.enabled ? "autostart = false" : "enabled = false");
        continue;
      }
      auto c = d.make_spec(spec);
      if (!c)
        return c.error();
      specs.push_back(std::move(*c));
    }
    opts = d.root_options();
  }
  d.root = spawn_supervisor(d.sys, opts, std::move(specs));
  auto st = ask<service_state>(d.sys, d.root, forever, start_atom::value);
  if (!st)
    return st.error();
  return {};
}

std::vector<service_status> app_runtime::statuses() {
  return impl_->statuses();
}

bool app_runtime::gave_up() {
  auto& d = *impl_;
  auto st = ask<service_status>(d.sys, d.root, d.timeout, status_atom::value);
  return st && st->state == service_state::failed;
}

shutdown_result app_runtime::shutdown(std::chrono::nanoseconds timeout) {
  auto& d = *impl_;
  shutdown_result result;
  auto until = std::chrono::steady_clock::now() + timeout;
  auto xs = d.children();
  for (auto i = xs.rbegin(); i != xs.rend(); ++i) {
    if (!i->handle)
      continue;
    auto left = until - std::chrono::steady_clock::now();
    if (left <= 0ns) {
      result = {false, i->name};
      break;
    }
    d.log->info("drain: stopping '{}'", i->name);
    auto st =
      ask<service_state>(d.sys, d.root, left, stop_child_atom::value, i->name);
    if (!st && st.error() == caf::sec::request_timeout) {
      result = {false, i->name};
      break;
    }
    if (!st) {
      d.log->error("drain: stopping '{}' failed: {}", i->name,
                   describe(st.error()));
      result.clean = false;
    }
    d.wait_quiet(until, 2s);
  }
  if (!result.hung.empty()) {
    d.log->error("shutdown timeout ({}) passed while '{}' was stopping",
                 config::format_duration(timeout), result.hung);
    return result;
  }
  auto left = until - std::chrono::steady_clock::now();
  auto st = ask<service_state>(
    d.sys, d.root, std::max<caf::timespan>(left, 1ms), stop_atom::value,
    std::string{"shutdown"}, caf::timespan{std::max<caf::timespan>(left, 1ms)});
  if (!st) {
    d.log->error("stopping the root supervisor: {}", describe(st.error()));
    result.clean = false;
  }
  return result;
}

void app_runtime::reload(const config::app_config& next) {
  auto& d = *impl_;
  config::app_changes changes;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    changes = config::diff(d.cfg, next);
  }
  if (changes.empty()) {
    d.log->info("reload: no service changed");
    return;
  }
  auto xs = d.children();
  for (auto& name : changes.changed) {
    auto& spec = next.services.at(name);
    auto* ci = d.find(xs, name);
    if (ci == nullptr || !ci->handle) {
      d.log->info("reload: '{}' changed but is not running", name);
      continue;
    }
    auto st =
      ask<service_state>(d.sys, d.root, d.timeout,
                         reconfigure_child_atom::value, name, spec.settings);
    if (!st) {
      d.log->error("reload: reconfigure '{}' failed: {}", name,
                   describe(st.error()));
      continue;
    }
    d.log->info("reload: reconfigured '{}'", name);
    std::lock_guard<std::mutex> guard{d.mtx};
    d.cfg.services.at(name) = spec;
  }
  auto later = [&d](const char* what, const std::vector<std::string>& names) {
    for (auto& name : names)
      d.log->warn("reload: service '{}' {}; restart the app to apply", name,
                  what);
  };
  later("added", changes.added);
  later("removed", changes.removed);
  later("changed type", changes.replaced);
}

// -- control_model ------------------------------------------------------------

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
