// The supervisor's operations on children: spawning, starting, stopping,
// restart groups, and the management requests.

#include <algorithm>
#include <exception>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "troupe/actors/detail/supervisor_core.hpp"
#include "troupe/actors/detail/weak_timer.hpp"
#include "troupe/actors/errc.hpp"

namespace troupe::detail {

namespace {

// A stopping child gets its deadline; past that plus this, it is killed.
constexpr auto stop_grace = std::chrono::seconds{1};

// Children started or stopped at once within a level, at most.
constexpr size_t window = 256;

} // namespace

// -- primitives ---------------------------------------------------------------

void supervisor_core::start_one(const child_ptr& c, const error_fn& k) {
  auto opts = c->spec.options;
  if (opts.name.empty())
    opts.name = c->spec.name;
  if (opts.type.empty())
    opts.type = c->spec.type;
  opts.restarts = c->restarts;
  // First scheduled on this worker, as `self->spawn` does: no trip through
  // the scheduler's shared queue and no wake-up of a sleeping worker.
  opts.launch_on = self_->context();
  service_actor h;
  try {
    h = c->spec.factory ? c->spec.factory(self_->system(), std::move(opts))
                        : service_actor{};
  } catch (const std::exception& e) {
    k(make_error(errc::child_failed,
                 "factory of '" + c->spec.name + "' threw: " + e.what()));
    return;
  }
  if (!h) {
    k(make_error(errc::child_failed,
                 "factory of '" + c->spec.name + "' spawned no actor"));
    return;
  }
  c->handle = h;
  by_id_[h.id()] = c;
  c->ph = phase::starting;
  c->state = service_state::initialized;
  c->started_once = true;
  self_->monitor(h);
  // Subscribed before the start: the child handles its mailbox in order.
  self_->send(h, subscribe_state_atom::value,
              caf::actor_cast<caf::actor>(self_));
  // Configure and start in one request, `(start_atom, settings)`: one
  // round trip (a configure that fails answers its error, and the child
  // does not start). It waits start_timeout for its answer (await_answer),
  // which keeps what comes next; an answer after that is ignored, as CAF
  // ignores one after a timeout. CAF keeps the handlers of a request that
  // is never answered for good, so they hold only the key and the child's
  // record: the continuation (and what it holds, up to this supervisor's
  // own promises) goes with the deadline.
  auto hid = h.id();
  auto is_current = [c, hid] { return c->handle && c->handle.id() == hid; };
  auto started = [c, k, is_current](const caf::error& err) {
    if (err) {
      if (is_current())
        c->ph = phase::ended;
      k(err);
      return;
    }
    // A stop that came meanwhile (an aborted start) owns it now.
    if (is_current() && c->ph == phase::starting)
      c->ph = phase::up;
    k({});
  };
  auto key = await_answer(opts_.start_timeout, std::move(started));
  self_->request(h, caf::infinite, start_atom::value, c->spec.config)
    .then(
      [this, c, key, is_current](service_state st) {
        if (awaiting_.count(key) > 0 && is_current() &&
            c->ph == phase::starting)
          c->state = st;
        answer(key, {});
      },
      [this, key](const caf::error& e) { answer(key, e); });
}

supervisor_core::answer_key supervisor_core::await_answer(caf::timespan timeout,
                                                          error_fn next) {
  auto at = self_->clock().now() + timeout;
  answer_key key{at, ++awaited_};
  awaiting_.emplace(key, std::move(next));
  // One timer at a time, for the earliest deadline; an earlier one than
  // the timer's (a shorter timeout) gets a timer of its own.
  if (!answer_timer_at_ || at < *answer_timer_at_) {
    answer_timer_at_ = at;
    arm_answer_timer(timeout);
  }
  return key;
}

void supervisor_core::arm_answer_timer(caf::timespan delay) {
  // A weak timer: a stopped supervisor does not wait for it to fire.
  send_later(self_->home_system(),
             caf::actor_cast<caf::strong_actor_ptr>(self_), delay,
             caf::make_message(answer_timer_atom::value));
}

void supervisor_core::answer(const answer_key& key, const caf::error& err) {
  auto i = awaiting_.find(key);
  if (i == awaiting_.end())
    return; // too late: the deadline passed
  auto next = std::move(i->second);
  awaiting_.erase(i);
  next(err);
}

void supervisor_core::on_answer_timer() {
  auto now = self_->clock().now();
  if (answer_timer_at_ && *answer_timer_at_ <= now)
    answer_timer_at_.reset();
  // What timed out goes first; a continuation may wait for more answers.
  std::vector<error_fn> due;
  while (!awaiting_.empty() && awaiting_.begin()->first.first <= now) {
    due.push_back(std::move(awaiting_.begin()->second));
    awaiting_.erase(awaiting_.begin());
  }
  if (!awaiting_.empty() && !answer_timer_at_) {
    auto at = awaiting_.begin()->first.first;
    answer_timer_at_ = at;
    arm_answer_timer(at - now);
  }
  for (auto& f : due)
    f(caf::make_error(caf::sec::request_timeout));
}

void supervisor_core::stop_one(const child_ptr& c, const std::string& reason,
                               const done_fn& k, const status_sink& sink) {
  if (!c->handle) {
    c->ph = phase::none;
    k();
    return;
  }
  auto h = c->handle;
  if (sink) {
    // Its status as it was when the stop came, for the final table.
    // One that does not answer within stop_grace is stopped without its
    // row. The deadline holds what comes next, as in start_one: a CAF
    // request timeout per child would stay in CAF's clock for stop_grace.
    c->ph = phase::stopping;
    auto key =
      await_answer(stop_grace, [this, c, h, reason, k](const caf::error&) {
        if (c->handle == h)
          stop_one(c, reason, k, nullptr);
        else
          k();
      });
    self_->request(h, caf::infinite, status_atom::value)
      .then(
        // Weakly: CAF keeps the handler of a request never answered.
        [this, key, weak = std::weak_ptr{sink}](service_status& st) {
          if (auto s = weak.lock(); s && awaiting_.count(key) > 0)
            s->push_back(std::move(st));
          answer(key, {});
        },
        [this, key](const caf::error& err) { answer(key, err); });
    return;
  }
  c->ph = phase::stopping;
  auto deadline = c->spec.stop_deadline;
  if (stop_until_) {
    // The supervisor's own stop bounds its children's.
    auto left = *stop_until_ - self_->clock().now();
    deadline = std::max(caf::timespan{0}, std::min(deadline, left));
  }
  // As in start_one: the deadline, not a CAF request timeout, holds what
  // comes next.
  auto key =
    await_answer(deadline + stop_grace, [this, c, k](const caf::error& err) {
      // Not stoppable from its state, dead, or too slow: gone either way.
      if (err)
        log_->debug("stopping '{}': {}", c->spec.name, describe(err));
      dispose(c);
      k();
    });
  self_->request(h, caf::infinite, stop_atom::value, reason, deadline)
    .then([this, key](service_state) { answer(key, {}); },
          [this, key](const caf::error& err) { answer(key, err); });
}

void supervisor_core::stop_all(const std::vector<child_ptr>& list,
                               const std::string& reason, const done_fn& k,
                               const status_sink& sink) {
  // Highest level first; within a level in the order given.
  std::map<uint32_t, std::vector<child_ptr>, std::greater<>> by_level;
  for (auto& c : list) {
    if (!c->handle) {
      c->ph = phase::none;
      continue;
    }
    by_level[c->level].push_back(c);
  }
  auto groups = std::make_shared<std::vector<std::vector<child_ptr>>>();
  groups->reserve(by_level.size());
  for (auto& entry : by_level)
    groups->push_back(std::move(entry.second));
  stop_levels(groups, 0, reason, k, sink);
}

void supervisor_core::stop_levels(
  const std::shared_ptr<std::vector<std::vector<child_ptr>>>& groups, size_t i,
  const std::string& reason, const done_fn& k, const status_sink& sink) {
  if (i >= groups->size()) {
    k();
    return;
  }
  fan_out((*groups)[i],
          // The instance it has when its turn comes: stop_one reads it.
          [this, reason, sink](size_t, const child_ptr& c, const service_actor&,
                               const done_fn& settle) {
            stop_one(c, reason, settle, sink);
          },
          [this, groups, i, reason, k, sink] {
            stop_levels(groups, i + 1, reason, k, sink);
          });
}

struct supervisor_core::fan_run {
  std::vector<child_ptr> xs;
  std::vector<service_actor> handles; // as the round began
  ask_fn ask;
  done_fn done;
  size_t next = 0;
  size_t settled = 0;
  bool launching = false;
};

void supervisor_core::fan_out(std::vector<child_ptr> xs, ask_fn ask,
                              done_fn done) {
  if (xs.empty()) {
    done();
    return;
  }
  auto run = std::make_shared<fan_run>();
  run->xs = std::move(xs);
  run->handles.reserve(run->xs.size());
  for (auto& c : run->xs)
    run->handles.push_back(c->handle);
  run->ask = std::move(ask);
  run->done = std::move(done);
  launch(run);
}

void supervisor_core::launch(const std::shared_ptr<fan_run>& run) {
  if (run->launching)
    return; // settled synchronously: the loop below goes on
  run->launching = true;
  while (run->next < run->xs.size() && run->next - run->settled < window) {
    auto i = run->next++;
    run->ask(i, run->xs[i], run->handles[i], [this, run] {
      if (++run->settled == run->xs.size()) {
        run->done();
        return;
      }
      launch(run);
    });
  }
  run->launching = false;
}

void supervisor_core::dispose(const child_ptr& c) {
  if (c->handle) {
    self_->demonitor(c->handle.address());
    self_->send_exit(c->handle, caf::exit_reason::user_shutdown);
    by_id_.erase(c->handle.id());
    c->handle = nullptr;
  }
  if (c->state != service_state::failed)
    c->state = service_state::stopped;
  c->ph = phase::none;
}

void supervisor_core::start_all(started_fn k) {
  auto run = std::make_shared<start_run>();
  run->k = std::move(k);
  for (auto& c : children_) {
    if (run->levels.size() <= c->level)
      run->levels.resize(c->level + 1);
    run->levels[c->level].push_back(c);
  }
  start_run_ = run;
  start_level(run, 0);
}

void supervisor_core::start_level(const std::shared_ptr<start_run>& run,
                                  size_t i) {
  while (i < run->levels.size() && run->levels[i].empty())
    ++i;
  if (run->over)
    return;
  if (i >= run->levels.size()) {
    run->over = true;
    if (start_run_ == run)
      start_run_.reset();
    run->k(nullptr, {});
    return;
  }
  run->level = i;
  run->pending = run->levels[i].size();
  run->next = 0;
  run->in_flight = 0;
  launch_starts(run);
}

void supervisor_core::launch_starts(const std::shared_ptr<start_run>& run) {
  // A window, not the whole level at once, as in fan_out (which does not
  // fit: a failure ends the start early).
  if (run->launching)
    return; // an answer that came synchronously; the loop below goes on
  run->launching = true;
  auto& xs = run->levels[run->level];
  while (!run->over && run->next < xs.size() && run->in_flight < window) {
    auto c = xs[run->next++];
    ++run->in_flight;
    if (c->handle)
      dispose(c); // an instance left over from before the supervisor stopped
    if (c->started_once)
      ++c->restarts;
    auto i = run->level;
    start_one(c, [this, run, c, i](const caf::error& err) {
      if (run->over)
        return;
      --run->in_flight;
      if (err && !run->failed) {
        run->failed = c;
        run->err = err;
      }
      if (--run->pending > 0) {
        launch_starts(run);
        return;
      }
      if (!run->failed) {
        start_level(run, i + 1);
        return;
      }
      // The whole level answered; what started is stopped by the caller.
      run->over = true;
      if (start_run_ == run)
        start_run_.reset();
      run->k(run->failed, run->err);
    });
  }
  run->launching = false;
}

void supervisor_core::assign_levels() {
  if (!opts_.by_level) {
    for (size_t i = 0; i < children_.size(); ++i)
      children_[i]->level = static_cast<uint32_t>(i);
    return;
  }
  std::unordered_map<std::string, child*> by_name;
  by_name.reserve(children_.size());
  for (auto& c : children_) {
    c->level = 0;
    by_name.emplace(c->spec.name, c.get());
  }
  // Children usually come in dependency order: one pass computes every
  // level and a second confirms it. The bound ends a (rejected elsewhere)
  // cycle.
  bool changed = true;
  for (int pass = 0; changed && pass < 1000; ++pass) {
    changed = false;
    for (auto& c : children_) {
      uint32_t level = 0;
      for (auto& dep : c->spec.depends_on) {
        auto j = by_name.find(dep);
        if (j != by_name.end() && j->second != c.get())
          level = std::max(level, j->second->level + 1);
      }
      if (level != c->level) {
        c->level = level;
        changed = true;
      }
    }
  }
}

void supervisor_core::restart_group(uint64_t group, size_t i,
                                    const done_fn& k) {
  // Index-based: a failure below may claim later members for a newer group,
  // which then skips them here.
  while (i < children_.size() && children_[i]->group != group)
    ++i;
  if (i >= children_.size() || life_.state() != service_state::running) {
    k();
    return;
  }
  auto c = children_[i];
  c->group = 0;
  if (c->handle)
    dispose(c);
  ++c->restarts;
  log_->info("restarting child '{}' (restart {})", c->spec.name, c->restarts);
  start_one(c, [this, group, i, c, k](const caf::error& err) {
    if (err) {
      c->last_error = describe(err);
      log_->error("restart of child '{}' failed: {}", c->spec.name,
                  c->last_error);
      c->ph = phase::up; // let the failure path treat it as a running child
      child_ended(c, true, "restart failed: " + c->last_error);
    }
    restart_group(group, i + 1, k);
  });
}

supervisor_core::child_ptr
supervisor_core::find(const std::string& name) const {
  auto i = std::find_if(children_.begin(), children_.end(),
                        [&](auto& c) { return c->spec.name == name; });
  return i == children_.end() ? nullptr : *i;
}

supervisor_core::child_ptr supervisor_core::find_sender() const {
  auto sender = self_->current_sender();
  if (!sender)
    return nullptr;
  auto i = by_id_.find(sender->id());
  return i == by_id_.end() ? nullptr : i->second;
}

caf::error supervisor_core::no_child(const std::string& name) const {
  return make_error(errc::unknown_child, "supervisor '" + own_.name +
                                           "' has no child '" + name + "'");
}

caf::error supervisor_core::dependency_down(const child_ptr& c,
                                            std::string_view verb) const {
  for (auto& dep : c->spec.depends_on)
    if (auto d = find(dep); d && d->ph != phase::up) {
      std::string text{"cannot "};
      text.append(verb).append(" '").append(c->spec.name);
      text.append("': it depends on '").append(dep).append("', not running (");
      text.append(dep).append(": ").append(to_string(d->state)).append(")");
      return make_error(errc::invalid_transition, std::move(text));
    }
  return {};
}

caf::error supervisor_core::dependents_up(const child_ptr& c,
                                          std::string_view verb) const {
  std::string names;
  size_t n = 0;
  for (auto& x : children_) {
    if (x == c || (x->ph != phase::up && x->ph != phase::starting))
      continue;
    auto& deps = x->spec.depends_on;
    if (std::find(deps.begin(), deps.end(), c->spec.name) != deps.end()) {
      names += (n++ == 0 ? "'" : ", '") + x->spec.name + "'";
    }
  }
  if (n == 0)
    return {};
  return make_error(errc::invalid_transition,
                    "cannot " + std::string{verb} + " '" + c->spec.name +
                      "': " + names +
                      (n == 1 ? " depends on it and runs; stop it first"
                              : " depend on it and run; stop them first"));
}

caf::error supervisor_core::not_running() const {
  return make_error(errc::not_running, "supervisor '" + own_.name + "' is " +
                                         to_string(life_.state()) +
                                         ", not running");
}

// -- management ---------------------------------------------------------------

std::vector<child_info> supervisor_core::children() const {
  std::vector<child_info> out;
  for (auto& c : children_) {
    child_info x;
    x.name = c->spec.name;
    x.type = c->spec.type;
    x.handle = c->handle;
    x.state = c->state;
    x.restart = c->spec.restart;
    x.restarts = c->restarts;
    x.restart_pending = c->group != 0;
    x.last_backoff = c->last_backoff;
    x.last_error = c->last_error;
    x.level = c->level;
    out.push_back(std::move(x));
  }
  return out;
}

void supervisor_core::start_by_request(
  const child_ptr& c, caf::typed_response_promise<service_state> promise,
  const done_fn& done) {
  if (c->started_once)
    ++c->restarts;
  start_one(c, [c, promise, done](const caf::error& err) mutable {
    if (err)
      promise.deliver(err);
    else
      promise.deliver(c->state);
    done();
  });
}

caf::result<service_state>
supervisor_core::start_child(const std::string& name) {
  auto c = find(name);
  if (!c)
    return no_child(name);
  if (life_.state() != service_state::running)
    return not_running();
  if (c->ph == phase::up || c->ph == phase::starting || c->group != 0)
    return make_error(errc::invalid_transition,
                      "child '" + name + "' is " + to_string(c->state) +
                        (c->group != 0 ? " with a restart scheduled" : ""));
  if (auto err = dependency_down(c, "start"))
    return err;
  auto promise = self_->make_response_promise<service_state>();
  enqueue(
    "start child " + name,
    [this, c, promise](const done_fn& done) mutable {
      if (c->handle)
        dispose(c);
      start_by_request(c, promise, done);
    },
    [promise](const caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

caf::result<service_state>
supervisor_core::stop_child(const std::string& name) {
  auto c = find(name);
  if (!c)
    return no_child(name);
  if (auto err = dependents_up(c, "stop"))
    return err;
  c->group = 0; // a stop by hand cancels a scheduled restart
  auto promise = self_->make_response_promise<service_state>();
  enqueue(
    "stop child " + name,
    [this, c, promise](const done_fn& done) mutable {
      c->group = 0;
      stop_one(c, "stopped by request", [c, promise, done]() mutable {
        promise.deliver(c->state);
        done();
      });
    },
    [promise](const caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

caf::result<service_state>
supervisor_core::restart_child(const std::string& name) {
  auto c = find(name);
  if (!c)
    return no_child(name);
  if (life_.state() != service_state::running)
    return not_running();
  if (auto err = dependency_down(c, "restart"))
    return err;
  c->group = 0;
  auto promise = self_->make_response_promise<service_state>();
  enqueue(
    "restart child " + name,
    [this, c, promise](const done_fn& done) mutable {
      c->group = 0;
      stop_one(c, "restart by request", [this, c, promise, done]() mutable {
        start_by_request(c, promise, done);
      });
    },
    [promise](const caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

caf::result<service_state>
supervisor_core::reconfigure_child(const std::string& name, settings cfg) {
  auto c = find(name);
  if (!c)
    return no_child(name);
  if (!c->handle || c->ph != phase::up) {
    // Not running: the next start configures it with the new settings.
    c->spec.config = std::move(cfg);
    return c->state;
  }
  auto promise = self_->make_response_promise<service_state>();
  self_->request(c->handle, opts_.start_timeout, reconfigure_atom::value, cfg)
    .then(
      [c, cfg, promise](service_state st) mutable {
        // Restarts from now on use the settings the child accepted.
        c->spec.config = std::move(cfg);
        promise.deliver(st);
      },
      [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

caf::result<service_state> supervisor_core::add_child(child_spec spec) {
  if (spec.name.empty() || !spec.factory)
    return make_error(errc::invalid_settings,
                      "a child needs a name and a factory");
  if (find(spec.name))
    return make_error(errc::duplicate_name, "supervisor '" + own_.name +
                                              "' already has a child '" +
                                              spec.name + "'");
  auto c = std::make_shared<child>();
  c->spec = std::move(spec);
  children_.push_back(c);
  assign_levels();
  log_->info("child '{}' added", c->spec.name);
  if (life_.state() != service_state::running)
    return c->state; // starts with the supervisor
  auto promise = self_->make_response_promise<service_state>();
  enqueue(
    "add child " + c->spec.name,
    [this, c, promise](const done_fn& done) mutable {
      start_one(c, [this, c, promise, done](const caf::error& err) mutable {
        if (!err) {
          promise.deliver(c->state);
          done();
          return;
        }
        // Like a failed initial start: the child is not kept.
        auto text =
          "child '" + c->spec.name + "' failed to start: " + describe(err);
        stop_one(c, "start failed", [this, c, promise, done, text]() mutable {
          children_.erase(std::remove(children_.begin(), children_.end(), c),
                          children_.end());
          assign_levels();
          promise.deliver(make_error(errc::child_failed, text));
          done();
        });
      });
    },
    [promise](const caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

caf::result<service_state>
supervisor_core::remove_child(const std::string& name) {
  auto c = find(name);
  if (!c)
    return no_child(name);
  if (auto err = dependents_up(c, "remove"))
    return err;
  c->group = 0;
  auto promise = self_->make_response_promise<service_state>();
  auto forget = [this, c, promise](const done_fn& done) mutable {
    c->group = 0;
    stop_one(c, "removed", [this, c, promise, done]() mutable {
      children_.erase(std::remove(children_.begin(), children_.end(), c),
                      children_.end());
      assign_levels();
      log_->info("child '{}' removed", c->spec.name);
      promise.deliver(service_state::stopped);
      done();
    });
  };
  enqueue("remove child " + name, std::move(forget),
          [promise](const caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

caf::result<std::vector<service_status>>
supervisor_core::stop_children(const std::vector<std::string>& names) {
  std::unordered_set<std::string> wanted{names.begin(), names.end()};
  std::vector<child_ptr> list;
  for (auto i = children_.rbegin(); i != children_.rend(); ++i)
    if (wanted.count((*i)->spec.name) > 0)
      list.push_back(*i);
  if (list.size() != wanted.size())
    for (auto& name : names)
      if (!find(name))
        return no_child(name);
  for (auto& c : list)
    c->group = 0; // a stop by hand cancels a scheduled restart
  auto promise = self_->make_response_promise<std::vector<service_status>>();
  enqueue(
    "stop " + std::to_string(list.size()) + " children",
    [this, list, promise](const done_fn& done) mutable {
      auto sink = std::make_shared<std::vector<service_status>>();
      for (auto& c : list)
        c->group = 0;
      stop_all(
        list, "stopped by request",
        [sink, promise, done]() mutable {
          promise.deliver(std::move(*sink));
          done();
        },
        sink);
    },
    [promise](const caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

caf::result<child_activity> supervisor_core::activity() {
  auto sum = std::make_shared<child_activity>();
  auto promise = self_->make_response_promise<child_activity>();
  std::vector<child_ptr> up;
  for (auto& c : children_)
    if (c->ph == phase::up && c->handle)
      up.push_back(c);
  // No timeout (a clock entry per child is searched linearly, see
  // fan_out): the caller's own request times out instead.
  fan_out(
    std::move(up),
    [this, sum](size_t, const child_ptr&, const service_actor& h,
                const done_fn& settle) {
      self_->request(h, caf::infinite, status_atom::value)
        .then(
          [sum, settle](const service_status& st) {
            if (st.state == service_state::running) {
              ++sum->running;
              sum->moved +=
                st.messages_in + st.messages_out + st.messages_dropped;
              // Tracked work, messages published and not yet taken (a
              // bridge's inbound ones too) or held back.
              sum->in_flight +=
                st.in_flight + st.publish_unacked + st.held_messages;
            }
            settle();
          },
          [sum, settle](const caf::error&) {
            ++sum->unanswered;
            settle();
          });
    },
    [sum, promise]() mutable { promise.deliver(*sum); });
  return promise;
}

caf::result<std::vector<service_status>> supervisor_core::child_statuses() {
  std::vector<child_ptr> alive;
  for (auto& c : children_)
    if (c->handle)
      alive.push_back(c);
  auto slots =
    std::make_shared<std::vector<std::optional<service_status>>>(alive.size());
  auto promise = self_->make_response_promise<std::vector<service_status>>();
  fan_out(
    std::move(alive),
    [this, slots](size_t i, const child_ptr&, const service_actor& h,
                  const done_fn& settle) {
      // No timeout, as in activity().
      self_->request(h, caf::infinite, status_atom::value)
        .then(
          [slots, i, settle](service_status& st) {
            (*slots)[i] = std::move(st);
            settle();
          },
          [settle](const caf::error&) { settle(); });
    },
    [slots, promise]() mutable {
      std::vector<service_status> out;
      out.reserve(slots->size());
      for (auto& x : *slots)
        if (x)
          out.push_back(std::move(*x));
      promise.deliver(std::move(out));
    });
  return promise;
}

} // namespace troupe::detail
