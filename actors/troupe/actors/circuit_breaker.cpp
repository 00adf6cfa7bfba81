#include "troupe/actors/circuit_breaker.hpp"

#include <algorithm>

#include "troupe/config/enum_names.hpp"

namespace troupe {

std::string_view to_string(breaker_state x) noexcept {
  constexpr enum_names<breaker_state, 3> names{{{
    {breaker_state::closed, "closed"},
    {breaker_state::half_open, "half_open"},
    {breaker_state::open, "open"},
  }}};
  return names.name(x);
}

circuit_breaker::circuit_breaker(circuit_breaker_policy policy)
  : policy_(policy) {
  policy_.failure_threshold = std::max(policy_.failure_threshold, 1u);
  policy_.success_threshold = std::max(policy_.success_threshold, 1u);
  policy_.half_open_calls = std::max(policy_.half_open_calls, 1u);
}

bool circuit_breaker::allow_call(time_point now) {
  if (state_ == breaker_state::open && now - opened_at_ >= policy_.cool_down)
    enter(breaker_state::half_open, now);
  switch (state_) {
  case breaker_state::closed:
    return true;
  case breaker_state::half_open:
    if (trials_ < policy_.half_open_calls) {
      ++trials_;
      return true;
    }
    break;
  case breaker_state::open:
    break;
  }
  ++rejected_;
  if (on_reject)
    on_reject();
  return false;
}

void circuit_breaker::success(time_point now) {
  if (state_ != breaker_state::half_open)
    return; // closed: failures age out of the window by themselves
  if (trials_ > 0)
    --trials_;
  if (++successes_ >= policy_.success_threshold)
    enter(breaker_state::closed, now);
}

void circuit_breaker::failure(time_point now) {
  switch (state_) {
  case breaker_state::closed:
    failures_.push_back(now);
    while (!failures_.empty() && now - failures_.front() >= policy_.window)
      failures_.pop_front();
    if (failures_.size() >= policy_.failure_threshold)
      enter(breaker_state::open, now);
    break;
  case breaker_state::half_open:
    enter(breaker_state::open, now);
    break;
  case breaker_state::open:
    break; // a call that started before the breaker opened
  }
}

void circuit_breaker::enter(breaker_state next, time_point now) {
  state_ = next;
  failures_.clear();
  trials_ = 0;
  successes_ = 0;
  if (next == breaker_state::open)
    opened_at_ = now;
  if (on_change)
    on_change(next);
}

} // namespace troupe
