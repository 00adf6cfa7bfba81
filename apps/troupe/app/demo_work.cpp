#include "troupe/app/demo_work.hpp"

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
  return hook_result::success();
}

hook_result generator::on_start() {
  started_ = now();
  produced_ = 0;
  every(10ms, [this] { produce(); });
  every(1s, [this] { report(); });
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
    started_ =
      t - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(static_cast<double>(due) /
                                          static_cast<double>(rate_)));
  }
  for (; produced_ < due; ++produced_) {
    auto k = produced_ % workers_;
    publish(topic_ + std::to_string(k),
            json{{"id", produced_}, {"work", produced_ % 1000}});
  }
}

void generator::report() {
  publish(produced_topic_, json{{"produced", produced_}});
}

hook_result generator::on_stop() {
  report();
  log().info("stopped after producing {} jobs", produced_);
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
      return true;
    });
  every(interval_, [this] { report(); });
  return hook_result::success();
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
                             {"per_worker", workers}});
  log().info("throughput {:.0f} results/s; {} done, {} failed by injected "
             "faults, {} produced",
             rate, results_, failed_, produced_);
}

hook_result aggregator::on_stop() {
  auto missing = produced_ - results_ - failed_;
  log().info("accounting: produced {} = results {} + failed {} + missing {}",
             produced_, results_, failed_, missing);
  if (missing != 0)
    log().warn("{} job(s) unaccounted for (lost with a crashed worker or "
               "still in flight at the stop deadline)",
               missing);
  return hook_result::success();
}

} // namespace troupe::app
