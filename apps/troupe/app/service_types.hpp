#pragma once

#include "troupe/config/app_config.hpp"

namespace troupe::app {

/// Returns the schema of every built-in service type, by type name. Used by
/// `troupe check`, `troupe config`, `troupe types` and the generated
/// docs/config.md. (No CAF here: the config commands stay fast to build.)
const config::type_catalog& builtin_type_schemas();

} // namespace troupe::app
