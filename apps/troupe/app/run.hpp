#pragma once

// `troupe run` as a library call, for an executable of one's own that
// registers its service types and runs an app file:
//
// ```
// #include <troupe/actors/register_service.hpp>
// #include <troupe/app/run.hpp>
//
// int main(int argc, char** argv) {
//   troupe::register_service<my_service>("my_service", "Does X");
//   return troupe::app::run_main(argc, argv); // ./my-app app.toml [flags]
// }
// ```

#include <optional>
#include <string>
#include <vector>

namespace troupe::app {

/// What `troupe run` takes on its command line.
struct run_options {
  /// The app's TOML file (the name in messages when `text` is given).
  std::string file;
  /// The file's text, when it is not read from `file` (`troupe demo`).
  std::optional<std::string> text;
  /// `--set section.key=value` overrides, in order.
  std::vector<std::string> sets;
  /// `--duration`: stop after this long (e.g. "3s"); empty: until a signal.
  std::string duration;
};

/// Runs the app of `opts.file` with the types in the process-wide registry
/// (plus the plugins its `[app] plugins` lists) exactly as `troupe run`
/// does: dependency order, status, control plane, SIGHUP reload, the
/// phased drain on SIGINT/SIGTERM (a second one forces exit). Returns the
/// exit code `troupe run` documents (0 clean, 1 config or service failure,
/// 2 usage error, 4 work left in flight; 3 exits at once).
int run_app(const run_options& opts);

/// The whole of `troupe run` for a `main`: registers troupe's built-in
/// service types (`bridge`, the demo types) beside those already
/// registered, parses `FILE [--set K=V]... [--duration D]` (and `--help`,
/// `--version`) from `argc`/`argv` and calls `run_app`. Returns the exit
/// code for `main`.
int run_main(int argc, char** argv);

} // namespace troupe::app
