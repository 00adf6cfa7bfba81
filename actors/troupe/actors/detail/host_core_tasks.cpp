// host_core: tasks and timers, work tracking, and the end of a run (which
// also drops the run's bus subscriptions).

#include <algorithm>
#include <stdexcept>

#include <caf/actor_cast.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>

#include "troupe/actors/detail/host_core.hpp"
#include "troupe/actors/detail/weak_timer.hpp"

namespace troupe::detail {

void host_core::run_task(uint64_t id, uint64_t generation) {
  if (generation != run_generation_)
    return;
  if (life_.state() == service_state::stopping) {
    // Only the tasks for tracked work a waiting stop kept (cancel_run).
    run_task_now(id);
    return;
  }
  if (life_.state() != service_state::running)
    return;
  if (holding_back()) {
    // Runs (and a periodic one is scheduled again) once the service may
    // go on: a producer held back produces nothing meanwhile.
    if (std::find(due_tasks_.begin(), due_tasks_.end(), id) == due_tasks_.end())
      due_tasks_.push_back(id);
    return;
  }
  run_task_now(id);
}

void host_core::run_task_now(uint64_t id) {
  auto i = tasks_.find(id);
  if (i == tasks_.end())
    return;
  auto fn = i->second.fn; // the task may cancel itself
  if (i->second.periodic)
    schedule(id, i->second.interval);
  else
    tasks_.erase(i);
  dispatch_scope scope{*this};
  try {
    fn();
  } catch (const std::exception& e) {
    handler_failed("task", e.what());
  } catch (...) {
    handler_failed("task", "unknown exception");
  }
}

task_id host_core::add_task(std::chrono::nanoseconds interval,
                            std::function<void()> fn, bool periodic,
                            bool for_tracked) {
  if (periodic && interval <= std::chrono::nanoseconds::zero())
    throw std::invalid_argument("every(): interval must be positive");
  auto id = ++next_task_id_;
  tasks_.emplace(id, task{std::move(fn), interval, periodic, for_tracked});
  schedule(id, interval);
  return id;
}

void host_core::cancel(task_id id) {
  tasks_.erase(id);
}

work_token host_core::track() {
  // Made at the first tracked unit: an idle service pays nothing for it.
  if (!in_flight_)
    in_flight_ = std::make_shared<in_flight_counter>();
  return work_token{std::make_shared<work_ticket>(in_flight_)};
}

void host_core::cancel_run(bool keep_replies) {
  ++run_generation_;
  if (!keep_replies) {
    tasks_.clear();
  } else {
    // Tasks for tracked work go on (scheduled anew: the new generation
    // makes every pending timer of the run stale); the others end.
    for (auto i = tasks_.begin(); i != tasks_.end();)
      i = i->second.for_tracked ? std::next(i) : tasks_.erase(i);
    for (auto& [id, t] : tasks_)
      schedule(id, t.interval);
  }
  drop_held();
  auto kept = [keep_replies](const subscription& s) {
    return keep_replies && s.replies;
  };
  if (opts_.bus) {
    auto me = caf::actor_cast<caf::actor>(self_);
    std::vector<std::string> done;
    for (auto& s : subscriptions_) {
      if (kept(s) ||
          std::find(done.begin(), done.end(), s.prefix) != done.end())
        continue;
      done.push_back(s.prefix);
      // The bus knows a prefix once per subscriber: keep it while a kept
      // subscription still uses it.
      if (std::none_of(subscriptions_.begin(), subscriptions_.end(),
                       [&](const subscription& k) {
                         return kept(k) && k.prefix == s.prefix;
                       }))
        caf::anon_send(opts_.bus, unsubscribe_atom::value, s.prefix, me);
    }
  }
  subscriptions_.erase(std::remove_if(subscriptions_.begin(),
                                      subscriptions_.end(),
                                      [&](auto& s) { return !kept(s); }),
                       subscriptions_.end());
}

void host_core::schedule(uint64_t id, std::chrono::nanoseconds delay) {
  send_later(self_->home_system(),
             caf::actor_cast<caf::strong_actor_ptr>(self_), delay,
             caf::make_message(task_atom::value, id, run_generation_));
}

} // namespace troupe::detail
