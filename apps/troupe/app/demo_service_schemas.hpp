#pragma once

#include "troupe/config/schema.hpp"

namespace troupe::app {

/// Settings of the `ticker` demo service.
config::schema ticker_schema();

/// Settings of the `counter` demo service.
config::schema counter_schema();

/// Settings of the `echo` example service.
config::schema echo_schema();

} // namespace troupe::app
