# Findhttplib.cmake -- locate cpp-httplib (Debian libcpp-httplib-dev).
#
# Debian ships httplib.h split from its implementation in libcpp-httplib.so,
# built with OpenSSL, zlib and Brotli support. The header must be compiled
# with the same CPPHTTPLIB_*_SUPPORT macros as the library (they change class
# layouts), so they are read from cpp-httplib.pc. An upstream CMake package
# (httplibConfig.cmake) is preferred when one is installed.
#
# Creates the imported target httplib::httplib.
# Result variables: httplib_FOUND, httplib_VERSION, HTTPLIB_INCLUDE_DIR.

find_package(httplib CONFIG QUIET)
if(httplib_FOUND AND TARGET httplib::httplib)
  return()
endif()

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_HTTPLIB QUIET cpp-httplib)
endif()

find_path(HTTPLIB_INCLUDE_DIR httplib.h HINTS ${PC_HTTPLIB_INCLUDE_DIRS})
find_library(HTTPLIB_LIBRARY NAMES cpp-httplib
             HINTS ${PC_HTTPLIB_LIBRARY_DIRS})

if(HTTPLIB_INCLUDE_DIR AND EXISTS "${HTTPLIB_INCLUDE_DIR}/httplib.h")
  file(STRINGS "${HTTPLIB_INCLUDE_DIR}/httplib.h" _httplib_version_line
       REGEX "^#define CPPHTTPLIB_VERSION \"")
  string(REGEX REPLACE "^#define CPPHTTPLIB_VERSION \"([0-9.]+)\".*" "\\1"
         httplib_VERSION "${_httplib_version_line}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(httplib
  REQUIRED_VARS HTTPLIB_LIBRARY HTTPLIB_INCLUDE_DIR
  VERSION_VAR httplib_VERSION)

if(httplib_FOUND AND NOT TARGET httplib::httplib)
  find_package(Threads REQUIRED)
  set(_httplib_defs "")
  foreach(flag IN LISTS PC_HTTPLIB_CFLAGS_OTHER)
    if(flag MATCHES "^-D(.+)$")
      list(APPEND _httplib_defs "${CMAKE_MATCH_1}")
    endif()
  endforeach()
  add_library(httplib::httplib UNKNOWN IMPORTED)
  set_target_properties(httplib::httplib PROPERTIES
    IMPORTED_LOCATION "${HTTPLIB_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${HTTPLIB_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS "${_httplib_defs}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()

mark_as_advanced(HTTPLIB_INCLUDE_DIR HTTPLIB_LIBRARY)
