// host_core: construction, state listeners and the queries a handler makes
// of the actor. The rest of the class is implemented beside it:
// host_core_lifecycle.cpp (requests and state transitions),
// host_core_health.cpp (errors, health checks, metadata, status),
// host_core_tasks.cpp (tasks, timers, work tracking, the current run) and
// host_core_bus.cpp (subscriptions, deliveries, publishing).

#include "troupe/actors/detail/host_core.hpp"

#include <algorithm>

#include <caf/actor_cast.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "troupe/actors/detail/host_core_private.hpp"
#include "troupe/actors/logging.hpp"
#include "troupe/actors/metrics.hpp"

namespace troupe::detail {

namespace {

constexpr const char* lost_metric = "troupe_service_messages_lost_total";
constexpr const char* lost_help =
  "Messages lost by this service (all its instances), by reason";

} // namespace

host_core::host_core(caf::scheduled_actor* self, service& impl,
                     service_options opts)
  : self_(self), impl_(impl), opts_(std::move(opts)),
    level_(opts_.log_level.value_or(spdlog::default_logger()->level())),
    life_("service", opts_.name, opts_.history_limit, opts_.restarts) {
  if (!opts_.metrics)
    opts_.metrics = std::make_shared<metric_registry>();
  publish_window_ = opts_.publish_window;
  impl_.host_ = this;
  self_->set_error_handler([this](caf::scheduled_actor*, caf::error& err) {
    log_stray_error(self_, log(), err);
  });
}

host_core::~host_core() {
  // Tokens may outlive the actor; they must not call back into a dead host.
  if (in_flight_)
    in_flight_->on_idle = nullptr;
  impl_.host_ = nullptr;
}

spdlog::logger& host_core::log() const {
  if (!log_) {
    // As make_service_logger at construction would have: the default
    // logger's sinks, the level this service has now.
    log_ = make_service_logger(opts_.name);
    log_->set_level(level_);
  }
  return *log_;
}

const std::shared_ptr<spdlog::logger>& host_core::shared_log() const {
  log();
  return log_;
}

spdlog::logger& host_core::log_at(spdlog::level::level_enum level) const {
  if (log_ || level >= level_)
    return log();
  // No sinks and level off: takes nothing, from any thread.
  static spdlog::logger silent = [] {
    spdlog::logger l{"silent"};
    l.set_level(spdlog::level::off);
    return l;
  }();
  return silent;
}

void log_stray_error(caf::scheduled_actor* self, spdlog::logger& log,
                     const caf::error& err) {
  const auto& from = self->current_sender();
  log.warn("dropped an error that no handler takes, from {}: {}",
           from ? "actor #" + std::to_string(from->id()) : "no actor",
           self->system().render(err));
}

void host_core::add_listener(const caf::actor& listener) {
  life_.add_listener(listener);
}

std::chrono::steady_clock::time_point host_core::clock_now() const noexcept {
  return self_->clock().now();
}

void host_core::observe_mailbox_wait(int64_t sent_ns) {
  // Named after CAF 0.18's caf.actor.mailbox-time; registered at the first
  // sample.
  if (mailbox_wait_ == nullptr)
    mailbox_wait_ = &opts_.metrics->histogram(
      "troupe_service_mailbox_wait_seconds",
      "Time a bus delivery waited in the mailbox (one batch in 16 is timed)",
      {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10});
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
               .count();
  mailbox_wait_->observe(
    static_cast<double>(std::max<int64_t>(0, now - sent_ns)) * 1e-9);
}

counter& host_core::lost_counter(const std::string& reason) {
  return opts_.metrics->counter(lost_metric, lost_help, {{"reason", reason}});
}

void host_core::count_lost(const std::string& reason, uint64_t n) {
  lost_counter(reason).inc(static_cast<double>(n));
}

void host_core::observe_processing(std::chrono::steady_clock::duration d) {
  // Registered at the first sample: an idle service pays nothing for it.
  // Named after CAF 0.18's caf.actor.processing-time.
  if (processing_ == nullptr)
    processing_ = &opts_.metrics->histogram(
      "troupe_service_processing_seconds",
      "Time a handler, task or hook took (one dispatch in 16 is timed)",
      {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10});
  processing_->observe(std::chrono::duration<double>(d).count());
}

bool host_core::current_is_request() const {
  return self_->current_message_id().is_request();
}

} // namespace troupe::detail
