#!/usr/bin/env bash
# Moves the breaking-change baseline to the current schemas. Run it only after
# scripts/check-schemas.sh passes against the old baseline, and commit the image
# with the schema change it accepts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/schemas"
"$root/tools/node_modules/.bin/buf" build -o baseline/tenantry-v1.binpb
echo "baseline updated: schemas/baseline/tenantry-v1.binpb"
