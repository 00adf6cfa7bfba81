#pragma once

#include "troupe/config/app_config.hpp"
#include "troupe/config/layered_config.hpp"
#include "troupe/config/schema.hpp"

#include <string>

namespace troupe::config {

/// Renders the effective configuration as TOML, each value followed by a
/// comment naming its origin. The output parses back to the same values:
///
/// ```
/// [app]
/// log_level = "debug"  # env TROUPE_APP__LOG_LEVEL
/// name = "x"  # --set app.name=x
/// shutdown_timeout = "10s"  # default
/// ```
std::string render_effective(const layered_config& cfg);

/// Renders one schema's settings as a Markdown table (key, type, default,
/// description); nested sections and entries appear as dotted keys.
std::string render_schema_table(const schema& s);

/// Renders the whole configuration reference (docs/config.md): sources and
/// precedence, the app file's sections, and every service type in `types`.
std::string render_reference(const type_catalog& types);

/// Renders `troupe types` output: each type, its description and settings.
std::string render_types(const type_catalog& types);

} // namespace troupe::config
