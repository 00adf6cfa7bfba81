// app_runtime: construction, start, statuses and reload. The phased
// shutdown is in app_runtime_drain.cpp, the control_model in
// app_runtime_control.cpp; the state they share in app_runtime_impl.hpp.

#include "troupe/app/app_runtime.hpp"

#include <algorithm>
#include <future>
#include <unordered_map>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "troupe/actors/logging.hpp"
#include "troupe/actors/metrics.hpp"
#include "troupe/actors/topic_bus.hpp"
#include "troupe/app/app_runtime_impl.hpp"

namespace troupe::app {

app_runtime::impl::impl(caf::actor_system& sys, service_registry& types,
                        config::app_config c,
                        std::shared_ptr<spdlog::logger> log)
  : sys(sys), types(types), log(std::move(log)), cfg(std::move(c)) {
  bus = spawn_topic_bus(sys, cfg.redelivery_keep_for);
}

std::shared_ptr<metric_registry>
app_runtime::impl::registry_of(const std::string& name) {
  auto& reg = registries[name];
  if (!reg)
    reg = std::make_shared<metric_registry>();
  return reg;
}

caf::expected<child_spec>
app_runtime::impl::make_spec(const config::service_spec& spec) {
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
  c.options.publish_window = static_cast<uint64_t>(spec.publish_window);
  // Under the root, a dependency on a service of a nested supervisor is one
  // on that supervisor; under a nested supervisor only siblings count (the
  // others are the supervisor's own dependencies).
  for (auto& dep : spec.depends_on) {
    auto node = spec.supervisor.empty() ? cfg.root_child(dep) : dep;
    if (std::find(c.depends_on.begin(), c.depends_on.end(), node) ==
        c.depends_on.end())
      c.depends_on.push_back(node);
  }
  return c;
}

supervisor_options
app_runtime::impl::options_of(const config::supervisor_spec& x) {
  supervisor_options opts;
  opts.name = x.name;
  opts.strategy =
    parse_restart_strategy(x.strategy).value_or(restart_strategy::one_for_one);
  opts.max_restarts = static_cast<uint32_t>(x.max_restarts);
  opts.period = x.period;
  opts.backoff_min = x.backoff_min;
  opts.backoff_max = std::max(x.backoff_max, x.backoff_min);
  opts.jitter = x.jitter;
  opts.seed = static_cast<uint64_t>(x.seed);
  opts.by_level = true;
  return opts;
}

supervisor_options app_runtime::impl::root_options() {
  // The root's keys are [app]'s and [supervisor]'s; the same mapping as a
  // nested supervisor's.
  config::supervisor_spec root;
  root.name = cfg.name.empty() ? "app" : cfg.name;
  root.strategy = cfg.restart_strategy;
  root.max_restarts = cfg.max_restarts;
  root.period = cfg.restart_period;
  root.backoff_min = cfg.backoff_min;
  root.backoff_max = cfg.backoff_max;
  root.jitter = cfg.restart_jitter;
  root.seed = cfg.restart_seed;
  return options_of(root);
}

std::vector<child_info> app_runtime::impl::children() {
  auto xs = ask<std::vector<child_info>>(sys, root_now(), timeout,
                                         children_atom::value);
  if (!xs)
    return {};
  auto groups = nested(*xs);
  if (groups.empty())
    return std::move(*xs);
  std::vector<child_info> out;
  out.reserve(xs->size());
  for (auto& x : *xs) {
    bool group = false;
    {
      std::lock_guard<std::mutex> guard{mtx};
      group = cfg.supervisors.count(x.name) > 0;
    }
    if (!group) {
      out.push_back(std::move(x));
      continue;
    }
    for (auto& [name, sup] : groups)
      if (name == x.name)
        if (auto ys = ask<std::vector<child_info>>(sys, sup, timeout,
                                                   children_atom::value))
          for (auto& y : *ys)
            out.push_back(std::move(y));
  }
  return out;
}

caf::expected<std::vector<child_info>>
app_runtime::impl::root_children(caf::timespan within) {
  return ask<std::vector<child_info>>(sys, root_now(), within,
                                      children_atom::value);
}

std::vector<std::pair<std::string, supervisor_actor>>
app_runtime::impl::nested(const std::vector<child_info>& xs) {
  std::vector<std::pair<std::string, supervisor_actor>> out;
  std::lock_guard<std::mutex> guard{mtx};
  if (cfg.supervisors.empty())
    return out;
  for (auto& x : xs)
    if (x.handle && cfg.supervisors.count(x.name) > 0)
      out.emplace_back(x.name, caf::actor_cast<supervisor_actor>(x.handle));
  return out;
}

supervisor_actor app_runtime::impl::supervisor_of(const std::string& name) {
  std::string group;
  {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = cfg.services.find(name);
    if (i != cfg.services.end())
      group = i->second.supervisor;
  }
  if (group.empty())
    return root_now();
  auto xs = root_children(timeout);
  if (!xs)
    return supervisor_actor{};
  for (auto& [n, sup] : nested(*xs))
    if (n == group)
      return sup;
  return supervisor_actor{};
}

const child_info* app_runtime::impl::find(const std::vector<child_info>& xs,
                                          const std::string& name) {
  for (auto& x : xs)
    if (x.name == name)
      return &x;
  return nullptr;
}

service_status app_runtime::impl::status_of(const child_info& ci) {
  if (ci.handle) {
    auto st = ask<service_status>(sys, ci.handle, timeout, status_atom::value);
    if (st)
      return status_of(ci, &*st);
  }
  return status_of(ci, nullptr);
}

service_status app_runtime::impl::status_of(const child_info& ci,
                                            service_status* answered) {
  if (answered != nullptr) {
    auto& st = *answered;
    st.restarts = std::max(st.restarts, ci.restarts);
    if (st.last_error.empty())
      st.last_error = ci.last_error;
    return std::move(st);
  }
  service_status st;
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (auto i = last_seen.find(ci.name); i != last_seen.end())
      st = i->second;
  }
  st.name = ci.name;
  st.type = ci.type;
  st.state = ci.state;
  st.restarts = std::max(st.restarts, ci.restarts);
  if (!ci.last_error.empty())
    st.last_error = ci.last_error;
  if (ci.state == service_state::failed)
    st.health = health_status::unhealthy;
  return st;
}

std::vector<service_status> app_runtime::impl::statuses(bool unstarted) {
  auto xs = children();
  std::unordered_map<std::string, const child_info*> by_name;
  by_name.reserve(xs.size());
  for (auto& x : xs)
    by_name.emplace(x.name, &x);
  // Every running service asked at once, through its supervisor.
  std::unordered_map<std::string, service_status> answers;
  std::vector<supervisor_actor> sups{root_now()};
  bool any = false;
  {
    std::lock_guard<std::mutex> guard{mtx};
    any = !cfg.supervisors.empty();
  }
  if (any)
    if (auto raw = root_children(timeout))
      for (auto& [_, sup] : nested(*raw))
        sups.push_back(sup);
  for (auto& sup : sups)
    if (auto sts = ask<std::vector<service_status>>(
          sys, sup, timeout, child_statuses_atom::value)) {
      answers.reserve(answers.size() + sts->size());
      for (auto& st : *sts) {
        auto name = st.name;
        answers.emplace(std::move(name), std::move(st));
      }
    }
  auto status_of = [this, &answers](const child_info& ci) {
    auto i = answers.find(ci.name);
    return this->status_of(ci, i != answers.end() ? &i->second : nullptr);
  };
  std::vector<service_status> out;
  std::vector<std::string> order;
  {
    std::lock_guard<std::mutex> guard{mtx};
    order = cfg.start_order();
  }
  out.reserve(std::max(order.size(), xs.size()));
  for (auto& name : order) {
    if (auto i = by_name.find(name); i != by_name.end()) {
      out.push_back(status_of(*i->second));
      by_name.erase(i);
    } else if (unstarted) {
      service_status st;
      std::lock_guard<std::mutex> guard{mtx};
      // A nested supervisor's services as the drain stopped them, once the
      // supervisor is gone; else never started.
      if (auto i = last_seen.find(name); i != last_seen.end()) {
        st = i->second;
      } else {
        st.name = name;
        st.type = cfg.services.at(name).type;
      }
      out.push_back(std::move(st));
    }
  }
  // Services added at run time come last (nested supervisors, gone with
  // their services, are not services).
  std::unique_lock<std::mutex> guard{mtx};
  for (auto& ci : xs)
    if (by_name.count(ci.name) > 0 && cfg.supervisors.count(ci.name) == 0) {
      guard.unlock();
      out.push_back(status_of(ci));
      guard.lock();
    }
  return out;
}

app_runtime::app_runtime(caf::actor_system& sys, service_registry& types,
                         config::app_config cfg,
                         std::shared_ptr<spdlog::logger> log)
  : impl_(std::make_unique<impl>(sys, types, std::move(cfg), std::move(log))) {}

app_runtime::~app_runtime() {
  if (impl_->root_watch)
    caf::anon_send_exit(impl_->root_watch, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(impl_->root, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(impl_->bus, caf::exit_reason::user_shutdown);
}

caf::error app_runtime::start(const std::function<bool()>& stop_requested) {
  auto& d = *impl_;
  std::vector<child_spec> specs;
  supervisor_options opts;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    // A nested supervisor takes the place of its first service in the start
    // order (the root orders its children by dependency level anyway); its
    // own services in order, its dependencies those of its services on
    // services elsewhere.
    std::map<std::string, std::vector<child_spec>> members;
    std::map<std::string, child_spec> groups;
    for (auto& name : d.cfg.start_order()) {
      auto& spec = d.cfg.services.at(name);
      auto& group = spec.supervisor;
      if (!group.empty() && groups.count(group) == 0) {
        child_spec g;
        g.name = group;
        g.type = "supervisor";
        g.restart = restart_policy::permanent;
        g.stop_deadline = caf::timespan{0};
        g.options = service_options{group, "supervisor", d.bus};
        groups.emplace(group, std::move(g));
        specs.emplace_back();
        specs.back().name = group; // filled in below
      }
      if (!group.empty()) {
        auto& g = groups.at(group);
        g.stop_deadline += spec.stop_timeout;
        for (auto& dep : spec.depends_on) {
          auto node = d.cfg.root_child(dep);
          if (node != group &&
              std::find(g.depends_on.begin(), g.depends_on.end(), node) ==
                g.depends_on.end())
            g.depends_on.push_back(node);
        }
      }
      if (!spec.enabled || !spec.autostart) {
        d.log->info("service '{}' not started ({})", name,
                    spec.enabled ? "autostart = false" : "enabled = false");
        continue;
      }
      auto c = d.make_spec(spec);
      if (!c)
        return c.error();
      if (group.empty())
        specs.push_back(std::move(*c));
      else
        members[group].push_back(std::move(*c));
    }
    // Supervisors no service names still run, for services added later.
    for (auto& [name, sup] : d.cfg.supervisors)
      if (groups.count(name) == 0) {
        child_spec g;
        g.name = name;
        g.type = "supervisor";
        g.options = service_options{name, "supervisor", d.bus};
        groups.emplace(name, std::move(g));
        specs.emplace_back();
        specs.back().name = name;
      }
    for (auto& c : specs)
      if (auto i = groups.find(c.name); i != groups.end() && !c.factory) {
        c = std::move(i->second);
        c.factory =
          supervisor_factory(d.options_of(d.cfg.supervisors.at(c.name)),
                             std::move(members[c.name]));
        if (c.stop_deadline <= caf::timespan{0})
          c.stop_deadline = std::chrono::seconds{5};
      }
    opts = d.root_options();
  }
  {
    auto root = spawn_supervisor(d.sys, opts, std::move(specs));
    std::lock_guard<std::mutex> guard{d.root_mtx};
    d.root = std::move(root);
  }
  // Asked from an actor of its own so that this thread can watch for a stop
  // request meanwhile.
  auto answer = std::make_shared<std::promise<caf::error>>();
  auto done = answer->get_future();
  d.sys.spawn([root = d.root, answer](caf::event_based_actor* self) {
    self->request(root, caf::infinite, start_atom::value)
      .then(
        [self, answer](service_state) {
          answer->set_value(caf::error{});
          self->quit();
        },
        [self, answer](caf::error& err) {
          answer->set_value(std::move(err));
          self->quit();
        });
    return caf::behavior{[](start_atom) {}};
  });
  while (done.wait_for(std::chrono::milliseconds{20}) !=
         std::future_status::ready)
    if (stop_requested && stop_requested())
      return make_error(errc::not_running,
                        "start interrupted by a stop request");
  return done.get();
}

std::vector<service_status> app_runtime::statuses() {
  return impl_->statuses();
}

bool app_runtime::gave_up() {
  auto& d = *impl_;
  auto root = d.root_now();
  if (!root)
    return false; // not started yet
  auto st = ask<service_status>(d.sys, root, d.timeout, status_atom::value);
  return st && st->state == service_state::failed;
}

void app_runtime::on_give_up(std::function<void()> fn) {
  auto& d = *impl_;
  if (d.root_watch)
    caf::anon_send_exit(d.root_watch, caf::exit_reason::user_shutdown);
  d.root_watch = d.sys.spawn([fn = std::move(fn)](caf::event_based_actor*) {
    return caf::behavior{[fn](state_changed_atom, const state_change& x) {
      if (x.to == service_state::failed)
        fn();
    }};
  });
  caf::anon_send(d.root, subscribe_state_atom::value, d.root_watch);
}

bool app_runtime::supervisor_healthy(std::chrono::nanoseconds timeout) {
  auto& d = *impl_;
  auto wait =
    std::max<caf::timespan>(std::chrono::duration_cast<caf::timespan>(timeout),
                            std::chrono::milliseconds{1});
  auto root = d.root_now();
  if (!root)
    return true; // still loading the services: the process works
  auto st = ask<service_status>(d.sys, root, wait, status_atom::value);
  return st && st->state != service_state::failed;
}

void app_runtime::reload(const config::app_config& next) {
  auto& d = *impl_;
  config::app_changes changes;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    changes = config::diff(d.cfg, next);
    // Supervisors are not reconfigured while they run.
    auto same = [](const config::supervisor_spec& x,
                   const config::supervisor_spec& y) {
      return x.strategy == y.strategy && x.max_restarts == y.max_restarts &&
             x.period == y.period && x.backoff_min == y.backoff_min &&
             x.backoff_max == y.backoff_max && x.jitter == y.jitter &&
             x.seed == y.seed;
    };
    for (auto& [name, sup] : next.supervisors) {
      auto i = d.cfg.supervisors.find(name);
      if (i == d.cfg.supervisors.end() || !same(i->second, sup))
        d.log->warn("reload: [supervisors.{}] {}; restart the app to apply",
                    name, i == d.cfg.supervisors.end() ? "added" : "changed");
    }
    for (auto& [name, _] : d.cfg.supervisors)
      if (next.supervisors.count(name) == 0)
        d.log->warn("reload: [supervisors.{}] removed; restart the app to "
                    "apply",
                    name);
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
      ask<service_state>(d.sys, d.supervisor_of(name), d.timeout,
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
} // namespace troupe::app
