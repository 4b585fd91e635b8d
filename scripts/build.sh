#!/usr/bin/env bash
# Configures (once) and builds Tenantry into build/ with Ninja and ccache.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${TENANTRY_BUILD_DIR:-$root/build}"
jobs="${TENANTRY_BUILD_JOBS:-$(nproc)}"
# Paths relative to the checkout in ccache keys, so clones share one cache.
export CCACHE_BASEDIR="$root"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$build" -j "$jobs" "$@"
