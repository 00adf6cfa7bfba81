// troupe systemd: print a systemd unit that runs an app file.

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string_view>

#include "app_file.hpp"
#include "commands.hpp"
#include "troupe/app/systemd_unit.hpp"
#include "troupe/config/duration.hpp"

namespace troupe::cli {

namespace {

struct systemd_options {
  std::string file;
  std::vector<std::string> sets;
  bool user = false;
  std::string exec;
  std::string watchdog = "30s";
};

// Every string in the services' settings (endpoint addresses among them).
void collect_strings(const config::value& x, std::vector<std::string>& out) {
  if (auto* s = x.get_if<std::string>())
    out.push_back(*s);
  else if (auto* xs = x.get_if<config::list>())
    for (auto& y : *xs)
      collect_strings(y, out);
  else if (auto* t = x.get_if<config::table>())
    for (auto& [_, y] : *t)
      collect_strings(y, out);
}

// Config overrides from the environment (TROUPE_SECTION__KEY) shaped the
// config just checked; the unit carries them so systemd runs the same app.
// TROUPE_PROJECT is not needed: the unit names the resolved file.
bool is_config_override(std::string_view name) {
  return name.rfind("TROUPE_", 0) == 0 &&
         name.find("__") != std::string_view::npos;
}

int print_unit(const systemd_options& opts) {
  namespace fs = std::filesystem;
  auto loaded = load_app_file(opts.file, opts.sets);
  if (!loaded.ok())
    return report_config_errors(loaded.errors);
  std::error_code ec;
  app::systemd_unit_options unit;
  unit.app_name = loaded.config.name;
  unit.shutdown_timeout = loaded.config.shutdown_timeout;
  unit.user = opts.user;
  unit.sets = opts.sets;
  auto file = fs::absolute(loaded.config.layers.file(), ec).lexically_normal();
  if (ec) {
    std::cerr << "troupe systemd: " << loaded.config.layers.file() << ": "
              << ec.message() << '\n';
    return 1;
  }
  unit.app_file = file.string();
  unit.working_directory = file.parent_path().string();
  auto watchdog = opts.watchdog == "0"
                    ? std::optional<config::duration>{config::duration{0}}
                    : config::parse_duration(opts.watchdog);
  if (!watchdog || watchdog->count() < 0) {
    std::cerr << "troupe systemd: --watchdog: expected a duration like 30s "
                 "(0 for none), got '"
              << opts.watchdog << "'\n";
    return 2;
  }
  unit.watchdog = std::chrono::ceil<std::chrono::seconds>(*watchdog);
  std::vector<std::string> strings;
  for (auto& [_, spec] : loaded.config.services)
    for (auto& entry : spec.settings.values())
      collect_strings(entry.second, strings);
  unit.writable_paths = app::systemd_writable_paths(
    unit.working_directory, loaded.config.log_file, strings);
  for (auto& path : unit.writable_paths)
    if (path == "/tmp" || path.rfind("/tmp/", 0) == 0 || path == "/var/tmp" ||
        path.rfind("/var/tmp/", 0) == 0)
      unit.private_tmp = false;
  if (opts.exec.empty()) {
    auto self = fs::read_symlink("/proc/self/exe", ec);
    if (ec) {
      std::cerr << "troupe systemd: cannot find the troupe binary ("
                << ec.message() << "); pass --exec PATH\n";
      return 1;
    }
    unit.exec = self.string();
  } else {
    unit.exec = fs::absolute(opts.exec, ec).lexically_normal().string();
  }
  for (auto& [name, value] : config::layered_config::process_environment())
    if (is_config_override(name))
      unit.environment.emplace_back(name, value);
  std::cout << app::render_systemd_unit(unit);
  return 0;
}

} // namespace

void add_systemd_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<systemd_options>();
  auto* cmd = app.add_subcommand(
    "systemd", "Print a systemd service unit that runs an app file");
  cmd->add_option("file", opts->file, "The app's TOML file")->required();
  cmd
    ->add_option("--set", opts->sets,
                 "Override a value: --set section.key=value (repeatable; "
                 "checked now, passed on to troupe run)")
    ->allow_extra_args(false);
  cmd->add_flag("--user", opts->user,
                "A user unit (systemctl --user) instead of a system one");
  cmd->add_option("--exec", opts->exec,
                  "The troupe binary the unit runs (default: this one)");
  cmd->add_option("--watchdog", opts->watchdog,
                  "WatchdogSec= of the unit (default 30s; 0: no watchdog)");
  cmd->footer("The app file is checked first, like 'troupe check'. "
              "TROUPE_<SECTION>__<KEY> variables become Environment= lines.\n"
              "Exit codes: 0 unit printed, 1 invalid app file, 2 usage "
              "error.\n");
  cmd->callback([opts, &exit_code] { exit_code = print_unit(*opts); });
}

} // namespace troupe::cli
