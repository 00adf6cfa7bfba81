// app_runtime: the phased drain that shuts the app down.

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

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
    a.in_flight += st.in_flight;
  }
  return a;
}

void app_runtime::impl::wait_quiet(std::chrono::steady_clock::time_point until,
                                   std::chrono::nanoseconds cap) {
  auto give_up = std::min(until, std::chrono::steady_clock::now() + cap);
  auto last = measure();
  int stable = 0;
  while (std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(25ms);
    auto now = measure();
    stable = (now == last && now.in_flight == 0) ? stable + 1 : 0;
    if (stable >= 4)
      return;
    last = now;
  }
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
    d.wait_quiet(until, 2s);
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
} // namespace troupe::app
