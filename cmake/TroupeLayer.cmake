# troupe_add_layer(NAME <layer> [DEPS ...] [PRIVATE_DEPS ...] [TEST_DEPS ...]
#                  [TEST_ARGS ...])
#
# Declares one layer the same way for all layers:
#   - shared library target troupe_<layer>, alias troupe::<layer>, export
#     name <layer>. Shared, so that the troupe executable, an embedding
#     executable and every plugin it loads share one copy of troupe's code
#     and of its process-wide state (the service type registry, the metrics,
#     the logging setup); see docs/services.md "Your own project".
#   - DEPS are PUBLIC (the layer's installed headers include them),
#     PRIVATE_DEPS only its sources.
#   - sources: every *.cpp under <layer>/troupe except *.test.cpp
#   - public include root: the layer folder (headers live in
#     <layer>/troupe/<layer>/...)
#   - one unit-test binary troupe-<layer>-test built from every *.test.cpp
#     beside the code, registered with ctest as <layer>.unit
function(troupe_add_layer)
  cmake_parse_arguments(L "" "NAME;TEST_MAIN"
                        "DEPS;PRIVATE_DEPS;TEST_DEPS;TEST_ARGS" ${ARGN})
  set(dir "${CMAKE_CURRENT_SOURCE_DIR}")
  file(GLOB_RECURSE all_sources CONFIGURE_DEPENDS "${dir}/troupe/*.cpp")
  set(lib_sources "")
  set(test_sources "")
  foreach(src IN LISTS all_sources)
    if(src MATCHES "\\.test\\.cpp$")
      list(APPEND test_sources "${src}")
    else()
      list(APPEND lib_sources "${src}")
    endif()
  endforeach()

  set(target troupe_${L_NAME})
  add_library(${target} SHARED ${lib_sources})
  add_library(troupe::${L_NAME} ALIAS ${target})
  set_target_properties(${target} PROPERTIES
    EXPORT_NAME ${L_NAME}
    OUTPUT_NAME troupe_${L_NAME}
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  target_compile_features(${target} PUBLIC cxx_std_17)
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${dir}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} PUBLIC ${L_DEPS} PRIVATE ${L_PRIVATE_DEPS})
  target_compile_options(${target} PRIVATE ${TROUPE_WARNINGS})

  install(TARGETS ${target} EXPORT troupeTargets
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
                  NAMELINK_COMPONENT dev)
  # *_cli.hpp: shared by the library and the troupe CLI, needs CLI11; zmq/:
  # the bridge's own helpers around cppzmq (<zmq.hpp>). Neither is part of
  # the installed API.
  install(DIRECTORY "${dir}/troupe" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          COMPONENT dev FILES_MATCHING PATTERN "*.hpp" PATTERN "*_cli.hpp" EXCLUDE
          PATTERN "zmq" EXCLUDE)

  if(TROUPE_BUILD_TESTS AND test_sources)
    set(test_target troupe-${L_NAME}-test)
    add_executable(${test_target} ${test_sources} ${L_TEST_MAIN})
    target_link_libraries(${test_target} PRIVATE ${target} ${L_TEST_DEPS})
    target_compile_options(${test_target} PRIVATE ${TROUPE_WARNINGS})
    add_test(NAME ${L_NAME}.unit COMMAND ${test_target} ${L_TEST_ARGS})
    set_tests_properties(${L_NAME}.unit PROPERTIES TIMEOUT 300
                         LABELS "unit;${L_NAME}")
  endif()
endfunction()

include(TroupePlugin)
