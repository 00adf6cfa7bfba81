#include "troupe/actors/service.hpp"

#include <array>
#include <atomic>
#include <stdexcept>
#include <string>

#include "troupe/actors/detail/host_core.hpp"

namespace troupe {

service::~service() = default;

hook_result service::on_configure(const settings&) {
  return hook_result::success();
}

hook_result service::on_start() {
  return hook_result::success();
}

hook_result service::on_stop() {
  return hook_result::success();
}

hook_result service::on_reconfigure(const settings& cfg) {
  return on_configure(cfg);
}

hook_result service::on_error(const error_info& err) {
  return hook_result::fail(err.what);
}

detail::host_core& service::host() const {
  if (host_ == nullptr)
    throw std::logic_error("troupe::service used outside its host actor");
  return *host_;
}

const std::string& service::name() const {
  return host().name();
}

std::chrono::steady_clock::time_point service::now() const {
  return host().clock_now();
}

service_state service::state() const {
  return host().current();
}

const settings& service::config() const {
  return host().config();
}

spdlog::logger& service::log() const {
  return host().log();
}

std::shared_ptr<spdlog::logger> service::shared_log() const {
  return host().shared_log();
}

void service::record_error(std::string what, bool fatal) {
  host().record_error(std::move(what), fatal, "record_error");
}

void service::reset_errors() {
  host().reset_errors();
}

void service::set_health(std::string check, health_status status,
                         std::string message) {
  host().set_health(std::move(check), status, std::move(message));
}

void service::clear_health(const std::string& check) {
  host().clear_health(check);
}

task_id service::every(std::chrono::nanoseconds interval,
                       std::function<void()> fn) {
  return host().add_task(interval, std::move(fn), true);
}

task_id service::every_tracked(std::chrono::nanoseconds interval,
                               std::function<void()> fn) {
  return host().add_task(interval, std::move(fn), true, true);
}

task_id service::after(std::chrono::nanoseconds delay,
                       std::function<void()> fn) {
  return host().add_task(delay, std::move(fn), false);
}

void service::cancel(task_id id) {
  host().cancel(id);
}

work_token service::track() {
  return host().track();
}

void service::publish_message(std::string topic, caf::message msg) {
  host().publish(std::move(topic), std::move(msg));
}

void service::count_lost(const std::string& reason, uint64_t n) {
  host().count_lost(reason, n);
}

void service::set_publish_window(uint64_t n) {
  host().set_publish_window(n);
}

void service::publish_batch(bus_batch batch) {
  host().publish_batch(std::move(batch));
}

void service::publish_batch(bus_batch batch, std::function<void()> on_taken) {
  host().publish_batch(std::move(batch), std::move(on_taken));
}

delivery_hold service::hold_delivery() {
  return host().hold_delivery();
}

void service::count_out(uint64_t n) {
  host().count_out(n);
}

caf::scheduled_actor* service::self() const {
  return host().self();
}

void service::add_subscription(std::string prefix, subscription_handler fn,
                               bool replies) {
  host().add_subscription(std::move(prefix), std::move(fn), replies);
}

std::atomic<service::untyped_unroll>* service::untyped_unrolls() {
  static std::array<std::atomic<untyped_unroll>, max_untyped_unrolls> slots{};
  return slots.data();
}

void service::add_untyped_unroll(untyped_unroll fn) {
  auto* slots = untyped_unrolls();
  for (size_t i = 0; i < max_untyped_unrolls; ++i) {
    untyped_unroll expected = nullptr;
    if (slots[i].compare_exchange_strong(expected, fn) || expected == fn)
      return;
  }
  throw std::logic_error("service::enable_untyped_unroll: more than " +
                         std::to_string(max_untyped_unrolls) + " batch types");
}

service::subscription_handler service::unrolled(subscription_handler fn) {
  return [this, fn = std::move(fn)](const std::string& topic,
                                    const caf::message& msg) mutable {
    if (msg.size() == 1)
      for (size_t i = 0; i < max_untyped_unrolls; ++i) {
        auto unroll = untyped_unrolls()[i].load(std::memory_order_acquire);
        if (unroll == nullptr)
          break;
        if (unroll(*this, topic, msg, fn))
          return true;
      }
    return fn(topic, msg);
  };
}

void service::subscribe_message(std::string prefix, subscription_handler fn,
                                batches how) {
  if (how == batches::whole) {
    add_subscription(std::move(prefix), std::move(fn));
    return;
  }
  add_subscription(std::move(prefix), unrolled(std::move(fn)));
}

void service::subscribe_replies(std::string prefix, subscription_handler fn) {
  add_subscription(std::move(prefix), unrolled(std::move(fn)), true);
}

void service::count_rejected(uint64_t n) {
  host().count_dropped(detail::host_core::lost::unhandled,
                       "batch item of unexpected type", n);
}

uint64_t service::run_id() const {
  return host().run_generation();
}

void service::count_unrolled(uint64_t taken, uint64_t total, bool completed) {
  auto& h = host();
  // The host counts a handled batch as one message in and a throwing one as
  // none; the item that threw is not counted in either.
  if (taken > 1)
    h.count_in(taken - 1);
  if (total > taken)
    h.count_dropped(detail::host_core::lost::run_ended,
                    completed ? "rest of a batch after its run ended"
                              : "rest of a batch after its handler threw",
                    total - taken);
}

} // namespace troupe
