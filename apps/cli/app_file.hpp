#pragma once

// Loading an app file the way every command does (defined in
// config_commands.cpp).

#include <string>
#include <vector>

#include "troupe/config/app_config.hpp"

namespace troupe::cli {

/// Loads `file` with `sets` and the process environment against the
/// registered service types (loading the file's plugins), like `troupe check`.
config::app_load_result load_app_file(const std::string& file,
                                      const std::vector<std::string>& sets);

/// Prints every error on stderr (file:line:column: path: message) and their
/// count; returns the exit code for them (1).
int report_config_errors(const config::diagnostics& errors);

} // namespace troupe::cli
