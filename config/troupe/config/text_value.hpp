#pragma once

#include "troupe/config/value.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace troupe::config {

// Parsers for values given as text (environment variables and `--set`).
// Each accepts the whole text or nothing, and never throws.

/// Parses true/false, yes/no, on/off, 1/0 (any case).
std::optional<bool> parse_bool_text(std::string_view text) noexcept;

/// Parses a decimal integer with an optional sign.
std::optional<int64_t> parse_integer_text(std::string_view text) noexcept;

/// Parses a decimal or exponent float ("0.5", "1e3", "-2").
std::optional<double> parse_float_text(std::string_view text) noexcept;

/// Parses a list: a TOML array (`["a", "b"]`, `[1, 2]`) or comma-separated
/// words (`a, b`), whose elements stay text. Empty text is an empty list.
std::optional<list> parse_list_text(std::string_view text) noexcept;

} // namespace troupe::config
