// lifecycle_core: what a service host and a supervisor share of their
// lifecycle (see lifecycle_core.hpp).

#include "troupe/actors/detail/lifecycle_core.hpp"

#include <algorithm>

#include <caf/actor_cast.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/errc.hpp"
#include "troupe/actors/logging.hpp"

namespace troupe::detail {

void announce_change(caf::scheduled_actor* self, spdlog::logger& log,
                     std::vector<history_entry>& history, size_t limit,
                     std::vector<caf::actor_addr>& listeners,
                     const state_change& change) {
  // A vector, not a deque: an idle service holds four changes, and a
  // deque's first 512-byte block cost every service ~300 bytes more. The
  // erase is rare (once per change past `limit`) and short.
  history.push_back(
    history_entry{change.from, change.to, change.at, change.reason});
  if (history.size() > limit)
    history.erase(history.begin(),
                  history.begin() +
                    static_cast<std::ptrdiff_t>(history.size() - limit));
  auto level = change.to == service_state::failed ? spdlog::level::err
                                                  : spdlog::level::info;
  if (log.should_log(level)) {
    // The fields' strings only when the line is written: a service at
    // `warn` changes state without them (issue 25: lifecycles per second).
    log_fields fields{{"event", "state_change"},
                      {"from", to_string(change.from)},
                      {"to", to_string(change.to)},
                      {"reason", change.reason}};
    log.log(level, "{} -> {} ({})", to_string(change.from),
            to_string(change.to), change.reason);
  }
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

lifecycle_core::lifecycle_core(const char* kind, const std::string& name,
                               size_t history_limit, uint64_t restarts)
  // At least one entry: last_change_at reads the newest.
  : kind_(kind), name_(&name),
    history_limit_(std::max<size_t>(history_limit, 1)), restarts_(restarts) {
  history_.push_back(history_entry{service_state::initialized,
                                   service_state::initialized,
                                   caf::make_timestamp(), "spawned"});
}

transition lifecycle_core::allowed(lifecycle_action action,
                                   bool requires_configuration) const {
  return check_transition(state_, action, requires_configuration, configured_);
}

caf::error lifecycle_core::check(lifecycle_action action,
                                 bool requires_configuration) const {
  auto t = allowed(action, requires_configuration);
  if (t.allowed)
    return {};
  return make_error(t.refusal, "cannot " + to_string(action) + " " + kind_ +
                                 " '" + *name_ + "' while " +
                                 to_string(state_));
}

void lifecycle_core::enter(caf::scheduled_actor* self, spdlog::logger& log,
                           service_state next, const std::string& reason) {
  auto prev = state_;
  state_ = next;
  auto at = caf::make_timestamp();
  if (next == service_state::starting) {
    start_from_ = prev;
  } else if (next == service_state::running &&
             prev == service_state::starting) {
    if (start_from_ == service_state::stopped ||
        start_from_ == service_state::failed)
      ++restarts_;
    started_at_ = at;
    running_since_ = self->clock().now();
  }
  announce_change(self, log, history_, history_limit_, listeners_,
                  state_change{*name_, prev, next, reason, at});
}

void lifecycle_core::add_listener(const caf::actor& listener) {
  if (listener)
    listeners_.push_back(listener.address());
}

void lifecycle_core::set_config(settings cfg) {
  configured_ = true;
  config_ = std::move(cfg);
}

void lifecycle_core::note_error(std::string what) {
  ++errors_;
  last_error_ = std::move(what);
}

void lifecycle_core::reset_errors() {
  errors_ = 0;
  last_error_.clear();
}

void lifecycle_core::fill(service_status& st,
                          std::chrono::steady_clock::time_point now) const {
  st.name = *name_;
  st.state = state_;
  st.started_at = started_at_;
  if (state_ == service_state::running || state_ == service_state::stopping)
    st.uptime = now - running_since_;
  st.errors = errors_;
  st.restarts = restarts_;
  st.last_error = last_error_;
  st.history.clear();
  st.history.reserve(history_.size());
  for (auto& x : history_)
    st.history.push_back(state_change{*name_, x.from, x.to, x.reason, x.at});
}

} // namespace troupe::detail
