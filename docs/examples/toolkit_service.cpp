// The service toolkit in one example: a `lookup` service answers requests by
// asking a flaky `backend`, with retry and backoff, a circuit breaker, a
// periodic health check, a counter and a histogram. Built by the build; run
// by ctest; docs/examples/toolkit_service.test.cpp drives it on virtual time.

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "troupe/actors/errc.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/logging.hpp"
#include "troupe/actors/metrics.hpp"
#include "troupe/actors/service_host.hpp"

using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;

// Stands in for a database: every `fail_every`-th call times out.
class backend : public troupe::service {
public:
  using interface = troupe::service_actor::extend<
    caf::replies_to<fetch_atom, std::string>::with<std::string>>;

  auto handlers() {
    return std::make_tuple(
      [this](fetch_atom, const std::string& key) -> caf::result<std::string> {
        if (fail_every_ > 0 && ++calls_ % fail_every_ == 0)
          return troupe::make_error(troupe::errc::timeout, "backend busy");
        return "value of " + key;
      });
  }

  troupe::hook_result on_configure(const troupe::settings& cfg) override {
    fail_every_ = cfg.get_or("fail_every", int64_t{0});
    return troupe::hook_result::success();
  }

private:
  int64_t fail_every_ = 0;
  int64_t calls_ = 0;
};

class lookup : public troupe::service {
public:
  using interface = troupe::service_actor::extend<
    caf::replies_to<lookup_atom, std::string>::with<std::string>>;

  explicit lookup(backend::interface db) : db_(std::move(db)) {}

  auto handlers() {
    return std::make_tuple(
      [this](lookup_atom, const std::string& key) -> caf::result<std::string> {
        auto promise = self()->make_response_promise<std::string>();
        find(key, [promise](caf::expected<std::string> r) mutable {
          if (r)
            promise.deliver(std::move(*r));
          else
            promise.deliver(r.error());
        });
        return promise;
      });
  }

  troupe::hook_result on_start() override {
    // Metrics: registered once, then updated without locks.
    auto& m = metrics();
    ok_ =
      &m.counter("lookups_total", "Lookups by outcome", {{"outcome", "ok"}});
    failed_ = &m.counter("lookups_total", "Lookups by outcome",
                         {{"outcome", "failed"}});
    latency_ =
      &m.histogram("lookup_seconds", "Lookup latency, retries included",
                   {0.001, 0.01, 0.1, 1});
    // Health: checked now and every `health_check_interval`.
    add_health_check("lookups", [this] {
      if (failed_in_row_ >= 2)
        return troupe::health_result::degraded(std::to_string(failed_in_row_) +
                                               " lookups failed in a row");
      return troupe::health_result::healthy();
    });
    set_metadata("backend", "example");
    return troupe::hook_result::success();
  }

protected:
  using found = std::function<void(caf::expected<std::string>)>;

  // Looks `key` up in the backend; `done` gets the value or the final error.
  void find(const std::string& key, found done) {
    // The breaker turns a dead backend into quick refusals.
    troupe::circuit_breaker_policy bp;
    bp.failure_threshold = 3;
    bp.cool_down = std::chrono::seconds{5};
    auto& db_breaker = breaker("backend", bp);
    if (!db_breaker.allow_call(now()))
      return done(
        troupe::make_error(troupe::errc::circuit_open, "backend breaker open"));
    // Retries: 3 attempts, 50 ms then 100 ms apart, on the actor clock.
    troupe::retry_policy rp;
    rp.max_attempts = 3;
    rp.initial_delay = std::chrono::milliseconds{50};
    rp.jitter = 0;
    auto started = now();
    retry_request<std::string>(
      rp, db_, std::chrono::seconds{1},
      [this, done = std::move(done), started](caf::expected<std::string> r) {
        std::chrono::duration<double> took = now() - started;
        latency_->observe(took.count());
        if (r) {
          breaker("backend").success(now());
          ok_->inc();
          failed_in_row_ = 0;
        } else {
          breaker("backend").failure(now());
          failed_->inc();
          ++failed_in_row_;
        }
        done(std::move(r));
      },
      fetch_atom::value, key);
  }

  backend::interface db_;

private:
  troupe::counter* ok_ = nullptr;
  troupe::counter* failed_ = nullptr;
  troupe::histogram* latency_ = nullptr;
  int failed_in_row_ = 0;
};

int main() {
  troupe::init_logging(); // service logs go to stderr
  caf::actor_system_config cfg;
  troupe::init_actor_system_config(cfg);
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  int failures = 0;
  auto on_error = [&](caf::error& err) {
    ++failures;
    std::printf("-> error %s\n", troupe::describe(err).c_str());
  };
  auto wait = caf::timespan{std::chrono::seconds{5}};
  auto ready = [](troupe::service_state) {};
  auto db = troupe::spawn_service<backend>(sys, {"db", "backend"});
  self
    ->request(db, wait, troupe::configure_atom::value,
              troupe::settings{troupe::config::table{{"fail_every", 2}}})
    .receive(ready, on_error);
  self->request(db, wait, troupe::start_atom::value).receive(ready, on_error);
  // The app keeps the registry to render it into /metrics.
  troupe::service_options opts{"lookup", "lookup"};
  opts.metrics = std::make_shared<troupe::metric_registry>();
  auto svc = troupe::spawn_service<lookup>(sys, opts, db);
  self->request(svc, wait, troupe::start_atom::value).receive(ready, on_error);
  for (auto key : {"a", "b", "c"})
    self->request(svc, wait, lookup_atom::value, std::string{key})
      .receive([](const std::string& x) { std::printf("-> %s\n", x.c_str()); },
               on_error);
  std::printf("%s", opts.metrics->render({{"service", "lookup"}}).c_str());
  // Stop, then end the actors: pending timers would keep them alive.
  for (auto& who : {caf::actor_cast<troupe::service_actor>(svc),
                    caf::actor_cast<troupe::service_actor>(db)}) {
    self
      ->request(who, wait, troupe::stop_atom::value, std::string{"done"}, wait)
      .receive(ready, on_error);
    self->send_exit(who, caf::exit_reason::user_shutdown);
  }
  return failures == 0 ? 0 : 1;
}
