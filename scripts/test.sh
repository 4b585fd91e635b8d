#!/usr/bin/env bash
# The one command that tests Tenantry on a fresh Debian machine: installs what is
# missing, builds, and runs the whole suite with CTest (Kafka tests start their own
# mock cluster, in process or as `tenantry devbroker`; nothing else needs starting).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "${TENANTRY_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "${TENANTRY_TEST_JOBS:-2}" "$@"
