# troupe_add_plugin(<name> [SOURCES] <source>... [LIBRARIES <lib>...])
#
# Builds a service plugin: a shared library lib<name>.so that `troupe run`
# loads through `[app] plugins` and whose TROUPE_PLUGIN entry point
# registers its service types. It links troupe's shared libraries (never a
# copy of them), so the plugin, the executable that loads it and every other
# plugin share one service registry and one CAF runtime. LIBRARIES adds more
# (e.g. troupe::bridge); troupe::actors is always linked.
#
# Installed with troupe's CMake package: find_package(troupe) defines it.
function(troupe_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBRARIES" ${ARGN})
  set(sources ${P_SOURCES} ${P_UNPARSED_ARGUMENTS})
  if(NOT sources)
    message(FATAL_ERROR "troupe_add_plugin(${name}): no SOURCES")
  endif()
  add_library(${name} MODULE ${sources})
  target_link_libraries(${name} PRIVATE troupe::actors ${P_LIBRARIES})
  if(TROUPE_WARNINGS)
    target_compile_options(${name} PRIVATE ${TROUPE_WARNINGS})
  endif()
  set_target_properties(${name} PROPERTIES PREFIX "lib")
endfunction()
