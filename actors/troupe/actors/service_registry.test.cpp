#define CAF_SUITE service_registry

#include "troupe/actors/service_registry.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

#include <caf/test/unit_test.hpp>
#include <unistd.h>

#include "troupe/actors/errc.hpp"

using namespace troupe;

namespace {

// A file that is no ELF library at all: should the ABI check let it pass,
// dlopen fails with "invalid ELF header" instead of the expected text.
struct temp_library {
  std::string path;

  explicit temp_library(const std::string& bytes) {
    char name[] = "/tmp/troupe-plugin-XXXXXX";
    int fd = ::mkstemp(name);
    CAF_REQUIRE(fd >= 0);
    path = name;
    CAF_REQUIRE(::write(fd, bytes.data(), bytes.size()) ==
                static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }

  ~temp_library() { std::remove(path.c_str()); }

  temp_library(const temp_library&) = delete;
  temp_library& operator=(const temp_library&) = delete;
};

std::string load_error(const std::string& bytes) {
  temp_library lib{bytes};
  service_registry reg;
  auto err = reg.load_plugin(lib.path);
  CAF_REQUIRE(err);
  CAF_CHECK(is(err, errc::plugin_failed));
  return describe(err);
}

const std::string nul{'\0'};

} // namespace

CAF_TEST(the ABI tag names this troupe version) {
  std::string tag = TROUPE_PLUGIN_ABI;
  CAF_CHECK_EQUAL(tag.rfind("troupe " TROUPE_VERSION " abi ", 0), 0u);
  CAF_CHECK(tag.find(" abi " TROUPE_PLUGIN_ABI_STR(
              TROUPE_PLUGIN_ABI_REVISION) " gcc-abi ") != std::string::npos);
}

CAF_TEST(a plugin tagged for another troupe is refused before it loads) {
  auto text =
    load_error("\x7f"
               "ELF junk" +
               nul + TROUPE_PLUGIN_ABI_MARKER +
               "troupe 0.0.1 gcc-abi 1017 cxx11-abi 1 caf 1706" + nul + "more");
  CAF_CHECK(text.find("it was built against 'troupe 0.0.1 gcc-abi 1017 "
                      "cxx11-abi 1 caf 1706' but this is '" TROUPE_PLUGIN_ABI
                      "'; rebuild it against this troupe") !=
            std::string::npos);
}

CAF_TEST(a library without an ABI tag is refused before it loads) {
  auto text = load_error("\x7f"
                         "ELF no tag here");
  CAF_CHECK(text.find("it has no troupe ABI tag") != std::string::npos);
}

CAF_TEST(a library tagged for this troupe gets as far as the loader) {
  auto text =
    load_error("\x7f"
               "ELF" +
               nul + TROUPE_PLUGIN_ABI_MARKER + TROUPE_PLUGIN_ABI + nul);
  CAF_CHECK(text.find("ABI") == std::string::npos);
  CAF_CHECK(text.find("not loaded: ") != std::string::npos); // dlopen's reason
}
