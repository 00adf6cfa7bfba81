#include "troupe/app/demo_work.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>

#include <caf/message.hpp>
#include <nlohmann/json.hpp>

#include "troupe/bridge/envelope.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::app {

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Jobs and results arrive as envelopes (through a bridge) or as JSON values
// (published in the same process).
std::optional<json> as_json(const caf::message& msg) {
  if (msg.size() != 1)
    return std::nullopt;
  if (msg.match_element<json>(0))
    return msg.get_as<json>(0);
  if (msg.match_element<bridge::envelope>(0)) {
    auto j =
      json::parse(msg.get_as<bridge::envelope>(0).payload, nullptr, false);
    if (!j.is_discarded())
      return j;
  }
  return std::nullopt;
}

int64_t int_field(const json& j, const char* key) {
  auto i = j.find(key);
  return i != j.end() && i->is_number_integer() ? i->get<int64_t>() : -1;
}

} // namespace

// -- generator ----------------------------------------------------------------

config::schema generator::type_schema() {
  config::schema s{"Hands out jobs round-robin to N workers at a fixed rate"};
  s.integer("rate", "Jobs per second")
    .fallback(int64_t{1000})
    .at_least(1)
    .at_most(1e7);
  s.integer("workers", "Number of workers (topics <topic>0 ..)")
    .fallback(int64_t{4})
    .at_least(1)
    .at_most(1000);
  s.string("topic", "Topic prefix of the jobs; the worker index is appended")
    .fallback("jobs.");
  s.string("produced_topic", "Where the count of produced jobs is reported")
    .fallback("demo.produced");
  s.string("results_topic",
           "Where results come back (e.g. \"ctl.results.\"): keep each job "
           "until its result arrives and hand it out again when a worker "
           "is lost (at-least-once); empty: fire and forget")
    .fallback("");
  s.duration("redispatch_after",
             "With results_topic: also hand out again a job whose result is "
             "this late (0s: only when a worker is lost)")
    .fallback(config::duration{0s})
    .at_least(0);
  s.integer("max_outstanding",
            "With results_topic: most jobs without a result; beyond, the "
            "generator waits")
    .fallback(int64_t{100000})
    .at_least(1);
  return s;
}

const config::schema* generator::settings_schema() const {
  static const config::schema s = type_schema();
  return &s;
}

hook_result generator::on_configure(const settings& cfg) {
  rate_ = *cfg.get<int64_t>("rate");
  workers_ = *cfg.get<int64_t>("workers");
  topic_ = *cfg.get<std::string>("topic");
  produced_topic_ = *cfg.get<std::string>("produced_topic");
  results_topic_ = *cfg.get<std::string>("results_topic");
  redispatch_after_ = *cfg.get<config::duration>("redispatch_after");
  max_outstanding_ = *cfg.get<int64_t>("max_outstanding");
  return hook_result::success();
}

hook_result generator::on_reconfigure(const settings& cfg) {
  auto old_rate = rate_;
  if (auto r = on_configure(cfg); !r)
    return r;
  if (rate_ != old_rate) {
    // The new rate applies from now: as if it had been in force since the
    // start, for the jobs produced so far.
    anchor(produced_, now());
    log().info("rate {} -> {} jobs/s", old_rate, rate_);
  }
  return hook_result::success();
}

hook_result generator::on_start() {
  started_ = now();
  produced_ = 0;
  outstanding_.clear();
  unanswered_.done();
  every(10ms, [this] { produce(); });
  every(1s, [this] { report(); });
  if (!results_topic_.empty()) {
    // Replies: a stop waits (up to its deadline) for the jobs still out,
    // and their results still arrive meanwhile.
    subscribe_replies(results_topic_,
                      [this](const std::string&, const caf::message& m) {
                        if (auto r = as_json(m))
                          outstanding_.erase(int_field(*r, "id"));
                        if (outstanding_.empty())
                          unanswered_.done();
                        return true;
                      });
    // Only the local bridge's own events (a JSON value, not an envelope
    // relayed from another process). A worker process that stops on
    // purpose (troupe.peer.gone) may leave jobs unanswered too: the same.
    auto on_peer = [this](const std::string& topic, const caf::message& m) {
      if (m.size() != 1 || !m.match_element<json>(0))
        return false;
      auto& e = m.get_as<json>(0);
      if (topic == "troupe.peer.lost")
        log().warn("worker process '{}' lost on '{}': handing out its jobs "
                   "again",
                   e.value("src", ""), e.value("link", ""));
      else
        log().info("worker process '{}' stopped (said goodbye on '{}'): "
                   "handing out its jobs again",
                   e.value("src", ""), e.value("link", ""));
      redispatch(true);
      return true;
    };
    subscribe_replies("troupe.peer.lost", on_peer);
    subscribe_replies("troupe.peer.gone", on_peer);
    // Also while a stop waits for the jobs still out: a job lost in a
    // worker that crashed just before the stop goes out again then too.
    if (redispatch_after_ > 0s)
      every_tracked(
        std::max<std::chrono::nanoseconds>(redispatch_after_ / 4, 10ms),
        [this] { redispatch(false); });
  }
  log().info("producing {} jobs/s for {} worker(s) on '{}N'", rate_, workers_,
             topic_);
  return hook_result::success();
}

void generator::produce() {
  // Catch up to where the rate says we should be: smooth at any tick jitter.
  auto t = now();
  auto elapsed = std::chrono::duration<double>(t - started_).count();
  auto due = static_cast<int64_t>(elapsed * static_cast<double>(rate_));
  // At most 50 ms of jobs per tick. Further behind means the workers hold
  // the generator back (publish credit): go on at their pace instead of
  // catching up in one burst that would only wait in queues.
  auto most = produced_ + std::max<int64_t>(1, rate_ / 20);
  if (due > most) {
    due = most;
    anchor(due, t);
  }
  for (; produced_ < due; ++produced_) {
    if (!results_topic_.empty()) {
      // Too many unanswered: wait (the catch-up bound above then goes on
      // at the pace the results come back).
      if (static_cast<int64_t>(outstanding_.size()) >= max_outstanding_)
        break;
      outstanding_[produced_] = t;
      if (!unanswered_)
        unanswered_ = track();
    }
    dispatch(produced_);
  }
}

void generator::anchor(int64_t jobs, std::chrono::steady_clock::time_point t) {
  started_ =
    t - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(static_cast<double>(jobs) /
                                        static_cast<double>(rate_)));
}

void generator::dispatch(int64_t id) {
  publish(topic_ + std::to_string(id % workers_),
          json{{"id", id}, {"work", id % 1000}});
}

void generator::redispatch(bool all) {
  // Which worker held which job is not known (PUSH deals them out, maybe
  // through a proxy): on a lost worker every outstanding job goes out
  // again; the aggregator drops the duplicates by id.
  auto t = now();
  int64_t n = 0;
  for (auto& [id, sent] : outstanding_)
    if (all || t - sent >= redispatch_after_) {
      dispatch(id);
      sent = t;
      ++n;
    }
  redispatched_ += n;
  if (n > 0)
    log().info("handed out {} job(s) again ({} in all)", n, redispatched_);
}

void generator::report() {
  publish(produced_topic_,
          json{{"produced", produced_},
               {"redispatched", redispatched_},
               {"outstanding", static_cast<int64_t>(outstanding_.size())}});
}

hook_result generator::on_stop() {
  report();
  log().info("stopped after producing {} jobs", produced_);
  if (!outstanding_.empty())
    log().warn("{} job(s) still unanswered at the stop deadline",
               outstanding_.size());
  return hook_result::success();
}

// -- worker -------------------------------------------------------------------

config::schema worker::type_schema() {
  config::schema s{"Does jobs from its topic and publishes the results; "
                   "optionally crashes now and then (fault injector)"};
  s.integer("index", "This worker's number; it takes jobs from <topic><index>")
    .fallback(int64_t{0})
    .at_least(0);
  s.string("topic", "Topic prefix of the jobs").fallback("jobs.");
  s.string("results_topic", "Topic prefix of the results").fallback("results.");
  s.integer("fail_every", "Throw on every Nth job to show supervision "
                          "(0: never)")
    .fallback(int64_t{0})
    .at_least(0);
  return s;
}

const config::schema* worker::settings_schema() const {
  static const config::schema s = type_schema();
  return &s;
}

hook_result worker::on_configure(const settings& cfg) {
  index_ = *cfg.get<int64_t>("index");
  topic_ = *cfg.get<std::string>("topic");
  results_topic_ = *cfg.get<std::string>("results_topic");
  fail_every_ = *cfg.get<int64_t>("fail_every");
  return hook_result::success();
}

hook_result worker::on_start() {
  auto out = results_topic_ + std::to_string(index_);
  subscribe_message(
    topic_ + std::to_string(index_),
    [this, out](const std::string&, const caf::message& msg) {
      auto job = as_json(msg);
      if (!job)
        return false; // counted as dropped by the host
      auto id = int_field(*job, "id");
      auto work = int_field(*job, "work");
      ++done_;
      if (fail_every_ > 0 && done_ % fail_every_ == 0) {
        // Report the job before dying so the books still balance.
        publish(out, json{{"id", id}, {"worker", index_}, {"failed", true}});
        throw std::runtime_error("injected fault after " +
                                 std::to_string(done_) + " jobs");
      }
      int64_t value = 0;
      for (int64_t i = 0; i < work; ++i)
        value += i * i % 7;
      publish(out, json{{"id", id}, {"worker", index_}, {"value", value}});
      return true;
    });
  return hook_result::success();
}

// -- aggregator ---------------------------------------------------------------

config::schema aggregator::type_schema() {
  config::schema s{"Counts results, shows throughput and accounts for every "
                   "job"};
  s.string("topic", "Topic prefix of the results").fallback("results.");
  s.string("produced_topic", "Where the generator reports its count")
    .fallback("demo.produced");
  s.string("stats_topic", "Where the figures are published as JSON")
    .fallback("demo.stats");
  s.duration("report_interval", "Time between throughput reports")
    .fallback(config::duration{1s})
    .at_least(0.01);
  return s;
}

const config::schema* aggregator::settings_schema() const {
  static const config::schema s = type_schema();
  return &s;
}

hook_result aggregator::on_configure(const settings& cfg) {
  topic_ = *cfg.get<std::string>("topic");
  produced_topic_ = *cfg.get<std::string>("produced_topic");
  stats_topic_ = *cfg.get<std::string>("stats_topic");
  interval_ = *cfg.get<config::duration>("report_interval");
  return hook_result::success();
}

hook_result aggregator::on_start() {
  last_report_ = now();
  subscribe_message(topic_, [this](const std::string&, const caf::message& m) {
    auto r = as_json(m);
    if (!r) {
      ++malformed_;
      return false;
    }
    if (!first_result(int_field(*r, "id"))) {
      ++duplicates_; // a job handed out again whose first result came
      return true;
    }
    if (r->value("failed", false))
      ++failed_;
    else
      ++results_;
    ++per_worker_[int_field(*r, "worker")];
    return true;
  });
  subscribe_message(
    produced_topic_, [this](const std::string&, const caf::message& m) {
      auto r = as_json(m);
      if (!r)
        return false;
      produced_ = std::max(produced_, int_field(*r, "produced"));
      redispatched_ = std::max(redispatched_, int_field(*r, "redispatched"));
      return true;
    });
  every(interval_, [this] { report(); });
  return hook_result::success();
}

bool aggregator::first_result(int64_t id) {
  // Job ids count up from 0; results without one are never duplicates.
  constexpr size_t dedup_window = size_t{1} << 20;
  if (id < 0)
    return true;
  if (id < done_below_ || !seen_.insert(id).second)
    return false;
  while (!seen_.empty() && *seen_.begin() == done_below_) {
    seen_.erase(seen_.begin());
    ++done_below_;
  }
  // Jobs that never come back would keep every later id here: past the
  // window the oldest holes are given up (a result for them that still
  // came would count as a duplicate).
  while (seen_.size() > dedup_window) {
    done_below_ = *seen_.begin() + 1;
    seen_.erase(seen_.begin());
  }
  return true;
}

void aggregator::report() {
  auto t = now();
  auto secs = std::chrono::duration<double>(t - last_report_).count();
  auto total = results_ + failed_;
  auto rate = secs > 0 ? static_cast<double>(total - last_total_) / secs : 0.0;
  last_report_ = t;
  last_total_ = total;
  json workers = json::object();
  for (auto& [w, n] : per_worker_)
    workers[std::to_string(w)] = n;
  publish(stats_topic_, json{{"throughput", rate},
                             {"results", results_},
                             {"failed", failed_},
                             {"produced", produced_},
                             {"duplicates", duplicates_},
                             {"per_worker", workers}});
  log().info("throughput {:.0f} results/s; {} done, {} failed by injected "
             "faults, {} produced",
             rate, results_, failed_, produced_);
}

hook_result aggregator::on_stop() {
  auto missing = produced_ - results_ - failed_;
  log().info("accounting: produced {} = results {} + failed {} + missing {}",
             produced_, results_, failed_, missing);
  if (duplicates_ > 0 || redispatched_ > 0)
    log().info("at-least-once: {} job(s) handed out again, {} duplicate "
               "result(s) suppressed by id",
               redispatched_, duplicates_);
  if (missing != 0)
    log().warn("{} job(s) unaccounted for (lost with a crashed worker or "
               "still in flight at the stop deadline)",
               missing);
  return hook_result::success();
}

} // namespace troupe::app
