// troupe demo: a ticker publishes on the local bus, a counter counts; a live
// status table shows both until Ctrl-C or --duration.

#include <cstdio>
#include <iostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "commands.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/logging.hpp"
#include "troupe/actors/service_host.hpp"
#include "troupe/actors/topic_bus.hpp"
#include "troupe/app/demo_services.hpp"
#include "troupe/app/service_group.hpp"
#include "troupe/app/signal_watcher.hpp"
#include "troupe/app/status_printer.hpp"
#include "troupe/app/status_table.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::cli {

namespace {

struct demo_options {
  std::string duration;
  std::string period = "250ms";
  std::string status_interval = "1s";
  std::string log_level = "info";
};

// Parses a duration flag or exits with a message naming the flag.
config::duration duration_flag(const std::string& flag,
                               const std::string& text) {
  auto d = config::parse_duration(text);
  if (!d)
    throw CLI::ValidationError(flag, "expected a duration like 250ms, 3s or "
                                     "2m, got '" +
                                       text + "'");
  return *d;
}

int run_demo(const demo_options& opts) {
  // Signals first: every thread started from here on inherits the mask.
  app::signal_watcher signals;
  auto level = parse_log_level(opts.log_level);
  if (!level)
    throw CLI::ValidationError("--log-level",
                               "unknown level '" + opts.log_level +
                                 "' (trace, debug, info, warn, error, "
                                 "critical, off)");
  auto log = init_logging(*level);

  std::optional<config::duration> run_for;
  if (!opts.duration.empty())
    run_for = duration_flag("--duration", opts.duration);
  auto period = duration_flag("--period", opts.period);
  auto interval = duration_flag("--status-interval", opts.status_interval);

  caf::actor_system_config cfg;
  init_actor_system_config(cfg);
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  auto bus = spawn_topic_bus(sys);

  app::service_group group{sys};
  // The counter subscribes before the ticker publishes its first tick.
  group.add("counter",
            caf::actor_cast<service_actor>(spawn_service<app::counter>(
              sys, service_options{"counter", "counter", bus})),
            settings{config::table{{"topic", "demo.tick"}}});
  group.add(
    "ticker",
    spawn_service<app::ticker>(sys, service_options{"ticker", "ticker", bus}),
    settings{config::table{{"period", period}, {"topic", "demo.tick"}}});

  int exit_code = 0;
  if (auto err = group.start_all()) {
    log->error("{}", describe(err));
    exit_code = 1;
  } else {
    log->info("demo running{}; Ctrl-C stops",
              run_for ? " for " + config::format_duration(*run_for) : "");
    app::run_until_stopped(group, signals, *log, interval, run_for, [] {});
  }
  if (auto err = group.stop_all(std::chrono::seconds{5})) {
    log->error("{}", describe(err));
    exit_code = 1;
  }
  app::status_printer{}.final(group.statuses());
  caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
  return exit_code;
}

// Rejects anything parse_duration does not accept, at parse time.
const CLI::Validator duration_validator{
  [](std::string& text) -> std::string {
    if (config::parse_duration(text))
      return {};
    return "expected a duration like 250ms, 3s or 2m, got '" + text + "'";
  },
  "DURATION", "duration"};

const CLI::Validator log_level_validator{
  [](std::string& text) -> std::string {
    if (parse_log_level(text))
      return {};
    return "unknown level '" + text +
           "' (trace, debug, info, warn, error, critical, off)";
  },
  "LEVEL", "log level"};

} // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<demo_options>();
  auto* cmd = app.add_subcommand(
    "demo", "Run the demo app: a ticker publishes on the local bus, a counter "
            "counts; a live status table shows both.");
  cmd
    ->add_option("--duration", opts->duration,
                 "Stop after this long (e.g. 3s); default: until Ctrl-C")
    ->check(duration_validator);
  cmd->add_option("--period", opts->period, "Tick period")
    ->capture_default_str()
    ->check(duration_validator);
  cmd
    ->add_option("--status-interval", opts->status_interval,
                 "How often the status is printed")
    ->capture_default_str()
    ->check(duration_validator);
  cmd
    ->add_option("--log-level", opts->log_level,
                 "trace, debug, info, warn, error, critical or off")
    ->capture_default_str()
    ->check(log_level_validator);
  cmd->callback([opts, &exit_code] { exit_code = run_demo(*opts); });
}

} // namespace troupe::cli
