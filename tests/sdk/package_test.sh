#!/usr/bin/env bash
# The Debian packages: `cpack -G DEB` from this build (as ./scripts/package
# does from a Release build), inspected with dpkg-deb -I and -c. Where
# CI=true and we are root (a throwaway machine), they are installed with apt,
# tests/consumer is built against /usr and run, and both are purged again.
#
# Usage: package_test.sh SOURCE_DIR BUILD_DIR [CXX_FLAGS]
# CXX_FLAGS: the build's CMAKE_CXX_FLAGS (sanitizers), used for the consumer.
source "$(dirname "${BASH_SOURCE[0]}")/../process/lib.sh"

SRC="$(cd "$1" && pwd)"
BUILD="$(cd "$2" && pwd)"
FLAGS="${3:-}"
VERSION=$(sed -n 's/^project(troupe VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
t0=$SECONDS
if ! command -v dpkg-deb >/dev/null; then
  echo "SKIP - no dpkg-deb"; exit 0
fi
if (cd "$WORK" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" \
      -D CPACK_STRIP_FILES=ON) >"$WORK/cpack.log" 2>&1; then
  pass "cpack -G DEB"
else
  fail "cpack"; quote 30 "$WORK/cpack.log"; finish; exit 1
fi
echo "# cpack: $((SECONDS - t0))s"
arch=$(dpkg --print-architecture)
RT="$WORK/troupe_${VERSION}_${arch}.deb"
DEV="$WORK/troupe-dev_${VERSION}_${arch}.deb"
for deb in "$RT" "$DEV"; do
  [[ -f "$deb" ]] || { fail "no $(basename "$deb")"; ls "$WORK"; finish; exit 1; }
done
dpkg-deb -I "$RT" >"$WORK/rt.info"
dpkg-deb -I "$DEV" >"$WORK/dev.info"
dpkg-deb -c "$RT" | awk '{print $NF}' >"$WORK/rt.files"
dpkg-deb -c "$DEV" | awk '{print $NF}' >"$WORK/dev.files"
expect_grep "troupe: package name" "$WORK/rt.info" "^ Package: troupe$"
expect_grep "troupe: version" "$WORK/rt.info" "^ Version: $VERSION$"
for dep in "libcaf-core0.17 (>= 0.17.6)" "libzmq5 (>= 4.3.4)" libspdlog1.10 libfmt9; do
  expect_grep "troupe depends on $dep" "$WORK/rt.info" "^ Depends: .*${dep//[()]/.}"
done
expect_grep "troupe-dev depends on troupe of this version" "$WORK/dev.info" \
  "^ Depends: troupe \(= $VERSION\)"
for dep in libcaf-dev nlohmann-json3-dev cppzmq-dev libspdlog-dev libzmq3-dev; do
  expect_grep "troupe-dev depends on $dep" "$WORK/dev.info" "^ Depends: .*$dep"
done
for f in ./usr/bin/troupe ./usr/bin/troupe-bench \
         "./usr/lib/libtroupe_actors.so.$VERSION" \
         ./usr/share/doc/troupe/examples/echo.toml \
         ./usr/share/doc/troupe/examples/plugin_service.cpp \
         ./usr/share/doc/troupe/examples/troupe-echo.service; do
  expect_grep "troupe contains $f" "$WORK/rt.files" "^${f//./\\.}$"
done
for f in ./usr/include/troupe/version.hpp ./usr/include/troupe/app/run.hpp \
         ./usr/lib/cmake/troupe/troupeConfig.cmake \
         ./usr/lib/cmake/troupe/TroupePlugin.cmake ./usr/lib/libtroupe_testing.a; do
  expect_grep "troupe-dev contains $f" "$WORK/dev.files" "^${f//./\\.}$"
done
if grep -q '^\./usr/include/' "$WORK/rt.files"; then
  fail "the runtime package carries headers"
else
  pass "the runtime package carries no headers"
fi
if grep -q '^\./usr/bin/' "$WORK/dev.files"; then
  fail "the dev package carries executables"
else
  pass "the dev package carries no executables"
fi

# Unpacked together (no apt), the packages are a complete install: the
# CLI runs from them and find_package(troupe) finds every file its targets
# name (CMake checks at configure time).
ROOT="$WORK/root"
dpkg-deb -x "$RT" "$ROOT" && dpkg-deb -x "$DEV" "$ROOT"
expect_eq "troupe --version from the unpacked package" \
  "$("$ROOT/usr/bin/troupe" --version)" "troupe $VERSION"
if ldd "$ROOT/usr/bin/troupe" | grep libtroupe_ | grep -qvF "$ROOT/usr/"; then
  fail "the packaged troupe loads troupe libraries from outside the package"
  ldd "$ROOT/usr/bin/troupe" | grep libtroupe_
else
  pass "the packaged troupe loads its own libraries"
fi
# Every shared library the packaged ELF files load comes from troupe
# itself or from a package the runtime package depends on (a missing one
# only shows on a machine without the -dev packages).
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
depends=$(sed -n 's/^ Depends: //p' "$WORK/rt.info" | tr ',' '\n' |
  sed 's/^ *//; s/ .*//')
missing=()
while read -r lib; do
  # troupe's own, and the sanitizers' runtimes of a sanitizer build.
  [[ "$lib" == libtroupe_* || "$lib" =~ ^lib(a|ub|l|t)san\. ]] && continue
  owner=$(dpkg -S "/usr/lib/$multiarch/$lib" "/lib/$multiarch/$lib" 2>/dev/null |
    head -1 | cut -d: -f1)
  if [[ -z "$owner" ]]; then
    missing+=("$lib (no package owns it)")
  elif ! grep -qx "$owner" <<<"$depends"; then
    missing+=("$lib ($owner)")
  fi
done < <(find "$ROOT/usr" -type f \( -name '*.so*' -o -path '*/bin/*' \) \
           -exec sh -c 'readelf -d "$1" 2>/dev/null' _ {} \; |
         sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u)
if ((${#missing[@]} == 0)); then
  pass "Depends covers every library the packaged binaries load"
else
  fail "Depends misses: ${missing[*]}"
fi
expect_grep "the example unit runs the installed echo example" \
  "$ROOT/usr/share/doc/troupe/examples/troupe-echo.service" \
  "^ExecStart=/usr(/local)?/bin/troupe run /usr(/local)?/share/doc/troupe/examples/echo.toml$"
cp -r "$SRC/tests/consumer" "$WORK/consumer-src"
if cmake -S "$WORK/consumer-src" -B "$WORK/cb-unpacked" -G Ninja \
     -DCMAKE_PREFIX_PATH="$ROOT/usr" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
     >"$WORK/unpacked.log" 2>&1; then
  pass "find_package(troupe) from the unpacked packages"
else
  fail "find_package(troupe) from the unpacked packages"; quote 30 "$WORK/unpacked.log"
fi

if [[ "${CI:-}" == true && $(id -u) -eq 0 ]]; then
  t1=$SECONDS
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$RT" "$DEV" \
      >"$WORK/apt.log" 2>&1; then
    pass "apt-get install ./troupe_*.deb ./troupe-dev_*.deb"
    expect_eq "troupe on PATH" "$(command -v troupe)" /usr/bin/troupe
    expect_eq "troupe --version" "$(troupe --version)" "troupe $VERSION"
    if cmake -S "$WORK/consumer-src" -B "$WORK/cb" -G Ninja \
         -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$FLAGS" \
         -DCMAKE_MODULE_LINKER_FLAGS="$FLAGS" >"$WORK/c.log" 2>&1 &&
       cmake --build "$WORK/cb" -j2 >>"$WORK/c.log" 2>&1 &&
       ctest --test-dir "$WORK/cb" --output-on-failure >>"$WORK/c.log" 2>&1; then
      pass "tests/consumer builds and passes against /usr"
    else
      fail "tests/consumer against /usr"; quote 40 "$WORK/c.log"
    fi
  else
    fail "apt-get install"; quote 20 "$WORK/apt.log"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq troupe-dev troupe \
    >"$WORK/purge.log" 2>&1
  expect_exit "apt-get purge" "$?" 0 "$WORK/purge.log"
  echo "# apt install + consumer + purge: $((SECONDS - t1))s"
else
  echo "# apt install: skipped (only where CI=true and root)"
fi
echo "# total: $((SECONDS - t0))s"
finish
