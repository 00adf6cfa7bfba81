#pragma once

#include <string>
#include <string_view>

namespace troupe::bridge {

/// Renders bytes from the wire for a terminal, one line, never garbage:
/// valid printable UTF-8 stays as is; a backslash becomes `\\`; control
/// characters, DEL and bytes that are not valid UTF-8 become `\xNN`.
///
/// ```
/// printable("caf\xc3\xa9") == "café";  printable("a\nb\xff") == "a\\x0ab\\xff"
/// ```
std::string printable(std::string_view bytes);

} // namespace troupe::bridge
