#include "troupe/actors/init.hpp"

#include <cstddef>

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "troupe/actors/errc.hpp"

namespace troupe {

void init_actor_system_config(caf::actor_system_config& cfg) {
  cfg.add_error_category(
    errc_category,
    [](uint8_t code, caf::atom_value, const caf::message& ctx) -> std::string {
      caf::error err{code, errc_category, ctx};
      return describe(err);
    });
  // CAF 0.17's idle workers first spin, then sleep 50 us between polls
  // 500 times, then wait on a condition variable that an enqueue signals.
  // The 50 us naps put up to 50 us on every hop of a quiet message path
  // (and burn wake-ups); a short spin straight into the signalled wait
  // halved the bridge's round trip (docs/benchmarks.md). An app may still
  // override both keys after this call.
  cfg.set("work-stealing.moderate-sleep-duration", caf::timespan{0});
  cfg.set("work-stealing.moderate-poll-attempts", size_t{50});
}

void init_logging_for_tests() {
  auto log = spdlog::stderr_color_mt("troupe-test");
  log->set_level(spdlog::level::warn);
  spdlog::set_default_logger(log);
}

} // namespace troupe
