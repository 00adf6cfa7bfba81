#pragma once

// Force-included (-include) into every source of the libFuzzer build.
//
// toml++ 3.3 guards some parser preconditions with assert(), and malformed
// input can break them: "[!a]", "[[[1]]]" (marzer/tomlplusplus#301),
// "v = [1,}". After such an assert the parser still reports a proper
// toml::parse_error. Debian's libtomlplusplus, which troupe links, is
// built with NDEBUG, so these checks are not in the shipped code at all.
// Here they only write a note to stderr (once per process) instead of
// aborting. That way the fuzzer tests toml++ as troupe ships it, and
// ASan and UBSan still catch any real fault.

#include <cstdio>

namespace troupe_fuzz {

/// Notes a failed toml++ assertion once per process.
inline void toml_assert_failed(const char* expr, const char* file, int line) {
  static bool noted = false;
  if (noted)
    return;
  noted = true;
  std::fprintf(stderr,
               "note: toml++ assertion failed (not fatal, compiled out in "
               "the shipped library): %s at %s:%d\n",
               expr, file, line);
}

} // namespace troupe_fuzz

#define TOML_ASSERT(expr)                                                      \
  ((expr) ? static_cast<void>(0)                                               \
          : ::troupe_fuzz::toml_assert_failed(#expr, __FILE__, __LINE__))
