// troupe ctl: the command line of the control plane's client; the requests
// and their output live in troupe/app/control_client.cpp.

#include <iostream>
#include <memory>

#include "commands.hpp"
#include "troupe/app/control_client.hpp"

namespace troupe::cli {

namespace {

struct ctl_state {
  app::ctl_options opts;
  app::ctl_request req;
  int timeout_s = 60;
};

} // namespace

void add_ctl_command(CLI::App& app, int& exit_code) {
  auto st = std::make_shared<ctl_state>();
  auto* ctl = app.add_subcommand(
    "ctl", "Ask a running app through its control plane (HTTP)");
  ctl
    ->add_option("--url", st->opts.url,
                 "Control plane URL, http://HOST:PORT (the app's [control] "
                 "http)")
    ->envname("TROUPE_CONTROL_URL");
  ctl->add_option("--token", st->opts.token, "Bearer token ([control] token)")
    ->envname("TROUPE_CONTROL_TOKEN");
  ctl
    ->add_option("--cacert", st->opts.cacert,
                 "https: PEM file of the CA (or self-signed certificate) "
                 "that signed the app's certificate ([control] tls_cert)")
    ->envname("TROUPE_CONTROL_CACERT");
  ctl->add_flag("--json", st->opts.json,
                "Print the server's JSON as is (for scripts)");
  ctl
    ->add_option("--timeout", st->timeout_s,
                 "Seconds to wait for an answer (a stop waits for the "
                 "service to drain)")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  ctl->require_subcommand(1);
  // Lets `troupe ctl status --json` work as well as `troupe ctl --json status`.
  ctl->fallthrough();
  ctl->footer("Exit codes: 0 ok, 1 the server refused or the app is "
              "unhealthy, 2 usage error, 3 control plane unreachable.\n");

  auto run = [st, &exit_code](app::ctl_command cmd) {
    return [st, &exit_code, cmd] {
      st->req.command = cmd;
      st->opts.timeout = std::chrono::seconds{st->timeout_s};
      exit_code =
        static_cast<int>(app::run_ctl(st->opts, st->req, std::cout, std::cerr));
    };
  };
  auto* status =
    ctl->add_subcommand("status", "Status of every service, or details of one");
  status->add_option("name", st->req.name, "Service name");
  status->add_option("--state", st->req.state,
                     "Only services in this state (running, failed, ...)");
  status->add_option("--type", st->req.type_filter,
                     "Only services of this type");
  status
    ->add_option("--limit", st->req.limit,
                 "At most this many services (0: all); the footer names "
                 "the next page")
    ->check(CLI::NonNegativeNumber);
  status->add_option("--after", st->req.after,
                     "Start after this service (the next page)");
  status->callback(run(app::ctl_command::status));
  ctl->add_subcommand("health", "The app's health; exit 1 when unhealthy")
    ->callback(run(app::ctl_command::health));
  ctl->add_subcommand("metrics", "Metrics in Prometheus text format")
    ->callback(run(app::ctl_command::metrics));
  struct named {
    const char* name;
    const char* help;
    app::ctl_command cmd;
  };
  for (auto [name, help, cmd] : {
         named{"start", "Start a service", app::ctl_command::start},
         named{"stop", "Stop a service (drains its work)",
               app::ctl_command::stop},
         named{"restart", "Stop and start a service",
               app::ctl_command::restart},
         named{"remove", "Stop and remove a service", app::ctl_command::remove},
       }) {
    auto* sub = ctl->add_subcommand(name, help);
    sub->add_option("name", st->req.name, "Service name")->required();
    sub->add_flag("--cascade", st->req.cascade,
                  cmd == app::ctl_command::start ||
                      cmd == app::ctl_command::restart
                    ? "Also start the services it depends on that do not run"
                  : cmd == app::ctl_command::stop
                    ? "Also stop the running services that depend on it "
                      "(first)"
                    : "Also remove the services that depend on it (first)");
    sub->callback(run(cmd));
  }
  auto* add = ctl->add_subcommand("add", "Add a service to the running app");
  add->add_option("name", st->req.name, "Service name")->required();
  add->add_option("type", st->req.type, "Service type (see 'troupe types')")
    ->required();
  add
    ->add_option("--set", st->req.sets,
                 "A setting: key=value (repeatable; JSON values such as 5, "
                 "true or [1,2] keep their type, anything else is a string)")
    ->allow_extra_args(false);
  add->add_option("--settings", st->req.settings_json,
                  "All settings as one JSON object (--set applies on top)");
  add->callback(run(app::ctl_command::add));
}

} // namespace troupe::cli
