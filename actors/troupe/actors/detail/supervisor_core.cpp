#include "troupe/actors/detail/supervisor_core.hpp"
#include "troupe/actors/detail/bus_plumbing.hpp"
#include "troupe/actors/detail/host_core.hpp"
#include "troupe/actors/detail/weak_timer.hpp"

#include <algorithm>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/timestamp.hpp>
#include <spdlog/spdlog.h>

#include "troupe/actors/errc.hpp"
#include "troupe/actors/logging.hpp"

namespace troupe::detail {

namespace {

std::string ms(caf::timespan x) {
  return std::to_string(
           std::chrono::duration_cast<std::chrono::milliseconds>(x).count()) +
         "ms";
}

} // namespace

supervisor_core::supervisor_core(supervisor_pointer self,
                                 supervisor_options opts, service_options own,
                                 std::vector<child_spec> specs)
  : self_(self), opts_(std::move(opts)), own_(std::move(own)),
    log_(make_service_logger(own_.name)),
    life_("supervisor", own_.name, own_.history_limit, own_.restarts),
    rng_(opts_.seed != 0 ? opts_.seed : std::random_device{}()) {
  if (own_.log_level)
    log_->set_level(*own_.log_level);
  self_->set_error_handler([this](caf::scheduled_actor*, caf::error& err) {
    log_stray_error(self_, *log_, err);
  });
  for (auto& spec : specs) {
    auto c = std::make_shared<child>();
    c->spec = std::move(spec);
    children_.push_back(std::move(c));
  }
  assign_levels();
}

supervisor_core::~supervisor_core() {
  for (auto& c : children_)
    if (c->handle)
      caf::anon_send_exit(c->handle, caf::exit_reason::kill);
}

// -- the supervisor's own lifecycle -------------------------------------------

caf::result<service_state> supervisor_core::configure(const settings& cfg) {
  if (auto err = life_.check(lifecycle_action::configure))
    return err;
  life_.set_config(cfg);
  enter(service_state::configured, "configure");
  return life_.state();
}

caf::result<service_state> supervisor_core::reconfigure(const settings& cfg) {
  // The same table as a service's: not in initialized (configure first).
  if (auto err = life_.check(lifecycle_action::reconfigure))
    return err;
  if (life_.state() != service_state::running)
    return configure(cfg);
  life_.set_config(cfg);
  return life_.state();
}

caf::result<service_state> supervisor_core::start() {
  if (auto err = life_.check(lifecycle_action::start))
    return err;
  bool restart = life_.state() == service_state::stopped ||
                 life_.state() == service_state::failed;
  recent_restarts_.clear();
  enter(service_state::starting, restart ? "restart" : "start");
  auto promise = self_->make_response_promise<service_state>();
  enqueue(
    "start",
    [this, promise](const done_fn& done) mutable {
      // Kept here too so that a stop can answer and end this job early.
      start_promise_ = promise;
      start_done_ = done;
      start_all([this, promise, done](const child_ptr& failed,
                                      const caf::error& err) mutable {
        start_done_ = nullptr;
        start_promise_ = {};
        if (!failed) {
          enter(service_state::running, "all children started");
          promise.deliver(life_.state());
          done();
          return;
        }
        auto text =
          "child '" + failed->spec.name + "' failed to start: " + describe(err);
        life_.note_error(text);
        log_->error("{}; stopping the children already started", text);
        std::vector<child_ptr> started;
        for (auto i = children_.rbegin(); i != children_.rend(); ++i)
          if ((*i)->handle)
            started.push_back(*i);
        stop_all(started, "supervisor start failed",
                 [this, promise, done, text]() mutable {
                   enter(service_state::failed, text);
                   promise.deliver(make_error(errc::child_failed, text));
                   done();
                 });
      });
    },
    [promise](const caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

void supervisor_core::abort_start(const caf::error& err) {
  if (!start_run_)
    return;
  start_run_->over = true;
  start_run_.reset();
  auto done = std::move(start_done_);
  start_done_ = nullptr;
  auto promise = std::move(start_promise_);
  start_promise_ = {};
  promise.deliver(err);
  if (done)
    done();
}

caf::result<service_state> supervisor_core::stop(const std::string& reason,
                                                 caf::timespan deadline) {
  // A stop while starting aborts the start (see supervisor_actor).
  bool aborting = life_.state() == service_state::starting;
  if (!aborting)
    if (auto err = life_.check(lifecycle_action::stop))
      return err;
  auto why = reason.empty() ? std::string{"stop"} : "stop: " + reason;
  cancel_restarts();
  abandon_jobs("supervisor '" + own_.name + "' is stopping");
  if (aborting && start_run_) {
    log_->warn("stop requested while starting; start aborted");
    abort_start(make_error(errc::not_running, "start of supervisor '" +
                                                own_.name + "' aborted (" +
                                                why + ")"));
  }
  enter(service_state::stopping, why);
  // Saturating: a deadline of years (or timespan::max) means none.
  auto now = self_->clock().now();
  stop_until_ = deadline >= caf::actor_clock::time_point::max() - now
                  ? caf::actor_clock::time_point::max()
                  : now + deadline;
  auto promise = self_->make_response_promise<service_state>();
  enqueue("stop", [this, promise](const done_fn& done) mutable {
    std::vector<child_ptr> all{children_.rbegin(), children_.rend()};
    stop_all(all, "supervisor stopping", [this, promise, done]() mutable {
      stop_until_.reset();
      enter(service_state::stopped, "stopped");
      promise.deliver(life_.state());
      done();
    });
  });
  return promise;
}

service_status supervisor_core::status() const {
  service_status st;
  life_.fill(st, self_->clock().now());
  st.type = own_.type.empty() ? "supervisor" : own_.type;
  st.health = health_status::healthy;
  for (auto& c : children_) {
    if (c->group != 0)
      st.health = worst(st.health, health_status::degraded);
    else if (c->state == service_state::failed)
      st.health = worst(st.health, health_status::unhealthy);
  }
  if (life_.state() == service_state::failed)
    st.health = health_status::fatal;
  return st;
}

caf::result<health_report> supervisor_core::health(caf::timespan within) {
  // One check per child: the child's own rollup, or what the supervisor
  // knows when the child has no running instance to ask.
  auto rep = std::make_shared<health_report>();
  auto promise = self_->make_response_promise<health_report>();
  auto now = caf::make_timestamp();
  if (life_.state() == service_state::failed)
    rep->checks.push_back(health_check{"state", health_status::fatal,
                                       "failed: " + life_.last_error(), now});
  std::vector<child_ptr> up;
  std::vector<size_t> at; // each one's check in rep->checks
  for (auto& c : children_) {
    if (c->group != 0) {
      rep->checks.push_back(health_check{c->spec.name, health_status::degraded,
                                         "restart scheduled", now});
    } else if (c->ph == phase::up) {
      up.push_back(c);
      at.push_back(rep->checks.size());
      rep->checks.push_back(health_check{c->spec.name, health_status::unhealthy,
                                         "no health answer", now});
    } else if (c->state == service_state::failed) {
      rep->checks.push_back(health_check{c->spec.name, health_status::unhealthy,
                                         c->last_error, now});
    }
  }
  // One deadline for the whole round, 9/10 of start_timeout or of what the
  // asker waits: 256 children at a time, hung ones made it last a timeout
  // per 256 (issue 25). Each child is asked with the time left, so a child
  // supervisor ends its own round before this one's: every level answers
  // its parent in time, however deep the tree.
  auto budget = std::min(opts_.start_timeout, within);
  auto deadline = self_->clock().now() + budget / 10 * 9;
  fan_out(
    std::move(up),
    [this, rep, at = std::move(at), now, deadline](size_t i, const child_ptr& c,
                                                   const service_actor& h,
                                                   const done_fn& settle) {
      auto set = [rep, idx = at[i], settle](health_check chk) {
        rep->checks[idx] = std::move(chk);
        settle();
      };
      auto name = c->spec.name;
      auto left = deadline - self_->clock().now();
      if (left <= caf::timespan::zero()) {
        set(health_check{name, health_status::unhealthy,
                         "no health answer: the round's deadline passed "
                         "before it was asked",
                         now});
        return;
      }
      // The deadline is the supervisor's (await_answer, as for a start):
      // the handlers keep only the key and where the answer goes.
      auto got = std::make_shared<health_check>();
      auto key =
        await_answer(left, [set, got, name, now](const caf::error& err) {
          if (err)
            set(health_check{name, health_status::unhealthy,
                             "no health answer: " + describe(err), now});
          else
            set(std::move(*got));
        });
      self_->request(h, caf::infinite, health_atom::value, left)
        .then(
          [this, key, got, name, now](const health_report& x) {
            std::string msg;
            for (auto& chk : x.checks)
              if (chk.status == x.overall && msg.empty())
                msg = chk.name + ": " + chk.message;
            *got = health_check{name, x.overall, msg, now};
            answer(key, {});
          },
          [this, key](const caf::error& err) { answer(key, err); });
    },
    [rep, promise]() mutable {
      rep->overall = rollup(rep->checks);
      promise.deliver(*rep);
    });
  return promise;
}

void supervisor_core::add_listener(const caf::actor& listener) {
  life_.add_listener(listener);
}

// -- events -------------------------------------------------------------------

void supervisor_core::on_state_change(const state_change& change) {
  auto c = find_sender();
  if (!c)
    return; // a replaced instance, or not a child at all
  c->state = change.to;
  if (change.to == service_state::failed)
    c->last_error = change.reason;
  if (c->ph != phase::up || c->group != 0)
    return; // the supervisor is driving this child; it expects the change
  if (change.to == service_state::failed)
    child_ended(c, true, change.reason);
  else if (change.to == service_state::stopped)
    child_ended(c, false, change.reason);
}

void supervisor_core::on_down(const caf::down_msg& msg) {
  auto i = by_id_.find(msg.source.id());
  if (i == by_id_.end())
    return;
  auto c = i->second;
  by_id_.erase(i);
  bool abnormal = msg.reason && msg.reason != caf::exit_reason::normal;
  auto was = c->ph;
  c->handle = nullptr;
  c->ph = phase::none;
  c->state = abnormal ? service_state::failed : service_state::stopped;
  auto why = "actor terminated: " + self_->system().render(msg.reason);
  if (abnormal)
    c->last_error = why;
  // A child being started or stopped answers its pending request with an
  // error; the job in flight handles it.
  if (was == phase::up && c->group == 0)
    child_ended(c, abnormal, why);
}

void supervisor_core::on_timer(uint64_t group) {
  if (life_.state() != service_state::running)
    return;
  enqueue("restart", [this, group](const done_fn& done) {
    restart_group(group, 0, done);
  });
}

// -- failure handling ---------------------------------------------------------

void supervisor_core::child_ended(const child_ptr& c, bool abnormal,
                                  const std::string& why) {
  if (c->ph == phase::up)
    c->ph = phase::ended;
  if (abnormal) {
    life_.note_error("child '" + c->spec.name + "' failed: " + why);
  }
  if (life_.state() != service_state::running) {
    if (abnormal)
      no_next_instance(c);
    return;
  }
  auto policy = c->spec.restart;
  if (policy == restart_policy::temporary ||
      (policy == restart_policy::transient && !abnormal)) {
    log_->info("child '{}' {} ({}); {} child, not restarted", c->spec.name,
               abnormal ? "failed" : "stopped", why, to_string(policy));
    if (abnormal)
      no_next_instance(c);
    return;
  }
  schedule_restart(c, why);
}

void supervisor_core::no_next_instance(const child_ptr& c) {
  if (c->spec.options.bus)
    caf::anon_send(plumbing_of(c->spec.options.bus), bus_giveup_atom::value,
                   c->spec.name);
}

void supervisor_core::schedule_restart(const child_ptr& c,
                                       const std::string& why) {
  auto now = self_->clock().now();
  recent_restarts_.push_back(now);
  while (!recent_restarts_.empty() &&
         now - recent_restarts_.front() > opts_.period)
    recent_restarts_.pop_front();
  if (recent_restarts_.size() > opts_.max_restarts) {
    escalate("more than " + std::to_string(opts_.max_restarts) +
             " restarts within " + ms(opts_.period) + "; last: child '" +
             c->spec.name + "': " + why);
    return;
  }
  if (c->last_failure && now - *c->last_failure >= opts_.period)
    c->consecutive = 0;
  c->last_failure = now;
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  auto delay = backoff_delay(opts_, c->consecutive++, unit(rng_));
  c->last_backoff = delay;
  // The restart group: the child plus, by strategy, its siblings that run
  // or wait for a restart of their own (a newer group claims those).
  auto pos = std::find(children_.begin(), children_.end(), c);
  auto gid = ++next_group_;
  std::vector<child_ptr> to_stop;
  std::string others;
  for (auto i = children_.begin(); i != children_.end(); ++i) {
    auto& d = *i;
    bool in_scope =
      d == c || opts_.strategy == restart_strategy::one_for_all ||
      (opts_.strategy == restart_strategy::rest_for_one && i > pos);
    if (!in_scope)
      continue;
    if (d != c) {
      bool live = d->ph == phase::up || d->ph == phase::starting;
      if (!live && d->group == 0)
        continue; // stopped by hand or by policy: leave it so
      if (d->handle)
        to_stop.push_back(d);
      if (d->spec.restart == restart_policy::temporary) {
        d->group = 0;
        continue;
      }
      others += (others.empty() ? "" : ", ") + d->spec.name;
    } else if (d->handle) {
      to_stop.push_back(d);
    }
    d->group = gid;
  }
  log_->warn("child '{}' ended ({}); restarting it{} in {} ({})", c->spec.name,
             why, others.empty() ? "" : " with " + others, ms(delay),
             to_string(opts_.strategy));
  std::reverse(to_stop.begin(), to_stop.end());
  if (!to_stop.empty())
    enqueue("stop before restart", [this, to_stop](const done_fn& done) {
      stop_all(to_stop, "restart", done);
    });
  send_later(self_->home_system(),
             caf::actor_cast<caf::strong_actor_ptr>(self_), delay,
             caf::make_message(restart_timer_atom::value, gid));
}

void supervisor_core::escalate(const std::string& why) {
  log_->error("restart intensity exceeded: {}; stopping all children and "
              "escalating",
              why);
  life_.note_error("restart intensity exceeded: " + why);
  cancel_restarts();
  abandon_jobs("supervisor '" + own_.name + "' is escalating a failure");
  enter(service_state::stopping, "escalating: " + why);
  enqueue("escalate", [this](const done_fn& done) {
    std::vector<child_ptr> all{children_.rbegin(), children_.rend()};
    stop_all(all, "supervisor escalating", [this, done] {
      enter(service_state::failed, life_.last_error());
      done();
    });
  });
}

void supervisor_core::cancel_restarts() {
  // Pending timers still fire; with no child in their group they do nothing.
  for (auto& c : children_) {
    if (c->group != 0)
      no_next_instance(c);
    c->group = 0;
  }
}

// -- jobs ---------------------------------------------------------------------

void supervisor_core::enqueue(std::string what,
                              std::function<void(done_fn)> run,
                              error_fn abandon) {
  jobs_.push_back(job{std::move(what), std::move(run), std::move(abandon)});
  pump();
}

void supervisor_core::pump() {
  while (!busy_ && !jobs_.empty()) {
    auto j = std::move(jobs_.front());
    jobs_.pop_front();
    busy_ = true;
    log_->debug("job: {}", j.what);
    j.run([this] {
      busy_ = false;
      pump();
    });
  }
}

void supervisor_core::abandon_jobs(const std::string& why) {
  auto dropped = std::move(jobs_);
  jobs_.clear();
  for (auto& j : dropped)
    if (j.abandon)
      j.abandon(make_error(errc::not_running, why));
}

void supervisor_core::enter(service_state next, const std::string& reason) {
  life_.enter(self_, *log_, next, reason);
}

} // namespace troupe::detail
