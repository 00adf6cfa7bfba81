# Debian packages with CPack (./scripts/package runs `cpack -G DEB`):
#   troupe      the CLI, troupe-bench, the shared libraries, example files in
#               /usr/share/doc/troupe/examples
#   troupe-dev  headers, the CMake package (find_package(troupe)),
#               troupe::testing, and the -dev packages of what the headers
#               include
set(CPACK_PACKAGE_NAME troupe)
set(CPACK_PACKAGE_VENDOR "troupe")
set(CPACK_PACKAGE_CONTACT "troupe maintainers <troupe@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Services as actors (CAF), composed into apps, bridged to ZeroMQ")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME troupe)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION net)
# The runtime libraries troupe's binaries load (Debian bookworm names);
# tests/sdk/package_test.sh checks every NEEDED entry of the packaged ELF
# files against this list.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS
    "libcaf-core0.17 (>= 0.17.6), libzmq5 (>= 4.3.4), libspdlog1.10, libfmt9, libtomlplusplus3, libcpp-httplib0.11, libsqlite3-0, libsystemd0, libssl3, libstdc++6, libgcc-s1, libc6")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME troupe-dev)
# What the installed headers and troupeConfig.cmake need.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "troupe (= ${PROJECT_VERSION}), libcaf-dev (>= 0.17.6), libspdlog-dev, nlohmann-json3-dev, cppzmq-dev, libzmq3-dev, cmake (>= 3.20)")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "troupe: the CLI (troupe run, ctl, tap, pub, new), troupe-bench and the shared libraries")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "troupe: headers and the CMake package for service types of one's own")
include(CPack)
