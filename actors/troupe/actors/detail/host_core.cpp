#include "troupe/actors/detail/host_core.hpp"

#include <algorithm>
#include <exception>

#include <caf/actor_cast.hpp>
#include <caf/behavior.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/response_promise.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "troupe/actors/logging.hpp"
#include "troupe/actors/metrics.hpp"
#include "troupe/config/layered_config.hpp"
#include "troupe/config/schema.hpp"

namespace troupe::detail {

namespace {

timestamp now() {
  return std::chrono::time_point_cast<std::chrono::nanoseconds>(
    std::chrono::system_clock::now());
}

std::string invalid_text(const std::string& name, lifecycle_action action,
                         service_state current) {
  return "cannot " + to_string(action) + " service '" + name + "' while " +
         to_string(current);
}

constexpr const char* errors_check = "errors";

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
  if (problems.empty())
    return settings{std::move(values)};
  std::string text;
  for (auto& p : problems) {
    if (!text.empty())
      text += '\n';
    text += p.to_string();
  }
  return make_error(errc::invalid_settings, text);
}

host_core::host_core(caf::scheduled_actor* self, service& impl,
                     service_options opts)
  : self_(self), impl_(impl), opts_(std::move(opts)),
    log_(make_service_logger(opts_.name)), restarts_(opts_.restarts),
    in_flight_(std::make_shared<in_flight_counter>()) {
  if (opts_.log_level)
    log_->set_level(*opts_.log_level);
  if (!opts_.metrics)
    opts_.metrics = std::make_shared<metric_registry>();
  impl_.host_ = this;
  history_.push_back(state_change{opts_.name, service_state::initialized,
                                  service_state::initialized, "spawned",
                                  now()});
}

host_core::~host_core() {
  // Tokens may outlive the actor; they must not call back into a dead host.
  in_flight_->on_idle = nullptr;
  impl_.host_ = nullptr;
}

void notify_listeners(caf::scheduled_actor* self,
                      std::vector<caf::actor_addr>& listeners,
                      const state_change& change) {
  auto gone = std::remove_if(
    listeners.begin(), listeners.end(), [&](const caf::actor_addr& addr) {
      auto l = caf::actor_cast<caf::actor>(addr);
      if (!l)
        return true;
      caf::unsafe_send_as(self, l, state_changed_atom::value, change);
      return false;
    });
  listeners.erase(gone, listeners.end());
}

// -- lifecycle requests
// ---------------------------------------------------------

caf::result<service_state> host_core::configure(const settings& raw) {
  auto t = check_transition(state_, lifecycle_action::configure,
                            impl_.requires_configuration(), configured_);
  if (!t.allowed)
    return make_error(
      t.refusal, invalid_text(opts_.name, lifecycle_action::configure, state_));
  auto full = checked(raw);
  if (!full) {
    log_->warn("configure refused: {}", describe(full.error()));
    return full.error();
  }
  auto& cfg = *full;
  auto prior = state_;
  auto r = guarded("on_configure", [&] { return impl_.on_configure(cfg); });
  if (auto err = settle("on_configure", r, prior))
    return err;
  configured_ = true;
  config_ = cfg;
  apply_log_level(cfg);
  enter(service_state::configured, "configure");
  return state_;
}

caf::result<service_state> host_core::start() {
  auto t = check_transition(state_, lifecycle_action::start,
                            impl_.requires_configuration(), configured_);
  if (!t.allowed) {
    if (t.refusal == errc::not_configured)
      return make_error(errc::not_configured,
                        "cannot start service '" + opts_.name +
                          "': it requires configuration and has none "
                          "(send configure first)");
    return make_error(
      t.refusal, invalid_text(opts_.name, lifecycle_action::start, state_));
  }
  auto prior = state_;
  bool restart =
    prior == service_state::stopped || prior == service_state::failed;
  stopped_hard_ = false;
  enter(service_state::starting, restart ? "restart" : "start");
  auto r = guarded("on_start", [&] { return impl_.on_start(); });
  if (r.outcome() != hook_result::kind::success)
    cancel_run(); // drop whatever on_start registered
  if (auto err = settle("on_start", r, prior))
    return err;
  if (restart)
    ++restarts_;
  started_at_ = now();
  running_since_ = clock_now();
  enter(service_state::running, restart ? "restart" : "start");
  return state_;
}

caf::result<service_state> host_core::stop(const std::string& reason,
                                           caf::timespan deadline) {
  auto t = check_transition(state_, lifecycle_action::stop,
                            impl_.requires_configuration(), configured_);
  if (!t.allowed)
    return make_error(t.refusal,
                      invalid_text(opts_.name, lifecycle_action::stop, state_));
  auto why = reason.empty() ? std::string{"stop"} : "stop: " + reason;
  if (state_ == service_state::failed) {
    // Nothing runs in failed; let the service clean up and settle.
    enter(service_state::stopping, why);
    finish_stop(false);
    return state_;
  }
  enter(service_state::stopping, why);
  cancel_run();
  if (in_flight_->count == 0) {
    finish_stop(false);
    if (state_ == service_state::failed)
      return make_error(errc::hook_failed, last_error_);
    return state_;
  }
  log_->info(
    "stopping: waiting up to {}ms for {} unit(s) of work in flight",
    std::chrono::duration_cast<std::chrono::milliseconds>(deadline).count(),
    in_flight_->count);
  stop_promise_ = self_->make_response_promise<service_state>();
  auto gen = ++stop_generation_;
  in_flight_->on_idle = [this, gen] {
    if (state_ == service_state::stopping && gen == stop_generation_)
      finish_stop(false);
  };
  caf::delayed_anon_send(caf::actor_cast<service_actor>(self_), deadline,
                         deadline_atom::value, gen);
  return *stop_promise_;
}

caf::result<service_state> host_core::reconfigure(const settings& raw) {
  auto t = check_transition(state_, lifecycle_action::reconfigure,
                            impl_.requires_configuration(), configured_);
  if (!t.allowed)
    return make_error(
      t.refusal,
      invalid_text(opts_.name, lifecycle_action::reconfigure, state_));
  if (state_ != service_state::running)
    return configure(raw);
  auto full = checked(raw);
  if (!full) {
    log_->warn("reconfigure refused, keeping the running settings: {}",
               describe(full.error()));
    return full.error();
  }
  auto& cfg = *full;
  auto r = guarded("on_reconfigure", [&] { return impl_.on_reconfigure(cfg); });
  if (auto err = settle("on_reconfigure", r, state_))
    return err;
  config_ = cfg;
  apply_log_level(cfg);
  log_->info("reconfigured while running");
  return state_;
}

service_status host_core::status() const {
  service_status st;
  st.name = opts_.name;
  st.type = opts_.type;
  st.state = state_;
  st.health = health().overall;
  st.started_at = started_at_;
  if (state_ == service_state::running || state_ == service_state::stopping)
    st.uptime = clock_now() - running_since_;
  st.messages_in = messages_in_;
  st.messages_out = messages_out_;
  st.messages_dropped = messages_dropped_;
  st.errors = errors_;
  st.restarts = restarts_;
  st.in_flight = in_flight_->count;
  st.last_error = last_error_;
  st.stopped_hard = stopped_hard_;
  st.history.assign(history_.begin(), history_.end());
  st.metadata = metadata_;
  return st;
}

health_report host_core::health() const {
  health_report rep;
  for (auto& [name, check] : checks_)
    rep.checks.push_back(check);
  if (state_ == service_state::failed)
    rep.checks.push_back(health_check{"state", health_status::fatal,
                                      "failed: " + last_error_,
                                      history_.back().at});
  rep.overall = rollup(rep.checks);
  return rep;
}

void host_core::add_listener(const caf::actor& listener) {
  // Held weakly: a supervisor holds its children, and a child holding its
  // supervisor back would keep both alive forever.
  if (listener)
    listeners_.push_back(listener.address());
}

// -- host plumbing
// ----------------------------------------------------------------

void host_core::deliver(const std::string& topic, const caf::message& msg) {
  if (state_ != service_state::running) {
    count_dropped("bus message while not running");
    return;
  }
  bool handled = false;
  auto gen = run_generation_;
  // Handlers may subscribe or fail; iterate by index over a stable run. Not a
  // range-for: a handler that subscribes grows subscriptions_, which would
  // invalidate its iterators.
  // NOLINTNEXTLINE(modernize-loop-convert)
  for (size_t i = 0; i < subscriptions_.size(); ++i) {
    auto& sub = subscriptions_[i];
    if (topic.compare(0, sub.prefix.size(), sub.prefix) != 0)
      continue;
    try {
      auto fn = sub.fn; // the handler may cancel the run and clear the list
      handled = (*fn)(topic, msg) || handled;
    } catch (const std::exception& e) {
      handler_failed("subscription", e.what());
      return;
    } catch (...) {
      handler_failed("subscription", "unknown exception");
      return;
    }
    if (gen != run_generation_)
      break;
  }
  if (handled)
    ++messages_in_;
  else
    count_dropped("bus message of unexpected type");
}

void host_core::deliver_batch(const bus_batch& b) {
  // Only a publisher that passed `on_taken` sent the batch as a request.
  delivering_batch_ = self_->current_message_id().is_request();
  for (auto& x : b.items)
    deliver(x.topic, x.msg);
  delivering_batch_ = false;
  // Without a hold, CAF answers the request as this handler returns; with
  // one, the answer goes when the service drops its last copy.
  current_hold_.release();
}

delivery_hold host_core::hold_delivery() {
  if (!delivering_batch_)
    return {};
  if (!current_hold_) {
    auto rp = self_->make_response_promise();
    if (!rp.pending())
      return {};
    auto ack = std::shared_ptr<caf::response_promise>(
      new caf::response_promise(std::move(rp)), [](caf::response_promise* p) {
        try {
          p->deliver(caf::unit);
        } catch (...) { // NOLINT(bugprone-empty-catch): nobody to tell
        }
        delete p; // NOLINT(cppcoreguidelines-owning-memory)
      });
    current_hold_ = delivery_hold{std::move(ack)};
  }
  return current_hold_;
}

void host_core::run_task(uint64_t id, uint64_t generation) {
  if (generation != run_generation_ || state_ != service_state::running)
    return;
  auto i = tasks_.find(id);
  if (i == tasks_.end())
    return;
  auto fn = i->second.fn; // the task may cancel itself
  if (i->second.periodic)
    schedule(id, i->second.interval);
  else
    tasks_.erase(i);
  try {
    fn();
  } catch (const std::exception& e) {
    handler_failed("task", e.what());
  } catch (...) {
    handler_failed("task", "unknown exception");
  }
}

void host_core::on_deadline(uint64_t generation) {
  if (state_ != service_state::stopping || generation != stop_generation_)
    return;
  log_->warn("stop deadline passed with {} unit(s) of work in flight; "
             "stopping hard",
             in_flight_->count);
  finish_stop(true);
}

std::chrono::steady_clock::time_point host_core::clock_now() const noexcept {
  return self_->clock().now();
}

// -- domain dispatch accounting
// ---------------------------------------------------

void host_core::count_dropped(const char* why) {
  ++messages_dropped_;
  ++drops_since_log_;
  // At most one line per second per service, with the count since the last.
  auto t = std::chrono::steady_clock::now();
  if (t - last_drop_log_ >= std::chrono::seconds{1}) {
    log_->warn("dropped {} message(s): {} (state {})", drops_since_log_, why,
               to_string(state_));
    last_drop_log_ = t;
    drops_since_log_ = 0;
  }
}

bool host_core::current_is_request() const {
  return self_->current_message_id().is_request();
}

void host_core::handler_failed(const char* where, const std::string& what) {
  record_error(std::string{where} + " threw: " + what, true, where);
}

// -- toolkit
// --------------------------------------------------------------------------

void host_core::record_error(std::string what, bool fatal, const char* source) {
  ++errors_;
  last_error_ = what;
  if (fatal) {
    fail(what, source);
    return;
  }
  log_->error("{}", what);
  set_health(errors_check, health_status::degraded, std::move(what));
}

void host_core::reset_errors() {
  errors_ = 0;
  last_error_.clear();
  checks_.erase(errors_check);
}

void host_core::set_health(std::string check, health_status status,
                           std::string msg) {
  auto& c = checks_[check];
  c.name = std::move(check);
  c.status = status;
  c.message = std::move(msg);
  c.updated = now();
}

void host_core::clear_health(const std::string& check) {
  checks_.erase(check);
}

void host_core::set_metadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

task_id host_core::add_task(std::chrono::nanoseconds interval,
                            std::function<void()> fn, bool periodic) {
  if (periodic && interval <= std::chrono::nanoseconds::zero())
    throw std::invalid_argument("every(): interval must be positive");
  auto id = ++next_task_id_;
  tasks_.emplace(id, task{std::move(fn), interval, periodic});
  schedule(id, interval);
  return id;
}

void host_core::cancel(task_id id) {
  tasks_.erase(id);
}

work_token host_core::track() {
  return work_token{std::make_shared<work_ticket>(in_flight_)};
}

void host_core::publish(std::string topic, caf::message msg) {
  if (!opts_.bus) {
    count_dropped("publish without a topic bus");
    return;
  }
  ++messages_out_;
  caf::anon_send(opts_.bus, publish_atom::value, std::move(topic),
                 std::move(msg));
}

void host_core::publish_batch(bus_batch batch) {
  if (!opts_.bus) {
    count_dropped("publish without a topic bus");
    return;
  }
  if (batch.items.empty())
    return;
  messages_out_ += batch.items.size();
  caf::anon_send(opts_.bus, publish_batch_atom::value, std::move(batch));
}

void host_core::publish_batch(bus_batch batch, std::function<void()> on_taken) {
  if (!opts_.bus) {
    count_dropped("publish without a topic bus");
    return;
  }
  messages_out_ += batch.items.size();
  // A request: the bus answers once every batch-taking subscriber handled
  // the items. `request` is a member of the typed actor classes; the host
  // only knows the scheduled_actor base, which has all a request needs.
  auto id = self_->new_request_id(caf::message_priority::normal);
  opts_.bus->enqueue(
    caf::make_mailbox_element(
      self_->ctrl(), id, {},
      caf::make_message(publish_batch_atom::value, std::move(batch))),
    self_->context());
  auto done = [this, gen = run_generation_, f = std::move(on_taken)] {
    // A continuation of an earlier run (or of a stopped service) must not
    // publish into this one.
    if (gen != run_generation_ || state_ != service_state::running || !f)
      return;
    try {
      f();
    } catch (const std::exception& e) {
      handler_failed("publish_batch", e.what());
    } catch (...) {
      handler_failed("publish_batch", "unknown exception");
    }
  };
  self_->add_multiplexed_response_handler(
    id.response_id(), caf::behavior{[done]() mutable { done(); },
                                    [done](caf::error&) mutable { done(); }});
}

void host_core::add_subscription(std::string prefix,
                                 service::subscription_handler fn) {
  bool first = std::none_of(subscriptions_.begin(), subscriptions_.end(),
                            [&](auto& s) { return s.prefix == prefix; });
  if (first && opts_.bus)
    caf::anon_send(opts_.bus, subscribe_atom::value, prefix,
                   caf::actor_cast<caf::actor>(self_), true); // batches
  subscriptions_.push_back(subscription{
    std::move(prefix),
    std::make_shared<service::subscription_handler>(std::move(fn))});
}

// -- internals
// ------------------------------------------------------------------------

void host_core::enter(service_state next, const std::string& reason) {
  auto prev = state_;
  state_ = next;
  state_change change{opts_.name, prev, next, reason, now()};
  history_.push_back(change);
  while (history_.size() > opts_.history_limit)
    history_.pop_front();
  if (next == service_state::failed)
    log_->error("{} -> {} ({})", to_string(prev), to_string(next), reason);
  else
    log_->info("{} -> {} ({})", to_string(prev), to_string(next), reason);
  notify_listeners(self_, listeners_, change);
  if (on_enter)
    on_enter(next);
}

hook_result host_core::guarded(const char* hook,
                               const std::function<hook_result()>& f) {
  failed_in_hook_ = false;
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
                      std::string{hook} + " failed: " + last_error_);
  switch (r.outcome()) {
  case hook_result::kind::success:
    return {};
  case hook_result::kind::refusal: {
    auto text = std::string{hook} + " refused: " + r.message();
    log_->warn("{}", text);
    if (state_ != prior)
      enter(prior, text);
    return make_error(errc::hook_refused, std::move(text));
  }
  case hook_result::kind::failure: {
    auto text = std::string{hook} + " failed: " + r.message();
    ++errors_;
    last_error_ = text;
    fail(text, hook);
    return make_error(errc::hook_failed, std::move(text));
  }
  }
  return {};
}

void host_core::fail(const std::string& what, const char* source) {
  failed_in_hook_ = true;
  cancel_run();
  hook_result verdict = hook_result::fail(what);
  try {
    verdict = impl_.on_error(error_info{what, source});
  } catch (const std::exception& e) {
    log_->error("on_error threw: {}", e.what());
  } catch (...) {
    log_->error("on_error threw a non-standard exception");
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

void host_core::cancel_run() {
  ++run_generation_;
  tasks_.clear();
  if (opts_.bus) {
    auto me = caf::actor_cast<caf::actor>(self_);
    std::vector<std::string> done;
    for (auto& s : subscriptions_) {
      if (std::find(done.begin(), done.end(), s.prefix) != done.end())
        continue;
      caf::anon_send(opts_.bus, unsubscribe_atom::value, s.prefix, me);
      done.push_back(s.prefix);
    }
  }
  subscriptions_.clear();
}

void host_core::finish_stop(bool hard) {
  in_flight_->on_idle = nullptr;
  ++stop_generation_;
  stopped_hard_ = hard;
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
      stop_promise_->deliver(state_);
      stop_promise_.reset();
    }
    break;
  case hook_result::kind::failure:
    ++errors_;
    last_error_ = "on_stop failed: " + r.message();
    fail(last_error_, "on_stop");
    break;
  }
}

void host_core::schedule(uint64_t id, std::chrono::nanoseconds delay) {
  caf::delayed_anon_send(caf::actor_cast<service_actor>(self_), delay,
                         task_atom::value, id, run_generation_);
}

void host_core::apply_log_level(const settings& cfg) {
  if (auto name = cfg.get<std::string>("log_level")) {
    if (auto lvl = parse_log_level(*name))
      log_->set_level(*lvl);
    else
      log_->warn("ignoring unknown log_level '{}'", *name);
  }
}

} // namespace troupe::detail
