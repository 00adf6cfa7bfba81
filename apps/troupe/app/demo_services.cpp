#include "troupe/app/demo_services.hpp"

#include "troupe/app/demo_service_schemas.hpp"
#include "troupe/bridge/envelope.hpp"
#include "troupe/config/duration.hpp"
#include "troupe/config/schema.hpp"

namespace troupe::app {

const config::schema* ticker::settings_schema() const {
  static const config::schema s = ticker_schema();
  return &s;
}

const config::schema* counter::settings_schema() const {
  static const config::schema s = counter_schema();
  return &s;
}

const config::schema* echo::settings_schema() const {
  static const config::schema s = echo_schema();
  return &s;
}

hook_result ticker::on_configure(const settings& cfg) {
  // The schema checked both and filled in defaults.
  period_ = *cfg.get<config::duration>("period");
  topic_ = *cfg.get<std::string>("topic");
  return hook_result::success();
}

hook_result ticker::on_start() {
  tick_ = every(period_, [this] { publish(topic_, seq_++); });
  log().info("publishing on '{}' every {}", topic_,
             config::format_duration(period_));
  return hook_result::success();
}

hook_result ticker::on_reconfigure(const settings& cfg) {
  auto old_period = period_;
  if (auto r = on_configure(cfg); !r)
    return r;
  if (period_ != old_period) {
    cancel(tick_);
    tick_ = every(period_, [this] { publish(topic_, seq_++); });
    log().info("now publishing every {}", config::format_duration(period_));
  }
  return hook_result::success();
}

hook_result counter::on_configure(const settings& cfg) {
  topic_ = *cfg.get<std::string>("topic");
  stale_after_ = *cfg.get<config::duration>("stale_after");
  return hook_result::success();
}

hook_result counter::on_start() {
  last_tick_ = now();
  stale_ = false;
  watching_ = false;
  subscribe<int64_t>(topic_, [this](const std::string&, int64_t seq) {
    ++count_;
    if (last_seq_ >= 0 && seq != last_seq_ + 1)
      log().warn("gap in ticks: {} after {}", seq, last_seq_);
    last_seq_ = seq;
    last_tick_ = now();
    if (stale_) {
      stale_ = false;
      clear_health("ticks");
    }
    if (!watching_)
      watch(stale_after_);
  });
  watch(stale_after_);
  return hook_result::success();
}

// A watchdog, not a poll: one timer that comes due when ticks would be
// overdue and moves on while they arrive. Once degraded it stops until the
// next tick, so an idle counter costs no timer at all (100,000 counters
// polling every stale_after / 2 cost 100,000 timer messages a second).
void counter::watch(std::chrono::nanoseconds delay) {
  watching_ = true;
  after(delay, [this] {
    watching_ = false;
    auto quiet =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now() - last_tick_);
    if (quiet < stale_after_) {
      watch(stale_after_ - quiet);
      return;
    }
    stale_ = true;
    set_health("ticks", health_status::degraded,
               "no tick for more than " +
                 config::format_duration(stale_after_));
  });
}

hook_result echo::on_configure(const settings& cfg) {
  request_topic_ = *cfg.get<std::string>("request_topic");
  reply_topic_ = *cfg.get<std::string>("reply_topic");
  return hook_result::success();
}

hook_result echo::on_start() {
  subscribe<bridge::envelope>(
    request_topic_,
    [this](const std::string& topic, const bridge::envelope& e) {
      if (topic != request_topic_)
        return; // subscriptions match prefixes; only the exact topic counts
      auto reply = e;
      reply.topic = reply_topic_;
      // `via` names the bridge that received the request; a bridge never
      // sends out what it received itself, so the reply must not carry it.
      reply.via.clear();
      publish(reply_topic_, std::move(reply));
    });
  log().info("echoing '{}' on '{}'", request_topic_, reply_topic_);
  return hook_result::success();
}

} // namespace troupe::app
