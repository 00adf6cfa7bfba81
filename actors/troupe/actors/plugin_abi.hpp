#pragma once

// What a plugin and the process that loads it must agree on. TROUPE_PLUGIN
// writes the tag into the plugin; service_registry::load_plugin reads it
// from the file before the plugin's code runs and refuses a mismatch.

#include <string> // defines _GLIBCXX_USE_CXX11_ABI

#include <caf/config.hpp>

#include "troupe/version.hpp"

#define TROUPE_PLUGIN_ABI_STR_(x) #x
#define TROUPE_PLUGIN_ABI_STR(x) TROUPE_PLUGIN_ABI_STR_(x)

/// Counts changes of troupe's ABI within one version: raise it whenever a
/// type a plugin shares with troupe changes (a message of `service_actor`,
/// a field of `service_options`, ...). 2: `(start_atom, settings)` and
/// `service_options::launch_on`.
#define TROUPE_PLUGIN_ABI_REVISION 2

/// The ABI a plugin is built for: troupe's version and ABI revision (troupe
/// has no stable ABI across versions yet), the C++ ABI, the std::string ABI
/// and CAF's version, e.g. "troupe 0.1.0 abi 2 gcc-abi 1017 cxx11-abi 1 caf
/// 1706".
#define TROUPE_PLUGIN_ABI                                                                                               \
  "troupe " TROUPE_VERSION " abi " TROUPE_PLUGIN_ABI_STR(TROUPE_PLUGIN_ABI_REVISION) " gcc-abi " TROUPE_PLUGIN_ABI_STR( \
    __GXX_ABI_VERSION) " cxx11-abi " TROUPE_PLUGIN_ABI_STR(_GLIBCXX_USE_CXX11_ABI) " caf " TROUPE_PLUGIN_ABI_STR(CAF_VERSION)

/// Precedes the tag in a plugin file, so that the loader finds it by
/// reading the file (before dlopen runs any of the plugin's code).
#define TROUPE_PLUGIN_ABI_MARKER "troupe-plugin-abi:"
