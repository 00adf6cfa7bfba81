// troupe check / config / types: the app file and its schemas, no actors.

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "app_file.hpp"
#include "commands.hpp"
#include "troupe/actors/service_registry.hpp"
#include "troupe/app/app_loader.hpp"
#include "troupe/app/builtin_services.hpp"
#include "troupe/app/memory_estimate.hpp"
#include "troupe/config/render.hpp"

namespace troupe::cli {

namespace {

struct file_options {
  std::string file;
  std::vector<std::string> sets;
};

void add_file_options(CLI::App& cmd, file_options& opts, bool required) {
  auto* file = cmd.add_option("file", opts.file, "The app's TOML file");
  if (required)
    file->required();
  cmd
    .add_option("--set", opts.sets,
                "Override a value: --set section.key=value (repeatable; "
                "parsed by the key's declared type)")
    ->allow_extra_args(false);
}

std::string types_footer() {
  return "\nService types and their settings:\n\n" +
         config::render_types(service_registry::global().catalog());
}

} // namespace

config::app_load_result load_app_file(const std::string& file,
                                      const std::vector<std::string>& sets) {
  config::app_sources src;
  src.file = file;
  src.sets = sets;
  src.env = config::layered_config::process_environment();
  return app::load_app(src, service_registry::global());
}

int report_config_errors(const config::diagnostics& errors) {
  for (auto& e : errors)
    std::cerr << e.to_string() << '\n';
  auto n = config::count_errors(errors);
  std::cerr << n << (n == 1 ? " error" : " errors") << '\n';
  return 1;
}

void add_config_commands(CLI::App& app, int& exit_code) {
  auto check_opts = std::make_shared<file_options>();
  auto message_bytes = std::make_shared<uint64_t>(1024);
  auto* check = app.add_subcommand(
    "check", "Validate an app file; list every error with file:line:column; "
             "estimate its worst-case memory for messages");
  add_file_options(*check, *check_opts, true);
  check
    ->add_option("--message-bytes", *message_bytes,
                 "Size of the messages services publish, for the memory "
                 "ceiling (default 1024)")
    ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  check->footer("Exit codes: 0 valid, 1 invalid (every error listed on "
                "stderr), 2 usage error.\nEnvironment: TROUPE_<SECTION>__<KEY> "
                "overrides, TROUPE_PROJECT selects projects/NAME/FILE.\n");
  check->callback([check_opts, message_bytes, &exit_code] {
    auto r = load_app_file(check_opts->file, check_opts->sets);
    if (!r.ok()) {
      exit_code = report_config_errors(r.errors);
      return;
    }
    // Disabled services are never started: not part of the start order.
    std::vector<std::string> order;
    std::vector<std::string> disabled;
    for (auto& name : r.config.start_order())
      (r.config.services.at(name).enabled ? order : disabled).push_back(name);
    std::cout << r.config.layers.file() << ": ok, " << order.size()
              << (order.size() == 1 ? " service" : " services");
    if (!order.empty()) {
      std::cout << " (start order:";
      for (auto& name : order)
        std::cout << ' ' << name;
      std::cout << ')';
    }
    if (!disabled.empty()) {
      std::cout << "; disabled:";
      for (auto& name : disabled)
        std::cout << ' ' << name;
    }
    std::cout << '\n';
    // Nested supervisors: their strategy and services, in start order.
    for (auto& [name, sup] : r.config.supervisors) {
      std::cout << "supervisor " << name << " (" << sup.strategy
                << ", max_restarts " << sup.max_restarts << "):";
      size_t n = 0;
      for (auto& s : r.config.start_order())
        if (r.config.services.at(s).supervisor == name) {
          std::cout << ' ' << s;
          ++n;
        }
      if (n == 0)
        std::cout << " no services yet";
      std::cout << '\n';
    }
    std::cout << app::render_memory_estimate(
      app::estimate_memory(r.config, *message_bytes), *message_bytes);
  });

  auto config_opts = std::make_shared<file_options>();
  auto docs = std::make_shared<bool>(false);
  auto* cfg = app.add_subcommand(
    "config", "Print the effective config, each value with its origin");
  add_file_options(*cfg, *config_opts, false);
  cfg->add_flag("--docs", *docs,
                "Print the configuration reference (docs/config.md), "
                "generated from the schemas, instead");
  cfg->footer(types_footer());
  cfg->callback([config_opts, docs, &exit_code] {
    if (*docs) {
      std::cout << config::render_reference(app::builtin_services().catalog());
      return;
    }
    if (config_opts->file.empty()) {
      std::cerr << "troupe config: an app file is required (or --docs)\n";
      exit_code = 2;
      return;
    }
    auto r = load_app_file(config_opts->file, config_opts->sets);
    if (!r.ok()) {
      exit_code = report_config_errors(r.errors);
      return;
    }
    std::cout << "# effective configuration of " << r.config.layers.file()
              << "\n# (origin of each value after '#'; precedence: default "
                 "< file < env < --set)\n\n"
              << config::render_effective(r.config.layers);
  });

  auto type_name = std::make_shared<std::string>();
  auto plugins = std::make_shared<std::vector<std::string>>();
  auto* types =
    app.add_subcommand("types", "List the service types and their settings");
  types->add_option("name", *type_name, "Show only this type");
  // One path per --plugin, so that `--plugin X.so NAME` leaves NAME to
  // the positional.
  types
    ->add_option("--plugin", *plugins,
                 "Load the service types of this shared library first "
                 "(repeatable: --plugin A.so --plugin B.so)")
    ->allow_extra_args(false);
  types->footer("Examples:\n  troupe types                     every type "
                "and its settings\n  troupe types ticker              one "
                "type\n  troupe types --plugin ./my.so my_type\nExit codes: "
                "0 listed, 1 unknown type or a plugin that does not load, 2 "
                "usage error.\n");
  types->callback([type_name, plugins, &exit_code] {
    auto& reg = service_registry::global();
    for (auto& path : *plugins) {
      if (auto err = reg.load_plugin(path)) {
        std::cerr << "troupe types: " << describe(err) << '\n';
        exit_code = 1;
        return;
      }
    }
    auto all = reg.catalog();
    if (type_name->empty()) {
      std::cout << config::render_types(all);
      return;
    }
    auto type = reg.lookup(*type_name);
    if (!type) {
      std::cerr << "troupe types: " << describe(type.error()) << '\n';
      exit_code = 1;
      return;
    }
    config::type_catalog one;
    one.emplace(type->name, type->schema);
    std::cout << config::render_types(one);
  });
}

} // namespace troupe::cli
