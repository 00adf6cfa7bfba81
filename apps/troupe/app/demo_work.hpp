#pragma once

// The demo app's services (apps/demo/demo.toml): a generator hands out jobs
// round-robin to N workers over the bridge, the workers publish results, an
// aggregator shows throughput and accounts for every job.

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "troupe/actors/service.hpp"
#include "troupe/config/schema.hpp"

namespace troupe::app {

/// Publishes jobs `{"id": N, "work": W}` on `<topic>K` for K in
/// 0..workers-1, round-robin, at `rate` per second. Reports how many it
/// produced on `produced_topic` every second and once more on stop.
///
/// With `results_topic` set, delivery is at-least-once: the generator keeps
/// each job until a result with its id arrives there, and hands every
/// outstanding job out again when a bridge reports a peer lost
/// (`troupe.peer.lost`) or stopped on purpose (`troupe.peer.gone`: it may
/// have left jobs unanswered too) or, with `redispatch_after`, when its
/// result is
/// that late. At most `max_outstanding` jobs are unanswered: beyond, it
/// waits. Duplicates are for the aggregator to suppress (by id).
class generator : public service {
public:
  /// The settings: rate, workers, topic, produced_topic.
  static config::schema type_schema();
  const config::schema* settings_schema() const override;
  hook_result on_configure(const settings& cfg) override;
  /// A new rate applies from the moment of the change.
  hook_result on_reconfigure(const settings& cfg) override;
  hook_result on_start() override;
  hook_result on_stop() override;

private:
  void produce();
  // Moves the schedule's start so that `jobs` are due at `t` at this rate.
  void anchor(int64_t jobs, std::chrono::steady_clock::time_point t);
  void dispatch(int64_t id);
  void redispatch(bool all);
  void report();

  int64_t rate_ = 1000;
  int64_t workers_ = 4;
  std::string topic_;
  std::string produced_topic_;
  int64_t produced_ = 0;
  std::chrono::steady_clock::time_point started_;
  // At-least-once (with `results_topic`): every job until its result came
  // back, by id, with when it last went out.
  std::string results_topic_;
  std::chrono::nanoseconds redispatch_after_{0};
  int64_t max_outstanding_ = 100000;
  std::map<int64_t, std::chrono::steady_clock::time_point> outstanding_;
  int64_t redispatched_ = 0;
  // Held while a job is unanswered: a stop waits for the results.
  work_token unanswered_;
};

/// Takes jobs from `<topic><index>`, publishes `{"id", "worker", "value"}`
/// on `<results_topic><index>`. The fault injector: with `fail_every = N`
/// the worker throws on every Nth job (after reporting it as failed), so
/// its supervisor restarts it.
class worker : public service {
public:
  /// The settings: index, topic, results_topic, fail_every.
  static config::schema type_schema();
  const config::schema* settings_schema() const override;
  hook_result on_configure(const settings& cfg) override;
  hook_result on_start() override;

private:
  int64_t index_ = 0;
  std::string topic_;
  std::string results_topic_;
  int64_t fail_every_ = 0;
  int64_t done_ = 0;
};

/// Counts results under `topic`, logs throughput every `report_interval`,
/// publishes the figures as JSON on `stats_topic`, and on stop accounts for
/// every job: produced = results + failed + missing.
class aggregator : public service {
public:
  /// The settings: topic, produced_topic, stats_topic, report_interval.
  static config::schema type_schema();
  const config::schema* settings_schema() const override;
  hook_result on_configure(const settings& cfg) override;
  hook_result on_start() override;
  hook_result on_stop() override;

private:
  void report();

  std::string topic_;
  std::string produced_topic_;
  std::string stats_topic_;
  std::chrono::nanoseconds interval_{std::chrono::seconds{1}};
  int64_t produced_ = 0;
  int64_t results_ = 0;
  int64_t failed_ = 0;
  int64_t malformed_ = 0;
  int64_t last_total_ = 0;
  std::map<int64_t, int64_t> per_worker_;
  // Duplicate suppression by job id: every id below `done_below_` was
  // seen, and the ones above it in `seen_` (at most `dedup_window` ids).
  bool first_result(int64_t id);
  int64_t done_below_ = 0;
  std::set<int64_t> seen_;
  int64_t duplicates_ = 0;
  int64_t redispatched_ = 0;
  std::chrono::steady_clock::time_point last_report_;
};

} // namespace troupe::app
