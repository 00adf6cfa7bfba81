#!/usr/bin/env bash
# troupe as a package, tested against its installed artefacts only:
#   1. `cmake --install` into a temporary prefix: CLI, troupe-bench, shared
#      libraries, headers, the CMake package; nothing in it points back into
#      the source or build tree.
#   2. tests/consumer (copied out of the source tree) is configured, built
#      and tested with only that prefix: an embedded executable and a plugin.
#   3. The plugin runs under the installed `troupe run` (one copy of troupe
#      in the process) and the embedded executable runs the same app; both
#      answer over ZMQ. Plugins for another troupe, or untagged, are refused.
#   4. `troupe new service` writes a project that builds, passes its test
#      and runs for 2 s.
# Prints how long each step took (the CI cost of this test).
#
# Usage: consumer_test.sh SOURCE_DIR BUILD_DIR [CXX_FLAGS]
# CXX_FLAGS (the build's CMAKE_CXX_FLAGS, e.g. the sanitizers) are used for
# the consumer projects too, so that they link against that build's troupe.
source "$(dirname "${BASH_SOURCE[0]}")/../process/lib.sh"

SRC="$(cd "$1" && pwd)"
BUILD="$(cd "$2" && pwd)"
FLAGS="${3:-}"
need_pyzmq
PREFIX="$WORK/prefix"
TROUPE="$PREFIX/bin/troupe"
VERSION=$(sed -n 's/^project(troupe VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
t0=$SECONDS
step() { echo "# step: $1 (${2}s)"; }

# -- 1. install --------------------------------------------------------------
if cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" 2>&1; then
  pass "cmake --install into a temporary prefix"
else
  fail "cmake --install"; quote 20 "$WORK/install.log"; finish; exit 1
fi
for f in bin/troupe bin/troupe-bench include/troupe/version.hpp \
         include/troupe/app/run.hpp include/troupe/actors/testing.hpp \
         include/troupe/bridge/fake_transport.hpp \
         lib/cmake/troupe/troupeConfig.cmake \
         lib/cmake/troupe/troupeConfigVersion.cmake \
         lib/cmake/troupe/TroupePlugin.cmake \
         lib/libtroupe_testing.a; do
  if [[ -e "$PREFIX/$f" ]]; then pass "installed $f"; else fail "missing $f"; fi
done
for layer in config actors bridge app; do
  if [[ -e "$PREFIX/lib/libtroupe_$layer.so" ]]; then
    pass "installed lib/libtroupe_$layer.so"
  else
    fail "missing lib/libtroupe_$layer.so"
  fi
done
if nm -DC "$PREFIX/lib/libtroupe_bridge.so" | grep -q fake_transport; then
  fail "the production bridge library carries the fake transport"
else
  pass "the production bridge library has no fake transport"
fi
if [[ -e "$PREFIX/include/troupe/app/run_cli.hpp" ]]; then
  fail "run_cli.hpp (needs CLI11) is installed"
fi
# No installed header needs a third-party header a user of the API does not
# (cppzmq, CLI11, toml++, httplib).
third=$(grep -rlE '#include <(zmq\.hpp|CLI/|toml\+\+/|httplib\.h)' "$PREFIX/include/troupe" 2>/dev/null | sed "s|$PREFIX/include/||" | tr '\n' ' ')
expect_eq "no installed header includes cppzmq, CLI11, toml++ or httplib" "$third" ""
private=$(grep -hoE 'tomlplusplus|httplib|CLI11' "$PREFIX/lib/cmake/troupe/troupeTargets.cmake" | sort -u | tr '\n' ' ')
expect_eq "toml++, httplib and CLI11 stay private to troupe's libraries" "$private" ""
leaks=$(grep -rlF "$SRC" "$PREFIX/lib/cmake" 2>/dev/null)
expect_eq "the CMake package names no source or build path" "$leaks" ""
for bin in "$TROUPE" "$PREFIX/bin/troupe-bench" "$PREFIX"/lib/libtroupe_*.so; do
  runpath=$(readelf -d "$bin" | grep -E 'RUNPATH|RPATH')
  if [[ "$runpath" == *"$SRC"* ]]; then fail "$bin: $runpath"; fi
done
libs=$(ldd "$TROUPE" | grep libtroupe_)
if [[ "$libs" == *"$SRC"* || "$libs" != *"$PREFIX/bin/../lib/"* ]]; then
  fail "installed troupe loads its libraries from elsewhere:"; echo "$libs"
else
  pass "installed troupe loads its libraries from the prefix"
fi
expect_eq "troupe --version" "$("$TROUPE" --version)" "troupe $VERSION"
step install $((SECONDS - t0))

# -- 2. the consumer project -------------------------------------------------
t1=$SECONDS
cp -r "$SRC/tests/consumer" "$WORK/consumer-src"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
# configure DIR SRC: configures a project against the prefix only.
configure() {
  cmake -S "$2" -B "$1" -G Ninja -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$FLAGS" \
    -DCMAKE_SHARED_LINKER_FLAGS="$FLAGS" -DCMAKE_MODULE_LINKER_FLAGS="$FLAGS" \
    "${launcher[@]}"
}
CB="$WORK/consumer-build"
if configure "$CB" "$WORK/consumer-src" >"$WORK/configure.log" 2>&1; then
  pass "consumer configured with find_package(troupe) from the prefix"
else
  fail "consumer configure"; quote 30 "$WORK/configure.log"; finish; exit 1
fi
if cmake --build "$CB" -j2 >"$WORK/build.log" 2>&1; then
  pass "consumer built"
else
  fail "consumer build"; quote 40 "$WORK/build.log"; finish; exit 1
fi
step "consumer configure + build" $((SECONDS - t1))
# Every compile and link command uses the prefix, never troupe's tree.
into_tree=$(grep -hoF "$SRC" "$CB/compile_commands.json" "$CB/build.ninja" \
  "$CB/CMakeCache.txt" | head -n 3)
expect_eq "no include or library path into troupe's source or build tree" \
  "$into_tree" ""
expect_grep "the consumer compiles against the prefix's headers" \
  "$CB/compile_commands.json" "-isystem $PREFIX/include"
if ctest --test-dir "$CB" --output-on-failure >"$WORK/ctest.log" 2>&1; then
  pass "consumer's own tests ($(grep -c 'Passed' "$WORK/ctest.log") passed)"
else
  fail "consumer ctest"; quote 30 "$WORK/ctest.log"
fi

# -- 3. run the plugin and the embedded executable ---------------------------
t2=$SECONDS
# run_upper NAME COMMAND... -- ARGS...: runs the upper app (COMMAND FILE
# ARGS) with free ports, sends it traffic, checks the answers and a clean
# stop on SIGTERM.
run_upper() {
  local name="$1"; shift
  local cmd=()
  while [[ "$1" != -- ]]; do cmd+=("$1"); shift; done
  shift
  in_addr="tcp://127.0.0.1:$(free_port)"
  out_addr="tcp://127.0.0.1:$(free_port)"
  http=$(free_port)
  "${cmd[@]}" "$WORK/consumer-src/upper.toml" "$@" \
    --set "control.http=127.0.0.1:$http" \
    --set "services.bridge.endpoints.in.bind=$in_addr" \
    --set "services.bridge.endpoints.out.bind=$out_addr" \
    --set 'services.upper.suffix=?' >"$WORK/out" 2>"$WORK/err" &
  pid=$!
  await_running upper 30
  if [[ "$name" == plugin ]]; then
    # One copy of troupe: every troupe library mapped once, from the prefix.
    local maps
    maps=$(grep -o '/[^ ]*libtroupe_[a-z]*\.so[.0-9]*' "/proc/$pid/maps" | sort -u)
    expect_eq "$name: one copy of each troupe library, from the prefix" \
      "$(echo "$maps" | sed "s|^$PREFIX/bin/../lib/||; s|^$PREFIX/lib/||" | tr '\n' ' ')" \
      "libtroupe_actors.so.$VERSION libtroupe_app.so.$VERSION libtroupe_bridge.so.$VERSION libtroupe_config.so.$VERSION "
  fi
  if "$PY" "$SRC/tests/sdk/upper_peer.py" "$in_addr" "$out_addr" "hello" \
    "HELLO?" 200 >"$WORK/peer.log" 2>&1; then
    pass "$name: $(tail -n 1 "$WORK/peer.log")"
  else
    fail "$name: ZMQ answers"; quote "$WORK/peer.log"; quote 20 "$WORK/err"
  fi
  # The control plane answers, with the service's own type.
  "$PY" -c 'import json, sys, urllib.request as u
s = json.load(u.urlopen(sys.argv[1] + "/services/upper", timeout=10))
print(s["type"], s["state"])' "http://127.0.0.1:$http" >"$WORK/http.log" 2>&1
  expect_eq "$name: GET /services/upper" "$(cat "$WORK/http.log")" "upper running"
  kill -TERM "$pid"
  wait "$pid"
  expect_exit "$name: clean stop on SIGTERM" "$?" 0 "$WORK/err"
  expect_final_in "$name: upper took requests" "$WORK/out" upper
}
run_upper plugin "$TROUPE" run -- \
  --set "app.plugins=[\"$CB/libconsumer_upper.so\"]"
run_upper embedded "$CB/consumer-embedded" --
step "plugin + embedded runs" $((SECONDS - t2))

# A plugin for another troupe, and one with no tag, are refused (exit 1,
# a clear error) before their code runs (it would abort).
"$TROUPE" check "$WORK/consumer-src/upper.toml" \
  --set "app.plugins=[\"$CB/libconsumer_wrong_abi.so\"]" >"$WORK/out" 2>"$WORK/err"
expect_exit "a plugin built for troupe 0.0.1 is refused" "$?" 1 "$WORK/err"
expect_grep "... saying what it was built against" "$WORK/err" \
  "libconsumer_wrong_abi.so' not loaded: it was built against 'troupe 0.0.1 .*' but this is 'troupe $VERSION .*'; rebuild it"
"$TROUPE" run "$WORK/consumer-src/upper.toml" \
  --set "app.plugins=[\"$CB/libconsumer_no_tag.so\"]" >"$WORK/out" 2>"$WORK/err"
expect_exit "a plugin with no ABI tag is refused by troupe run" "$?" 1 "$WORK/err"
expect_grep "... saying it has no tag" "$WORK/err" \
  "libconsumer_no_tag.so' not loaded: it has no troupe ABI tag"

# -- 4. troupe new -----------------------------------------------------------
t3=$SECONDS
NEW="$WORK/new/hello_world"
if "$TROUPE" new service hello_world "$NEW" >"$WORK/new.log" 2>&1; then
  pass "troupe new service hello_world"
else
  fail "troupe new"; quote "$WORK/new.log"; finish; exit 1
fi
for f in CMakeLists.txt README.md hello_world.toml src/hello_world.hpp \
         src/hello_world_plugin.cpp tests/hello_world.test.cpp; do
  [[ -f "$NEW/$f" ]] || fail "troupe new wrote no $f"
done
expect_grep "its README builds against this prefix" "$NEW/README.md" \
  "^cmake -S \. -B build -DCMAKE_PREFIX_PATH=$PREFIX$"
if "$TROUPE" new service hello_world "$NEW" >"$WORK/new2.log" 2>&1; then
  fail "troupe new overwrote an existing project"
else
  expect_grep "troupe new refuses to overwrite" "$WORK/new2.log" "exists"
fi
if command -v clang-format-14 >/dev/null; then
  # The shortest and the longest name troupe new takes, and this one.
  for n in x abcdefghijklmnopqrstuvwx hello_world; do
    dir="$WORK/new/$n"
    [[ -d "$dir" ]] || "$TROUPE" new service "$n" "$dir" >/dev/null
    if (cd "$dir" && clang-format-14 --style="file:$SRC/.clang-format" \
          --dry-run -Werror src/*.hpp src/*.cpp tests/*.cpp) >"$WORK/fmt.log" 2>&1; then
      pass "generated code for '$n' is clang-format clean"
    else
      fail "generated code for '$n' is not clang-format clean"; quote 20 "$WORK/fmt.log"
    fi
  done
fi
"$TROUPE" new service class "$WORK/new/class" >"$WORK/new3.log" 2>&1
expect_exit "troupe new refuses a C++ keyword as a name" "$?" 2 "$WORK/new3.log"
if configure "$NEW/build" "$NEW" >"$WORK/nconf.log" 2>&1 &&
   cmake --build "$NEW/build" -j2 >"$WORK/nbuild.log" 2>&1; then
  pass "the new project builds against the prefix"
else
  fail "the new project does not build"; quote 40 "$WORK/nconf.log" "$WORK/nbuild.log"
  finish; exit 1
fi
step "troupe new: build" $((SECONDS - t3))
if ctest --test-dir "$NEW/build" --output-on-failure >"$WORK/nctest.log" 2>&1; then
  pass "the new project's test passes"
else
  fail "the new project's test"; quote 30 "$WORK/nctest.log"
fi
(cd "$NEW" && "$TROUPE" run hello_world.toml --duration 2s) >"$WORK/out" 2>"$WORK/err"
expect_exit "the new project runs under troupe run for 2 s" "$?" 0 "$WORK/err"
expect_grep "... its service ran" "$WORK/out" "hello_world +hello_world +stopped"
echo "# total: $((SECONDS - t0))s"
finish
