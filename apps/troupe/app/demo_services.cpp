#include "troupe/app/demo_services.hpp"

#include "troupe/config/duration.hpp"

namespace troupe::app {

hook_result ticker::on_configure(const settings& cfg) {
  period_ = cfg.get_or<config::duration>("period", period_);
  topic_ = cfg.get_or<std::string>("topic", topic_);
  if (period_ <= std::chrono::nanoseconds::zero())
    return hook_result::refuse("period must be positive");
  return hook_result::success();
}

hook_result ticker::on_start() {
  every(period_, [this] { publish(topic_, seq_++); });
  log().info("publishing on '{}' every {}", topic_,
             config::format_duration(period_));
  return hook_result::success();
}

hook_result counter::on_configure(const settings& cfg) {
  topic_ = cfg.get_or<std::string>("topic", topic_);
  stale_after_ = cfg.get_or<config::duration>("stale_after", stale_after_);
  return hook_result::success();
}

hook_result counter::on_start() {
  last_tick_ = now();
  subscribe<int64_t>(topic_, [this](const std::string&, int64_t seq) {
    ++count_;
    if (last_seq_ >= 0 && seq != last_seq_ + 1)
      log().warn("gap in ticks: {} after {}", seq, last_seq_);
    last_seq_ = seq;
    last_tick_ = now();
  });
  // A periodic health check: degraded while ticks are overdue.
  every(stale_after_ / 2, [this] {
    auto quiet = now() - last_tick_;
    if (quiet > stale_after_)
      set_health("ticks", health_status::degraded,
                 "no tick for "
                   + config::format_duration(
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                       quiet)));
    else
      clear_health("ticks");
  });
  return hook_result::success();
}

} // namespace troupe::app
