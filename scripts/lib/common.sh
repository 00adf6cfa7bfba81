# Shared by scripts/run and scripts/test. Sourced, not executed.
set -euo pipefail

TROUPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# ccache: hash paths relative to the checkout so that a fresh clone (as CI
# makes) reuses objects compiled in another one.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$TROUPE_ROOT}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"

# Debian packages troupe builds and tests with. Nothing is vendored or
# downloaded at build time.
TROUPE_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config
  libcaf-dev libzmq3-dev cppzmq-dev libtomlplusplus-dev libspdlog-dev
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libsqlite3-dev libssl-dev libsystemd-dev libgtest-dev
  python3 python3-zmq clang-14 libfuzzer-14-dev
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs whatever of TROUPE_PACKAGES is missing. Skips apt entirely when
# everything is present, so a second run costs nothing.
install_packages() {
  local missing=()
  local pkg
  for pkg in "${TROUPE_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
      grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    log "packages: all ${#TROUPE_PACKAGES[@]} present"
    return 0
  fi
  log "packages: installing ${missing[*]}"
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# build_preset NAME: configure (once) and build one CMake preset.
build_preset() {
  local preset="$1"
  cd "$TROUPE_ROOT"
  log "configure ($preset)"
  cmake --preset "$preset" >/dev/null
  log "build ($preset)"
  cmake --build --preset "$preset" -j "${TROUPE_JOBS:-$(nproc)}"
}
