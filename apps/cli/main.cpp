// troupe -- the command-line entry point.

#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "troupe/actors/service_registry.hpp"
#include "troupe/app/builtin_services.hpp"
#include "troupe/version.hpp"

// Commands turn expected failures into exit codes; an exception that still
// escapes is a bug. std::terminate reports it and aborts without unwinding:
// a handler here would unwind a running caf::actor_system, whose destructor
// waits for its actors and could hang instead of exiting.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  CLI::App app{"troupe: services as actors, composed into apps, bridged to "
               "ZeroMQ.",
               "troupe"};
  app.set_version_flag("--version", std::string{"troupe "} + TROUPE_VERSION);
  app.require_subcommand(1);
  app.footer(
    "Run 'troupe COMMAND --help' for the options of a command.\n\n"
    "Service types: 'troupe types'. Config reference: 'troupe config "
    "--docs'.\n\nExit codes: 0 success, 1 failure, 2 usage error, 130/143 "
    "forced exit on a second SIGINT/SIGTERM.\n");
  troupe::app::register_builtin_services(troupe::service_registry::global());
  int exit_code = 0;
  troupe::cli::add_run_command(app, exit_code);
  troupe::cli::add_demo_command(app, exit_code);
  troupe::cli::add_config_commands(app, exit_code);
  troupe::cli::add_ctl_command(app, exit_code);
  troupe::cli::add_systemd_command(app, exit_code);
  troupe::cli::add_keygen_command(app, exit_code);
  troupe::cli::add_tap_command(app, exit_code);
  troupe::cli::add_pub_command(app, exit_code);
  troupe::cli::add_record_command(app, exit_code);
  troupe::cli::add_replay_command(app, exit_code);
  troupe::cli::add_new_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}
