#pragma once

// The files `troupe new service NAME` writes.

#include <string>
#include <utility>
#include <vector>

namespace troupe::cli {

/// A file of a new project: its path relative to the project directory and
/// its text.
using project_file = std::pair<std::string, std::string>;

/// Returns whether `name` may name a service project: a C++ identifier in
/// snake_case (a lower-case letter, then lower-case letters, digits and
/// `_`), at most 24 characters (the generated code stays
/// clang-format clean with any such name), not a C++ keyword.
bool valid_service_name(const std::string& name);

/// Returns the files of a project for service type `name`, built against
/// troupe `version` installed under `prefix` (empty: a system prefix that
/// CMake searches anyway).
std::vector<project_file> service_project(const std::string& name,
                                          const std::string& version,
                                          const std::string& prefix);

} // namespace troupe::cli
