#pragma once

// The options of `troupe run`, shared by the `troupe` CLI and
// `troupe::app::run_main`, so both take the same flags. Needs CLI11; not
// installed.

#include <CLI/CLI.hpp>

#include "troupe/app/run.hpp"

namespace troupe::app {

/// Adds the positional `file` and `--set`, `--duration` to `cmd`, writing
/// into `opts` (which must outlive the parse), and the help footer.
inline void add_run_options(CLI::App& cmd, run_options& opts) {
  cmd.add_option("file", opts.file, "The app's TOML file")->required();
  cmd.add_option("--set", opts.sets,
                 "Override a value: --set section.key=value (repeatable)");
  cmd.add_option("--duration", opts.duration,
                 "Stop after this long (e.g. 3s); default: until Ctrl-C");
  cmd.footer("Services start in dependency order and stop in reverse. "
             "Exit codes: 0 clean stop, 1 invalid config or a service "
             "failed to start/stop, 2 usage error, 3 a service did not stop "
             "within app.shutdown_timeout, 130/143 second "
             "SIGINT/SIGTERM.\nCheck a file first with 'troupe check'; "
             "list service types with 'troupe types'.\n");
}

} // namespace troupe::app
