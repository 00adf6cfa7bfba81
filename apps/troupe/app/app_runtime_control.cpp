// app_runtime: the control_model the HTTP control plane calls: listing,
// health, metrics, start/stop/restart, and adding and removing services.

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <spdlog/spdlog.h>

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/metrics.hpp"
#include "troupe/app/app_metrics.hpp"
#include "troupe/app/app_runtime.hpp"
#include "troupe/app/app_runtime_impl.hpp"
#include "troupe/app/status_json.hpp"
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

namespace {

// Every service `name` needs (`down`) or that needs it (`!down`), directly
// or through others, in start order. Caller holds the runtime's mutex.
std::vector<std::string> related(const config::app_config& cfg,
                                 const std::string& name, bool down) {
  std::set<std::string> seen;
  std::vector<std::string> todo{name};
  while (!todo.empty()) {
    auto at = todo.back();
    todo.pop_back();
    std::vector<std::string> next;
    if (down) {
      if (auto i = cfg.services.find(at); i != cfg.services.end())
        next = i->second.depends_on;
    } else {
      for (auto& [other, spec] : cfg.services)
        if (std::find(spec.depends_on.begin(), spec.depends_on.end(), at) !=
            spec.depends_on.end())
          next.push_back(other);
    }
    for (auto& n : next)
      if (n != name && seen.insert(n).second)
        todo.push_back(n);
  }
  std::vector<std::string> out;
  for (auto& n : cfg.start_order())
    if (seen.count(n) > 0)
      out.push_back(n);
  return out;
}

std::string quoted_list(const std::vector<std::string>& xs) {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += i + 1 == xs.size() ? " and " : ", ";
    out += "'" + xs[i] + "'";
  }
  return out;
}

} // namespace

bool app_runtime::impl::is_expected(const std::string& name) {
  if (auto i = expected.find(name); i != expected.end())
    return i->second;
  auto i = cfg.services.find(name);
  return i != cfg.services.end() && i->second.enabled && i->second.autostart;
}

json app_runtime::impl::annotated(const service_status& st) {
  json j = st;
  auto i = cfg.services.find(st.name);
  j["enabled"] = i == cfg.services.end() || i->second.enabled;
  j["expected"] = is_expected(st.name);
  if (i != cfg.services.end() && !i->second.supervisor.empty())
    j["supervisor"] = i->second.supervisor;
  return j;
}

service_page app_runtime::services(const service_query& q) {
  auto& d = *impl_;
  auto page = select_services(statuses(), q);
  std::lock_guard<std::mutex> guard{d.mtx};
  for (auto& j : page.items) {
    auto name = j["name"].get<std::string>();
    auto i = d.cfg.services.find(name);
    j["enabled"] = i == d.cfg.services.end() || i->second.enabled;
    j["expected"] = d.is_expected(name);
    if (i != d.cfg.services.end() && !i->second.supervisor.empty())
      j["supervisor"] = i->second.supervisor;
  }
  return page;
}

std::optional<json> app_runtime::service(const std::string& name) {
  auto& d = *impl_;
  auto xs = d.children();
  if (auto* ci = d.find(xs, name)) {
    auto st = d.status_of(*ci);
    std::lock_guard<std::mutex> guard{d.mtx};
    return d.annotated(st);
  }
  std::lock_guard<std::mutex> guard{d.mtx};
  auto i = d.cfg.services.find(name);
  if (i == d.cfg.services.end())
    return std::nullopt;
  service_status st;
  st.name = name;
  st.type = i->second.type;
  return d.annotated(st);
}

control_health app_runtime::health(bool all) {
  auto& d = *impl_;
  auto xs = d.children();
  // One request for every state and overall health; only the services
  // listed below are asked for their checks.
  std::unordered_map<std::string, service_status> sts;
  for (auto& st : statuses()) {
    auto name = st.name;
    sts.emplace(std::move(name), std::move(st));
  }
  std::vector<service_health> list;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    auto order = d.cfg.start_order();
    list.reserve(order.size());
    for (auto& name : order)
      list.push_back({name, service_state::initialized, d.is_expected(name),
                      health_report{}});
  }
  std::unordered_map<std::string_view, const child_info*> by_name;
  by_name.reserve(xs.size());
  for (auto& x : xs)
    by_name.emplace(x.name, &x);
  // The services listed get their checks, asked all at once (256 in
  // flight at a time).
  std::vector<service_health*> asked;
  std::vector<service_actor> handles;
  for (auto& sh : list) {
    auto c = by_name.find(sh.name);
    if (c == by_name.end())
      continue;
    auto* ci = c->second;
    sh.state = ci->state;
    if (auto i = sts.find(sh.name); i != sts.end())
      sh.report.overall = i->second.health;
    if (!all && !needs_attention(sh))
      continue;
    asked.push_back(&sh);
    handles.push_back(ci->handle);
  }
  // One deadline for them all: the app's wait plus 100 us a service (a
  // report takes ~35 us at 100,000 on 2 cores), so that the last ones of a
  // long list are not counted late on a busy machine.
  auto budget = d.timeout + std::chrono::microseconds{100} *
                              static_cast<int64_t>(handles.size());
  // A group supervisor ends its own round of asking its members within it.
  auto reports =
    ask_all<health_report>(d.sys, handles, budget, health_atom::value, budget);
  for (size_t i = 0; i < asked.size(); ++i) {
    auto& sh = *asked[i];
    if (auto& r = reports[i]) {
      sh.report = std::move(*r);
    } else if (sh.state == service_state::running) {
      sh.report.overall = health_status::unhealthy;
      sh.report.checks.push_back({"health", health_status::unhealthy,
                                  "no health report: " + describe(r.error()),
                                  timestamp{}});
    }
  }
  auto body = app_health_body(list, all);
  bool ok = body["ok"].get<bool>();
  if (gave_up()) {
    ok = false;
    body["ok"] = body["ready"] = false;
    body["not_ready"].push_back(
      json{{"name", "supervisor"}, {"reason", "gave up"}});
  }
  return {ok, std::move(body)};
}

bool app_runtime::live() {
  auto& d = *impl_;
  auto root = d.root_now();
  if (!root)
    return true; // still loading the services: the process works
  auto st = ask<service_status>(d.sys, root, d.timeout, status_atom::value);
  return st && st->state != service_state::failed;
}

namespace {

// The topic bus's own figures (topic_bus.hpp, `status_atom`): what it
// moved, and what waits for a failed service's next instance.
void write_bus_metrics(exposition_writer& w, caf::actor_system& sys,
                       const bus_actor& bus, caf::timespan timeout) {
  if (!bus)
    return;
  auto get = [&](auto... xs) {
    return ask<uint64_t, uint64_t, uint64_t>(sys, bus, timeout, xs...);
  };
  struct family {
    const char* name;
    const char* help;
    metric_type type;
  };
  auto write = [&](const family& f, uint64_t value) {
    w.family(f.name, f.help, f.type);
    w.sample({}, static_cast<double>(value));
  };
  if (auto x = get(status_atom::value)) {
    write({"troupe_bus_subscriptions", "Topic prefixes subscribed on the bus",
           metric_type::gauge},
          std::get<0>(*x));
    write({"troupe_bus_published_total", "Messages published on the bus",
           metric_type::counter},
          std::get<1>(*x));
    write({"troupe_bus_delivered_total",
           "Messages the bus handed to subscribers (one per subscriber)",
           metric_type::counter},
          std::get<2>(*x));
  }
  if (auto x = get(status_atom::value, bus_redeliver_atom::value)) {
    write({"troupe_bus_redelivered_total",
           "Batches a failed service did not handle, delivered to its next "
           "instance",
           metric_type::counter},
          std::get<0>(*x));
    write({"troupe_bus_waiting_messages",
           "Messages kept for the next instance of a failed service",
           metric_type::gauge},
          std::get<1>(*x));
    write({"troupe_bus_redelivery_lost_total",
           "Messages lost because no next instance of their failed "
           "subscriber took them in time",
           metric_type::counter},
          std::get<2>(*x));
  }
}

} // namespace

std::string app_runtime::metrics_text() {
  auto& d = *impl_;
  exposition_writer w;
  // First: the memory of the app, not of this request's status copies.
  write_process_metrics(w);
  auto sts = d.statuses(false);
  // Per service for small types and services that opted in; per type (the
  // troupe_type_* families, and the services' own metrics summed with a
  // `type` label) for every type.
  std::unordered_map<std::string, size_t> per_type;
  for (auto& st : sts)
    ++per_type[st.type];
  std::unordered_set<std::string> detailed;
  std::vector<service_status> shown;
  std::map<std::string, std::vector<std::shared_ptr<metric_registry>>> summed;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    auto max = static_cast<size_t>(
      std::max<int64_t>(d.cfg.control_metrics_per_service_max, 0));
    for (auto& st : sts) {
      auto i = d.cfg.services.find(st.name);
      bool opted = i != d.cfg.services.end() && i->second.metrics_per_service;
      if (per_type[st.type] <= max || opted) {
        detailed.insert(st.name);
        shown.push_back(st);
      }
    }
    for (auto& st : sts)
      if (detailed.count(st.name) == 0)
        if (auto r = d.registries.find(st.name); r != d.registries.end())
          summed[st.type].push_back(r->second);
  }
  write_service_metrics(w, shown);
  write_type_metrics(w, sts);
  write_bus_metrics(w, d.sys, d.bus, d.timeout);
  // Everything else (a service's own metrics, the bridge's endpoints) is
  // in the services' registries.
  std::vector<std::pair<std::string, std::shared_ptr<metric_registry>>> own;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    for (auto& [name, reg] : d.registries)
      if (detailed.count(name) > 0)
        own.emplace_back(name, reg);
  }
  for (auto& [name, reg] : own) {
    w.extra_labels({{"service", name}});
    reg->write(w);
  }
  w.summing(true);
  for (auto& [type, regs] : summed) {
    w.extra_labels({{"type", type}});
    for (auto& reg : regs)
      reg->write(w);
  }
  w.summing(false);
  w.extra_labels({});
  return w.str();
}

control_result app_runtime::action(const std::string& name, control_action act,
                                   bool cascade) {
  auto& d = *impl_;
  std::vector<std::string> needs;
  std::vector<std::string> needed_by;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    auto i = d.cfg.services.find(name);
    if (i == d.cfg.services.end())
      return control_error(404, "no service named '" + name + "'");
    if (act != control_action::stop && !i->second.enabled)
      return control_error(
        409, "'" + name +
               "' is disabled (enabled = false in the app file); set "
               "enabled = true and restart the app to run it");
    needs = related(d.cfg, name, true);
    needed_by = related(d.cfg, name, false);
  }
  auto xs = d.children();
  auto state_of = [&](const std::string& n) {
    auto* ci = d.find(xs, n);
    return ci == nullptr ? service_state::initialized : ci->state;
  };
  // One service, no dependency checks: start, stop or restart.
  auto change = [&](const std::string& n,
                    control_action what) -> caf::expected<service_state> {
    if (d.find(xs, n) == nullptr) {
      // Listed in the file but never started (autostart = false): start it
      // now as a child of its supervisor.
      if (what == control_action::stop)
        return service_state::initialized;
      std::unique_lock<std::mutex> guard{d.mtx};
      auto spec = d.make_spec(d.cfg.services.at(n));
      guard.unlock();
      if (!spec)
        return spec.error();
      return ask<service_state>(d.sys, d.supervisor_of(n), forever,
                                add_child_atom::value, std::move(*spec));
    }
    auto sup = d.supervisor_of(n);
    switch (what) {
    case control_action::start:
      return ask<service_state>(d.sys, sup, forever, start_child_atom::value,
                                n);
    case control_action::stop:
      return ask<service_state>(d.sys, sup, forever, stop_child_atom::value, n);
    case control_action::restart:
      break;
    }
    return ask<service_state>(d.sys, sup, forever, restart_child_atom::value,
                              n);
  };
  std::vector<std::string> also;
  // One service on the way of a cascade; an error text when it failed.
  auto run = [&](const std::string& n,
                 control_action what) -> std::optional<std::string> {
    auto st = change(n, what);
    if (!st) {
      std::string msg = "cannot ";
      msg += to_string(what);
      msg += " '";
      msg += n;
      msg += "' (cascade of ";
      msg += to_string(act);
      msg += " '";
      msg += name;
      msg += "'): ";
      msg += describe(st.error());
      return msg;
    }
    std::lock_guard<std::mutex> guard{d.mtx};
    d.expected[n] = what != control_action::stop;
    return std::nullopt;
  };
  if (act == control_action::start) {
    // Said plainly, not as the supervisor's transition error, and before
    // a cascade starts anything for it.
    auto now = state_of(name);
    if (now == service_state::running || now == service_state::starting)
      return control_error(409, "'" + name + "' is already " +
                                  std::string{to_string(now)});
  }
  if (act != control_action::stop) {
    std::vector<std::string> down;
    for (auto& n : needs)
      if (state_of(n) != service_state::running)
        down.push_back(n);
    if (!down.empty() && !cascade) {
      std::string states;
      for (auto& n : down)
        states += (states.empty() ? "" : ", ") + n + ": " +
                  std::string{to_string(state_of(n))};
      return control_error(
        409, "cannot " + to_string(act) + " '" + name + "': it depends on " +
               quoted_list(down) + ", not running (" + states + "); start " +
               (down.size() == 1 ? "it" : "them") +
               " first, or pass ?cascade=true (troupe ctl --cascade)");
    }
    for (auto& n : down) {
      if (auto failed = run(n, control_action::start))
        return control_error(409, std::move(*failed));
      also.push_back(n);
    }
  } else {
    std::vector<std::string> up;
    for (auto& n : needed_by) {
      auto st = state_of(n);
      if (st == service_state::running || st == service_state::starting)
        up.push_back(n);
    }
    if (!up.empty() && !cascade)
      return control_error(
        409, "cannot stop '" + name + "': " + quoted_list(up) +
               (up.size() == 1 ? " depends on it and runs"
                               : " depend on it and run") +
               "; stop " + (up.size() == 1 ? "it" : "them") +
               " first, or pass ?cascade=true (troupe ctl --cascade)");
    for (auto it = up.rbegin(); it != up.rend(); ++it) {
      if (auto failed = run(*it, control_action::stop))
        return control_error(409, std::move(*failed));
      also.push_back(*it);
    }
  }
  auto st = change(name, act);
  if (!st)
    return control_error(409, describe(st.error()));
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    d.expected[name] = act != control_action::stop;
  }
  d.log->info("control: {} '{}' -> {}{}", to_string(act), name, to_string(*st),
              also.empty() ? std::string{}
                           : " (cascade: " + quoted_list(also) + ")");
  // The state the action reached; the service may have moved on since (a
  // one_for_all sibling failed, say): then state_now says where it is.
  auto reached = std::string{to_string(*st)};
  // Only a status from the service's current record says where it is now
  // (when the supervisor did not answer the listing, the app file's entry
  // stands in, with no state of its own).
  auto live = d.find(d.children(), name) != nullptr;
  auto body = service(name).value_or(json{{"name", name}, {"state", reached}});
  if (auto now = body.value("state", reached); now != reached) {
    body["state"] = reached;
    if (live)
      body["state_now"] = now;
  }
  if (!also.empty())
    body["cascade"] = also;
  return {200, std::move(body)};
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
  if (!spec.supervisor.empty())
    return control_invalid(
      "invalid settings",
      {{"settings.supervisor",
        "services added at run time run under the root supervisor; name "
        "the service in the app file to run it under [supervisors." +
          spec.supervisor + "]"}});
  bool starts = spec.enabled && spec.autostart;
  std::unique_lock<std::mutex> guard{d.mtx};
  if (d.cfg.services.count(name) > 0)
    return control_error(409, "a service named '" + name + "' exists");
  if (d.cfg.supervisors.count(name) > 0)
    return control_error(409, "a supervisor named '" + name + "' exists");
  for (size_t i = 0; i < spec.depends_on.size(); ++i) {
    auto& dep = spec.depends_on[i];
    auto path = "settings.depends_on[" + std::to_string(i) + "]";
    if (dep == name)
      errors.push_back({path, "'" + name + "' depends on itself"});
    else if (d.cfg.services.count(dep) == 0)
      errors.push_back({path, "unknown service '" + dep + "'"});
  }
  if (!errors.empty())
    return control_invalid("unknown dependency", errors);
  auto c = d.make_spec(spec);
  guard.unlock();
  if (!c)
    return control_error(409, describe(c.error()));
  if (starts) {
    auto xs = d.children();
    std::vector<std::string> down;
    for (auto& dep : spec.depends_on) {
      auto* ci = d.find(xs, dep);
      if (ci == nullptr || ci->state != service_state::running)
        down.push_back(dep);
    }
    if (!down.empty())
      return control_error(409, "cannot add '" + name + "': it depends on " +
                                  quoted_list(down) + ", not running; start " +
                                  (down.size() == 1 ? "it" : "them") +
                                  " first, or add it with autostart = false");
    auto st = ask<service_state>(d.sys, d.root_now(), forever,
                                 add_child_atom::value, std::move(*c));
    if (!st)
      return control_error(409, describe(st.error()));
  }
  guard.lock();
  d.cfg.services.emplace(name, spec);
  d.expected[name] = starts;
  guard.unlock();
  d.log->info("control: added '{}' ({}){}", name, type_name,
              starts ? "" : ", not started");
  return {201, service(name).value_or(json{{"name", name}})};
}

control_result app_runtime::remove(const std::string& name, bool cascade) {
  auto& d = *impl_;
  std::vector<std::string> needed_by;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    if (d.cfg.services.count(name) == 0)
      return control_error(404, "no service named '" + name + "'");
    needed_by = related(d.cfg, name, false);
  }
  if (!needed_by.empty() && !cascade)
    return control_error(
      409, "cannot remove '" + name + "': " + quoted_list(needed_by) +
             (needed_by.size() == 1 ? " depends" : " depend") +
             " on it; remove " + (needed_by.size() == 1 ? "it" : "them") +
             " first, or pass ?cascade=true (troupe ctl --cascade)");
  // Dependents first, the top of the graph down.
  std::vector<std::string> order(needed_by.rbegin(), needed_by.rend());
  order.push_back(name);
  std::vector<std::string> removed;
  for (auto& n : order) {
    auto xs = d.children();
    if (d.find(xs, n) != nullptr) {
      auto st = ask<service_state>(d.sys, d.supervisor_of(n), forever,
                                   remove_child_atom::value, n);
      if (!st)
        return control_error(
          409, "cannot remove '" + n + "': " + describe(st.error()) +
                 (removed.empty()
                    ? std::string{}
                    : " (removed " + quoted_list(removed) + " already)"));
    }
    std::lock_guard<std::mutex> guard{d.mtx};
    d.cfg.services.erase(n);
    d.registries.erase(n);
    d.expected.erase(n);
    removed.push_back(n);
    d.log->info("control: removed '{}'", n);
  }
  return {200, json{{"name", name},
                    {"removed", removed},
                    {"message", "removed " + quoted_list(removed)}}};
}
} // namespace troupe::app
