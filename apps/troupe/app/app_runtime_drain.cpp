// app_runtime: the phased drain that shuts the app down.

#include <algorithm>
#include <functional>
#include <map>
#include <thread>

#include <spdlog/spdlog.h>

#include "troupe/actors/metrics.hpp"
#include "troupe/app/app_runtime.hpp"
#include "troupe/app/app_runtime_impl.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::app {

using namespace std::chrono_literals;

namespace {

// "'a', 'b', 'c'" for a few names; the count and the first ones for many.
std::string some_names(const std::vector<std::string>& names) {
  constexpr size_t shown = 8;
  std::string out;
  for (size_t i = 0; i < names.size() && i < shown; ++i)
    out += (i == 0 ? "'" : ", '") + names[i] + "'";
  if (names.size() > shown)
    out += ", ... (" + std::to_string(names.size()) + " services)";
  return out;
}

} // namespace

activity
app_runtime::impl::measure(std::chrono::steady_clock::time_point until) {
  auto left = std::chrono::duration_cast<caf::timespan>(
    until - std::chrono::steady_clock::now());
  auto wait = std::clamp<caf::timespan>(left, 1ms, timeout);
  activity a;
  // The root, and each nested supervisor for its own services.
  std::vector<supervisor_actor> sups{root_now()};
  bool any = false;
  {
    std::lock_guard<std::mutex> guard{mtx};
    any = !cfg.supervisors.empty();
  }
  if (any)
    if (auto xs = root_children(wait))
      for (auto& [_, sup] : nested(*xs))
        sups.push_back(sup);
  for (auto& sup : sups) {
    if (auto x = ask<child_activity>(sys, sup, wait, activity_atom::value)) {
      a.moved += x->moved;
      a.in_flight += x->in_flight;
      a.running += x->running;
      a.known = a.known && x->unanswered == 0;
    } else {
      a.known = false;
    }
  }
  return a;
}

uint64_t
app_runtime::impl::wait_quiet(std::chrono::steady_clock::time_point until,
                              std::chrono::nanoseconds cap) {
  // Quiet: nothing moved for 100 ms and nothing in flight. While messages
  // are in flight and moving (a pipeline draining at its own pace, through
  // ZeroMQ's queues too, which no figure shows), waits until `until`; gives
  // up when nothing moved for `cap` (e.g. a PUSH endpoint under block with
  // no reader). With nothing in flight but counters moving (a ticker
  // publishing), waits at most `cap`. With nothing left running, nothing
  // can move: quiet at once.
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  auto last = measure(until);
  if (last.known && last.running == 0)
    return 0;
  auto last_move = start;
  int stable = 0;
  while (clock::now() < until) {
    std::this_thread::sleep_for(25ms);
    auto now = measure(until);
    auto t = clock::now();
    stable = (now.known && last.known && now == last && now.in_flight == 0)
               ? stable + 1
               : 0;
    if (stable >= 4)
      return 0;
    // A service too busy to answer counts as moving.
    if (now.moved != last.moved || !now.known)
      last_move = t;
    if (t - last_move >= cap || (now.in_flight == 0 && t - start >= cap))
      return now.in_flight;
    last = now;
  }
  return last.in_flight;
}

namespace {

// The first of `names` that still has an instance: the one the drain
// waited for when its deadline passed.
std::string still_stopping(const std::vector<child_info>& xs,
                           const std::vector<std::string>& names) {
  for (auto& name : names)
    for (auto& x : xs)
      if (x.name == name && x.handle)
        return name;
  return names.empty() ? std::string{"?"} : names.front();
}

} // namespace

shutdown_result app_runtime::shutdown(std::chrono::nanoseconds timeout) {
  auto& d = *impl_;
  shutdown_result result;
  if (d.root_watch) { // a give-up no longer matters: we are stopping
    caf::anon_send_exit(d.root_watch, caf::exit_reason::user_shutdown);
    d.root_watch = nullptr;
  }
  auto until = std::chrono::steady_clock::now() + timeout;
  auto left = [&until] {
    return std::chrono::duration_cast<caf::timespan>(
      until - std::chrono::steady_clock::now());
  };
  auto timed_out = [&](const std::vector<std::string>& names) {
    result.clean = false;
    result.hung = still_stopping(d.children(), names);
    d.log->error("shutdown timeout ({}) passed while '{}' was stopping",
                 config::format_duration(timeout), result.hung);
    return result;
  };
  auto root = ask<service_status>(
    d.sys, d.root, std::clamp<caf::timespan>(left(), 1ms, d.timeout),
    status_atom::value);
  if (root && root->state == service_state::starting) {
    // Interrupted while starting: the root's stop aborts the start and
    // stops what it started, level by level.
    d.log->info("drain: aborting the start");
    std::vector<std::string> names;
    for (auto& ci : d.children())
      if (ci.handle)
        names.push_back(ci.name);
    auto st =
      ask<service_state>(d.sys, d.root, std::max(left(), 1ns), stop_atom::value,
                         std::string{"shutdown"}, std::max(left(), 1ns));
    if (!st && st.error() == caf::sec::request_timeout)
      return timed_out(names);
    if (!st) {
      d.log->error("stopping the root supervisor: {}", describe(st.error()));
      result.clean = false;
    }
    return result;
  }
  // Every service with an instance, by dependency level, the highest first.
  // Asked with the drain's own deadline: at 100,000 services the root may
  // still be busy with an earlier status round, and a fixed short wait
  // here used to skip the levels (and the quiet waits) altogether.
  std::map<uint32_t, std::vector<std::string>, std::greater<>> levels;
  auto xs = d.root_children(std::max(left(), caf::timespan{1ms}));
  if (!xs) {
    if (xs.error() == caf::sec::request_timeout)
      return timed_out({});
    d.log->error("drain: listing the services failed: {}; stopping them as "
                 "a whole",
                 describe(xs.error()));
    result.clean = false;
  } else {
    for (auto& ci : *xs)
      if (ci.handle)
        levels[ci.level].push_back(ci.name);
  }
  // Nested supervisors: their services are stopped through them first,
  // level by level as the supervisor orders them, so that each one's status
  // is kept; then the supervisor with the others of its level.
  auto groups = xs ? d.nested(*xs)
                   : std::vector<std::pair<std::string, supervisor_actor>>{};
  for (auto& [level, names] : levels) {
    if (left() <= 0ns)
      return timed_out(names);
    for (auto& [group, sup] : groups) {
      if (std::find(names.begin(), names.end(), group) == names.end())
        continue;
      auto members = ask<std::vector<child_info>>(
        d.sys, sup, std::max(left(), 1ns), children_atom::value);
      std::vector<std::string> running;
      if (members)
        for (auto& m : *members) {
          if (m.handle) {
            running.push_back(m.name);
            continue;
          }
          // Between two instances (or stopped before): what the pool knows,
          // for the final table once the pool is gone.
          auto st = d.status_of(m, nullptr);
          if (st.state != service_state::initialized)
            st.state = service_state::stopped;
          std::lock_guard<std::mutex> guard{d.mtx};
          d.last_seen[m.name] = std::move(st);
        }
      if (running.empty())
        continue;
      d.log->info("drain: stopping {} (supervisor '{}')", some_names(running),
                  group);
      auto st = ask<std::vector<service_status>>(
        d.sys, sup, left(), stop_children_atom::value, running);
      if (!st && st.error() == caf::sec::request_timeout)
        return timed_out(running);
      if (st) {
        // Shown in the final table once their supervisor is gone: stopped.
        std::lock_guard<std::mutex> guard{d.mtx};
        for (auto& x : *st) {
          x.state = service_state::stopped;
          d.last_seen[x.name] = std::move(x);
        }
      }
    }
    d.log->info("drain: stopping {}", some_names(names));
    auto st = ask<std::vector<service_status>>(
      d.sys, d.root, left(), stop_children_atom::value, names);
    if (!st && st.error() == caf::sec::request_timeout)
      return timed_out(names);
    if (!st) {
      d.log->error("drain: stopping {} failed: {}", some_names(names),
                   describe(st.error()));
      result.clean = false;
    } else {
      // Each one's status as the drain stopped it, for the final table.
      std::lock_guard<std::mutex> guard{d.mtx};
      for (auto& x : *st)
        d.last_seen[x.name] = std::move(x);
    }
    if (auto n = d.wait_quiet(until, 2s); n > 0) {
      d.log->warn("drain: {} message(s) still in flight after stopping {}; "
                  "going on",
                  n, some_names(names));
      result.unfinished = std::max(result.unfinished, n);
    }
  }
  // Every child has stopped by now: the root only answers, so it gets a
  // moment even when the deadline has passed.
  auto last = std::max<caf::timespan>(left(), 1s);
  auto st = ask<service_state>(d.sys, d.root, last, stop_atom::value,
                               std::string{"shutdown"}, last);
  if (!st && st.error() == caf::sec::request_timeout) {
    // Services were still stopping at the deadline (when the levels were
    // skipped, or a service came back meanwhile): exit 3 naming one, as
    // for a level, not exit 1 with "system.4".
    std::vector<std::string> names;
    for (auto& ci : d.children())
      if (ci.handle)
        names.push_back(ci.name);
    return timed_out(names);
  }
  if (!st) {
    d.log->error("stopping the root supervisor: {}", describe(st.error()));
    result.clean = false;
  }
  return result;
}

std::vector<lost_messages> app_runtime::lost() {
  auto& d = *impl_;
  std::vector<lost_messages> out;
  std::lock_guard<std::mutex> guard{d.mtx};
  for (auto& [name, reg] : d.registries)
    for (auto& [labels, value] :
         reg->values("troupe_service_messages_lost_total"))
      if (value > 0)
        for (auto& [k, v] : labels)
          if (k == "reason")
            out.push_back({name, v, static_cast<uint64_t>(value)});
  return out;
}

} // namespace troupe::app
