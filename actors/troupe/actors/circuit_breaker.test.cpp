#define CAF_SUITE circuit_breaker
#include "troupe/actors/circuit_breaker.hpp"

#include <caf/sec.hpp>
#include <caf/test/unit_test.hpp>

#include "troupe/actors/errc.hpp"
#include "troupe/actors/retry.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct fixture {
  circuit_breaker::time_point t0{};
  std::vector<breaker_state> changes;

  circuit_breaker make(circuit_breaker_policy p) {
    circuit_breaker b{p};
    b.on_change = [this](breaker_state s) { changes.push_back(s); };
    return b;
  }

  circuit_breaker_policy policy() {
    circuit_breaker_policy p;
    p.failure_threshold = 3;
    p.window = 10s;
    p.cool_down = 5s;
    p.success_threshold = 2;
    p.half_open_calls = 1;
    return p;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(circuit_breaker_tests, fixture)

CAF_TEST(opens after n failures within the window) {
  auto b = make(policy());
  b.failure(t0);
  b.failure(t0 + 4s);
  b.failure(t0 + 10s); // the first one has left the window
  CAF_CHECK_EQUAL(b.state(), breaker_state::closed);
  CAF_CHECK(b.allow_call(t0 + 11s));
  b.failure(t0 + 12s);
  CAF_CHECK_EQUAL(b.state(), breaker_state::open);
  CAF_CHECK_EQUAL(changes, std::vector<breaker_state>{breaker_state::open});
}

CAF_TEST(open rejects until the cool down then lets one trial through) {
  auto b = make(policy());
  int rejected = 0;
  b.on_reject = [&] { ++rejected; };
  for (int i = 0; i < 3; ++i)
    b.failure(t0);
  CAF_CHECK(!b.allow_call(t0 + 1s));
  CAF_CHECK(!b.allow_call(t0 + 4999ms));
  CAF_CHECK_EQUAL(b.state(), breaker_state::open);
  CAF_CHECK(b.allow_call(t0 + 5s)); // the trial call
  CAF_CHECK_EQUAL(b.state(), breaker_state::half_open);
  CAF_CHECK(!b.allow_call(t0 + 5s)); // only one trial at a time
  CAF_CHECK_EQUAL(b.rejected(), 3u);
  CAF_CHECK_EQUAL(rejected, 3);
}

CAF_TEST(half open closes after m successes) {
  auto b = make(policy());
  for (int i = 0; i < 3; ++i)
    b.failure(t0);
  CAF_REQUIRE(b.allow_call(t0 + 6s));
  b.success(t0 + 6s);
  CAF_CHECK_EQUAL(b.state(), breaker_state::half_open);
  CAF_REQUIRE(b.allow_call(t0 + 7s));
  b.success(t0 + 7s);
  CAF_CHECK_EQUAL(b.state(), breaker_state::closed);
  CAF_CHECK(b.allow_call(t0 + 7s));
  // Failures before closing are forgotten: two more do not open it.
  b.failure(t0 + 8s);
  b.failure(t0 + 8s);
  CAF_CHECK_EQUAL(b.state(), breaker_state::closed);
  auto expected = std::vector<breaker_state>{
    breaker_state::open, breaker_state::half_open, breaker_state::closed};
  CAF_CHECK_EQUAL(changes, expected);
}

CAF_TEST(a failed trial opens again for a full cool down) {
  auto b = make(policy());
  for (int i = 0; i < 3; ++i)
    b.failure(t0);
  CAF_REQUIRE(b.allow_call(t0 + 5s));
  b.failure(t0 + 6s);
  CAF_CHECK_EQUAL(b.state(), breaker_state::open);
  CAF_CHECK(b.opened_at() == t0 + 6s);
  CAF_CHECK(!b.allow_call(t0 + 10s));
  CAF_CHECK(b.allow_call(t0 + 11s));
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(backoff grows capped and is reproducible with a seed) {
  retry_policy p;
  p.initial_delay = 100ms;
  p.multiplier = 3;
  p.max_delay = 1s;
  p.jitter = 0;
  backoff plain{p};
  std::vector<std::chrono::nanoseconds> got;
  got.reserve(4);
  for (int i = 0; i < 4; ++i)
    got.push_back(plain.next());
  CAF_CHECK_EQUAL(
    got, (std::vector<std::chrono::nanoseconds>{100ms, 300ms, 900ms, 1s}));
  p.jitter = 0.5;
  p.seed = 42;
  backoff a{p};
  backoff b{p};
  bool spread = false;
  for (auto base : got) {
    auto x = a.next();
    CAF_CHECK_EQUAL(x, b.next());
    CAF_CHECK(x <= base && x >= base / 2);
    spread = spread || x != base;
  }
  CAF_CHECK(spread);
}

CAF_TEST(timeouts and unavailable services are retryable by default) {
  CAF_CHECK(default_retryable(caf::make_error(caf::sec::request_timeout)));
  CAF_CHECK(default_retryable(make_error(errc::timeout)));
  CAF_CHECK(default_retryable(make_error(errc::not_running)));
  CAF_CHECK(default_retryable(make_error(errc::circuit_open)));
  CAF_CHECK(!default_retryable(make_error(errc::invalid_settings)));
  CAF_CHECK(!default_retryable(caf::make_error(caf::sec::invalid_argument)));
}
