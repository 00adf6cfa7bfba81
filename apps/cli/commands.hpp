#pragma once

#include <CLI/CLI.hpp>

namespace troupe::cli {

/// Adds `troupe demo` to `app`; sets `exit_code` when it runs.
void add_demo_command(CLI::App& app, int& exit_code);

} // namespace troupe::cli
