#!/usr/bin/env bash
# Protobuf checks of schemas/: buf lint (STANDARD rules) and buf breaking
# (WIRE_JSON rules) against the committed baseline image. The baseline moves
# forward only through scripts/update-schema-baseline.sh, after a compatible change.
# Last, a deliberately breaking copy must be refused, so the check itself is checked.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
buf="$root/tools/node_modules/.bin/buf"
[ -x "$buf" ] || { echo "check-schemas: buf is missing; run scripts/install-deps.sh" >&2; exit 1; }
cd "$root/schemas"

echo "check-schemas: buf lint"
"$buf" lint
echo "check-schemas: buf breaking against baseline/tenantry-v1.binpb"
"$buf" breaking --against baseline/tenantry-v1.binpb

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r "$root/schemas/." "$scratch/"
# Renumbering a field is a wire break: the check must catch it.
sed -i 's/string tenant_id = 2;/string tenant_id = 42;/' "$scratch/tenantry/v1/envelope.proto"
if (cd "$scratch" && "$buf" breaking --against "$root/schemas/baseline/tenantry-v1.binpb" >/dev/null 2>&1); then
  echo "check-schemas: a breaking change went unnoticed" >&2
  exit 1
fi
echo "check-schemas: lint, breaking and breaking-change detection passed"
