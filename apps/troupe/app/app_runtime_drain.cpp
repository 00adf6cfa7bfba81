// app_runtime: the phased drain that shuts the app down.

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

#include "troupe/actors/metrics.hpp"
#include "troupe/app/app_runtime.hpp"
#include "troupe/app/app_runtime_impl.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::app {

using namespace std::chrono_literals;

activity app_runtime::impl::measure() {
  activity a;
  for (auto& st : statuses()) {
    if (st.state != service_state::running)
      continue;
    a.moved += st.messages_in + st.messages_out + st.messages_dropped;
    // Tracked work, and messages published and not yet taken everywhere
    // (a bridge's inbound messages among them) or waiting in a held back
    // service.
    a.in_flight += st.in_flight + st.publish_unacked + st.held_messages;
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
  // publishing), waits at most `cap`.
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  auto last = measure();
  auto last_move = start;
  int stable = 0;
  while (clock::now() < until) {
    std::this_thread::sleep_for(25ms);
    auto now = measure();
    auto t = clock::now();
    stable = (now == last && now.in_flight == 0) ? stable + 1 : 0;
    if (stable >= 4)
      return 0;
    if (now.moved != last.moved)
      last_move = t;
    if (t - last_move >= cap || (now.in_flight == 0 && t - start >= cap))
      return now.in_flight;
    last = now;
  }
  return last.in_flight;
}

shutdown_result app_runtime::shutdown(std::chrono::nanoseconds timeout) {
  auto& d = *impl_;
  shutdown_result result;
  auto until = std::chrono::steady_clock::now() + timeout;
  auto xs = d.children();
  for (auto i = xs.rbegin(); i != xs.rend(); ++i) {
    if (!i->handle)
      continue;
    auto left = until - std::chrono::steady_clock::now();
    if (left <= 0ns) {
      result = {false, i->name};
      break;
    }
    d.log->info("drain: stopping '{}'", i->name);
    auto before = d.status_of(*i);
    {
      std::lock_guard<std::mutex> guard{d.mtx};
      d.last_seen[i->name] = std::move(before);
    }
    auto st =
      ask<service_state>(d.sys, d.root, left, stop_child_atom::value, i->name);
    if (!st && st.error() == caf::sec::request_timeout) {
      result = {false, i->name};
      break;
    }
    if (!st) {
      d.log->error("drain: stopping '{}' failed: {}", i->name,
                   describe(st.error()));
      result.clean = false;
    }
    if (auto n = d.wait_quiet(until, 2s); n > 0) {
      d.log->warn("drain: {} message(s) still in flight after stopping '{}'; "
                  "going on",
                  n, i->name);
      result.unfinished = std::max(result.unfinished, n);
    }
  }
  if (!result.hung.empty()) {
    d.log->error("shutdown timeout ({}) passed while '{}' was stopping",
                 config::format_duration(timeout), result.hung);
    return result;
  }
  auto left = until - std::chrono::steady_clock::now();
  auto st = ask<service_state>(
    d.sys, d.root, std::max<caf::timespan>(left, 1ms), stop_atom::value,
    std::string{"shutdown"}, caf::timespan{std::max<caf::timespan>(left, 1ms)});
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
