// troupe demo: runs apps/examples/demo.toml (built into the binary) as
// `troupe run` does: a ticker publishes on the local bus, a counter counts,
// a live status table shows both until Ctrl-C or --duration.

#include <memory>
#include <string>
#include <string_view>

#include "commands.hpp"
#include "troupe/actors/logging.hpp"
#include "troupe/app/run.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::cli {

std::string_view demo_app_text(); // generated from apps/examples/demo.toml

namespace {

struct demo_options {
  std::string duration;
  std::string period = "250ms";
  std::string status_interval = "1s";
  std::string log_level = "info";
};

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
    "demo", "Run the demo app (apps/examples/demo.toml, built in): a ticker "
            "publishes on the local bus, a counter counts; a live status "
            "table shows both.");
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
  cmd->footer("The same app as `troupe run apps/examples/demo.toml "
              "--set services.tick.period=250ms`, with the same exit codes.");
  cmd->callback([opts, &exit_code] {
    app::run_options run;
    run.file = "demo.toml (built in)";
    run.text = std::string{demo_app_text()};
    run.sets = {"services.tick.period=" + opts->period,
                "app.status_interval=" + opts->status_interval,
                "app.log_level=" + opts->log_level};
    run.duration = opts->duration;
    exit_code = app::run_app(run);
  });
}

} // namespace troupe::cli
