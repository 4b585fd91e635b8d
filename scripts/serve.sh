#!/usr/bin/env bash
# The one command that runs Tenantry on a fresh Debian machine: installs what is
# missing, builds, and runs `tenantry serve` on the embedded log (options pass through).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" tenantry
cd "$root"
exec "${TENANTRY_BUILD_DIR:-$root/build}/tenantry" serve "$@"
