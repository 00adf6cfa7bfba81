#pragma once

#include "troupe/config/value.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace troupe::config {

/// Parses a duration such as "250ms", "5s", "2m", "1h", "1.5s", "10us" or
/// "100ns". Returns nothing for anything else (no unit, unknown unit, negative,
/// overflow, trailing characters). Never throws.
std::optional<duration> parse_duration(std::string_view text) noexcept;

/// Formats `d` with the largest unit that represents it exactly, e.g. "250ms",
/// "5s", "2m". Round-trips through parse_duration.
std::string format_duration(duration d);

} // namespace troupe::config
