// troupe run: builds an app from its TOML file, starts its services in
// dependency order, shows their status, and stops them in reverse on
// SIGINT/SIGTERM or after --duration.

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "status_printer.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/logging.hpp"
#include "troupe/actors/service_registry.hpp"
#include "troupe/actors/topic_bus.hpp"
#include "troupe/app/app_loader.hpp"
#include "troupe/app/builtin_services.hpp"
#include "troupe/app/service_group.hpp"
#include "troupe/app/signal_watcher.hpp"
#include "troupe/config/app_config.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::cli {

namespace {

struct run_options {
  std::string file;
  std::vector<std::string> sets;
  std::string duration;
};

// SIGHUP/SIGUSR1: re-read the file (same --set and environment). An invalid
// file changes nothing and every error is logged; a valid one sends
// `reconfigure` to exactly the services whose settings changed.
void reload(config::app_config& current, const config::app_sources& src,
            app::service_group& group, spdlog::logger& log) {
  auto fresh = src; // same file and --set, the environment as it is now
  fresh.env = config::layered_config::process_environment();
  auto next = app::load_app(fresh, service_registry::global());
  if (!next.ok()) {
    for (auto& e : next.errors)
      log.error("reload: {}", e.to_string());
    log.error("reload rejected ({} error(s)); keeping the running config",
              next.errors.size());
    return;
  }
  auto changes = config::diff(current, next.config);
  if (changes.empty()) {
    log.info("reload: no service changed");
    return;
  }
  for (auto& name : changes.changed) {
    auto& spec = next.config.services.at(name);
    auto* member = group.find(name);
    if (member == nullptr) {
      log.info("reload: '{}' changed but is not running", name);
      continue;
    }
    if (auto err = group.reconfigure(name, spec.settings)) {
      log.error("reload: reconfigure '{}' failed: {}", name, describe(err));
      continue;
    }
    log.info("reload: reconfigured '{}'", name);
    current.services.at(name) = spec;
  }
  auto later = [&log](const char* what, const std::vector<std::string>& xs) {
    for (auto& name : xs)
      log.warn("reload: service '{}' {}; restart the app to apply", name, what);
  };
  later("added", changes.added);
  later("removed", changes.removed);
  later("changed type", changes.replaced);
}

int run_app(const run_options& opts) {
  // Signals first: every thread started from here on inherits the mask.
  app::signal_watcher signals;
  config::app_sources src;
  src.file = opts.file;
  src.sets = opts.sets;
  src.env = config::layered_config::process_environment();
  auto loaded = app::load_app(src, service_registry::global());
  if (!loaded.ok()) {
    for (auto& e : loaded.errors)
      std::cerr << e.to_string() << '\n';
    std::cerr << loaded.errors.size() << " error(s); nothing started\n";
    return 1;
  }
  auto& app_cfg = loaded.config;
  std::optional<config::duration> run_for;
  if (!opts.duration.empty()) {
    run_for = config::parse_duration(opts.duration);
    if (!run_for) {
      std::cerr << "--duration: expected a duration like 3s, got '"
                << opts.duration << "'\n";
      return 2;
    }
  }
  auto log = init_logging(*parse_log_level(app_cfg.log_level));

  caf::actor_system_config cfg;
  init_actor_system_config(cfg);
  caf::actor_system sys{cfg};
  auto bus = spawn_topic_bus(sys);
  app::service_group group{sys};
  for (auto& name : app_cfg.start_order()) {
    auto& spec = app_cfg.services.at(name);
    if (!spec.enabled || !spec.autostart) {
      log->info("service '{}' not started ({})", name,
                spec.enabled ? "autostart = false" : "enabled = false");
      continue;
    }
    service_options so{name, spec.type, bus};
    if (!spec.log_level.empty())
      so.log_level = parse_log_level(spec.log_level);
    auto type = service_registry::global().lookup(spec.type);
    if (!type) { // load_app checked every type; a plugin cannot vanish
      log->error("{}", describe(type.error()));
      return 1;
    }
    group.add(name, type->spawn(sys, so), spec.settings);
  }
  int exit_code = 0;
  if (auto err = group.start_all()) {
    log->error("{}", describe(err));
    exit_code = 1;
  } else {
    log->info("app '{}' running with {} service(s){}; Ctrl-C stops",
              app_cfg.name, group.members().size(),
              run_for ? " for " + config::format_duration(*run_for) : "");
    run_until_stopped(group, signals, *log, app_cfg.status_interval, run_for,
                      [&] { reload(app_cfg, src, group, *log); });
  }
  if (auto err = group.stop_all(app_cfg.shutdown_timeout)) {
    log->error("{}", describe(err));
    exit_code = 1;
  }
  status_printer{}.final(group.statuses());
  for (auto& m : group.members())
    caf::anon_send_exit(m.handle, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
  return exit_code;
}

} // namespace

void add_run_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<run_options>();
  auto* cmd = app.add_subcommand(
    "run", "Run an app from its TOML file until Ctrl-C or --duration");
  cmd->add_option("file", opts->file, "The app's TOML file")->required();
  cmd->add_option("--set", opts->sets,
                  "Override a value: --set section.key=value (repeatable)");
  cmd->add_option("--duration", opts->duration,
                  "Stop after this long (e.g. 3s); default: until Ctrl-C");
  cmd->footer("Services start in dependency order and stop in reverse. "
              "Exit codes: 0 clean stop, 1 invalid config or a service "
              "failed to start/stop, 2 usage error, 130/143 second "
              "SIGINT/SIGTERM.\nCheck a file first with 'troupe check'; "
              "list service types with 'troupe types'.\n");
  cmd->callback([opts, &exit_code] { exit_code = run_app(*opts); });
}

} // namespace troupe::cli
