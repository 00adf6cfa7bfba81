#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace troupe::cli {

/// Adds `troupe demo` to `app`; sets `exit_code` when it runs.
void add_demo_command(CLI::App& app, int& exit_code);

/// Adds `troupe run` to `app`.
void add_run_command(CLI::App& app, int& exit_code);

/// Adds `troupe check`, `troupe config` and `troupe types` to `app`.
void add_config_commands(CLI::App& app, int& exit_code);

/// Adds `troupe ctl` (the control plane's client) to `app`.
void add_ctl_command(CLI::App& app, int& exit_code);

/// Adds `troupe systemd` (prints a systemd unit for an app file) to `app`.
void add_systemd_command(CLI::App& app, int& exit_code);

/// Adds `troupe keygen` (CURVE key pairs) to `app`.
void add_keygen_command(CLI::App& app, int& exit_code);

/// Adds `troupe tap` (print what a PUB endpoint sends) to `app`.
void add_tap_command(CLI::App& app, int& exit_code);

/// Adds `troupe pub` (send messages to an endpoint) to `app`.
void add_pub_command(CLI::App& app, int& exit_code);

/// Adds `troupe record` (store what an endpoint sends in a bag) to `app`.
void add_record_command(CLI::App& app, int& exit_code);

/// Adds `troupe replay` (send a bag again) and `troupe bag info` to `app`.
void add_replay_command(CLI::App& app, int& exit_code);

/// Adds `troupe new service NAME [DIR]` (a project of one's own) to `app`.
void add_new_command(CLI::App& app, int& exit_code);

/// A number above 0 (CLI::PositiveNumber's message quotes DBL_MAX instead
/// of saying what is wanted).
inline const CLI::Validator positive_number{
  [](std::string& text) -> std::string {
    double x = 0;
    if (CLI::detail::lexical_cast(text, x) && x > 0)
      return {};
    return "expected a number above 0, got '" + text + "'";
  },
  "POSITIVE", "positive number"};

/// A number of 0 or more.
inline const CLI::Validator non_negative_number{
  [](std::string& text) -> std::string {
    double x = 0;
    if (CLI::detail::lexical_cast(text, x) && x >= 0)
      return {};
    return "expected a number of 0 or more, got '" + text + "'";
  },
  "NONNEGATIVE", "non-negative number"};

} // namespace troupe::cli
