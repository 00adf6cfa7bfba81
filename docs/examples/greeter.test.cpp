// Testing a service deterministically: virtual time, no sleeps, no threads.
#define CAF_SUITE greeter
#define CAF_TEST_NO_MAIN
#include <caf/test/unit_test_impl.hpp>

#include "troupe/actors/testing.hpp"

// docs/services.md quotes the example as the one file a reader would write;
// the test compiles that file again to reuse its service type.
#define main greeter_example_main // reuse the service type, not its main
#include "greeter.cpp"            // NOLINT(bugprone-suspicious-include)
#undef main

using namespace std::chrono_literals;

CAF_TEST_FIXTURE_SCOPE(greeter_tests, troupe::testing::service_fixture)

CAF_TEST(greets with the configured greeting) {
  auto svc = troupe::spawn_service<greeter>(sys, {"greeter", "greeter"});
  CAF_REQUIRE(configure(
    svc, troupe::settings{troupe::config::table{{"greeting", "Ahoy"}}}));
  CAF_REQUIRE(start(svc));
  auto r = call<std::string>(svc, greet_atom::value, std::string{"Ada"});
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(*r, "Ahoy, Ada!");
  CAF_CHECK_EQUAL(status(svc).messages_in, 1u);
}

CAF_TEST(refuses an empty greeting and stays initialized) {
  auto svc = troupe::spawn_service<greeter>(sys, {"greeter", "greeter"});
  auto r =
    configure(svc, troupe::settings{troupe::config::table{{"greeting", ""}}});
  CAF_REQUIRE(!r);
  CAF_CHECK(troupe::is(r.error(), troupe::errc::hook_refused));
  CAF_CHECK_EQUAL(status(svc).state, troupe::service_state::initialized);
}

CAF_TEST_FIXTURE_SCOPE_END()

int main(int argc, char** argv) {
  troupe::init_logging_for_tests();
  return caf::test::main(argc, argv);
}
