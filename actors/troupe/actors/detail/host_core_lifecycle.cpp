// host_core: the lifecycle requests (configure, start, stop, reconfigure)
// and the state transitions they make, with the hooks run guarded.

#include <exception>

#include <caf/actor_cast.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "troupe/actors/detail/bus_plumbing.hpp"
#include "troupe/actors/detail/host_core.hpp"
#include "troupe/actors/detail/host_core_private.hpp"
#include "troupe/actors/detail/weak_timer.hpp"
#include "troupe/actors/logging.hpp"
#include "troupe/config/layered_config.hpp"
#include "troupe/config/schema.hpp"

namespace troupe::detail {

namespace {

// Every service may set its own log level, whatever its type's schema says.
const config::schema& log_level_schema() {
  static const config::schema s = [] {
    config::schema out;
    out.string("log_level", "This service's log level")
      .one_of({"trace", "debug", "info", "warn", "error", "critical", "off"});
    return out;
  }();
  return s;
}

} // namespace

caf::expected<settings> host_core::checked(const settings& cfg) const {
  auto* declared = impl_.settings_schema();
  if (declared == nullptr)
    return cfg;
  config::schema s = *declared;
  s.merge(log_level_schema());
  auto values = cfg.values();
  auto problems = config::layered_config::check_values(
    s, values, "settings of '" + opts_.name + "'");
  if (problems.empty()) // unchanged (defaults were filled in): share it
    return values == cfg.values() ? cfg : settings{std::move(values)};
  std::string text;
  for (auto& p : problems) {
    if (!text.empty())
      text += '\n';
    text += p.to_string();
  }
  return make_error(errc::invalid_settings, text);
}

// -- lifecycle requests -------------------------------------------------------

caf::result<service_state> host_core::configure(const settings& raw) {
  if (auto err = life_.check(lifecycle_action::configure,
                             impl_.requires_configuration()))
    return err;
  auto full = checked(raw);
  if (!full) {
    log_at(spdlog::level::warn)
      .warn("configure refused: {}", describe(full.error()));
    return full.error();
  }
  auto& cfg = *full;
  auto prior = life_.state();
  auto r = guarded("on_configure", [&] { return impl_.on_configure(cfg); });
  if (auto err = settle("on_configure", r, prior))
    return err;
  life_.set_config(cfg);
  apply_log_level(cfg);
  enter(service_state::configured, "configure");
  return life_.state();
}

caf::result<service_state> host_core::start() {
  auto t =
    life_.allowed(lifecycle_action::start, impl_.requires_configuration());
  if (!t.allowed) {
    if (t.refusal == errc::not_configured)
      return make_error(errc::not_configured,
                        "cannot start service '" + opts_.name +
                          "': it requires configuration and has none "
                          "(send configure first)");
    return life_.check(lifecycle_action::start, impl_.requires_configuration());
  }
  auto prior = life_.state();
  bool restart =
    prior == service_state::stopped || prior == service_state::failed;
  stopped_hard_ = false;
  enter(service_state::starting, restart ? "restart" : "start");
  suspended_ = false; // a new run takes bus deliveries again
  auto r = guarded("on_start", [&] { return impl_.on_start(); });
  if (r.outcome() == hook_result::kind::failure)
    suspend_on_bus(); // what the bus handed over on subscribing goes back
  if (r.outcome() != hook_result::kind::success)
    cancel_run(); // drop whatever on_start registered
  if (auto err = settle("on_start", r, prior))
    return err;
  enter(service_state::running, restart ? "restart" : "start");
  return life_.state();
}

caf::result<service_state> host_core::stop(const std::string& reason,
                                           caf::timespan deadline) {
  if (auto err =
        life_.check(lifecycle_action::stop, impl_.requires_configuration()))
    return err;
  auto why = reason.empty() ? std::string{"stop"} : "stop: " + reason;
  if (life_.state() == service_state::failed) {
    // Nothing runs in failed; let the service clean up and settle.
    enter(service_state::stopping, why);
    finish_stop(false);
    return life_.state();
  }
  enter(service_state::stopping, why);
  cancel_run(in_flight() > 0);
  if (in_flight() == 0) {
    finish_stop(false);
    if (life_.state() == service_state::failed)
      return make_error(errc::hook_failed, life_.last_error());
    return life_.state();
  }
  log_at(spdlog::level::info)
    .info(
      "stopping: waiting up to {}ms for {} unit(s) of work in flight",
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline).count(),
      in_flight());
  stop_promise_ = self_->make_response_promise<service_state>();
  auto gen = ++stop_generation_;
  in_flight_->on_idle = [this, gen] {
    if (life_.state() == service_state::stopping && gen == stop_generation_)
      finish_stop(false);
  };
  send_later(self_->home_system(),
             caf::actor_cast<caf::strong_actor_ptr>(self_), deadline,
             caf::make_message(deadline_atom::value, gen));
  return *stop_promise_;
}

caf::result<service_state> host_core::reconfigure(const settings& raw) {
  if (auto err = life_.check(lifecycle_action::reconfigure,
                             impl_.requires_configuration()))
    return err;
  if (life_.state() != service_state::running)
    return configure(raw);
  auto full = checked(raw);
  if (!full) {
    log_at(spdlog::level::warn)
      .warn("reconfigure refused, keeping the running settings: {}",
            describe(full.error()));
    return full.error();
  }
  auto& cfg = *full;
  auto r = guarded("on_reconfigure", [&] { return impl_.on_reconfigure(cfg); });
  if (auto err = settle("on_reconfigure", r, life_.state()))
    return err;
  life_.set_config(cfg);
  apply_log_level(cfg);
  log_at(spdlog::level::info).info("reconfigured while running");
  return life_.state();
}

void host_core::on_deadline(uint64_t generation) {
  if (life_.state() != service_state::stopping ||
      generation != stop_generation_)
    return;
  log_at(spdlog::level::warn)
    .warn("stop deadline passed with {} unit(s) of work in flight; "
          "stopping hard",
          in_flight());
  finish_stop(true);
}

// -- internals ----------------------------------------------------------------

void host_core::enter(service_state next, const std::string& reason) {
  life_.enter(self_,
              log_at(next == service_state::failed ? spdlog::level::err
                                                   : spdlog::level::info),
              next, reason);
  if (on_enter)
    on_enter(next);
}

hook_result host_core::guarded(const char* hook,
                               const std::function<hook_result()>& f) {
  failed_in_hook_ = false;
  dispatch_scope scope{*this};
  try {
    return f();
  } catch (const std::exception& e) {
    return hook_result::fail(std::string{hook} + " threw: " + e.what());
  } catch (...) {
    return hook_result::fail(std::string{hook} +
                             " threw a non-standard exception");
  }
}

caf::error host_core::settle(const char* hook, const hook_result& r,
                             service_state prior) {
  // A fatal record_error inside the hook has already failed the service
  // (and asked on_error); whatever the hook returned after that, the
  // transition it was part of did not happen.
  if (failed_in_hook_)
    return make_error(errc::hook_failed,
                      std::string{hook} + " failed: " + life_.last_error());
  switch (r.outcome()) {
  case hook_result::kind::success:
    return {};
  case hook_result::kind::refusal: {
    auto text = std::string{hook} + " refused: " + r.message();
    log_at(spdlog::level::warn).warn("{}", text);
    if (life_.state() != prior)
      enter(prior, text);
    return make_error(errc::hook_refused, std::move(text));
  }
  case hook_result::kind::failure: {
    auto text = std::string{hook} + " failed: " + r.message();
    life_.note_error(text);
    fail(text, hook);
    return make_error(errc::hook_failed, std::move(text));
  }
  }
  return {};
}

void host_core::suspend_on_bus() {
  if (suspended_)
    return;
  suspended_ = true;
  if (opts_.bus && bus_subscribed_)
    caf::anon_send(plumbing_of(opts_.bus), bus_suspend_atom::value,
                   caf::actor_cast<caf::actor>(self_));
}

void host_core::fail(const std::string& what, const char* source) {
  failed_in_hook_ = true;
  suspend_on_bus();
  give_back_held();
  cancel_run();
  hook_result verdict = hook_result::fail(what);
  try {
    verdict = impl_.on_error(error_info{what, source});
  } catch (const std::exception& e) {
    log_at(spdlog::level::err).error("on_error threw: {}", e.what());
  } catch (...) {
    log_at(spdlog::level::err).error("on_error threw a non-standard exception");
  }
  if (verdict.outcome() == hook_result::kind::success) {
    set_health(errors_check, health_status::degraded, what);
    enter(service_state::stopped, "recovered by on_error: " + what);
  } else {
    enter(service_state::failed, what);
  }
  if (stop_promise_) {
    stop_promise_->deliver(make_error(errc::hook_failed, what));
    stop_promise_.reset();
  }
}

void host_core::finish_stop(bool hard) {
  if (in_flight_)
    in_flight_->on_idle = nullptr;
  ++stop_generation_;
  stopped_hard_ = hard;
  if (!subscriptions_.empty() || !tasks_.empty())
    cancel_run(); // what a waiting stop kept for its tracked work

  auto r = guarded("on_stop", [&] { return impl_.on_stop(); });
  if (failed_in_hook_)
    return; // a fatal record_error in on_stop: fail() settled it
  switch (r.outcome()) {
  case hook_result::kind::refusal:
    // A stop cannot be vetoed: the supervisor and the app rely on it.
    record_error("on_stop refused (stopping anyway): " + r.message(), false,
                 "on_stop");
    [[fallthrough]];
  case hook_result::kind::success:
    enter(service_state::stopped,
          hard ? "stopped hard: deadline passed with work in flight"
               : "stopped");
    if (stop_promise_) {
      // A hard stop is still a stop; status().stopped_hard tells.
      stop_promise_->deliver(life_.state());
      stop_promise_.reset();
    }
    break;
  case hook_result::kind::failure:
    life_.note_error("on_stop failed: " + r.message());
    fail(life_.last_error(), "on_stop");
    break;
  }
}

void host_core::apply_log_level(const settings& cfg) {
  if (auto name = cfg.get<std::string>("log_level")) {
    if (auto lvl = parse_log_level(*name)) {
      level_ = *lvl;
      if (log_)
        log_->set_level(*lvl);
    } else {
      log_at(spdlog::level::warn)
        .warn("ignoring unknown log_level '{}'", *name);
    }
  }
}

} // namespace troupe::detail
