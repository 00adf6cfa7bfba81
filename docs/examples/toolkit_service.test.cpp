// The toolkit example on virtual time: retries, the breaker, health and
// metrics, exactly.
#define CAF_SUITE toolkit_service
#define CAF_TEST_NO_MAIN
#include <caf/test/unit_test_impl.hpp>

#include "troupe/actors/testing.hpp"

#define main toolkit_example_main // reuse the service types, not the main
#include "toolkit_service.cpp"    // NOLINT(bugprone-suspicious-include)
#undef main

using namespace std::chrono_literals;

namespace {

struct fixture : troupe::testing::service_fixture {
  std::shared_ptr<troupe::metric_registry> registry =
    std::make_shared<troupe::metric_registry>();
  backend::interface db;
  lookup::interface svc;

  void setup(int64_t fail_every) {
    db = troupe::spawn_service<backend>(sys, {"db", "backend"});
    CAF_REQUIRE(configure(
      db, troupe::settings{troupe::config::table{{"fail_every", fail_every}}}));
    CAF_REQUIRE(start(db));
    troupe::service_options opts{"lookup", "lookup"};
    opts.metrics = registry;
    opts.health_check_interval = 1s;
    svc = troupe::spawn_service<lookup>(sys, opts, db);
    CAF_REQUIRE(start(svc));
  }

  // Sends one lookup, runs 1s of virtual time in 10 ms steps, returns the
  // answer.
  caf::expected<std::string> find(const std::string& key) {
    auto rh = self->request(svc, caf::infinite, lookup_atom::value, key);
    for (int i = 0; i < 100; ++i) {
      advance_time(10ms);
      consume_messages();
    }
    caf::expected<std::string> out{caf::sec::request_timeout};
    rh.receive([&](std::string& x) { out = std::move(x); },
               [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  std::string sample(const std::string& prefix) {
    auto text = registry->render();
    auto i = text.find("\n" + prefix);
    if (i == std::string::npos)
      return "none";
    auto end = text.find('\n', i + 1);
    return text.substr(i + 1, end - i - 1);
  }

  troupe::health_check check(const std::string& name) {
    for (auto& c : health(svc).checks)
      if (c.name == name)
        return c;
    return {};
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(toolkit_service_tests, fixture)

CAF_TEST(a failed fetch is retried after 50 ms) {
  setup(2); // every second fetch fails
  CAF_CHECK_EQUAL(find("a"), "value of a");
  CAF_CHECK_EQUAL(find("b"), "value of b"); // fetch 2 failed, 3 succeeded
  CAF_CHECK_EQUAL(status(db).messages_in, 3u);
  CAF_CHECK_EQUAL(sample("lookups_total{outcome=\"ok\"}"),
                  "lookups_total{outcome=\"ok\"} 2");
  // The retried lookup took 50 ms of virtual time, the other none.
  CAF_CHECK_EQUAL(sample("lookup_seconds_bucket{le=\"0.001\"}"),
                  "lookup_seconds_bucket{le=\"0.001\"} 1");
  CAF_CHECK_EQUAL(sample("lookup_seconds_bucket{le=\"0.1\"}"),
                  "lookup_seconds_bucket{le=\"0.1\"} 2");
  CAF_CHECK_EQUAL(sample("lookup_seconds_sum"), "lookup_seconds_sum 0.05");
  auto st = status(svc); // keep the status alive across the check
  CAF_CHECK_EQUAL(st.metadata.at("backend"), "example");
}

CAF_TEST(a dead backend opens the breaker and degrades health) {
  setup(1); // every fetch fails
  for (auto key : {"a", "b", "c"}) {
    auto r = find(key);
    CAF_REQUIRE(!r);
    CAF_CHECK(troupe::is(r.error(), troupe::errc::timeout));
  }
  CAF_CHECK_EQUAL(status(db).messages_in, 9u); // 3 lookups x 3 attempts
  auto r = find("d");
  CAF_REQUIRE(!r);
  CAF_CHECK(troupe::is(r.error(), troupe::errc::circuit_open));
  CAF_CHECK_EQUAL(status(db).messages_in, 9u); // rejected without a call
  CAF_CHECK_EQUAL(check("breaker:backend").status,
                  troupe::health_status::degraded);
  CAF_CHECK_EQUAL(check("lookups").message, "3 lookups failed in a row");
  CAF_CHECK_EQUAL(sample("circuit_breaker_state"),
                  "circuit_breaker_state{breaker=\"backend\"} 2");
  CAF_CHECK_EQUAL(sample("circuit_breaker_rejected_total"),
                  "circuit_breaker_rejected_total{breaker=\"backend\"} 1");
  // The backend recovers; after the cool-down a trial call closes it.
  CAF_REQUIRE(reconfigure(
    db, troupe::settings{troupe::config::table{{"fail_every", 0}}}));
  for (int i = 0; i < 5; ++i) {
    advance_time(1s);
    consume_messages();
  }
  CAF_CHECK_EQUAL(find("e"), "value of e");
  CAF_CHECK_EQUAL(check("breaker:backend").status,
                  troupe::health_status::healthy);
  advance_time(1s);
  consume_messages();
  CAF_CHECK_EQUAL(health(svc).overall, troupe::health_status::healthy);
}

CAF_TEST_FIXTURE_SCOPE_END()

int main(int argc, char** argv) {
  troupe::init_logging_for_tests();
  return caf::test::main(argc, argv);
}
