#pragma once

// Hosting a service type in a CAF actor. Include this where a service is
// spawned or where a service type declares domain handlers; other code holds
// `troupe::service_actor` handles and needs only service_actor.hpp.

#include <exception>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_config.hpp>
#include <caf/actor_system.hpp>
#include <caf/delegated.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "troupe/actors/detail/host_core.hpp"
#include "troupe/actors/detail/host_plumbing.hpp"
#include "troupe/actors/errc.hpp"
#include "troupe/actors/service.hpp"
#include "troupe/actors/service_options.hpp"

namespace troupe {

namespace detail {

template <class Impl>
struct host_state {
  std::shared_ptr<Impl> impl;
  std::unique_ptr<host_core> core;
  // Whether the current behavior is the running one: a new behavior only
  // when entering or leaving `running`, not at every state change.
  bool running_behavior = false;
  static inline const char* name = "troupe.service";
};

// What a wrapped domain handler returns: a `caf::result` that can also carry
// `errc::not_running` or a handler failure.
template <class R>
struct wrapped_result {
  using type = caf::result<R>;
};

template <class... Ts>
struct wrapped_result<caf::result<Ts...>> {
  using type = caf::result<Ts...>;
};

template <class... Ts>
struct wrapped_result<caf::delegated<Ts...>> {
  using type = caf::result<Ts...>;
};

template <class... Ts>
struct wrapped_result<caf::typed_response_promise<Ts...>> {
  using type = caf::result<Ts...>;
};

inline std::string current_exception_text() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "non-standard exception";
  }
}

// Running: count the message, call the handler, turn an escaping exception
// into a fatal error (and an error answer) instead of a dead actor.
template <class F, class... Ts>
auto wrap_running(host_core* core, F f, caf::detail::type_list<Ts...>) {
  using R = std::invoke_result_t<F&, Ts...>;
  if constexpr (std::is_void_v<R>) {
    return [core, f](Ts... xs) mutable {
      core->count_in();
      host_core::dispatch_scope scope{*core};
      try {
        f(std::forward<Ts>(xs)...);
      } catch (...) {
        core->handler_failed("handler", current_exception_text());
      }
    };
  } else {
    using W = typename wrapped_result<R>::type;
    return [core, f](Ts... xs) mutable -> W {
      core->count_in();
      host_core::dispatch_scope scope{*core};
      try {
        return f(std::forward<Ts>(xs)...);
      } catch (...) {
        auto what = current_exception_text();
        core->handler_failed("handler", what);
        return make_error(errc::handler_failed, "handler threw: " + what);
      }
    };
  }
}

// Not running: requests get errc::not_running, async messages are dropped.
template <class F, class... Ts>
auto wrap_idle(host_core* core, F, caf::detail::type_list<Ts...>) {
  using R = std::invoke_result_t<F&, Ts...>;
  if constexpr (std::is_void_v<R>) {
    return [core](Ts...) {
      core->count_dropped(host_core::lost::not_running,
                          "message while not running");
    };
  } else {
    using W = typename wrapped_result<R>::type;
    return [core](Ts...) -> W {
      if (!core->current_is_request())
        core->count_dropped(host_core::lost::not_running,
                            "message while not running");
      return make_error(errc::not_running,
                        "service '" + core->name() + "' is " +
                          to_string(core->current()) + ", not running");
    };
  }
}

template <bool Running, class F>
auto wrap(host_core* core, F f) {
  using args = typename caf::detail::get_callable_trait<F>::arg_types;
  if constexpr (Running)
    return wrap_running(core, std::move(f), args{});
  else
    return wrap_idle(core, std::move(f), args{});
}

/// The actor that hosts `Impl`: its interface plus the host's plumbing
/// (bus deliveries, timers). Its handle narrows to `Impl::interface`.
template <class Impl>
using host_actor =
  typename Impl::interface::template extend_with<host_plumbing>;

template <class Impl>
using host_pointer =
  typename host_actor<Impl>::template stateful_pointer<host_state<Impl>>;

// The behavior of one state: the lifecycle handlers (the transition table in
// host_core decides what each request does in that state) plus the domain
// handlers, dispatched in `running` and refused everywhere else.
template <class Impl, bool Running>
typename host_actor<Impl>::behavior_type
state_behavior(host_pointer<Impl> self) {
  auto* core = self->state.core.get();
  auto lifecycle = std::make_tuple(
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
    [core](health_atom) { return core->health(); },
    [core](health_atom, caf::timespan) { return core->health(); },
    [core](subscribe_state_atom, caf::actor listener) {
      core->add_listener(std::move(listener));
    },
    [core](deliver_atom, const std::string& topic, const caf::message& msg) {
      core->deliver(topic, msg);
    },
    [core](deliver_batch_atom, const bus_batch& b) { core->deliver_batch(b); },
    [core](task_atom, uint64_t id, uint64_t generation) {
      core->run_task(id, generation);
    },
    [core](deadline_atom, uint64_t generation) {
      core->on_deadline(generation);
    });
  auto domain = std::apply(
    [core](auto&&... fs) {
      return std::make_tuple(wrap<Running>(core, fs)...);
    },
    self->state.impl->handlers());
  return std::apply(
    [](auto&&... fs) {
      return typename host_actor<Impl>::behavior_type{std::move(fs)...};
    },
    std::tuple_cat(std::move(lifecycle), std::move(domain)));
}

template <class Impl>
typename host_actor<Impl>::behavior_type host_fun(host_pointer<Impl> self,
                                                  std::shared_ptr<Impl> impl,
                                                  service_options opts) {
  self->state.impl = std::move(impl);
  self->state.core =
    std::make_unique<host_core>(self, *self->state.impl, std::move(opts));
  auto* core = self->state.core.get();
  // Messages outside the interface (sent through an untyped handle) are
  // counted and answered, never printed-and-dropped silently.
  self->set_default_handler(
    [core](caf::scheduled_actor*,
           caf::message_view&) -> caf::result<caf::message> {
      core->count_dropped(host_core::lost::unhandled,
                          "message outside the service's interface");
      return caf::sec::unexpected_message;
    });
  core->on_enter = [self](service_state s) {
    bool running = s == service_state::running;
    if (running == self->state.running_behavior)
      return;
    self->state.running_behavior = running;
    if (running)
      self->become(state_behavior<Impl, true>(self));
    else
      self->become(state_behavior<Impl, false>(self));
  };
  return state_behavior<Impl, false>(self);
}

/// Spawns the function-based actor `fun(self, xs...)` first scheduled on
/// `where`, as `self->spawn` does, or (null) where the scheduler puts it, as
/// `sys.spawn` does: `service_options::launch_on` for a service or a
/// supervisor.
template <class F, class... Ts>
auto spawn_on(caf::actor_system& sys, caf::execution_unit* where, F fun,
              Ts&&... xs) {
  using impl = caf::infer_impl_from_fun_t<F>;
  static_assert(caf::detail::spawnable<F, impl, Ts...>(),
                "cannot spawn function-based actor with given arguments");
  caf::actor_config cfg{where};
  return sys.spawn_functor(std::true_type{}, cfg, fun, std::forward<Ts>(xs)...);
}

} // namespace detail

/// Spawns a service of type `Impl`, constructed from `args`, hosted in an
/// actor in state `initialized`. Returns the handle of `Impl::interface`;
/// `caf::actor_cast<troupe::service_actor>(h)` gives the lifecycle handle.
///
/// ```
/// auto svc = troupe::spawn_service<greeter>(sys, {"greeter", "greeter", bus});
/// ```
template <class Impl, class... Args>
typename Impl::interface spawn_service(caf::actor_system& sys,
                                       service_options opts, Args&&... args) {
  static_assert(std::is_base_of_v<service, Impl>,
                "a service type must derive from troupe::service");
  static_assert(
    caf::detail::tl_subset_of<service_actor::signatures,
                              typename Impl::interface::signatures>::value,
    "Impl::interface must extend troupe::service_actor");
  // The host's actor type has the plumbing too; the handle narrows.
  auto impl = std::make_shared<Impl>(std::forward<Args>(args)...);
  // The host keeps no execution unit.
  auto* where = std::exchange(opts.launch_on, nullptr);
  return detail::spawn_on(sys, where, detail::host_fun<Impl>, std::move(impl),
                          std::move(opts));
}

} // namespace troupe
