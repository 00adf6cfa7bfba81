#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>

#include "troupe/actors/service.hpp"

namespace troupe::app {

/// Asks a counter for its count.
using count_atom = caf::atom_constant<caf::atom("count")>;

/// Publishes an increasing sequence number on a topic at a fixed period.
///
/// Settings: `period` (duration, default 250ms), `topic` (string, default
/// "demo.tick").
class ticker : public service {
public:
  const config::schema* settings_schema() const override;
  hook_result on_configure(const settings& cfg) override;
  hook_result on_start() override;
  /// Applies a new period or topic at once: the tick task is replaced.
  hook_result on_reconfigure(const settings& cfg) override;

private:
  std::chrono::nanoseconds period_{std::chrono::milliseconds{250}};
  task_id tick_{};
  std::string topic_ = "demo.tick";
  int64_t seq_ = 0;
};

/// Counts the ticks published under a topic prefix and answers `count`
/// requests. Health turns `degraded` when no tick arrived for `stale_after`.
///
/// Settings: `topic` (string, default "demo.tick"), `stale_after` (duration,
/// default 2s).
class counter : public service {
public:
  using interface =
    service_actor::extend<caf::replies_to<count_atom>::with<int64_t>>;

  auto handlers() {
    return std::make_tuple([this](count_atom) { return count_; });
  }

  const config::schema* settings_schema() const override;
  hook_result on_configure(const settings& cfg) override;
  hook_result on_start() override;

private:
  void watch(std::chrono::nanoseconds delay);

  std::string topic_ = "demo.tick";
  std::chrono::nanoseconds stale_after_{std::chrono::seconds{2}};
  std::chrono::steady_clock::time_point last_tick_;
  bool watching_ = false; // a watch() timer is pending
  bool stale_ = false;    // degraded for want of ticks
  int64_t count_ = 0;
  int64_t last_seq_ = -1;
};

/// Answers every bridge envelope on `request_topic` by publishing it as is
/// (payload and meta unchanged) under `reply_topic`: the service behind
/// apps/examples/echo.toml.
///
/// Settings: `request_topic` (string, default "echo.request"), `reply_topic`
/// (string, default "echo.reply").
class echo : public service {
public:
  const config::schema* settings_schema() const override;
  hook_result on_configure(const settings& cfg) override;
  hook_result on_start() override;

private:
  std::string request_topic_ = "echo.request";
  std::string reply_topic_ = "echo.reply";
};

} // namespace troupe::app
