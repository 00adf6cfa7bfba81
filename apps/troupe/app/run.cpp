// troupe run: builds an app from its TOML file, starts its services in
// dependency order, shows their status, and stops them in reverse on
// SIGINT/SIGTERM or after --duration. A library call, so that an executable
// of one's own runs its app exactly as `troupe run` does (troupe/app/run.hpp).

#include "troupe/app/run.hpp"

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "troupe/actors/errc.hpp"
#include "troupe/actors/init.hpp"
#include "troupe/actors/logging.hpp"
#include "troupe/actors/service_registry.hpp"
#include "troupe/app/app_loader.hpp"
#include "troupe/app/app_runtime.hpp"
#include "troupe/app/builtin_services.hpp"
#include "troupe/app/control_plane.hpp"
#include "troupe/app/log_ring.hpp"
#include "troupe/app/run_cli.hpp"
#include "troupe/app/signal_watcher.hpp"
#include "troupe/app/status_printer.hpp"
#include "troupe/app/systemd_notify.hpp"
#include "troupe/config/app_config.hpp"
#include "troupe/config/duration.hpp"
#include "troupe/version.hpp"

namespace troupe::app {

namespace {

// SIGHUP/SIGUSR1: re-read the file (same --set and environment). An invalid
// file changes nothing and every error is logged; a valid one sends
// `reconfigure` to exactly the services whose settings changed.
void reload(app::app_runtime& rt, const config::app_sources& src,
            spdlog::logger& log, systemd_notifier& notify,
            const std::string& running) {
  notify.reloading("reloading the app file");
  // An external logrotate moved the file away and sent SIGHUP: new file.
  if (auto err = reopen_log_file(); !err.empty())
    log.error("app.log_file: cannot reopen: {}", err);
  auto fresh = src; // same file and --set, the environment as it is now
  fresh.env = config::layered_config::process_environment();
  auto next = app::load_app(fresh, service_registry::global());
  if (!next.ok()) {
    for (auto& e : next.errors)
      log.error("reload: {}", e.to_string());
    log.error("reload rejected ({} error(s)); keeping the running config",
              next.errors.size());
    notify.ready(running + "; last reload rejected, see the log");
    return;
  }
  rt.reload(next.config);
  notify.ready(running);
}

// "running: 5 services" for systemctl status.
std::string running_status(const config::app_config& cfg) {
  size_t n = 0;
  for (auto& [_, spec] : cfg.services)
    if (spec.enabled && spec.autostart)
      ++n;
  return fmt::format("running: {} service{}", n, n == 1 ? "" : "s");
}

} // namespace

int run_app(const run_options& opts) {
  // Signals first: every thread started from here on inherits the mask.
  app::signal_watcher signals;
  config::app_sources src;
  src.file = opts.file;
  src.text = opts.text;
  src.sets = opts.sets;
  src.env = config::layered_config::process_environment();
  auto loaded = app::load_app(src, service_registry::global());
  if (!loaded.ok()) {
    for (auto& e : loaded.errors)
      std::cerr << e.to_string() << '\n';
    std::cerr << config::count_errors(loaded.errors)
              << " error(s); nothing started\n";
    return 1;
  }
  // One copy of the services' specs, in the runtime (issue 25: an app of
  // 10,000 services held three copies of its config, ~4 KB per service
  // each). The layers (every value with its origin, for error messages)
  // are done with once the file is loaded.
  auto app_cfg = std::move(loaded.config);
  app_cfg.layers = {};
  auto running = running_status(app_cfg);
  auto services = std::move(app_cfg.services);
  app_cfg.services.clear(); // what run_app reads below is app-level
  std::optional<config::duration> run_for;
  if (!opts.duration.empty()) {
    run_for = config::parse_duration(opts.duration);
    if (!run_for) {
      std::cerr << "--duration: expected a duration like 3s, got '"
                << opts.duration << "'\n";
      return 2;
    }
  }
  log_options log_opts;
  log_opts.level = *parse_log_level(app_cfg.log_level);
  log_opts.format =
    parse_log_format(app_cfg.log_format).value_or(log_format::text);
  log_opts.file = app_cfg.log_file;
  log_opts.max_size = static_cast<size_t>(app_cfg.log_max_size);
  log_opts.max_files = static_cast<size_t>(app_cfg.log_max_files);
  std::string log_error;
  auto log = init_logging(log_opts, log_error);
  if (!log) {
    spdlog::error("app.log_file: cannot open '{}': {}", app_cfg.log_file,
                  log_error);
    return 1;
  }
  // The dashboard's log tail (GET /logs): on the default logger's sinks
  // before any service logger copies them, and before other threads run.
  std::shared_ptr<app::log_ring> log_tail;
  if (!app_cfg.control_http.empty()) {
    log_tail = std::make_shared<app::log_ring>();
    log->sinks().push_back(log_tail);
  }

  caf::actor_system_config cfg;
  init_actor_system_config(cfg);
  caf::actor_system sys{cfg};
  app::app_runtime rt{sys, service_registry::global(),
                      [&] {
                        auto c = app_cfg;
                        c.services = std::move(services);
                        return c;
                      }(),
                      log};
  app::control_server control;
  if (!app_cfg.control_http.empty()) {
    app::control_access access;
    access.token = app_cfg.control_token;
    access.read_token = app_cfg.control_read_token;
    access.public_paths = app_cfg.control_public;
    access.allow_insecure_bind = app_cfg.control_allow_insecure_bind;
    control.serve_logs(log_tail);
    access.tls_cert = app_cfg.control_tls_cert;
    access.tls_key = app_cfg.control_tls_key;
    if (auto err = control.start(rt, app_cfg.control_http, access)) {
      log->error("control plane: {}", *err);
      return 1;
    }
    log->info("control plane on {}://{}",
              app_cfg.control_tls_cert.empty() ? "http" : "https",
              control.address());
  }
  int exit_code = 0;
  // Type=notify units: READY once every service runs, the watchdog fed
  // while the root supervisor answers and has not given up.
  systemd_notifier notify;
  std::optional<watchdog_feeder> feeder;
  notify.status("starting");
  if (auto err = rt.start([&signals] { return signals.stop_requested(); })) {
    if (is(err, errc::not_running) && signals.stop_requested()) {
      // Not a failure: the drain below aborts the start.
      log->info("signal {} received while starting: stopping (again to "
                "force)",
                signals.stop_signal());
    } else {
      log->error("{}", describe(err));
      exit_code = 1;
    }
  } else {
    log->info("app '{}' running{}; Ctrl-C stops", app_cfg.name,
              run_for ? " for " + config::format_duration(*run_for) : "");
    notify.ready(running);
    feeder.emplace(notify, [&rt](std::chrono::microseconds limit) {
      return rt.supervisor_healthy(limit);
    });
    // A give-up ends the wait at once, not at the next status print.
    rt.on_give_up([&signals] { signals.wake(); });
    run_until_stopped(
      rt, signals, *log, app_cfg.status_interval, run_for,
      [&] { reload(rt, src, *log, notify, running); },
      [&] { return rt.gave_up(); });
    if (rt.gave_up()) {
      log->error("the supervisor gave up (more than {} restarts within {}); "
                 "stopping the app",
                 app_cfg.max_restarts,
                 config::format_duration(app_cfg.restart_period));
      notify.status("the supervisor gave up; stopping");
      exit_code = 1;
    }
  }
  notify.stopping(
    fmt::format("stopping: draining within {}",
                config::format_duration(app_cfg.shutdown_timeout)));
  auto result = rt.shutdown(app_cfg.shutdown_timeout);
  control.stop();
  status_printer{}.final(rt.statuses());
  if (!result.hung.empty()) {
    log->error("exit 3: '{}' did not stop within app.shutdown_timeout ({})",
               result.hung, config::format_duration(app_cfg.shutdown_timeout));
    // The hung service would keep the actor system from shutting down.
    std::_Exit(3);
  }
  if (!result.clean && exit_code == 0)
    exit_code = 1;
  // Every loss was counted when it happened; say where, in one line.
  uint64_t lost = 0;
  std::string where;
  for (auto& x : rt.lost()) {
    lost += x.count;
    where += fmt::format("{}{} {} ({})", where.empty() ? "" : ", ", x.service,
                         x.count, x.reason);
  }
  if (lost > 0)
    log->warn("lost {} message(s) in all: {}", lost, where);
  if (result.unfinished > 0 && exit_code == 0) {
    log->error("exit 4: the drain stopped services with {} message(s) still "
               "in flight (app.shutdown_timeout, or queues that did not move)",
               result.unfinished);
    exit_code = 4;
  }
  return exit_code;
}

int run_main(int argc, char** argv) {
  CLI::App cli{"Runs an app from its TOML file until Ctrl-C or --duration "
               "(as 'troupe run' does)."};
  cli.set_version_flag("--version", std::string{"troupe "} + TROUPE_VERSION);
  run_options opts;
  add_run_options(cli, opts);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2.
    return cli.exit(e) == 0 ? 0 : 2;
  }
  register_builtin_services(service_registry::global());
  return run_app(opts);
}

} // namespace troupe::app
