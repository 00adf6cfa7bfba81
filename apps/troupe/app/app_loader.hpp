#pragma once

#include "troupe/actors/service_registry.hpp"
#include "troupe/config/app_config.hpp"

namespace troupe::app {

/// Loads an app file like `config::load_app`, first loading the plugins its
/// `[app] plugins` lists into `reg` (a relative path is relative to the app
/// file's directory), so services may use the types they add. A plugin that
/// fails to load is an error at `app.plugins` naming the library and why.
config::app_load_result load_app(const config::app_sources& src,
                                 service_registry& reg);

/// Returns where a plugin path from `app_file` points: absolute paths and
/// bare names (searched by the dynamic loader) as they are, others relative
/// to the app file's directory.
std::string plugin_path(const std::string& app_file, const std::string& path);

} // namespace troupe::app
