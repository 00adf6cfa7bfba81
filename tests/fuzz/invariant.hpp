#pragma once

// Checks a property of the code under test inside a fuzz target. A broken
// property is a crash: libFuzzer saves the input, and the g++ replay tests
// fail on it.

#include <cstdio>

/// Traps (after naming the property) unless `cond` holds.
#define TROUPE_FUZZ_REQUIRE(cond)                                              \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__,     \
                   __LINE__, #cond);                                           \
      __builtin_trap();                                                        \
    }                                                                          \
  } while (false)
