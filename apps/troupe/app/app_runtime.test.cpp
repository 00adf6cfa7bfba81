#define CAF_SUITE app_runtime

#include "troupe/app/app_runtime.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/test/unit_test.hpp>
#include <spdlog/sinks/null_sink.h>

#include "troupe/actors/service_registry.hpp"

using namespace troupe;

// A real actor system: app_runtime blocks on requests from the calling
// thread, which the test coordinator cannot serve.
CAF_TEST(an app still loading its services is live and has not given up) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  service_registry types;
  auto log = std::make_shared<spdlog::logger>(
    "test", std::make_shared<spdlog::sinks::null_sink_mt>());
  app::app_runtime rt{sys, types, config::app_config{}, log};
  // Before start() spawned the root supervisor (building the specs of
  // 100,000 services takes seconds): a liveness probe must not restart the
  // process for that.
  CAF_CHECK(rt.live());
  CAF_CHECK(!rt.gave_up());
  CAF_CHECK(rt.supervisor_healthy(std::chrono::milliseconds{100}));
}
