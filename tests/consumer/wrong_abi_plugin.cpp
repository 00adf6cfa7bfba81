// A library troupe must refuse to load: built (as it claims) against another
// troupe (WRONG_TAG), or with no ABI tag at all. Its entry point would abort
// the process if it ever ran.
#include <cstdlib>

namespace troupe {
class service_registry;
} // namespace troupe

#ifdef WRONG_TAG
extern "C" __attribute__((visibility("default"), used))
const char* const troupe_plugin_abi =
  "troupe-plugin-abi:troupe 0.0.1 gcc-abi 1017 cxx11-abi 1 caf 1706";
#endif

extern "C" __attribute__((visibility("default"))) void
troupe_register_plugin(troupe::service_registry&) {
  std::abort();
}

// Runs at dlopen: a refused library must never get this far.
namespace {
struct loud {
  loud() { std::abort(); }
};
const loud at_load;
} // namespace
