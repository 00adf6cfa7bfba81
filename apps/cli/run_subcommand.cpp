// troupe run: the CLI side of troupe::app::run_app (troupe/app/run.hpp, where
// the body of the former run_command.cpp lives).

#include <memory>

#include "commands.hpp"
#include "troupe/app/run.hpp"
#include "troupe/app/run_cli.hpp"

namespace troupe::cli {

void add_run_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<app::run_options>();
  auto* cmd = app.add_subcommand(
    "run", "Run an app from its TOML file until Ctrl-C or --duration");
  app::add_run_options(*cmd, *opts);
  cmd->callback([opts, &exit_code] { exit_code = app::run_app(*opts); });
}

} // namespace troupe::cli
