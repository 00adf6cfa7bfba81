#include "troupe/actors/init.hpp"

#include <caf/actor_system_config.hpp>
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
}

void init_logging_for_tests() {
  auto log = spdlog::stderr_color_mt("troupe-test");
  log->set_level(spdlog::level::warn);
  spdlog::set_default_logger(log);
}

} // namespace troupe
