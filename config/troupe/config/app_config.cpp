#include "troupe/config/app_config.hpp"

#include "troupe/config/duration.hpp"

#include <algorithm>
#include <functional>
#include <set>

namespace troupe::config {

using namespace std::chrono_literals;

namespace {

const std::vector<std::string> log_levels = {
  "trace", "debug", "info", "warn", "error", "critical", "off"};

schema make_common() {
  schema s{"Keys every service has"};
  s.string("type", "Service type, e.g. \"ticker\" (see `troupe types`)")
    .require();
  s.list("depends_on", "Services that must be running before this one starts")
    .of(value_kind::string)
    .fallback(list{});
  s.boolean("autostart", "Start with the app (false: start it through the "
                         "control plane)")
    .fallback(true);
  s.boolean("enabled", "false: listed but never started, not even through "
                       "the control plane")
    .fallback(true);
  s.string("restart", "Restart policy when the service dies or fails")
    .fallback("permanent")
    .one_of({"permanent", "transient", "temporary"});
  s.duration("stop_timeout", "How long stop may take before it is forced")
    .fallback(duration{5s})
    .at_least(0);
  s.string("log_level", "This service's log level (default: app.log_level)")
    .one_of(log_levels);
  s.duration("health_check_interval",
             "Period of the service's health checks that name none")
    .fallback(duration{10s})
    .at_least(0.001);
  s.integer("publish_window",
            "Published messages that may wait for their subscribers before "
            "the service is held back (0: never)")
    .fallback(10000)
    .at_least(0);
  s.boolean("metrics_per_service",
            "Export this service's series in /metrics with its own `service` "
            "label even when its type has more services than [control] "
            "metrics_per_service_max")
    .fallback(false);
  s.string("supervisor", "The [supervisors.NAME] this service runs under "
                         "(empty: the app's root supervisor)")
    .fallback("");
  return s;
}

// The keys of `[supervisor]` and of every `[supervisors.NAME]`.
void supervisor_keys(schema& sup, const char* scope) {
  sup.string("strategy", "Which services restart when one must")
    .fallback("one_for_one")
    .one_of({"one_for_one", "one_for_all", "rest_for_one"});
  sup
    .integer("max_restarts", std::string{"Restarts allowed within `period`; "
                                         "one more stops "} +
                               scope + " (escalation)")
    .fallback(int64_t{10})
    .at_least(0);
  sup.duration("period", "The window of `max_restarts`")
    .fallback(duration{60s})
    .at_least(0.001);
  sup
    .duration("backoff_min", "Wait before a first restart; doubles with each "
                             "quick repeat")
    .fallback(duration{100ms})
    .at_least(0);
  sup.duration("backoff_max", "The longest wait before a restart")
    .fallback(duration{5s})
    .at_least(0);
  sup
    .floating("jitter", "Each wait is shortened by a random fraction below "
                        "this (never below backoff_min), so that many "
                        "services failing together do not restart together")
    .fallback(0.2)
    .at_least(0)
    .at_most(1);
  sup
    .integer("seed", "Seeds the jitter, for restarts timed the same in "
                     "every run; 0 draws a random seed")
    .fallback(int64_t{0})
    .at_least(0);
}

template <class T>
T get(const table& t, std::string_view key) {
  auto* x = find(t, key);
  if (x != nullptr)
    if (auto* v = x->get_if<T>())
      return *v;
  return T{};
}

std::vector<std::string> strings(const table& t, std::string_view key) {
  std::vector<std::string> out;
  for (auto& x : get<list>(t, key))
    if (auto* s = x.get_if<std::string>())
      out.push_back(*s);
  return out;
}

} // namespace

const schema& service_common_schema() {
  static const schema instance = make_common();
  return instance;
}

schema app_schema(const type_catalog& types) {
  schema root{"A troupe app file"};
  auto& app = root.section("app", "The app as a whole");
  app.string("name", "Name shown in logs and status").fallback("troupe");
  app.string("log_level", "Default log level")
    .fallback("info")
    .one_of(log_levels);
  app
    .string("log_format", "How log records look: text lines, or one JSON "
                          "object per line")
    .fallback("text")
    .one_of({"text", "json"});
  app
    .string("log_file", "Also write logs to this file, appended to (empty: "
                        "stderr only); reopened on SIGHUP/SIGUSR1")
    .fallback("");
  app
    .integer("log_max_size", "Rotate log_file when it would grow past this "
                             "many bytes (0: never; leave it to logrotate)")
    .fallback(int64_t{10} * 1024 * 1024)
    .at_least(0);
  app
    .integer("log_max_files",
             "Rotated log files kept: NAME.1.EXT (newest) to NAME.N.EXT")
    .fallback(int64_t{5})
    .at_least(1)
    .at_most(1000);
  app
    .duration("shutdown_timeout",
              "Drain deadline after SIGINT/SIGTERM; past it, exit non-zero")
    .fallback(duration{10s})
    .at_least(0);
  app.duration("status_interval", "How often the status is printed")
    .fallback(duration{5s})
    .at_least(0.01);
  app
    .duration("redelivery_keep_for",
              "How long the bus keeps what a failed service did not handle "
              "for its next instance; past it, counted as lost "
              "(not reloaded)")
    .fallback(duration{30s})
    .at_least(0)
    .at_most(86400);
  app.list("plugins", "Shared libraries with more service types")
    .of(value_kind::string)
    .fallback(list{});
  auto& sup = root.section("supervisor", "How the app's services are "
                                         "restarted (the root supervisor)");
  supervisor_keys(sup, "the app");
  auto& nested = root.entries(
    "supervisors", "Supervisors under the root, each over the services that "
                   "name it (`supervisor = \"NAME\"`); the root restarts a "
                   "supervisor that gives up like a failed service");
  supervisor_keys(nested, "this supervisor and its services, and the root "
                          "restarts it");
  auto& control =
    root.section("control", "HTTP control plane (off by default)");
  control.string("http", "Listen address, e.g. \"127.0.0.1:8080\"; empty: off")
    .fallback("");
  control
    .string("token", "Admin bearer token: every route (empty with an empty "
                     "read_token: no authentication)")
    .fallback("");
  control
    .string("read_token", "Read-only bearer token: GET routes only (status, "
                          "health, metrics); needs `token`")
    .fallback("");
  control.list("public", "GET paths answered without a token (e.g. probes)")
    .of(value_kind::string)
    .fallback(list{std::string{"/livez"}, std::string{"/readyz"}});
  control
    .integer("metrics_per_service_max",
             "A type with more services than this is exported per type in "
             "/metrics (troupe_type_*), its services' series summed, not one "
             "series per service (0: every type per type)")
    .fallback(int64_t{100})
    .at_least(0);
  control
    .boolean("allow_insecure_bind",
             "Serve without a token on an address that is not loopback")
    .fallback(false);
  control
    .string("tls_cert", "HTTPS: PEM certificate (chain) file; with tls_key "
                        "(both empty: plain HTTP)")
    .fallback("");
  control.string("tls_key", "HTTPS: PEM private key file of tls_cert")
    .fallback("");
  // Each entry's full schema (common keys + its type's settings) comes from
  // its `type`; combinations are cached.
  auto cache =
    std::make_shared<std::map<std::string, std::shared_ptr<schema>>>();
  auto catalog = std::make_shared<type_catalog>(types);
  auto resolve =
    [cache, catalog](const table& entry,
                     entry_problem& problem) -> std::shared_ptr<const schema> {
    auto* type = find(entry, "type");
    auto* name = type ? type->get_if<std::string>() : nullptr;
    problem.key = "type";
    if (name == nullptr)
      return nullptr; // the common schema reports it
    if (auto i = cache->find(*name); i != cache->end())
      return i->second;
    auto t = catalog->find(*name);
    if (t == catalog->end()) {
      std::vector<std::string> known;
      for (auto& [k, _] : *catalog)
        known.push_back(k);
      problem.message =
        "unknown service type '" + *name + "'" + did_you_mean(*name, known);
      return nullptr;
    }
    auto full = std::make_shared<schema>(t->second.description());
    full->merge(service_common_schema());
    full->merge(t->second);
    (*cache)[*name] = full;
    return full;
  };
  root.entries("services", "Services by name", std::move(resolve))
    .merge(service_common_schema());
  return root;
}

bool operator==(const service_spec& x, const service_spec& y) {
  return x.name == y.name && x.type == y.type && x.depends_on == y.depends_on &&
         x.autostart == y.autostart && x.enabled == y.enabled &&
         x.restart == y.restart && x.stop_timeout == y.stop_timeout &&
         x.log_level == y.log_level &&
         x.health_check_interval == y.health_check_interval &&
         x.publish_window == y.publish_window &&
         x.metrics_per_service == y.metrics_per_service &&
         x.supervisor == y.supervisor && x.settings == y.settings;
}

std::optional<std::string> check_service_name(std::string_view name) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
  };
  bool ok = !name.empty() && name.size() <= 64 && alnum(name.front()) &&
            std::all_of(name.begin(), name.end(), [&](char c) {
              return alnum(c) || c == '_' || c == '-';
            });
  if (ok)
    return std::nullopt;
  std::string shown;
  for (unsigned char c : name.substr(0, 80)) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      shown += static_cast<char>(c);
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      shown += "\\x";
      shown += hex[c >> 4];
      shown += hex[c & 15];
    }
  }
  if (name.size() > 80)
    shown += "...";
  return "invalid service name '" + shown + "': expected " +
         std::string{service_name_rule};
}

namespace {

void check_names(app_config& cfg, diagnostics& errors) {
  for (auto& [name, _] : cfg.services)
    if (auto why = check_service_name(name)) {
      auto path = "services." + name;
      errors.push_back({cfg.layers.where(path + ".type"), path, *why});
    }
}

void check_dependencies(app_config& cfg, diagnostics& errors) {
  std::vector<std::string> names;
  for (auto& [name, _] : cfg.services)
    names.push_back(name);
  for (auto& [name, spec] : cfg.services)
    for (size_t i = 0; i < spec.depends_on.size(); ++i) {
      auto& dep = spec.depends_on[i];
      auto path = "services." + name + ".depends_on[" + std::to_string(i) + "]";
      if (dep == name)
        errors.push_back({cfg.layers.where(path), path,
                          "service '" + name + "' depends on itself"});
      else if (cfg.services.count(dep) == 0)
        errors.push_back(
          {cfg.layers.where(path), path,
           "unknown service '" + dep + "'" + did_you_mean(dep, names)});
    }
  // Cycles: depth-first search, reporting each cycle once from its
  // smallest member.
  enum class mark { none, active, done };
  std::map<std::string, mark, std::less<>> marks;
  std::vector<std::string> stack;
  std::set<std::string> reported;
  std::function<void(const std::string&)> visit = [&](const std::string& n) {
    marks[n] = mark::active;
    stack.push_back(n);
    for (auto& dep : cfg.services[n].depends_on) {
      if (dep == n || cfg.services.count(dep) == 0)
        continue;
      if (marks[dep] == mark::active) {
        auto from = std::find(stack.begin(), stack.end(), dep);
        std::string chain;
        std::vector<std::string> members(from, stack.end());
        for (auto& m : members)
          chain += m + " -> ";
        chain += dep;
        auto key = *std::min_element(members.begin(), members.end());
        if (reported.insert(key).second) {
          auto path = "services." + n + ".depends_on";
          errors.push_back(
            {cfg.layers.where(path), path, "dependency cycle: " + chain});
        }
      } else if (marks[dep] == mark::none) {
        visit(dep);
      }
    }
    stack.pop_back();
    marks[n] = mark::done;
  };
  for (auto& [name, _] : cfg.services)
    if (marks[name] == mark::none)
      visit(name);
}

// `[supervisors.NAME]`: valid names that no service has, services naming a
// known one, and no dependency cycle through a supervisor (a service outside
// a supervisor that depends on one of its services, while a service of it
// depends back: the root could start neither first).
void check_supervisors(app_config& cfg, diagnostics& errors) {
  std::vector<std::string> names;
  for (auto& [name, _] : cfg.supervisors) {
    names.push_back(name);
    auto path = "supervisors." + name;
    if (auto why = check_service_name(name)) {
      auto msg = *why;
      msg.replace(0, 20, "invalid supervisor name");
      errors.push_back({cfg.layers.where(path), path, msg});
    } else if (cfg.services.count(name) > 0) {
      errors.push_back({cfg.layers.where(path), path,
                        "supervisor '" + name +
                          "' has the name of a service; services and "
                          "supervisors share one namespace"});
    }
  }
  bool bad_member = false;
  for (auto& [name, spec] : cfg.services)
    if (!spec.supervisor.empty() &&
        cfg.supervisors.count(spec.supervisor) == 0) {
      auto path = "services." + name + ".supervisor";
      errors.push_back({cfg.layers.where(path), path,
                        "unknown supervisor '" + spec.supervisor + "'" +
                          did_you_mean(spec.supervisor, names) +
                          (names.empty() ? " (no [supervisors.NAME] in the "
                                           "app file)"
                                         : "")});
      bad_member = true;
    }
  // A cycle among services was reported already; look for one that only
  // the grouping makes.
  for (auto& e : errors)
    if (e.message.rfind("dependency cycle", 0) == 0)
      return;
  if (bad_member)
    return;
  // The root's children: supervisors and services under the root, with the
  // edges between them and the dependency that made each edge.
  std::map<std::string, std::map<std::string, std::string>> edges;
  for (auto& [name, spec] : cfg.services)
    for (auto& dep : spec.depends_on) {
      if (cfg.services.count(dep) == 0)
        continue;
      auto from = cfg.root_child(name);
      auto to = cfg.root_child(dep);
      if (from != to) {
        auto why = name;
        why += " -> ";
        why += dep;
        edges[from].emplace(to, std::move(why));
      }
    }
  enum class mark { none, active, done };
  std::map<std::string, mark> marks;
  std::vector<std::string> stack;
  bool found = false;
  std::function<void(const std::string&)> visit = [&](const std::string& n) {
    marks[n] = mark::active;
    stack.push_back(n);
    for (auto& [to, why] : edges[n]) {
      if (found)
        break;
      if (marks[to] == mark::active) {
        auto from = std::find(stack.begin(), stack.end(), to);
        std::string chain;
        for (auto i = from; i != stack.end(); ++i) {
          auto next = i + 1 == stack.end() ? to : *(i + 1);
          chain += (chain.empty() ? "" : ", ") + edges[*i][next];
        }
        // Blame a service of the supervisor on the cycle.
        std::string blame;
        for (auto i = from; i != stack.end() && blame.empty(); ++i)
          if (cfg.supervisors.count(*i) > 0) {
            auto next = i + 1 == stack.end() ? to : *(i + 1);
            auto& w = edges[*i][next];
            blame = w.substr(0, w.find(' '));
          }
        auto path = "services." + blame + ".depends_on";
        errors.push_back(
          {cfg.layers.where(path), path,
           "dependency cycle through a supervisor (" + chain +
             "): services of one [supervisors.NAME] start and stop "
             "together, so nothing outside it may both need and be needed "
             "by them"});
        found = true;
      } else if (marks[to] == mark::none) {
        visit(to);
      }
    }
    stack.pop_back();
    marks[n] = mark::done;
  };
  for (auto& [n, _] : edges)
    if (!found && marks[n] == mark::none)
      visit(n);
}

void extract(app_config& cfg) {
  auto& v = cfg.layers.values();
  cfg.name = get<std::string>(v, "app.name");
  cfg.log_level = get<std::string>(v, "app.log_level");
  cfg.log_file = get<std::string>(v, "app.log_file");
  cfg.log_format = get<std::string>(v, "app.log_format");
  cfg.log_max_size = get<int64_t>(v, "app.log_max_size");
  cfg.log_max_files = get<int64_t>(v, "app.log_max_files");
  cfg.shutdown_timeout = get<duration>(v, "app.shutdown_timeout");
  cfg.status_interval = get<duration>(v, "app.status_interval");
  cfg.redelivery_keep_for = get<duration>(v, "app.redelivery_keep_for");
  cfg.plugins = strings(v, "app.plugins");
  cfg.restart_strategy = get<std::string>(v, "supervisor.strategy");
  cfg.max_restarts = get<int64_t>(v, "supervisor.max_restarts");
  cfg.restart_period = get<duration>(v, "supervisor.period");
  cfg.backoff_min = get<duration>(v, "supervisor.backoff_min");
  cfg.backoff_max = get<duration>(v, "supervisor.backoff_max");
  cfg.restart_jitter = get<double>(v, "supervisor.jitter");
  cfg.restart_seed = get<int64_t>(v, "supervisor.seed");
  cfg.control_http = get<std::string>(v, "control.http");
  cfg.control_token = get<std::string>(v, "control.token");
  cfg.control_read_token = get<std::string>(v, "control.read_token");
  cfg.control_public = strings(v, "control.public");
  cfg.control_allow_insecure_bind = get<bool>(v, "control.allow_insecure_bind");
  cfg.control_metrics_per_service_max =
    get<int64_t>(v, "control.metrics_per_service_max");
  cfg.control_tls_cert = get<std::string>(v, "control.tls_cert");
  cfg.control_tls_key = get<std::string>(v, "control.tls_key");
  if (auto* sups = find(v, "supervisors"))
    if (auto* t = sups->get_if<table>())
      for (auto& [name, entry] : *t)
        if (auto* e = entry.get_if<table>()) {
          supervisor_spec s;
          s.name = name;
          s.strategy = get<std::string>(*e, "strategy");
          s.max_restarts = get<int64_t>(*e, "max_restarts");
          s.period = get<duration>(*e, "period");
          s.backoff_min = get<duration>(*e, "backoff_min");
          s.backoff_max = get<duration>(*e, "backoff_max");
          s.jitter = get<double>(*e, "jitter");
          s.seed = get<int64_t>(*e, "seed");
          cfg.supervisors.emplace(name, std::move(s));
        }
  auto* services = find(v, "services");
  if (services == nullptr || services->get_if<table>() == nullptr)
    return;
  // A service whose settings equal those of the previous service of its
  // type shares that table: a pool of identical services holds one copy
  // (issue 25). Only the previous one is compared, so loading stays
  // linear however many distinct tables a type has.
  std::map<std::string, settings, std::less<>> previous;
  for (auto& [name, entry] : *services->get_if<table>()) {
    auto* t = entry.get_if<table>();
    if (t == nullptr)
      continue;
    auto spec = make_service_spec(name, *t);
    auto& prev = previous[spec.type];
    if (prev == spec.settings)
      spec.settings = prev;
    else
      prev = spec.settings;
    cfg.services.emplace(name, std::move(spec));
  }
}

} // namespace

app_load_result load_app(const app_sources& sources,
                         const type_catalog& types) {
  app_load_result result;
  auto& layers = result.config.layers;
  auto& errors = result.errors;
  auto append = [&errors](diagnostics more) {
    errors.insert(errors.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
  };
  if (sources.text) {
    append(layers.parse_toml(*sources.text,
                             sources.file.empty() ? "<text>" : sources.file));
  } else if (!sources.file.empty()) {
    append(layers.load_file(resolve_project_path(sources.file, sources.env)));
  }
  if (!errors.empty())
    return result; // a syntax error leaves nothing sound to validate
  append(layers.apply_env(sources.env));
  for (auto& s : sources.sets)
    append(layers.apply_set(s));
  append(layers.validate(app_schema(types)));
  extract(result.config);
  check_names(result.config, errors);
  // Even with other errors: every error in one pass.
  check_dependencies(result.config, errors);
  check_supervisors(result.config, errors);
  cap_errors(errors);
  return result;
}

std::string app_config::root_child(const std::string& service) const {
  auto i = services.find(service);
  if (i == services.end() || i->second.supervisor.empty() ||
      supervisors.count(i->second.supervisor) == 0)
    return service;
  return i->second.supervisor;
}

std::vector<std::string> app_config::start_order() const {
  std::vector<std::string> order;
  std::set<std::string> placed;
  // Kahn's algorithm over names in order; dependencies outside the app (or
  // cycles, rejected at load) are ignored here.
  bool progress = true;
  while (progress && placed.size() < services.size()) {
    progress = false;
    for (auto& [name, spec] : services) {
      if (placed.count(name) > 0)
        continue;
      bool ready = true;
      for (auto& dep : spec.depends_on)
        if (services.count(dep) > 0 && placed.count(dep) == 0)
          ready = false;
      if (ready) {
        order.push_back(name);
        placed.insert(name);
        progress = true;
      }
    }
  }
  for (auto& [name, _] : services)
    if (placed.count(name) == 0)
      order.push_back(name);
  return order;
}

app_changes diff(const app_config& before, const app_config& after) {
  app_changes out;
  for (auto& [name, spec] : after.services) {
    auto i = before.services.find(name);
    if (i == before.services.end())
      out.added.push_back(name);
    else if (i->second.type != spec.type ||
             i->second.supervisor != spec.supervisor)
      out.replaced.push_back(name);
    else if (!(i->second == spec))
      out.changed.push_back(name);
  }
  for (auto& [name, _] : before.services)
    if (after.services.count(name) == 0)
      out.removed.push_back(name);
  return out;
}

service_spec make_service_spec(std::string name, const table& entry) {
  service_spec spec;
  spec.name = std::move(name);
  spec.type = get<std::string>(entry, "type");
  spec.depends_on = strings(entry, "depends_on");
  spec.autostart = get<bool>(entry, "autostart");
  spec.enabled = get<bool>(entry, "enabled");
  spec.restart = get<std::string>(entry, "restart");
  spec.stop_timeout = get<duration>(entry, "stop_timeout");
  spec.log_level = get<std::string>(entry, "log_level");
  spec.health_check_interval = get<duration>(entry, "health_check_interval");
  spec.publish_window = get<int64_t>(entry, "publish_window");
  spec.metrics_per_service = get<bool>(entry, "metrics_per_service");
  spec.supervisor = get<std::string>(entry, "supervisor");
  table own = entry;
  for (auto& f : service_common_schema().fields())
    own.erase(f.key);
  spec.settings = config::settings{std::move(own)};
  return spec;
}

} // namespace troupe::config
