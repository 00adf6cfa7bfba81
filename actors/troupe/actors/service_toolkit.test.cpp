#define CAF_SUITE service_toolkit

#include <stdexcept>

#include "troupe/actors/service_host.hpp"
#include "troupe/actors/testing.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

using ms = std::chrono::milliseconds;

// What the test sets up for the probe and what the probe saw.
struct script {
  // health checks
  health_result result = health_result::healthy("fine");
  bool throw_in_check = false;
  int checks = 0;
  std::chrono::nanoseconds interval{0}; // zero: the default interval
  bool async_check = false;
  bool async_answers = true;
  // retry
  bool retry_on_start = false;
  retry_policy policy;
  std::vector<caf::error> outcomes; // per attempt; success after the last
  bool handle_result = true;
  std::vector<ms> attempts;
  std::vector<caf::error> results;
  // metrics
  bool bad_metric = false;
};

class probe : public service {
public:
  using interface = service_actor::extend<caf::reacts_to<int>>;

  explicit probe(std::shared_ptr<script> s) : s_(std::move(s)) {}

  auto handlers() {
    return std::make_tuple([this](int n) { jobs_->inc(n); });
  }

  hook_result on_start() override {
    jobs_ = &metrics().counter("jobs_total", "Jobs done", {{"kind", "x"}});
    if (s_->bad_metric)
      metrics().gauge("jobs_total", "Jobs done");
    set_metadata("version", "1.2.3");
    if (s_->async_check)
      add_health_check_async("probe", s_->interval, 2s,
                             [this](const health_done& done) {
                               ++s_->checks;
                               if (s_->async_answers)
                                 after(1s, [this, done] { done(s_->result); });
                             });
    else
      add_health_check("probe", s_->interval, [this] {
        ++s_->checks;
        if (s_->throw_in_check)
          throw std::runtime_error("disk gone");
        return s_->result;
      });
    if (s_->retry_on_start) // from a task: a fatal error in a hook is a hook's
      after(1ms, [this] { start_retry(); });
    return hook_result::success();
  }

private:
  void start_retry() {
    auto t0 = now();
    retry_handler handler;
    if (s_->handle_result)
      handler = [this](const caf::error& e) { s_->results.push_back(e); };
    retry(
      s_->policy,
      [this, t0](const retry_done& done) {
        auto i = s_->attempts.size();
        s_->attempts.push_back(std::chrono::duration_cast<ms>(now() - t0));
        done(i < s_->outcomes.size() ? s_->outcomes[i] : caf::error{});
      },
      handler);
  }

  std::shared_ptr<script> s_;
  counter* jobs_ = nullptr;
};

// Answers an int request with twice its value after failing `failures`
// times with a timeout.
class flaky : public service {
public:
  using interface = service_actor::extend<caf::replies_to<int>::with<int>>;

  explicit flaky(int failures) : failures_(failures) {}

  auto handlers() {
    return std::make_tuple([this](int x) -> caf::result<int> {
      if (failures_-- > 0)
        return make_error(errc::timeout, "busy");
      return 2 * x;
    });
  }

private:
  int failures_;
};

// Asks `target` with retries on start and keeps the answer.
class asker : public service {
public:
  asker(caf::actor target, std::shared_ptr<caf::expected<int>> out)
    : target_(std::move(target)), out_(std::move(out)) {}

  hook_result on_start() override {
    retry_policy p;
    p.initial_delay = 100ms;
    p.jitter = 0;
    retry_request<int>(
      p, target_, 1s, [this](caf::expected<int> r) { *out_ = std::move(r); },
      21);
    return hook_result::success();
  }

private:
  caf::actor target_;
  std::shared_ptr<caf::expected<int>> out_;
};

struct fixture : testing::service_fixture {
  std::shared_ptr<script> s = std::make_shared<script>();
  std::shared_ptr<metric_registry> registry =
    std::make_shared<metric_registry>();

  probe::interface spawn(std::chrono::nanoseconds default_interval = 10s) {
    service_options opts{"probe", "probe"};
    opts.metrics = registry;
    opts.health_check_interval = default_interval;
    return spawn_service<probe>(sys, opts, s);
  }

  // Moves virtual time forward in steps of `step`, running what is due.
  void step(std::chrono::nanoseconds total, std::chrono::nanoseconds step) {
    for (auto t = std::chrono::nanoseconds{0}; t < total; t += step) {
      advance_time(step);
      consume_messages();
    }
  }

  health_check probe_check(const probe::interface& svc) {
    for (auto& c : health(svc).checks)
      if (c.name == "probe")
        return c;
    CAF_FAIL("no health check 'probe'");
    return {};
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(service_toolkit_tests, fixture)

CAF_TEST(metrics survive a restart in a registry from the options) {
  auto svc = spawn();
  CAF_REQUIRE(start(svc));
  self->send(svc, 2);
  consume_messages();
  CAF_REQUIRE(stop(svc));
  CAF_REQUIRE(start(svc));
  self->send(svc, 3);
  consume_messages();
  auto text = registry->render({{"service", "probe"}});
  CAF_CHECK(text.find("jobs_total{service=\"probe\",kind=\"x\"} 5\n") !=
            std::string::npos);
  auto st = status(svc); // keep the status alive across the check
  CAF_CHECK_EQUAL(st.metadata.at("version"), "1.2.3");
}

CAF_TEST(a broken metric registration fails the hook with its reason) {
  s->bad_metric = true;
  auto svc = spawn();
  auto r = start(svc);
  CAF_REQUIRE(!r);
  CAF_CHECK_EQUAL(describe(r.error()),
                  "troupe.hook_failed: on_start failed: on_start threw: metric "
                  "'jobs_total' is already a counter, not a gauge");
}

CAF_TEST(health checks run at once and then every interval) {
  s->interval = 1s;
  auto svc = spawn();
  CAF_REQUIRE(start(svc));
  CAF_CHECK_EQUAL(s->checks, 1);
  CAF_CHECK_EQUAL(probe_check(svc).message, "fine");
  s->result = health_result::degraded("slow disk");
  advance_time(999ms);
  consume_messages();
  CAF_CHECK_EQUAL(probe_check(svc).message, "fine");
  advance_time(1ms);
  consume_messages();
  CAF_CHECK_EQUAL(s->checks, 2);
  CAF_CHECK_EQUAL(probe_check(svc).status, health_status::degraded);
  CAF_CHECK_EQUAL(health(svc).overall, health_status::degraded);
  s->throw_in_check = true;
  advance_time(1s);
  consume_messages();
  CAF_CHECK_EQUAL(probe_check(svc).status, health_status::unhealthy);
  CAF_CHECK_EQUAL(probe_check(svc).message, "check threw: disk gone");
  CAF_CHECK_EQUAL(status(svc).state, service_state::running);
  CAF_REQUIRE(stop(svc));
  step(5s, 1s);
  CAF_CHECK_EQUAL(s->checks, 3); // none after stop
}

CAF_TEST(checks without an interval use the default from the options) {
  auto svc = spawn(5s);
  CAF_REQUIRE(start(svc));
  step(4s, 1s);
  CAF_CHECK_EQUAL(s->checks, 1);
  step(1s, 1s);
  CAF_CHECK_EQUAL(s->checks, 2);
}

CAF_TEST(an async check that does not answer in time is unhealthy) {
  s->async_check = true;
  s->interval = 10s;
  s->result = health_result::healthy("pong");
  auto svc = spawn();
  CAF_REQUIRE(start(svc));
  step(1s, 1s);
  CAF_CHECK_EQUAL(probe_check(svc).message, "pong");
  s->async_answers = false;
  step(11s, 1s); // the second run starts at 10s and times out at 12s
  CAF_CHECK_EQUAL(s->checks, 2);
  CAF_CHECK_EQUAL(probe_check(svc).status, health_status::unhealthy);
  CAF_CHECK_EQUAL(probe_check(svc).message, "check timed out after 2s");
}

CAF_TEST(retry waits with exponential backoff and stops at max attempts) {
  s->retry_on_start = true;
  s->policy.max_attempts = 4;
  s->policy.initial_delay = 100ms;
  s->policy.jitter = 0;
  auto busy = make_error(errc::timeout, "busy");
  s->outcomes.assign(10, busy);
  auto svc = spawn();
  CAF_REQUIRE(start(svc));
  step(2s, 10ms);
  CAF_CHECK_EQUAL(s->attempts, (std::vector<ms>{0ms, 100ms, 300ms, 700ms}));
  CAF_REQUIRE_EQUAL(s->results.size(), 1u);
  CAF_CHECK_EQUAL(s->results[0], busy);
}

CAF_TEST(retry stops at the deadline) {
  s->retry_on_start = true;
  s->policy.max_attempts = 0;
  s->policy.initial_delay = 100ms;
  s->policy.jitter = 0;
  s->policy.deadline = 1s; // the fifth attempt would start at 1.5s
  s->outcomes.assign(10, make_error(errc::timeout));
  auto svc = spawn();
  CAF_REQUIRE(start(svc));
  step(3s, 10ms);
  CAF_CHECK_EQUAL(s->attempts, (std::vector<ms>{0ms, 100ms, 300ms, 700ms}));
  CAF_CHECK_EQUAL(s->results.size(), 1u);
}

CAF_TEST(retry succeeds after transient failures) {
  s->retry_on_start = true;
  s->policy.initial_delay = 50ms;
  s->policy.jitter = 0;
  s->outcomes.assign(2, make_error(errc::not_running));
  auto svc = spawn();
  CAF_REQUIRE(start(svc));
  step(1s, 10ms);
  CAF_CHECK_EQUAL(s->attempts, (std::vector<ms>{0ms, 50ms, 150ms}));
  CAF_REQUIRE_EQUAL(s->results.size(), 1u);
  CAF_CHECK(!s->results[0]);
}

CAF_TEST(a fatal error stops retrying at once and fails the service) {
  s->retry_on_start = true;
  s->handle_result = false;
  s->outcomes.assign(1, make_error(errc::invalid_settings, "bad input"));
  auto svc = spawn();
  CAF_REQUIRE(start(svc));
  step(1s, 10ms);
  CAF_CHECK_EQUAL(s->attempts.size(), 1u);
  auto st = status(svc);
  CAF_CHECK_EQUAL(st.state, service_state::failed);
  CAF_CHECK_EQUAL(st.last_error, "retry gave up after 1 attempt(s): "
                                 "troupe.invalid_settings: bad input");
}

CAF_TEST(unhandled exhausted retries are a non fatal error) {
  s->retry_on_start = true;
  s->handle_result = false;
  s->policy.max_attempts = 2;
  s->policy.jitter = 0;
  s->outcomes.assign(2, make_error(errc::timeout));
  auto svc = spawn();
  CAF_REQUIRE(start(svc));
  step(1s, 10ms);
  auto st = status(svc);
  CAF_CHECK_EQUAL(st.state, service_state::running);
  CAF_CHECK_EQUAL(st.errors, 1u);
  CAF_CHECK_EQUAL(health(svc).overall, health_status::degraded);
}

CAF_TEST(retry_request retries a request to another actor) {
  auto target = spawn_service<flaky>(sys, {"flaky", "flaky"}, 2);
  CAF_REQUIRE(start(target));
  auto out = std::make_shared<caf::expected<int>>(0);
  auto svc = spawn_service<asker>(sys, {"asker", "asker"},
                                  caf::actor_cast<caf::actor>(target), out);
  CAF_REQUIRE(start(svc));
  step(1s, 10ms);
  CAF_REQUIRE(*out);
  CAF_CHECK_EQUAL(**out, 42);
  CAF_CHECK_EQUAL(status(target).messages_in, 3u);
}

CAF_TEST_FIXTURE_SCOPE_END()
