// host_core: errors, health checks, metadata and dropped messages, and the
// status and health reports built from them.

#include <caf/scheduled_actor.hpp>
#include <spdlog/spdlog.h>

#include "troupe/actors/detail/host_core.hpp"
#include "troupe/actors/detail/host_core_private.hpp"
#include "troupe/actors/metrics.hpp"

namespace troupe::detail {

service_status host_core::status() const {
  service_status st;
  life_.fill(st, clock_now());
  st.type = opts_.type;
  st.health = health().overall;
  st.messages_in = messages_in_;
  st.messages_out = messages_out_;
  st.messages_dropped = messages_dropped_;
  st.in_flight = in_flight();
  st.publish_unacked = unacked_;
  st.held_back = held_back_;
  st.held_back_times = held_back_times_;
  st.held_messages = held_messages_;
  // Not mailbox().size(): its fetch_more() changes the queue that CAF is
  // working through while this handler runs (ASan caught it). The queue's
  // own count is what CAF last moved out of its inbox and has not handled.
  st.mailbox_size = self_->mailbox().queue().total_task_size();
  st.stopped_hard = stopped_hard_;
  st.metadata = metadata_;
  return st;
}

health_report host_core::health() const {
  health_report rep;
  for (auto& [name, check] : checks_)
    rep.checks.push_back(check);
  if (life_.state() == service_state::failed)
    rep.checks.push_back(health_check{"state", health_status::fatal,
                                      "failed: " + life_.last_error(),
                                      life_.last_change_at()});
  rep.overall = rollup(rep.checks);
  return rep;
}

// -- domain dispatch accounting -----------------------------------------------

void host_core::count_dropped(lost reason, const char* why, uint64_t n) {
  messages_dropped_ += n;
  // In the registry, which outlives restarts: losses of every instance add
  // up. Registered at the first loss: an idle service pays nothing.
  static constexpr const char* names[lost_reasons] = {
    "not_running",  "unhandled",     "no_bus",           "run_ended",
    "held_at_stop", "no_subscriber", "subscriber_failed"};
  auto& c = lost_[static_cast<size_t>(reason)];
  if (c == nullptr)
    c = &lost_counter(names[static_cast<size_t>(reason)]);
  c->inc(static_cast<double>(n));
  drops_since_log_ += n;
  // At most one line per second per service, with the count since the last.
  auto t = std::chrono::steady_clock::now();
  if (t - last_drop_log_ >= std::chrono::seconds{1}) {
    log_at(spdlog::level::warn)
      .warn("dropped {} message(s): {} (state {})", drops_since_log_, why,
            to_string(life_.state()));
    last_drop_log_ = t;
    drops_since_log_ = 0;
  }
}

void host_core::handler_failed(const char* where, const std::string& what) {
  record_error(std::string{where} + " threw: " + what, true, where);
}

// -- toolkit ------------------------------------------------------------------

void host_core::record_error(std::string what, bool fatal, const char* source) {
  life_.note_error(what);
  if (fatal) {
    fail(what, source);
    return;
  }
  log_at(spdlog::level::err).error("{}", what);
  set_health(errors_check, health_status::degraded, std::move(what));
}

void host_core::reset_errors() {
  life_.reset_errors();
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

} // namespace troupe::detail
