#include "troupe/actors/supervisor.hpp"

#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>

#include "troupe/actors/detail/supervisor_core.hpp"
#include "troupe/actors/service_host.hpp"

namespace troupe {

namespace {

detail::supervisor_impl::behavior_type
supervisor_fun(detail::supervisor_pointer self, supervisor_options opts,
               service_options own, std::vector<child_spec> children) {
  self->state.core = std::make_unique<detail::supervisor_core>(
    self, std::move(opts), std::move(own), std::move(children));
  auto* core = self->state.core.get();
  self->set_down_handler(
    [core](caf::scheduled_actor*, caf::down_msg& msg) { core->on_down(msg); });
  return {
    [core](configure_atom, const settings& cfg) {
      return core->configure(cfg);
    },
    [core](start_atom) { return core->start(); },
    [core](start_atom, const settings& cfg) {
      return detail::configure_then_start(*core, cfg);
    },
    [core](stop_atom, const std::string& reason, caf::timespan deadline) {
      return core->stop(reason, deadline);
    },
    [core](reconfigure_atom, const settings& cfg) {
      return core->reconfigure(cfg);
    },
    [core](status_atom) { return core->status(); },
    [core](health_atom) { return core->health(caf::timespan::max()); },
    [core](health_atom, caf::timespan within) { return core->health(within); },
    [core](subscribe_state_atom, const caf::actor& listener) {
      core->add_listener(listener);
    },
    [core](children_atom) { return core->children(); },
    [core](start_child_atom, const std::string& name) {
      return core->start_child(name);
    },
    [core](stop_child_atom, const std::string& name) {
      return core->stop_child(name);
    },
    [core](restart_child_atom, const std::string& name) {
      return core->restart_child(name);
    },
    [core](add_child_atom, child_spec& spec) {
      return core->add_child(std::move(spec));
    },
    [core](remove_child_atom, const std::string& name) {
      return core->remove_child(name);
    },
    [core](reconfigure_child_atom, const std::string& name,
           const settings& cfg) { return core->reconfigure_child(name, cfg); },
    [core](stop_children_atom, const std::vector<std::string>& names) {
      return core->stop_children(names);
    },
    [core](activity_atom) { return core->activity(); },
    [core](child_statuses_atom) { return core->child_statuses(); },
    [core](state_changed_atom, const state_change& change) {
      core->on_state_change(change);
    },
    [core](detail::restart_timer_atom, uint64_t group) {
      core->on_timer(group);
    },
    [core](detail::answer_timer_atom) { core->on_answer_timer(); },
  };
}

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  supervisor_options opts,
                                  std::vector<child_spec> children) {
  service_options own{opts.name, "supervisor"};
  return caf::actor_cast<supervisor_actor>(sys.spawn(
    supervisor_fun, std::move(opts), std::move(own), std::move(children)));
}

service_factory supervisor_factory(supervisor_options opts,
                                   std::vector<child_spec> children) {
  return [opts = std::move(opts), children = std::move(children)](
           caf::actor_system& sys, service_options own) {
    if (own.name.empty())
      own.name = opts.name;
    if (own.type.empty())
      own.type = "supervisor";
    auto o = opts;
    o.name = own.name;
    // Launched where its parent asked (service_options::launch_on), as
    // spawn_service does; the supervisor keeps no execution unit.
    auto* where = std::exchange(own.launch_on, nullptr);
    return caf::actor_cast<service_actor>(detail::spawn_on(
      sys, where, supervisor_fun, std::move(o), std::move(own), children));
  };
}

} // namespace troupe
